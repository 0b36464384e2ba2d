#pragma once
// A per-VU cookie jar (RFC 6265 subset: Domain, Path, Max-Age, Expires,
// Secure; host-only cookies), with the operations of k6's CookieJar (Go's
// net/http/cookiejar without a public suffix list). The jar is empty for
// most load tests, and then costs one branch per request.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "message.hpp"
#include "parser.hpp"
#include "url.hpp"

namespace loadkit::inline LOADKIT_ABI {

class cookie_jar {
  public:
    struct cookie {
        std::string name, value, domain, path;
        bool host_only = true;
        bool secure = false;
        std::int64_t expires_ms = 0;  // 0: session cookie
        bool http_only = false;
        bool raw = false;  // set by a script (jar.set): sanitized when sent, as Go's AddCookie does
    };
    // jar.set's options (k6's {domain, path, expires, max_age, secure, http_only}).
    struct set_options {
        std::string domain, path;
        std::int64_t expires_ms = 0;  // 0: none
        std::int64_t max_age = 0;     // seconds; 0: none; < 0: delete
        bool secure = false, http_only = false;
    };

    bool empty() const noexcept { return cookies_.empty(); }
    void clear() noexcept { cookies_.clear(); }
    const std::vector<cookie>& all() const noexcept { return cookies_; }

    // Sets a cookie for the URL's host (k6's jar.set(url, name, value)).
    void set(std::string_view url, std::string_view name, std::string_view value) {
        detail::url_parts u;
        if (!detail::split_url(url, u)) return;
        upsert(cookie{std::string(name), std::string(value), lower(u.host), "/", true, false, 0});
    }
    // Sets one cookie for `url` as Go's Jar.SetCookies does (k6's jar.set):
    // no Domain: host-only; a Domain that does not domain-match the host
    // (or, on an IP address, is not that address): ignored; no or a relative
    // path: the URL's directory; max_age < 0 or an expiry past: deletes.
    // A URL that is not http(s) is ignored, as Go's jar does.
    void set(std::string_view url, std::string_view name, std::string_view value, const set_options& o) {
        detail::url_parts u;
        if (!detail::split_url(url, u)) return;
        cookie c{std::string(name), std::string(value), lower(u.host), {}, true, o.secure, 0, o.http_only, true};
        c.path = o.path.starts_with('/') ? o.path : default_path(u.path());
        if (!o.domain.empty()) {
            std::string_view d = o.domain;
            if (is_ip(c.domain)) {
                if (d != c.domain) return;
            } else {
                if (d.front() == '.') d.remove_prefix(1);
                auto ld = lower(d);
                if (ld.empty() || ld.front() == '.' || ld.back() == '.') return;
                if (ld != c.domain && !(c.domain.size() > ld.size() && c.domain.ends_with(ld) &&
                                        c.domain[c.domain.size() - ld.size() - 1] == '.'))
                    return;
                c.domain = std::move(ld);
                c.host_only = false;
            }
        }
        auto now = detail::wall_ms();
        bool remove = o.max_age < 0;
        if (o.max_age > 0) c.expires_ms = now + o.max_age * 1000;
        else if (o.max_age == 0 && o.expires_ms != 0) {
            if (o.expires_ms <= now) remove = true;
            else c.expires_ms = o.expires_ms;
        }
        if (remove) erase(c.domain, c.path, [&](const cookie& x) { return x.name == c.name; });
        else upsert(std::move(c));
    }
    // The cookies a request to `url` sends, in Go's order (longer paths
    // first, then older first): k6's jar.cookiesForURL.
    std::vector<const cookie*> cookies_for(std::string_view url) const {
        std::vector<const cookie*> out;
        detail::url_parts u;
        if (!detail::split_url(url, u)) return out;
        auto now = detail::wall_ms();
        for (auto& c : cookies_)
            if (matches(c, u.host, u.path(), u.secure, now)) out.push_back(&c);
        return out;
    }
    // k6's jar.delete(url, name): Go's jar deletes the host-only cookie of
    // that name for the URL's host and directory (a cookie set with a Domain
    // or another path stays).
    void remove(std::string_view url, std::string_view name) {
        detail::url_parts u;
        if (!detail::split_url(url, u)) return;
        erase(lower(u.host), default_path(u.path()), [&](const cookie& x) { return x.name == name; });
    }
    // k6's jar.clear(url): each cookie the URL would send is deleted as
    // jar.delete(url, its name) deletes it.
    void clear(std::string_view url) {
        std::vector<std::string> names;
        for (auto* c : cookies_for(url)) names.push_back(c->name);
        detail::url_parts u;
        if (names.empty() || !detail::split_url(url, u)) return;
        erase(lower(u.host), default_path(u.path()),
              [&](const cookie& x) { return std::find(names.begin(), names.end(), x.name) != names.end(); });
    }

    // The value a request to `url` would send for `name`, or "".
    std::string get(std::string_view url, std::string_view name) const {
        detail::url_parts u;
        if (!detail::split_url(url, u)) return {};
        auto now = detail::wall_ms();
        for (auto& c : cookies_)
            if (c.name == name && matches(c, u.host, u.path(), u.secure, now)) return c.value;
        return {};
    }

    // Stores one Set-Cookie header value received from host/path.
    void store(std::string_view host, std::string_view request_path, std::string_view header) {
        auto semi = header.find(';');
        auto pair = detail::trim_ows(header.substr(0, semi));
        auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0) return;
        auto name = detail::trim_ows(pair.substr(0, eq));
        if (name.empty() || name.find_first_of(" \t\"(),/:;<=>?@[\\]{}") != std::string_view::npos)
            return;  // not a token: Go's parser (k6) drops the cookie
        cookie c;
        c.name.assign(name);
        c.value.assign(detail::trim_ows(pair.substr(eq + 1)));
        c.domain = lower(host);
        c.path = default_path(request_path);
        std::int64_t now = detail::wall_ms();
        bool have_max_age = false;
        while (semi != std::string_view::npos) {
            header.remove_prefix(semi + 1);
            semi = header.find(';');
            auto attr = detail::trim_ows(header.substr(0, semi));
            auto aeq = attr.find('=');
            auto key = detail::trim_ows(attr.substr(0, aeq));
            auto val = aeq == std::string_view::npos ? std::string_view{} : detail::trim_ows(attr.substr(aeq + 1));
            if (detail::iequals(key, "domain") && !val.empty()) {
                if (val.front() == '.') val.remove_prefix(1);
                auto d = lower(val);
                auto h = lower(host);
                if (h != d && !(h.size() > d.size() && h.ends_with(d) && h[h.size() - d.size() - 1] == '.'))
                    return;  // a cookie for another domain: rejected (RFC 6265 5.3 step 6)
                c.domain = d;
                c.host_only = false;
            } else if (detail::iequals(key, "path") && val.starts_with('/')) {
                c.path.assign(val);
            } else if (detail::iequals(key, "secure")) {
                c.secure = true;
            } else if (detail::iequals(key, "httponly")) {
                c.http_only = true;
            } else if (detail::iequals(key, "max-age")) {
                std::int64_t s = 0;
                auto r = std::from_chars(val.data(), val.data() + val.size(), s);
                if (r.ec == std::errc()) {
                    c.expires_ms = s <= 0 ? -1 : now + s * 1000;
                    have_max_age = true;
                }
            } else if (detail::iequals(key, "expires") && !have_max_age) {
                if (auto t = parse_http_date(val); t != 0) c.expires_ms = t <= now ? -1 : t;
            }
        }
        if (c.expires_ms == -1) {  // expiry in the past deletes
            std::erase_if(cookies_, [&](const cookie& o) {
                return o.name == c.name && o.domain == c.domain && o.path == c.path;
            });
            return;
        }
        upsert(std::move(c));
    }

    // Appends "Cookie: ...\r\n" for a request, if any cookie matches: first
    // `given` (a Cookie header of the request's own, as written), then the
    // request's params.cookies, then the jar's cookies that no params cookie
    // with `replace` names; one header, as k6 (Go's AddCookie) sends it.
    void append_header(std::string& out, std::string_view host, std::string_view path, bool secure,
                       std::span<const request_cookie> extra = {}, std::string_view given = {}) const {
        auto now = detail::wall_ms();
        bool first = true;
        if (!given.empty()) {
            out.append("Cookie: ").append(given);
            first = false;
        }
        for (auto& c : extra) {
            if (c.name.empty() || c.name.find_first_of("\r\n") != std::string::npos ||
                c.value.find_first_of("\r\n") != std::string::npos)
                continue;  // would split the request (header injection): dropped
            out.append(first ? "Cookie: " : "; ");
            first = false;
            out.append(c.name).append("=").append(c.value);
        }
        for (auto& c : cookies_) {
            if (!matches(c, host, path, secure, now)) continue;
            if (!extra.empty() && std::any_of(extra.begin(), extra.end(),
                                              [&](const request_cookie& r) { return r.replace && r.name == c.name; }))
                continue;
            out.append(first ? "Cookie: " : "; ");
            first = false;
            if (c.raw) append_sanitized(out, c);
            else out.append(c.name).append("=").append(c.value);
        }
        if (!first) out.append("\r\n");
    }

