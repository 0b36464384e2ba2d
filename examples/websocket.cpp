// WebSocket in C++: each VU opens a session on the built-in target's echo
// route, sends messages and checks that each comes back, pings once, and
// closes; the summary shows k6's ws_* metrics.
#include <loadkit.hpp>
#include <loadkit/target.hpp>
#include <loadkit/websocket.hpp>

using namespace std::chrono_literals;

struct Chat : loadkit::Scenario<Chat> {
    struct User : loadkit::VU<Chat> {
        loadkit::task<> iteration() {
            // a path resolves against the test's target (http:// becomes ws://)
            loadkit::ws_params params;
            params.protocols = {"chat"};  // (g++ 12 cannot keep an initializer list in a co_await)
            auto ws = co_await loadkit::websocket(http, "/ws/echo", params);
            check(ws, {{"ws: status 101", [](auto& s) { return s.status() == 101; }}});
            if (!ws.ok()) co_return;
            for (int i = 0; i < 10; ++i) {
                std::string msg = "hello " + std::to_string(i);
                co_await ws.send(msg);
                auto& ev = co_await ws.receive(2s);  // a message, a pong, the end, or a timeout
                check(ev, {{"ws: echoed", [&](auto& e) { return e.kind == loadkit::ws_kind::text && e.data == msg; }}});
            }
            co_await ws.ping();
            co_await ws.receive(2s);  // the pong: ws_ping is its round trip
            co_await ws.close();
            co_await sleep(100ms);
        }
    };
};

int main(int argc, char** argv) {
    loadkit::target_server target;
    loadkit::options opts;
    opts.name = "websocket";
    opts.target = argc > 1 ? argv[1] : target.url();
    auto result = loadkit::run<Chat>(loadkit::constant_vus{.vus = 10, .duration = 3s}, opts);
    return result.exit_code();
}
