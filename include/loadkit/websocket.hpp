#pragma once
// WebSocket sessions for C++ load tests (opt-in: Beast's websocket templates
// are heavy, so <loadkit.hpp> leaves them out):
//
//   #include <loadkit.hpp>
//   #include <loadkit/websocket.hpp>
//   ...  auto ws = co_await loadkit::websocket(http, "ws://127.0.0.1:8080/ws/echo");
#include "../loadkit.hpp"
#include "ws/session.hpp"
