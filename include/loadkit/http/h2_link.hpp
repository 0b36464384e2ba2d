#pragma once
// The seam between the HTTP/1.1 client and the optional HTTP/2 transport.
//
// HTTP/2 needs libnghttp2, which a plain `#include <loadkit.hpp>` must not:
// the transport lives in <loadkit/http2.hpp> (CMake target loadkit::http2)
// and installs itself here when a program includes it. The client only sees
// these abstract types: on the HTTP/1.1 path it pays one test of a pointer
// per request (h2_transport installed and the connection not open, or the
// connection carrying an HTTP/2 session), never a virtual call.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "message.hpp"

namespace loadkit::inline LOADKIT_ABI {
class client;
namespace detail {
struct connection;
struct url_parts;

// An HTTP/2 connection, shared by the clients of one VU (h2_session.hpp).
struct h2_session_base {
    virtual ~h2_session_base() = default;
};

// A client's stream state, kept between requests so that a warm client
// reuses its buffers (h2_session.hpp's h2_stream). cut() ends the stream in
// flight: the sweeper's timeout, or the VU's interrupt.
struct h2_stream_base {
    virtual ~h2_stream_base() = default;
    virtual void cut() noexcept = 0;
};

// The HTTP/2 side of client::exchange. Returns 1 when the request was made
// over HTTP/2 (the response is in the client), 0 when it failed (the error
// is in the client), -1 when the connection speaks HTTP/1.1 (for plain TCP
// without prior knowledge, or when ALPN chose http/1.1: then `c` may be
// open, and the client goes on as HTTP/1.1).
struct h2_transport {
    virtual task<int> exchange(client& cl, connection& c, const url_parts& u, std::string_view method,
                               std::string_view body, std::span<const string_pair> h1,
                               std::span<const std::pair<std::string, std::string>> h2) = 0;

  protected:
    ~h2_transport() = default;
};

// Set (once, before main) by <loadkit/http2.hpp>; null without it.
inline h2_transport* h2_installed = nullptr;

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
