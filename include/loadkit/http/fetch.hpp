#pragma once
// fetch(): one blocking request from the calling thread, outside any VU.
//
// For code that is not a coroutine: event listeners (Locust's test_start
// applying a configuration with `requests.post`, seed 000), main() before a
// run, tools. It drives the same client as the VUs on a private io_context,
// so TLS, redirects, cookies within the call and timeouts all behave the same;
// its requests are not part of any run's metrics.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "client.hpp"
#include "tls.hpp"

namespace loadkit::inline LOADKIT_ABI {

// An owning copy of a response (a client's own response lives in the client).
struct fetched {
    int status = 0;
    std::string body;
    std::string url;
    header_list headers;
    loadkit::error_code error_code = error_code::none;
    std::string error;
    loadkit::timings timings;
    std::optional<tls_info> tls;  // what its connection's TLS negotiated (https)

    bool ok() const noexcept { return status >= 200 && status < 400; }
    std::string_view header(std::string_view name) const noexcept {
        for (auto& [k, v] : headers)
            if (detail::iequals(k, name)) return v;
        return {};
    }
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

namespace detail {
inline task<> fetch_into(client& c, std::string_view method, std::string_view url, std::string_view body,
                         const params& p, fetched& out) {
    auto& r = co_await c.send(method, url, body, p);
    out.status = r.status;
    out.body = r.body;
    out.url = r.url;
    for (auto& [k, v] : r.headers()) out.headers.emplace_back(k, v);
    out.error_code = r.error_code;
    out.error = r.error;
    out.timings = r.timings;
    if (r.tls()) out.tls = *r.tls();  // static strings: safe to keep
}
}  // namespace detail

// Makes one request and waits for it. `url` is absolute, or relative to
// `options.base_url`. Failures come back as error_code/error, never as a throw.
inline fetched fetch(std::string_view method, std::string_view url, std::string_view body = {}, const params& p = {},
                     const client_options& options = {}) {
    detail::thread_context t(nullptr, -1);
    fetched out;
    std::exception_ptr err;
    {
        client c(t, nullptr, options);
        err = detail::run_blocking(t, detail::fetch_into(c, method, url, body, p, out));
    }
    if (err) {
        out.error_code = error_code::generic;
        try {
            std::rethrow_exception(err);
        } catch (const std::exception& e) {
            out.error = e.what();
        } catch (...) {
            out.error = "request failed";
        }
    }
    return out;
}

}  // namespace loadkit::inline LOADKIT_ABI
