#pragma once
// HTTP/2 for loadkit's HTTP client (CMake: loadkit::http2, which links
// libnghttp2). Including this header anywhere in a program installs the
// transport: every client whose client_options::http2 is not http1 then
// offers h2 by ALPN over TLS (k6's behaviour), speaks h2c to plain-text
// servers with http2_mode::prior_knowledge, and shares one connection per
// origin among a VU's concurrent requests. Without it, loadkit is HTTP/1.1.
//
// The stream layer (detail::h2_session, detail::h2_stream, h2_connect) is
// what gRPC is built on: see http/h2_session.hpp.
#include "../loadkit.hpp"
#include "http/h2_exchange.hpp"
#include "http/h2_session.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {
inline h2_access h2_transport_instance;
// [[gnu::used]]: emitted (and so run before main) in every program that
// includes this header, even where nothing names it
[[gnu::used]] inline const bool h2_transport_installed = (h2_installed = &h2_transport_instance, true);
}  // namespace loadkit::inline LOADKIT_ABI::detail
