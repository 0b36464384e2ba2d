#pragma once
// Durations as k6 writes them: "30s", "1m30s", "1.5s", "500ms", "2h", "250us".
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

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
        if (s.starts_with("ms")) {
            unit = 1e6L;
            s.remove_prefix(2);
        } else if (s.starts_with("us")) {
            unit = 1e3L;
            s.remove_prefix(2);
        } else if (s.starts_with("\xc2\xb5s")) {
            unit = 1e3L;
            s.remove_prefix(3);
        } else if (s.starts_with("ns")) {
            unit = 1;
            s.remove_prefix(2);
        } else if (s.starts_with("h")) {
            unit = 3600e9L;
            s.remove_prefix(1);
        } else if (s.starts_with("m")) {
            unit = 60e9L;
            s.remove_prefix(1);
        } else if (s.starts_with("s")) {
            unit = 1e9L;
            s.remove_prefix(1);
        } else return std::nullopt;
        total += static_cast<long double>(v) * unit;
    }
    if (total > 9.2e18L) return std::nullopt;
    return nanoseconds{static_cast<std::int64_t>(total + 0.5L)};
}

// A duration as k6 prints it: "1m30s", "1.5s", "250ms", "0s" (to the millisecond).
inline std::string format_duration(nanoseconds d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    std::string s;
    if (ms >= 3600000) {
        s += std::to_string(ms / 3600000) + "h";
        ms %= 3600000;
    }
    if (ms >= 60000) {
        s += std::to_string(ms / 60000) + "m";
        ms %= 60000;
    }
    if (ms >= 1000 || (s.empty() && ms == 0)) {
        s += std::to_string(ms / 1000);
        if (ms % 1000) {
            auto f = std::to_string(1000 + ms % 1000).substr(1);
            while (f.back() == '0') f.pop_back();
            s += "." + f;
        }
        s += "s";
    } else if (ms) s += std::to_string(ms) + "ms";
    return s;
}

namespace detail {
using loadkit::parse_duration;  // (the loaders name it so)
}  // namespace detail

}  // namespace loadkit::inline LOADKIT_ABI
