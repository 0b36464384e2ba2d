// bench_h2: bench_get over HTTP/2, for benchmarks/compare_h2load. Each VU is
// one connection (h2load's client) with --streams requests in flight on it:
// an iteration sends that many GETs at once, as streams of the VU's one
// connection (the VU's extra clients share it, as http.batch's do), and
// ends when all have answered. The run is shared_iterations over exactly
// --requests / --streams iterations, with the full metrics loadkit always
// records. http:// URLs are h2c (prior knowledge, as h2load speaks to them);
// https:// ones choose h2 by ALPN. Prints the summary JSON to stdout.
//
//   bench_h2 --url http://127.0.0.1:8080/ --connections 10 --streams 10 --requests 200000 [--threads 1]
#include <loadkit/dsl/scenario.hpp>
#include <loadkit/engine/engine.hpp>
#include <loadkit/http2.hpp>

#include <coroutine>
#include <memory>
#include <vector>

#include "bench_args.hpp"

namespace {

std::string g_url;
int g_streams = 1;

struct Bench : loadkit::Scenario<Bench> {
    struct User : loadkit::VU<Bench> {
        std::vector<std::unique_ptr<loadkit::client>> lanes;  // the other streams' clients
        int pending = 0;
        std::coroutine_handle<> waiter;

        loadkit::task<> one(loadkit::client& c) {
            co_await c.get(g_url);
            if (--pending == 0 && waiter) std::exchange(waiter, {}).resume();
        }
        auto all_done() {
            struct awaiter {
                User* u;
                bool await_ready() const noexcept { return u->pending == 0; }
                void await_suspend(std::coroutine_handle<> h) noexcept { u->waiter = h; }
                void await_resume() const noexcept {}
            };
            return awaiter{this};
        }
        loadkit::task<> iteration() {
            while (static_cast<int>(lanes.size()) + 1 < g_streams) {
                lanes.push_back(std::make_unique<loadkit::client>(http.thread(), http.vu(), http.settings()));
                lanes.back()->share_cookies(http);  // and its HTTP/2 connection
            }
            pending = g_streams;
            loadkit::detail::spawn(one(http), [](std::exception_ptr) {});
            for (auto& c : lanes) loadkit::detail::spawn(one(*c), [](std::exception_ptr) {});
            co_await all_done();
        }
    };
};

}  // namespace

int main(int argc, char** argv) {
    bench::args a{"bench_h2",
                  "usage: bench_h2 --url URL --connections N --streams M --requests N [--threads T]\n"
                  "  --url URL          absolute URL: http:// is h2c (prior knowledge), https:// h2 by ALPN\n"
                  "  --connections N    VUs, one connection each (h2load -c)\n"
                  "  --streams M        requests in flight on each connection (h2load -m; default 1)\n"
                  "  --requests N       total requests (h2load -n), a multiple of M\n"
                  "  --threads T        worker threads (>= 1; default: one per core)\n"};
    int code = 0;
    std::int64_t conns = -1, streams = 1, requests = -1, threads = 0;
    if (!a.parse(argc, argv, {"--url", "--connections", "--streams", "--requests", "--threads"}, code) ||
        !a.url(g_url, code) || !a.integer("--connections", 1, 1'000'000, conns, code) ||
        !a.integer("--streams", 1, 10'000, streams, code) || !a.integer("--requests", 1, INT64_MAX, requests, code) ||
        !a.integer("--threads", 1, 1024, threads, code))
        return code;
    if (conns < 1) return a.usage("--connections is required");
    if (requests < streams) return a.usage("--requests is required (at least --streams)");
    g_streams = static_cast<int>(streams);
    auto o = bench::quiet_options(a.program, threads);
    o.http.http2 = loadkit::http2_mode::prior_knowledge;
    o.http.insecure_skip_tls_verify = true;
    return bench::run_and_print(a.program, [&] {
        return loadkit::run<Bench>(loadkit::shared_iterations{.vus = static_cast<int>(conns),
                                                              .iterations = requests / streams,
                                                              .max_duration = std::chrono::hours(24)},
                                   o);
    });
}
