#pragma once
// Durations as k6 writes them: "30s", "1m30s", "1.5s", "500ms", "2h", "250us".
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"

namespace loadkit::detail {

// Parses a k6 duration; nullopt when `s` is not one. A sequence of
// <number><unit> with units h, m, s, ms, us (or µs) and ns; "0" alone is zero.
inline std::optional<nanoseconds> parse_duration(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s == "0") return nanoseconds{0};
    if (s.empty()) return std::nullopt;
    long double total = 0;
    while (!s.empty()) {
        std::size_t i = 0;
        while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
        if (i == 0) return std::nullopt;
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
        if (ec != std::errc() || p != s.data() + i) return std::nullopt;
        s.remove_prefix(i);
        long double unit;
        if (s.starts_with("ms")) { unit = 1e6L; s.remove_prefix(2); }
        else if (s.starts_with("us")) { unit = 1e3L; s.remove_prefix(2); }
        else if (s.starts_with("\xc2\xb5s")) { unit = 1e3L; s.remove_prefix(3); }
        else if (s.starts_with("ns")) { unit = 1; s.remove_prefix(2); }
        else if (s.starts_with("h")) { unit = 3600e9L; s.remove_prefix(1); }
        else if (s.starts_with("m")) { unit = 60e9L; s.remove_prefix(1); }
        else if (s.starts_with("s")) { unit = 1e9L; s.remove_prefix(1); }
        else return std::nullopt;
        total += static_cast<long double>(v) * unit;
    }
    if (total > 9.2e18L) return std::nullopt;
    return nanoseconds{static_cast<std::int64_t>(total + 0.5L)};
}

}  // namespace loadkit::detail
