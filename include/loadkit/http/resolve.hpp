#pragma once
// A host's endpoints, for every connection a VU opens (the HTTP client's,
// WebSocket sessions'): an IP literal, a name the thread has resolved before
// (thread_context::dns), or a lookup whose answer joins that cache. What a
// failure records (k6's error code, the message's words) is the caller's.
#include <coroutine>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../runtime/context.hpp"
#include "connection.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// The endpoints to try for host:port without waiting: a name already
// resolved, or an IP literal's (kept in the cache like a name's); null when
// the name needs a lookup. Leaves "host:port" in t.dns_key, the key to look it
// up under. Called on every connect: once the cache has the host, it does not
// allocate (dns_key's storage is reused).
inline const std::vector<tcp::endpoint>* known_endpoints(thread_context& t, const std::string& host,
                                                         std::uint16_t port) {
    t.dns_key.assign(host).append(":").append(std::to_string(port));
    auto it = t.dns.find(t.dns_key);
    if (it != t.dns.end()) return &it->second;
    sys_error ec;
    auto addr = boost::asio::ip::make_address(host, ec);
    if (ec) return nullptr;
    std::vector<tcp::endpoint> one{tcp::endpoint(addr, port)};
    return &t.dns.emplace(t.dns_key, std::move(one)).first->second;
}

// Looks up a name known_endpoints() did not know, with `r` (the caller's, so
// that it can cancel the lookup). Empty on failure, and `why` says why ("no
// address" for an empty answer). The caller keeps the answer with
// remember_endpoints() once it still wants it (a VU stopped meanwhile may not).
inline task<std::vector<tcp::endpoint>> lookup_endpoints(resolver_t& r, const std::string& host, std::uint16_t port,
                                                         std::string& why) {
    struct resolve_op {
        resolver_t* r;
        const std::string* host;
        std::string port;
        sys_error ec{};
        tcp::resolver::results_type results;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            r->async_resolve(*host, port, [this, h](const sys_error& e, tcp::resolver::results_type res) {
                ec = e;
                results = std::move(res);
                h.resume();
            });
        }
        void await_resume() const noexcept {}
    } op{&r, &host, std::to_string(port), {}, {}};
    co_await op;
    std::vector<tcp::endpoint> list;
    if (op.ec || op.results.empty()) why = op.ec ? op.ec.message() : std::string("no address");
    else
        for (auto& e : op.results) list.push_back(e.endpoint());
    co_return list;
}

// A looked-up name's endpoints, kept in the thread's cache under `key`
// ("host:port", as known_endpoints() left it) for its other connections.
inline const std::vector<tcp::endpoint>& remember_endpoints(thread_context& t, std::string key,
                                                            std::vector<tcp::endpoint> list) {
    return t.dns.emplace(std::move(key), std::move(list)).first->second;
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
