#pragma once
// Error codes of failed requests. They follow k6's numbering where k6 has one
// (so dashboards and thresholds written for k6 keep their meaning); the
// `error_code` tag of a failed request carries the number.
#include <string_view>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

enum class error_code : int {
    none = 0,
    generic = 1000,
    invalid_url = 1020,
    request_timeout = 1050,
    dns_failed = 1100,
    tcp_error = 1200,  // read or write failed on an established connection
    broken_pipe = 1201,
    dial_failed = 1210,
    dial_timeout = 1211,
    connection_refused = 1212,
    dial_os_error = 1213,  // another OS error before the connect: a --local-ips address that is not local
    connection_reset = 1220,
    connection_closed = 1230,  // the peer closed before the response was complete
    tls_error = 1300,
    tls_unknown_authority = 1310,  // certificate not trusted (self-signed, unknown CA, expired)
    tls_hostname_mismatch = 1311,
    // 1400..1599: the response had status 400..599 (1000 + status), as in k6
    // HTTP/2, as k6 numbers them: the base, or base + 1 + the HTTP/2 error
    // code (RFC 9113 section 7: 0 NO_ERROR .. 13 HTTP_1_1_REQUIRED)
    http2_goaway = 1610,      // the server's GOAWAY ended the request's stream
    http2_stream = 1630,      // the server reset the request's stream (RST_STREAM)
    http2_connection = 1650,  // the connection failed (a protocol error on it)
    malformed_response = 1700,  // not HTTP/1.x, bad framing, headers over the limit
    interrupted = 1900,         // cut by gracefulStop or an abort
};

inline constexpr std::string_view describe(error_code e) noexcept {
    switch (e) {
        case error_code::none: return "";
        case error_code::generic: return "request failed";
        case error_code::invalid_url: return "invalid URL";
        case error_code::request_timeout: return "request timeout";
        case error_code::dns_failed: return "DNS lookup failed";
        case error_code::tcp_error: return "network error";
        case error_code::broken_pipe: return "broken pipe";
        case error_code::dial_failed: return "connect failed";
        case error_code::dial_timeout: return "connect timeout";
        case error_code::connection_refused: return "connection refused";
        case error_code::dial_os_error: return "connect failed";
        case error_code::connection_reset: return "connection reset by peer";
        case error_code::connection_closed: return "connection closed before the response was complete";
        case error_code::tls_error: return "TLS error";
        case error_code::tls_unknown_authority: return "TLS certificate verification failed";
        case error_code::tls_hostname_mismatch: return "TLS certificate does not match the host";
        case error_code::http2_goaway: return "HTTP/2 GOAWAY received";
        case error_code::http2_stream: return "HTTP/2 stream reset";
        case error_code::http2_connection: return "HTTP/2 connection error";
        case error_code::malformed_response: return "malformed HTTP response";
        case error_code::interrupted: return "interrupted";
    }
    return "request failed";
}

}  // namespace loadkit::inline LOADKIT_ABI