    // "Wed, 21 Oct 2015 07:28:00 GMT" -> ms since the epoch; 0 if unparseable.
    static std::int64_t parse_http_date(std::string_view s) noexcept {
        static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
        auto comma = s.find(',');
        if (comma != std::string_view::npos) s.remove_prefix(comma + 1);
        s = detail::trim_ows(s);
        int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
        auto num = [&](int& v) {
            auto r = std::from_chars(s.data(), s.data() + s.size(), v);
            if (r.ec != std::errc()) return false;
            s.remove_prefix(static_cast<std::size_t>(r.ptr - s.data()));
            return true;
        };
        if (!num(day) || s.size() < 5) return 0;
        s.remove_prefix(1);  // ' ' or '-'
        auto m = months.find(s.substr(0, 3));
        if (m == std::string_view::npos) return 0;
        s.remove_prefix(4);
        if (!num(year)) return 0;
        if (year < 100) year += year < 70 ? 2000 : 1900;
        s = detail::trim_ows(s);
        if (!num(hh) || s.empty()) return 0;
        s.remove_prefix(1);
        if (!num(mm) || s.empty()) return 0;
        s.remove_prefix(1);
        if (!num(ss)) return 0;
        std::tm tm{};
        tm.tm_year = year - 1900;
        tm.tm_mon = static_cast<int>(m / 3);
        tm.tm_mday = day;
        tm.tm_hour = hh;
        tm.tm_min = mm;
        tm.tm_sec = ss;
        return static_cast<std::int64_t>(timegm(&tm)) * 1000;
    }

  private:
    // A script's cookie as Go's AddCookie writes it: CR and LF in the name
    // as '-'; in the value only printable ASCII but '"', ';' and '\\', and
    // the value quoted when it has a space or a comma.
    static void append_sanitized(std::string& out, const cookie& c) {
        for (char ch : c.name) out.push_back(ch == '\r' || ch == '\n' ? '-' : ch);
        out.push_back('=');
        std::string v;
        for (char ch : c.value)
            if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != ';' && ch != '\\') v.push_back(ch);
        bool quote = v.find_first_of(" ,") != std::string::npos;
        if (quote) out.push_back('"');
        out.append(v);
        if (quote) out.push_back('"');
    }
    static bool is_ip(std::string_view h) noexcept {
        return h.find(':') != std::string_view::npos ||
               (!h.empty() && h.find_first_not_of("0123456789.") == std::string_view::npos);
    }
    template <class Pred>
    void erase(std::string_view domain, std::string_view path, Pred&& pred) {
        std::erase_if(cookies_, [&](const cookie& o) { return o.domain == domain && o.path == path && pred(o); });
    }
    static std::string lower(std::string_view s) {
        std::string r(s);
        for (auto& c : r)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        return r;
    }
    static std::string default_path(std::string_view p) {
        if (!p.starts_with('/')) return "/";
        auto last = p.rfind('/');
        return last == 0 ? std::string("/") : std::string(p.substr(0, last));
    }
    static bool matches(const cookie& c, std::string_view host, std::string_view path, bool secure,
                        std::int64_t now) noexcept {
        if (c.secure && !secure) return false;
        if (c.expires_ms > 0 && c.expires_ms <= now) return false;
        bool dom = detail::iequals(host, c.domain) ||
                   (!c.host_only && host.size() > c.domain.size() &&
                    detail::iequals(host.substr(host.size() - c.domain.size()), c.domain) &&
                    host[host.size() - c.domain.size() - 1] == '.');
        if (!dom) return false;
        if (path.empty()) path = "/";
        if (!path.starts_with(c.path)) return false;
        return path.size() == c.path.size() || c.path.back() == '/' || path[c.path.size()] == '/';
    }
    // Kept in the order Go's jar sends them: longer paths first, then older
    // first (a replaced cookie keeps its place, as it keeps its creation time).
    void upsert(cookie c) {
        for (auto& o : cookies_)
            if (o.name == c.name && o.domain == c.domain && o.path == c.path) {
                o = std::move(c);
                return;
            }
        auto at = std::find_if(cookies_.begin(), cookies_.end(),
                               [&](const cookie& o) { return o.path.size() < c.path.size(); });
        cookies_.insert(at, std::move(c));
    }
    std::vector<cookie> cookies_;
};

}  // namespace loadkit::inline LOADKIT_ABI
