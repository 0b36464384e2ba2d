#pragma once
// Parsing of an HTTP/1.x response head and of chunked bodies, written for the
// client's hot path: it works in place on the bytes read, reports header views
// into them and never allocates (the caller's header vector keeps capacity).
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "message.hpp"

namespace loadkit::detail {

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

// Parses `head` (status line and headers, ending with the empty line).
// Returns false if it is not a well-formed HTTP/1.x response head.
inline bool parse_response_head(std::string_view head, response_head& out,
                                std::vector<std::pair<std::string_view, std::string_view>>& headers) noexcept {
    headers.clear();
    out = {};
    auto eol = head.find("\r\n");
    if (eol == std::string_view::npos) return false;
    auto line = head.substr(0, eol);
    // "HTTP/1.1 200 OK"
    if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ') return false;
    if (line[7] != '0' && line[7] != '1') return false;
    out.minor_version = line[7] - '0';
    int status = 0;
    for (int i = 9; i < 12; ++i) {
        char c = line[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return false;
        status = status * 10 + (c - '0');
    }
    if (status < 100) return false;
    if (line.size() > 12 && line[12] != ' ') return false;
    out.status = status;
    out.reason = line.size() > 13 ? line.substr(13) : std::string_view{};
    out.close = out.minor_version == 0;
    std::size_t pos = eol + 2;
    while (pos < head.size()) {
        auto e = head.find("\r\n", pos);
        if (e == std::string_view::npos) return false;
        if (e == pos) break;  // the empty line
        auto h = head.substr(pos, e - pos);
        pos = e + 2;
        auto colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        auto name = h.substr(0, colon);
        if (name.back() == ' ' || name.back() == '\t') return false;  // RFC 9112: no space before ':'
        auto value = trim_ows(h.substr(colon + 1));
        headers.emplace_back(name, value);
        if (name.size() == 14 && iequals(name, "content-length")) {
            std::int64_t v = 0;
            auto r = std::from_chars(value.data(), value.data() + value.size(), v);
            if (r.ec != std::errc() || r.ptr != value.data() + value.size() || v < 0) return false;
            if (out.content_length >= 0 && out.content_length != v) return false;
            out.content_length = v;
        } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
            out.chunked = contains_token(value, "chunked");
        } else if (name.size() == 10 && iequals(name, "connection")) {
            // HTTP/1.1 is persistent unless "close"; HTTP/1.0 closes unless "keep-alive"
            if (out.minor_version == 1) out.close = out.close || contains_token(value, "close");
            else out.close = !contains_token(value, "keep-alive");
        }
    }
    if (out.chunked) out.content_length = -1;  // RFC 9112 6.3: chunked wins
    return true;
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

    void reset() noexcept { state_ = size; remaining_ = 0; digits_ = 0; }

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
                    } else if (c == ';' || c == ' ' || c == '\t') { state_ = ext; ++used; }
                    else if (c == '\r') { if (!digits_) return result::error; state_ = size_lf; ++used; }
                    else return result::error;
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
                case data_cr: if (c != '\r') return result::error; ++used; state_ = data_lf; break;
                case data_lf: if (c != '\n') return result::error; ++used; state_ = size; break;
                case trailer_start:  // after the last chunk: trailers, then an empty line
                    if (c == '\r') { state_ = final_lf; ++used; }
                    else { state_ = trailer; ++used; }
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

}  // namespace loadkit::detail
