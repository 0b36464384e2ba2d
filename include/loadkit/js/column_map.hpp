#pragma once
// Columns of the rewritten modules (transform.hpp) mapped back to the user's
// file, so that an error message points where the code is.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

// Where the rewrite to await (transform.hpp) inserted text in a module: per
// line, (column in the original, length) in order. Errors report columns of
// the rewritten text; original_columns maps them back, so a message points
// where the user's file has the code.
struct column_map {
    std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> lines;
    // a 1-based column of the rewritten line -> of the original one
    std::uint32_t original(std::uint32_t line, std::uint32_t column) const {
        auto it = lines.find(line);
        if (it == lines.end() || column == 0) return column;
        std::uint32_t shift = 0, c = column - 1;
        for (auto [at, length] : it->second) {
            std::uint32_t start = at + shift;
            if (c >= start + length) shift += length;
            else if (c >= start) return at + 1;  // inside inserted text: where it was inserted
            else break;
        }
        return c - shift + 1;
    }
};
inline std::mutex& column_maps_mutex() {
    static std::mutex m;
    return m;
}
inline std::map<std::string, column_map, std::less<>>& column_maps() {
    static std::map<std::string, column_map, std::less<>> maps;
    return maps;
}
// Every "PATH:LINE:COL" of a rewritten module in `text`, with the original column.
inline std::string original_columns(std::string text) {
    std::lock_guard lock(column_maps_mutex());
    for (auto& [path, map] : column_maps()) {
        for (std::size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + 1)) {
            std::size_t p = at + path.size();
            auto number = [&](std::uint32_t& out) {
                if (p >= text.size() || text[p] != ':') return false;
                std::size_t q = ++p;
                out = 0;
                while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p])))
                    out = out * 10 + (text[p++] - '0');
                return p > q;
            };
            std::uint32_t line = 0, column = 0;
            std::size_t column_at = 0;
            if (!number(line)) continue;
            column_at = p + 1;
            if (!number(column)) continue;
            auto fixed = std::to_string(map.original(line, column));
            text.replace(column_at, p - column_at, fixed);
        }
    }
    return text;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail
