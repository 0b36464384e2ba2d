#pragma once
// The request and response vocabulary, shared by the C++ DSL, the YAML loader
// and the JavaScript adapter. `request` is exactly the seed's req object
// {name, method, url, headers, body}.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/error_code.hpp"

namespace loadkit::inline LOADKIT_ABI {

using header_list = std::vector<std::pair<std::string, std::string>>;
using string_pair = std::pair<std::string_view, std::string_view>;
class cookie_jar;  // cookies.hpp

// A request as a hook sees it: before_request may change url, method, headers
// and body; name is the metrics tag (defaults to the URL as written).
struct request {
    std::string name;
    std::string method = "GET";
    std::string url;
    header_list headers;
    std::string body;
};

// A cookie one request sends besides the jar's (k6's params.cookies). It goes
// first in the Cookie header; with `replace`, the jar's cookie of that name is
// left out, else both are sent (k6's {value, replace} objects).
struct request_cookie {
    std::string name, value;
    bool replace = false;
};

// Which response statuses count as expected: k6's http.expectedStatuses and
// responseCallback. A failed request (no status) is status 0, as in k6. An
// unexpected response counts in http_req_failed and is tagged
// expected_response:false; the default (no rule anywhere) is k6's 200-399.
struct expected_statuses {
    std::vector<std::pair<int, int>> ranges;  // inclusive [min, max]; one status is [s, s]
    bool all = false;                         // every status, failures too (k6: responseCallback null)
    bool match(int status) const noexcept {
        if (all) return true;
        for (auto& [lo, hi] : ranges)
            if (lo <= status && status <= hi) return true;
        return false;
    }
};

// Per-call options of client::get/post/... (k6's params). Views must outlive
// the co_await, which they do when the call is awaited in the same statement:
//   co_await http.get("/items", {.headers = {{"Authorization", "Bearer " + token}}});
// headers and query are inline arrays, not std::initializer_list: g++ 12
// cannot keep an initializer_list's array alive across a co_await ("array
// used as initializer"). Entries end at the first empty name; more headers
// than fit go in header_list.
struct params {
    static constexpr std::size_t inline_headers = 8;
    std::string_view name{};  // the `name` tag; default: the URL as given
    string_pair headers[inline_headers] = {};
    string_pair query[4] = {};             // appended to the URL, percent-encoded
    string_pair tags[4] = {};              // extra tags on this request's samples (k6's params.tags)
    std::optional<nanoseconds> timeout{};  // default: the client's
    int redirects = -1;                    // max redirects to follow; -1: the client's
    std::span<const std::pair<std::string, std::string>> header_list{};  // runtime-built headers
    std::span<const request_cookie> cookies{};  // sent with the jar's, on every hop of redirects
    // k6's params.jar: this request's cookies from and into `jar` instead of
    // the client's own (which must outlive the request); null: the client's.
    cookie_jar* jar = nullptr;
    // k6's params.auth = 'digest': a 401 with a Digest challenge is answered
    // once with the URL's credentials (digest.hpp); both requests count.
    bool digest_auth = false;
    // the response side (k6's params.responseCallback and responseType 'none'):
    const expected_statuses* expected = nullptr;  // nullptr: the client's (client_options::expected)
    std::int8_t discard_body = -1;                // 1: read the body, keep none; 0: keep it; -1: the client's
};

// Per-request phase timings, in the k6 sense (nanoseconds).
struct timings {
    std::int64_t blocked = 0;     // DNS lookup and waiting before a connection attempt
    std::int64_t connecting = 0;  // TCP connect
    std::int64_t tls_handshaking = 0;
    std::int64_t sending = 0;
    std::int64_t waiting = 0;  // time to first byte after sending
    std::int64_t receiving = 0;
    std::int64_t duration = 0;  // sending + waiting + receiving
    static double ms(std::int64_t ns) noexcept { return static_cast<double>(ns) / 1e6; }
};

struct tls_info;  // tls.hpp

namespace detail {
struct vu_context;
struct h2_access;
// Equality of two strings, inlined: std::string_view's operator== is an
// out-of-line compare() here, which per-request checks pay for every time.
inline bool same(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    // (the same bytes are often the same object: a cached name, the last URL)
    if (a.data() == b.data()) return true;
    if (a.size() <= 8) {  // a method: a call to memcmp cost more than the bytes
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    return std::memcmp(a.data(), b.data(), a.size()) == 0;
}
// ASCII case-insensitive equality (header names), branch-free per byte.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    auto lower = [](unsigned char c) noexcept {
        return static_cast<unsigned char>(c | ((static_cast<unsigned>(c - 'A') < 26u) << 5));
    };
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}
// Equality with a lowercase literal (letters, digits, '-'), 8 bytes at a time:
// setting bit 0x20 lowercases ASCII letters and leaves digits and '-' alone.
// Header names are compared with known names this way on every response
// (always inlined: with the literal's length known, the loop unrolls; a
// call cost ~35 instructions for "keep-alive").
[[gnu::always_inline]] inline bool iequals_lower(std::string_view a, std::string_view lower) noexcept {
    if (a.size() != lower.size()) return false;
    std::size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, lower.data() + i, 8);
        if ((x | 0x2020202020202020ull) != y) return false;
    }
    for (; i < a.size(); ++i)
        if ((static_cast<unsigned char>(a[i]) | 0x20) != static_cast<unsigned char>(lower[i])) return false;
    return true;
}
// The value at a dotted path ("items.0.id": object keys and array indexes)
// inside `j`; nullptr when absent.
inline const nlohmann::json* json_at(const nlohmann::json& j, std::string_view path) {
    const nlohmann::json* cur = &j;
    while (!path.empty() && cur) {
        auto dot = path.find('.');
        auto key = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (cur->is_object()) {
            auto it = cur->find(key);
            cur = it == cur->end() ? nullptr : &*it;
        } else if (cur->is_array()) {
            std::size_t i = 0;
            bool digits = !key.empty();
            for (char c : key) {
                if (c < '0' || c > '9') {
                    digits = false;
                    break;
                }
                i = i * 10 + static_cast<std::size_t>(c - '0');
            }
            cur = digits && i < cur->size() ? &(*cur)[i] : nullptr;
        } else {
            cur = nullptr;
        }
    }
    return cur;
}
}  // namespace detail

