#pragma once
// URL splitting and resolution for the client: just what HTTP/1.1 needs
// (scheme, host, port, request target), without allocation when the input is
// already absolute.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

struct url_parts {
    bool secure = false;
    std::string_view host;  // without brackets for IPv6 literals
    std::uint16_t port = 0;
    std::string_view authority;  // host[:port] as written (for the Host header), without credentials
    std::string_view target;     // path?query, at least "/"
    std::string_view userinfo;   // "user:pass" of http://user:pass@host/ as written (percent-encoded), or empty
    std::string_view path() const noexcept { return target.substr(0, target.find('?')); }
};

inline bool is_absolute_url(std::string_view u) noexcept {
    return u.starts_with("http://") || u.starts_with("https://");
}

// Splits an absolute http(s) URL. Returns false for anything else.
inline bool split_url(std::string_view u, url_parts& out) noexcept {
    std::size_t p;
    if (u.starts_with("http://")) {
        out.secure = false;
        p = 7;
    } else if (u.starts_with("https://")) {
        out.secure = true;
        p = 8;
    } else return false;
    auto end = u.find_first_of("/?#", p);
    auto auth = u.substr(p, end == std::string_view::npos ? std::string_view::npos : end - p);
    // Credentials in the URL (http://user:pass@host/) are sent as basic auth,
    // as browsers' fetch, curl and k6 (Go's client) do; the last '@' ends them
    // (an unescaped '@' in a password is common enough to accept).
    out.userinfo = {};
    if (auto at = auth.rfind('@'); at != std::string_view::npos) {
        out.userinfo = auth.substr(0, at);
        auth = auth.substr(at + 1);
    }
    if (auth.empty()) return false;
    out.authority = auth;
    std::string_view host = auth, port;
    if (auth.front() == '[') {
        auto rb = auth.find(']');
        if (rb == std::string_view::npos) return false;
        host = auth.substr(1, rb - 1);
        if (rb + 1 < auth.size()) {
            if (auth[rb + 1] != ':') return false;
            port = auth.substr(rb + 2);
        }
    } else if (auto c = auth.rfind(':'); c != std::string_view::npos) {
        host = auth.substr(0, c);
        port = auth.substr(c + 1);
    }
    if (host.empty()) return false;
    out.host = host;
    out.port = out.secure ? 443 : 80;
    if (!port.empty()) {
        unsigned v = 0;
        auto r = std::from_chars(port.data(), port.data() + port.size(), v);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535) return false;
        out.port = static_cast<std::uint16_t>(v);
    }
    if (end == std::string_view::npos) out.target = "/";
    else {
        auto t = u.substr(end);
        if (auto h = t.find('#'); h != std::string_view::npos) t = t.substr(0, h);
        out.target = t.empty() || t.front() == '?' ? std::string_view{} : t;
        if (out.target.empty()) out.target = t.empty() ? std::string_view("/") : t;  // "?q" keeps its query
    }
    return true;
}

// Resolves `ref` (absolute, or relative to `base`) into `out`. Returns false
// when the result is not an http(s) URL.
inline bool resolve_url(std::string_view base, std::string_view ref, std::string& out) {
    if (is_absolute_url(ref)) {
        out.assign(ref);
        return true;
    }
    // A reference with another scheme ("ftp://h/x", "mailto:a") is absolute too
    // (RFC 3986 4.3), and not http(s): without this check it was resolved as a
    // relative path ("http://target/ftp://h/x") and sent to the target.
    if (auto colon = ref.find(':'); colon != std::string_view::npos && colon > 0 &&
                                    ((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= 'A' && ref[0] <= 'Z'))) {
        auto scheme = ref.substr(0, colon);
        if (scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") ==
            std::string_view::npos)
            return false;
    }
    url_parts b;
    if (!split_url(base, b)) return false;
    std::string_view origin = base.substr(
        0, static_cast<std::size_t>(b.authority.data() + b.authority.size() - base.data()));
    out.assign(origin);
    if (ref.starts_with("//")) {  // scheme-relative
        out.assign(b.secure ? "https:" : "http:");
        out.append(ref);
        return true;
    }
    if (ref.starts_with('/')) {
        out.append(ref);
        return true;
    }
    auto path = b.path();
    if (ref.empty()) {
        out.append(b.target);
        return true;
    }
    if (ref.front() == '?') {
        out.append(path.empty() ? "/" : path);
        out.append(ref);
        return true;
    }
    auto slash = path.rfind('/');
    out.append(slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash + 1));
    out.append(ref);
    return true;
}

// Appends "Basic base64(user:pass)" for a URL's userinfo, its percent-escapes
// decoded first (Go's URL.User.Username()/Password(), which k6 sends).
inline void append_basic_auth(std::string& out, std::string_view userinfo) {
    static constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    auto hexval = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    out.append("Basic ");
    unsigned acc = 0;
    int have = 0;
    auto put = [&](unsigned char byte) {
        acc = (acc << 8) | byte;
        if (++have == 3) {
            out.push_back(b64[(acc >> 18) & 63]);
            out.push_back(b64[(acc >> 12) & 63]);
            out.push_back(b64[(acc >> 6) & 63]);
            out.push_back(b64[acc & 63]);
            acc = 0;
            have = 0;
        }
    };
    bool user_only = userinfo.find(':') == std::string_view::npos;
    for (std::size_t i = 0; i < userinfo.size(); ++i) {
        char c = userinfo[i];
        int hi, lo;
        if (c == '%' && i + 2 < userinfo.size() && (hi = hexval(userinfo[i + 1])) >= 0 &&
            (lo = hexval(userinfo[i + 2])) >= 0) {
            put(static_cast<unsigned char>(hi * 16 + lo));
            i += 2;
        } else {
            put(static_cast<unsigned char>(c));
        }
    }
    if (user_only) put(':');  // http://user@host/: user and an empty password, as Go sends
    if (have == 1) {
        acc <<= 16;
        out.push_back(b64[(acc >> 18) & 63]);
        out.push_back(b64[(acc >> 12) & 63]);
        out.append("==");
    } else if (have == 2) {
        acc <<= 8;
        out.push_back(b64[(acc >> 18) & 63]);
        out.push_back(b64[(acc >> 12) & 63]);
        out.push_back(b64[(acc >> 6) & 63]);
        out.push_back('=');
    }
}

// The URL with its credentials masked, as k6 tags it ("http://****:****@h/"):
// a password never reaches a metric name or an export. Unchanged without '@'.
inline void mask_credentials(std::string& u) {
    auto start = u.find("://");
    if (start == std::string::npos) return;
    start += 3;
    auto end = u.find_first_of("/?#", start);
    auto at = u.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at == std::string::npos || at < start) return;
    bool has_password = u.find(':', start) < at;
    u.replace(start, at - start, has_password ? "****:****" : "****");
}

// Appends `s` percent-encoded for a query component.
inline void append_query_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~')
            out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
}

}  // namespace loadkit::inline LOADKIT_ABI::detail

namespace loadkit::inline LOADKIT_ABI {

// Whether `u` is an absolute http:// or https:// URL that requests can be
// sent to (as a run's target must be).
inline bool is_http_url(std::string_view u) noexcept {
    detail::url_parts p;
    return detail::split_url(u, p);
}

}  // namespace loadkit::inline LOADKIT_ABI
