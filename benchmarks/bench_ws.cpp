// benchmarks/compare_ws's C++ tool: VUs each open a WebSocket session on URL
// and send MSGS messages one at a time (the next when the last came back),
// then close; as benchmarks/flows/ws_echo.js does in JavaScript.
//   bench_ws URL VUS SECONDS MSGS SUMMARY_FILE
#include <loadkit.hpp>
#include <loadkit/websocket.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {
std::string url;
int msgs = 1000;

struct Echo : loadkit::Scenario<Echo> {
    struct User : loadkit::VU<Echo> {
        loadkit::task<> iteration() {
            auto ws = co_await loadkit::websocket(http, url);
            if (!ws.ok()) co_return;
            for (int i = 0; i < msgs; ++i) {
                co_await ws.send("hello, world");
                auto& ev = co_await ws.receive(std::chrono::seconds(10));
                if (ev.kind != loadkit::ws_kind::text) co_return;
            }
            co_await ws.close();
        }
    };
};
}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::cerr << "usage: bench_ws URL VUS SECONDS MSGS SUMMARY_FILE\n";
        return 2;
    }
    url = argv[1];
    msgs = std::atoi(argv[4]);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.summary_export = argv[5];
    loadkit::test<Echo> t(o);
    t.scenario("ws", loadkit::constant_vus{.vus = std::atoi(argv[2]),
                                           .duration = std::chrono::seconds(std::atoi(argv[3]))});
    return t.run().exit_code();
}
