#pragma once
// Parsing of an HTTP/1.x response head and of chunked bodies, written for the
// client's hot path: it works in place on the bytes read, reports header views
// into them and never allocates (the caller's header vector keeps capacity).
#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
    bool set_cookie = false;  // a Set-Cookie header is among them (the client looks for cookies only then)
};

// (always inlined: it runs on every header value, and gcc's own choice
// flips with the size of parse_response_head: 145 instructions per response)
[[gnu::always_inline]] inline std::string_view trim_ows(std::string_view s) noexcept {
    // (most values follow one space: taken before the loop, which then
    // ends at once)
    if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline bool contains_token(std::string_view list, std::string_view token) noexcept;

// One header line's end ('\n') and its first ':' before that end (null when
// none), found in one pass from `p`. The head is most of what the client's
// hot path reads: 16 bytes at a time where SSE2 is there (a memchr call per
// line and another per colon cost more than the rest of the parse).
struct line_scan {
    const char* lf;  // null: the line has not ended in [p, end)
    const char* colon;
};

// `begin` is where the bytes start (at or before `p`): the last block is
// read as the 16 bytes that end at `end`, overlapping what was scanned,
// instead of a byte at a time (the head's last lines and the body's first
// bytes are usually under 16: the byte loop cost ~75 instructions per head).
// (Always inlined: in the runner's larger build gcc called it, ~50
// instructions per response.)
[[gnu::always_inline]] inline line_scan scan_line(const char* begin, const char* p, const char* end) noexcept {
    const char* colon = nullptr;
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i co = _mm_set1_epi8(':');
    // the bytes of `v` from bit `skip` on are p's: the lowest line end
    // among them, and the lowest colon before it
    auto block = [&](__m128i v, unsigned skip) noexcept -> const char* {
        auto at_lf = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf))) >> skip;
        if (!colon) {
            auto at_colon = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, co))) >> skip;
            if (at_lf) at_colon &= (at_lf & (0u - at_lf)) - 1;  // only those before the line's end
            if (at_colon) colon = p + std::countr_zero(at_colon);
        }
        return at_lf ? p + std::countr_zero(at_lf) : nullptr;
    };
    for (; end - p >= 16; p += 16)
        if (const char* at = block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), 0)) return {at, colon};
    if (p < end && end - begin >= 16) {
        auto skip = static_cast<unsigned>(16 - (end - p));
        const char* at = block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16)), skip);
        return {at, colon};
    }
#else
    (void)begin;
#endif
    for (; p < end; ++p) {
        if (*p == '\n') return {p, colon};
        if (*p == ':' && !colon) colon = p;
    }
    return {nullptr, colon};
}

// Parses a response head at the start of `buf`, finding its end on the way
// (one pass: no separate search for the empty line). Returns the head's length
// when it is complete, 0 when more bytes are needed, -1 when it is not a
// well-formed HTTP/1.x response head. Header views point into `buf`.
inline std::ptrdiff_t parse_response_head(
    std::string_view buf, response_head& out,
    std::vector<std::pair<std::string_view, std::string_view>>& headers) noexcept {
    headers.clear();
    out = {};
    const char* const end = buf.data() + buf.size();
    auto first = scan_line(buf.data(), buf.data(), end);
    if (!first.lf) {
        // a first line that cannot be a status line fails early, even unfinished
        if (buf.size() < 5 || buf.starts_with("HTTP/")) return 0;
        return -1;
    }
    if (first.lf == buf.data() || first.lf[-1] != '\r') return -1;  // lines end with CRLF
    // "HTTP/1.1 200 OK"
    std::string_view line(buf.data(), static_cast<std::size_t>(first.lf - 1 - buf.data()));
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
    const char* p = first.lf + 1;
    for (;;) {
        auto [lf, colon] = scan_line(buf.data(), p, end);
        if (!lf) return 0;                          // more bytes will come
        if (lf == p || lf[-1] != '\r') return -1;  // lines end with CRLF
        const char* cr = lf - 1;
        if (cr == p) {  // the empty line: the head is complete
            p = lf + 1;
            break;
        }
        if (!colon || colon == p) return -1;
        std::string_view name(p, static_cast<std::size_t>(colon - p));
        if (name.back() == ' ' || name.back() == '\t') return -1;  // RFC 9112: no space before ':'
        auto value = trim_ows(std::string_view(colon + 1, static_cast<std::size_t>(cr - colon - 1)));
        headers.emplace_back(name, value);
        p = lf + 1;
        if (name.size() == 14 && iequals_lower(name, "content-length")) {
            // digits only (no sign), at most 18 of them: no overflow to check
            // (a digit loop: std::from_chars cost ~65 instructions for "13")
            if (value.empty() || value.size() > 18) return -1;
            std::int64_t v = 0;
            for (char ch : value) {
                if (ch < '0' || ch > '9') return -1;
                v = v * 10 + (ch - '0');
            }
            if (out.content_length >= 0 && out.content_length != v) return -1;
            out.content_length = v;
        } else if (name.size() == 17 && iequals_lower(name, "transfer-encoding")) {
            out.chunked = contains_token(value, "chunked");
        } else if (name.size() == 10 && iequals_lower(name, "set-cookie")) {
            out.set_cookie = true;
        } else if (name.size() == 10 && iequals_lower(name, "connection")) {
            // HTTP/1.1 is persistent unless "close"; HTTP/1.0 closes unless "keep-alive"
            // (nginx's and most servers' "keep-alive" first: contains_token
            // cost ~95 instructions per response for it)
            if (value.size() == 10 && iequals_lower(value, "keep-alive")) {
                if (out.minor_version == 0) out.close = false;  // (1.1 stays as an earlier "close" left it)
            } else if (out.minor_version == 1) out.close = out.close || contains_token(value, "close");
            else out.close = !contains_token(value, "keep-alive");
        }
    }
    if (out.chunked) out.content_length = -1;  // RFC 9112 6.3: chunked wins
    return p - buf.data();
}

// Whether a comma-separated list (a Connection or Transfer-Encoding value)
// has `token` as one of its items, case-insensitively. (A byte loop: these
// lists are a few bytes long, shorter than a library search's set-up.)
inline bool contains_token(std::string_view list, std::string_view token) noexcept {
    std::size_t i = 0;
    while (i < list.size()) {
        std::size_t start = i;
        while (i < list.size() && list[i] != ',') ++i;
        if (iequals(trim_ows(list.substr(start, i - start)), token)) return true;
        ++i;  // past the comma
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
