#pragma once
// One keep-alive connection of a VU's client (plain TCP or TLS over it), and
// how a failed socket operation maps to k6's error codes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "../core/config.hpp"
#include "../core/error_code.hpp"
#include "../core/fd_limit.hpp"
#include "../core/io.hpp"
#include "h2_link.hpp"
#include "tls.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

using tcp = boost::asio::ip::tcp;
using sys_error = boost::system::error_code;

// A connection's read buffer starts small (most response heads fit 2 KiB)
// and doubles for a longer head, up to Go's limit on response heads, which
// is k6's (10 MiB: a 1 MiB header is a normal response there, and here).
inline constexpr std::size_t initial_read_buffer = 2048;
inline constexpr std::size_t usual_read_buffer = 64 * 1024;  // past this, given back after the response
inline constexpr std::size_t max_response_head = std::size_t{10} << 20;

// Sockets bound to io_context's own executor type rather than
// any_io_executor: no type-erased executor work on every completion.
using socket_t = boost::asio::basic_stream_socket<tcp, boost::asio::io_context::executor_type>;
using resolver_t = boost::asio::ip::basic_resolver<tcp, boost::asio::io_context::executor_type>;

struct connection {
    explicit connection(boost::asio::io_context& ioc) : sock(ioc.get_executor()) {}

    std::string host;
    std::uint16_t port = 0;
    bool secure = false;

    socket_t sock;  // plain connections
    std::unique_ptr<boost::asio::ssl::stream<socket_t>> tls;
    tls_info tls_state;  // what its handshake negotiated
    bool open = false;
    std::uint64_t served = 0;  // responses read since connect

    std::string rbuf;  // read buffer; its size is its capacity
    std::size_t rlen = 0;
    std::string head;  // the current response head; header views point here

    // HTTP/2: the session this connection's requests go on (this client's,
    // or one another client of the VU opened), or null for HTTP/1.1; and
    // whether ALPN chose h2 in the last handshake.
    std::shared_ptr<h2_session_base> h2;
    bool alpn_h2 = false;

    socket_t& lowest() { return tls ? tls->next_layer() : sock; }
    void close() noexcept {
        sys_error ec;
        lowest().close(ec);
        open = false;
        rlen = 0;
    }
    template <class Buffers>
    auto write(const Buffers& b) {
        return io([this, b](auto h) {
            if (tls) boost::asio::async_write(*tls, b, std::move(h));
            else boost::asio::async_write(sock, b, std::move(h));
        });
    }
    auto read_some(char* p, std::size_t n) {
        return io([this, p, n](auto h) {
            if (tls) tls->async_read_some(boost::asio::buffer(p, n), std::move(h));
            else sock.async_read_some(boost::asio::buffer(p, n), std::move(h));
        });
    }
};

enum class phase { connect, handshake, write, read };  // (DNS failures are always dns_failed)

inline error_code classify(const sys_error& ec, phase p, SSL* ssl) {
    namespace ae = boost::asio::error;
    if (ec == ae::connection_refused) return error_code::connection_refused;
    if (ec == ae::connection_reset) return error_code::connection_reset;
    if (ec == ae::broken_pipe) return error_code::broken_pipe;
    if (ec == ae::timed_out) return p == phase::connect ? error_code::dial_timeout : error_code::tcp_error;
    if (p == phase::handshake || ec.category() == boost::asio::error::get_ssl_category()) {
        if (ssl) {
            long v = SSL_get_verify_result(ssl);
            if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
                return error_code::tls_hostname_mismatch;
            if (v != X509_V_OK) return error_code::tls_unknown_authority;
        }
        if (p == phase::handshake || ec != boost::asio::ssl::error::stream_truncated) return error_code::tls_error;
    }
    if (ec == ae::eof || ec == boost::asio::ssl::error::stream_truncated) return error_code::connection_closed;
    if (p == phase::connect) {
        if (ec.category() == boost::system::system_category() && is_out_of_descriptors(ec.value()))
            warn_out_of_descriptors(ec.value());
        return error_code::dial_failed;
    }
    return error_code::tcp_error;
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