// A response. It belongs to the client that made it and stays valid until that
// client's next request, so no request copies its body or headers.
class response {
  public:
    int status = 0;
    std::string_view status_text;
    std::string body;
    std::string url;  // the final URL, after redirects
    loadkit::timings timings;
    loadkit::error_code error_code = error_code::none;  // none, a network error, or 1000+status for >= 400
    std::string error;                                  // human-readable, empty on success
    std::string_view method;
    std::string_view proto = "HTTP/1.1";  // k6's res.proto: "HTTP/1.1" or "HTTP/2.0"
    std::string_view name;      // the name tag it was recorded under
    std::size_t redirects = 0;  // redirects followed to get here
    // What the first hop sent, for k6's res.request: its Cookie header's value
    // (empty when it sent none from the jar or params.cookies), and, only once
    // redirected, its URL and method.
    std::string sent_cookies, first_url, first_method;
    bool body_discarded = false;  // the body was read but not kept (discard_response_bodies, discard_body)

    // true for 2xx and 3xx: the default `expected_response` of k6
    bool ok() const noexcept { return status >= 200 && status < 400 && !failed_io(); }
    bool failed_io() const noexcept {
        return (error_code != loadkit::error_code::none && static_cast<int>(error_code) < 1400) ||
               static_cast<int>(error_code) >= 1600;
    }

    // Case-insensitive; the first value of that name, or "" if absent.
    std::string_view header(std::string_view name) const noexcept {
        for (auto& h : headers_)
            if (detail::iequals(h.first, name)) return h.second;
        return {};
    }
    std::span<const std::pair<std::string_view, std::string_view>> headers() const noexcept { return headers_; }

    // The body parsed as JSON; a JSON null on a body that is not JSON.
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
    // A value at a dotted path ("items.0.id") of the JSON body; null if absent.
    nlohmann::json json(std::string_view path) const {
        nlohmann::json j = json();
        auto* v = detail::json_at(j, path);
        return v ? *v : nlohmann::json();
    }

    detail::vu_context* context() const noexcept { return ctx_; }
    // The TLS of the connection it came on (k6's res.tls_version,
    // tls_cipher_suite, ocsp); nullptr for plain HTTP or a failed request.
    const loadkit::tls_info* tls() const noexcept { return tls_; }

  private:
    friend class client;
    friend struct detail::h2_access;
    std::vector<std::pair<std::string_view, std::string_view>> headers_;
    detail::vu_context* ctx_ = nullptr;
    const loadkit::tls_info* tls_ = nullptr;
};

}  // namespace loadkit::inline LOADKIT_ABI
