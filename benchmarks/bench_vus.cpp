// bench_vus: what a VU costs at rest. A constant_vus scenario whose VUs each
// GET one absolute URL, then sleep (--sleep seconds), again and again for
// --duration seconds: every VU holds one kept-alive connection most of the
// time idle, as a large population of slow users does. Prints the summary
// JSON to stdout; run it under /usr/bin/time for its peak RSS.
//
//   bench_vus --url http://127.0.0.1:8080/ --vus 10000 --duration 5 [--sleep 1] [--threads 1]
//
// benchmarks/scaling runs it at 10,000 and at 100 VUs for the memory per VU.
// Only what it uses (not <loadkit.hpp>, which also brings the built-in target).
#include <loadkit/engine/engine.hpp>
#include <loadkit/dsl/scenario.hpp>

#include "bench_args.hpp"

using namespace std::chrono_literals;

namespace {

std::string g_url;               // set once in main, before the run; read by every VU
loadkit::nanoseconds g_sleep{};  // think time after each GET

struct Bench : loadkit::Scenario<Bench> {
    struct User : loadkit::VU<Bench> {
        loadkit::task<> iteration() {
            co_await http.get(g_url);
            co_await sleep(g_sleep);
        }
    };
};

}  // namespace

int main(int argc, char** argv) {
    bench::args a{"bench_vus", "usage: bench_vus --url URL --vus N --duration S [--sleep S] [--threads T]\n"
                               "  --url URL       absolute http:// or https:// URL, fetched once per iteration\n"
                               "  --vus N         concurrent VUs (>= 1), each with its own keep-alive connection\n"
                               "  --duration S    seconds the VUs run (> 0; fractions allowed)\n"
                               "  --sleep S       seconds each VU sleeps after its GET (>= 0; default 1)\n"
                               "  --threads T     worker threads (>= 1; default: one per core)\n"};
    int code = 0;
    std::int64_t vus = -1, threads = 0;
    double duration = -1, sleep_s = 1;
    if (!a.parse(argc, argv, {"--url", "--vus", "--duration", "--sleep", "--threads"}, code) || !a.url(g_url, code) ||
        !a.integer("--vus", 1, 1'000'000, vus, code) || !a.integer("--threads", 1, 1024, threads, code) ||
        !a.real("--duration", 1e-3, 86400, duration, code) || !a.real("--sleep", 0, 86400, sleep_s, code))
        return code;
    if (vus < 1) return a.usage("--vus is required");
    if (duration <= 0) return a.usage("--duration is required");
    g_sleep = bench::seconds(sleep_s);
    bench::raise_fd_limit();
    return bench::run_and_print(a.program, [&] {
        return loadkit::run<Bench>(
            loadkit::constant_vus{.vus = static_cast<int>(vus), .duration = bench::seconds(duration)},
            bench::quiet_options(a.program, threads));
    });
}
