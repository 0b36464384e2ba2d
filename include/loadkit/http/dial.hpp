#pragma once
// How a client connects: the endpoints of its host (an IP literal, the thread's
// DNS cache, or a lookup), each address in turn (bound to the VU's source
// address with --local-ips), then TLS.
// Included by client.hpp, whose private members these are.
#include "../core/config.hpp"
#include "client.hpp"
#include "resolve.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A name the thread has not resolved yet: looked up and cached for the
// thread's other connections. Null on failure (res_ says).
inline task<const std::vector<detail::tcp::endpoint>*> client::lookup(detail::connection& c, std::string key) {
    using namespace detail;
    if (!resolver_) resolver_ = std::make_unique<resolver_t>(thread_->ioc.get_executor());
    std::string why;
    auto list = co_await lookup_endpoints(*resolver_, c.host, c.port, why);
    if (list.empty() || stop_requested()) {
        fail(error_code::dns_failed, why);
        co_return nullptr;
    }
    co_return &remember_endpoints(*thread_, std::move(key), std::move(list));
}

// The TLS handshake of a connection just connected (at t2). `by_name`: the
// host is a name, not an IP literal (SNI, and which identity to verify).
inline task<bool> client::handshake(detail::connection& c, bool by_name, std::int64_t t2) {
    using namespace detail;
    SSL* ssl = c.tls->native_handle();
    if (by_name) SSL_set_tlsext_host_name(ssl, c.host.c_str());  // SNI: names only
    if (!opts_->insecure_skip_tls_verify) {
        if (!by_name) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c.host.c_str());
        else SSL_set1_host(ssl, c.host.c_str());
    }
    if (!tls_ctx_->identities.empty()) tls_ctx_->apply(ssl, c.host);  // tlsAuth
    if (h2_) SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>("\x02h2\x08http/1.1"), 12);
    auto [e, n] = co_await io(
        [&c](auto h) { c.tls->async_handshake(boost::asio::ssl::stream_base::client, std::move(h)); });
    (void)n;
    if (e) {
        fail(classify(e, phase::handshake, ssl), e.message());
        c.close();
        co_return false;
    }
    res_.timings.tls_handshaking = now_ns() - t2;
    c.tls_state = std::make_shared<const tls_info>(read_tls_info(ssl));
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    if (h2_) SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    c.alpn_h2 = alpn_len == 2 && alpn[0] == 'h' && alpn[1] == '2';
    co_return true;
}

// The endpoints to try for c's host without waiting (resolve.hpp); null when
// the name needs a lookup.
inline const std::vector<detail::tcp::endpoint>* client::known_endpoints(detail::connection& c) {
    return detail::known_endpoints(*thread_, c.host, c.port);
}

// Before a connect attempt to `ep`: a fresh socket, bound to the VU's source
// address with --local-ips. Returns connect_go, connect_skip (`ep` is of the
// other address family) or connect_failed (a bind error: res_ says).
inline int client::begin_connect(detail::connection& c, const detail::tcp::endpoint& ep, bool& tried) {
    using namespace detail;
    auto& s = c.lowest();
    sys_error e2;
    if (s.is_open()) s.close(e2);
    if (opts_->local_ips.empty()) return connect_go;
    // k6's --local-ips: the VU's source address, bound before the connect;
    // addresses of the other family are skipped (as Go's dialer does)
    auto source = opts_->local_ips.at(vu_ ? vu_->local_id : 0);
    if (ep.address().is_v6() != source.is_v6()) return connect_skip;
    tried = true;
    if (auto be = bind_source(s, source, ep)) {  // not local (EADDRNOTAVAIL): k6's 1213
        fail(is_out_of_descriptors(be.value()) ? classify(be, phase::connect, nullptr) : error_code::dial_os_error,
             "bind " + source.to_string() + ": " + be.message());
        c.close();
        return connect_failed;
    }
    return connect_go;
}

// After the last connect attempt (error `last`; `tried`: an address of the
// source's family was there). Fails res_, or makes the socket ready.
inline bool client::end_connect(detail::connection& c, const detail::sys_error& last, bool tried,
                                std::int64_t t1) {
    using namespace detail;
    if (last) {
        if (!opts_->local_ips.empty() && !tried) fail(error_code::dial_failed, "no suitable address found");  // Go's words
        else fail(classify(last, phase::connect, nullptr), last.message());
        c.close();
        return false;
    }
    sys_error e2;
    c.lowest().set_option(tcp::no_delay(true), e2);
    if (c.ring && !c.secure) {  // its I/O is the ring's now
        c.ring->forget(c.sock.native_handle());
        c.join_ring();
    }
    res_.timings.connecting = now_ns() - t1;
    return true;
}

// c is ready for requests, asked for at asked_ns. http_req_blocked is k6's:
// from asking for a connection to having one ready (Go's GetConn to
// GotConn), so on a new connection it holds the lookup, the connect and the
// TLS handshake; on a kept-alive one, or when no connection came (GotConn
// never called), 0.
inline void client::opened(detail::connection& c, std::int64_t asked_ns) noexcept {
    res_.timings.blocked = detail::now_ns() - asked_ns;
    c.open = true;
    c.served = 0;
    c.rlen = 0;
}

// Connects c (a lookup first when its host is a name not yet resolved; then
// each address in turn; then TLS). exchange() connects a plain connection
// to a known single address itself, without this frame.
inline task<bool> client::open(detail::connection& c) {
    using namespace detail;
    std::int64_t t0 = now_ns();
    res_.timings.blocked = 0;  // (until opened(): see there)
    const std::vector<tcp::endpoint>* eps = known_endpoints(c);
    if (!eps && !(eps = co_await lookup(c, thread_->dns_key))) co_return false;
    std::int64_t t1 = now_ns();
    if (c.secure) {
        if (!tls_ctx_) tls_ctx_ = &tls_context(*opts_);
        c.tls = std::make_unique<boost::asio::ssl::stream<socket_t>>(thread_->ioc.get_executor(), tls_ctx_->ctx);
    }
    active_ = &c;
    sys_error last = boost::asio::error::host_not_found;
    bool tried = false;
    for (auto& ep : *eps) {
        int go = begin_connect(c, ep, tried);
        if (go == connect_failed) co_return false;
        if (go == connect_skip) continue;
        auto& s = c.lowest();
        auto [e, n] = co_await io([&s, &ep](auto h) { s.async_connect(ep, std::move(h)); });
        (void)n;
        last = e;
        if (!e || stop_requested()) break;
    }
    if (!end_connect(c, last, tried, t1)) co_return false;
    if (c.secure) {
        sys_error literal;
        boost::asio::ip::make_address(c.host, literal);
        if (!co_await handshake(c, literal.failed(), now_ns())) co_return false;
    }
    opened(c, t0);
    co_return true;
}

}  // namespace loadkit::inline LOADKIT_ABI
