#pragma once
// Parsing of an HTTP/1.x response head and of chunked bodies, written for the
// client's hot path: it works in place on the bytes read, reports header views
// into them and never allocates (the caller's header vector keeps capacity).
#include <charconv>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "message.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

struct response_head {
    int status = 0;
    int minor_version = 1;
    std::string_view reason;
    std::int64_t content_length = -1;
    bool chunked = false;
    bool close = false;
};

inline std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline bool contains_token(std::string_view list, std::string_view token) noexcept;

// Parses a response head at the start of `buf`, finding its end on the way
// (one pass: no separate search for the empty line). Returns the head's length
// when it is complete, 0 when more bytes are needed, -1 when it is not a
// well-formed HTTP/1.x response head. Header views point into `buf`.
inline std::ptrdiff_t parse_response_head(
    std::string_view buf, response_head& out,
    std::vector<std::pair<std::string_view, std::string_view>>& headers) noexcept {
    headers.clear();
    out = {};
    const char* base = buf.data();
    auto next_line = [&](std::size_t from, std::string_view& line) -> int {  // 1 ok, 0 incomplete, -1 bad
        auto* nl = static_cast<const char*>(std::memchr(base + from, '\n', buf.size() - from));
        if (!nl) return 0;
        auto end = static_cast<std::size_t>(nl - base);
        if (end == from || base[end - 1] != '\r') return -1;  // lines end with CRLF
        line = buf.substr(from, end - 1 - from);
        return 1;
    };
    std::string_view line;
    if (int r = next_line(0, line); r <= 0) {
        // a first line that cannot be a status line fails early, even unfinished
        if (r == 0 && (buf.size() < 5 || buf.starts_with("HTTP/"))) return 0;
        return -1;
    }
    // "HTTP/1.1 200 OK"
    if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ') return -1;
    if (line[7] != '0' && line[7] != '1') return -1;
    out.minor_version = line[7] - '0';
    int status = 0;
    for (int i = 9; i < 12; ++i) {
        char c = line[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return -1;
        status = status * 10 + (c - '0');
    }
    if (status < 100) return -1;
    if (line.size() > 12 && line[12] != ' ') return -1;
    out.status = status;
    out.reason = line.size() > 13 ? line.substr(13) : std::string_view{};
    out.close = out.minor_version == 0;
    std::size_t pos = line.size() + 2;
    for (;;) {
        int r = next_line(pos, line);
        if (r <= 0) return r;  // incomplete (more bytes will come) or malformed
        pos += line.size() + 2;
        if (line.empty()) break;  // the empty line: the head is complete
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return -1;
        auto name = line.substr(0, colon);
        if (name.back() == ' ' || name.back() == '\t') return -1;  // RFC 9112: no space before ':'
        auto value = trim_ows(line.substr(colon + 1));
        headers.emplace_back(name, value);
        if (name.size() == 14 && iequals_lower(name, "content-length")) {
            std::int64_t v = 0;
            auto res = std::from_chars(value.data(), value.data() + value.size(), v);
            if (res.ec != std::errc() || res.ptr != value.data() + value.size() || v < 0) return -1;
            if (out.content_length >= 0 && out.content_length != v) return -1;
            out.content_length = v;
        } else if (name.size() == 17 && iequals_lower(name, "transfer-encoding")) {
            out.chunked = contains_token(value, "chunked");
        } else if (name.size() == 10 && iequals_lower(name, "connection")) {
            // HTTP/1.1 is persistent unless "close"; HTTP/1.0 closes unless "keep-alive"
            if (out.minor_version == 1) out.close = out.close || contains_token(value, "close");
            else out.close = !contains_token(value, "keep-alive");
        }
    }
    if (out.chunked) out.content_length = -1;  // RFC 9112 6.3: chunked wins
    return static_cast<std::ptrdiff_t>(pos);
}

inline bool contains_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = trim_ows(list.substr(0, comma));
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// Incremental chunked-body decoder. feed() consumes what it can of `in`,
// appends payload to `out` (unless discarding) and says how many bytes it used.
class chunked_decoder {
  public:
    enum class result { need_more, done, error };

    void reset() noexcept {
        state_ = size;
        remaining_ = 0;
        digits_ = 0;
    }

    result feed(std::string_view in, std::size_t& used, std::string* out) {
        used = 0;
        while (used < in.size()) {
            char c = in[used];
            switch (state_) {
                case size:
                    if (auto d = hex(c); d >= 0) {
                        if (++digits_ > 15) return result::error;
                        remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(d);
                        ++used;
                    } else if (c == ';' || c == ' ' || c == '\t') {
                        state_ = ext;
                        ++used;
                    } else if (c == '\r') {
                        if (!digits_) return result::error;
                        state_ = size_lf;
                        ++used;
                    } else return result::error;
                    break;
                case ext:
                    if (c == '\r') state_ = size_lf;
                    ++used;
                    break;
                case size_lf:
                    if (c != '\n') return result::error;
                    ++used;
                    digits_ = 0;
                    state_ = remaining_ ? data : trailer_start;
                    break;
                case data: {
                    auto take = std::min<std::uint64_t>(remaining_, in.size() - used);
                    if (out) out->append(in.data() + used, static_cast<std::size_t>(take));
                    used += static_cast<std::size_t>(take);
                    remaining_ -= take;
                    if (!remaining_) state_ = data_cr;
                    break;
                }
                case data_cr:
                    if (c != '\r') return result::error;
                    ++used;
                    state_ = data_lf;
                    break;
                case data_lf:
                    if (c != '\n') return result::error;
                    ++used;
                    state_ = size;
                    break;
                case trailer_start:  // after the last chunk: trailers, then an empty line
                    if (c == '\r') {
                        state_ = final_lf;
                        ++used;
                    } else {
                        state_ = trailer;
                        ++used;
                    }
                    break;
                case trailer:
                    if (c == '\r') state_ = trailer_lf;
                    ++used;
                    break;
                case trailer_lf:
                    if (c != '\n') return result::error;
                    ++used;
                    state_ = trailer_start;
                    break;
                case final_lf:
                    if (c != '\n') return result::error;
                    ++used;
                    reset();
                    return result::done;
            }
        }
        return result::need_more;
    }

  private:
    static int hex(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    enum state_t { size, ext, size_lf, data, data_cr, data_lf, trailer_start, trailer, trailer_lf, final_lf };
    state_t state_ = size;
    std::uint64_t remaining_ = 0;
    int digits_ = 0;
};

}  // namespace loadkit::inline LOADKIT_ABI::detail
