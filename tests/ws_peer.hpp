#pragma once
// An independent WebSocket server for the WebSocket tests (tests/websocket.cpp,
// tests/js_ws.cpp): Python's `websockets` (Debian's python3-websockets) on
// 127.0.0.1, started by the test. Its paths:
//   /echo          every message back (text or binary as it came)
//   /ping          pings the client once ("srv"), then echoes
//   /close/N       closes at once with code N and reason "bye"
//   /drop          drops the TCP connection after the first message (no close frame)
//   /silent        accepts and never sends anything
//   /missing       refuses the upgrade with 404
// It accepts the subprotocols "chat" and "superchat".
#include <chrono>
#include <string>
#include <thread>

#include "support.hpp"

namespace ws_peer {

inline constexpr const char* server_py = R"PY(
import asyncio, http, sys, websockets

async def handler(ws, path):
    try:
        if path == '/ping':
            await ws.ping(b'srv')
            path = '/echo'
        if path.startswith('/close/'):
            await ws.close(int(path[7:]), 'bye')
            return
        if path == '/drop':
            await ws.recv()
            ws.transport.abort()
            return
        if path == '/silent':
            await asyncio.sleep(3600)
        async for m in ws:
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass

async def refuse(path, headers):
    if path == '/missing':
        return http.HTTPStatus.NOT_FOUND, [], b'no such socket\n'
    return None

async def main():
    async with websockets.serve(handler, '127.0.0.1', int(sys.argv[1]), subprotocols=['chat', 'superchat'],
                                process_request=refuse, ping_interval=None):
        print('ready', flush=True)
        await asyncio.Future()

asyncio.run(main())
)PY";

struct server {
    test_support::scratch dir;
    std::uint16_t port = test_support::free_port();
    test_support::child proc{{"/usr/bin/python3", dir.write("ws.py", server_py), std::to_string(port)},
                             (dir.dir / "ws.log").string()};
    server() {
        using namespace std::chrono_literals;
        for (int i = 0; i < 200; ++i) {  // until it says it listens (10 s at most)
            if (proc.out().find("ready") != std::string::npos) return;
            if (!proc.running()) break;
            std::this_thread::sleep_for(50ms);
        }
        FAIL("the Python WebSocket server did not start: " << proc.out());
    }
    std::string url(const std::string& path = "") const { return "ws://127.0.0.1:" + std::to_string(port) + path; }
};

}  // namespace ws_peer
