// bench_get: the smallest loadkit load test, for measuring the generator
// itself. Each iteration GETs one absolute URL once; the run is
// shared_iterations (exactly --requests iterations over --vus VUs), with the
// full metrics loadkit always records. Prints the summary JSON to stdout.
//
//   bench_get --url http://127.0.0.1:8080/ --vus 50 --requests 200000 [--threads 1] [--work-us 0]
//
// benchmarks/compare_wrk runs it next to wrk against nginx.
// Only what it uses (not <loadkit.hpp>, which also brings the built-in target).
#include <loadkit/engine/engine.hpp>
#include <loadkit/dsl/scenario.hpp>

#include "bench_args.hpp"

using namespace std::chrono_literals;

namespace {

std::string g_url;           // set once in main, before the run; read by every VU
std::int64_t g_work_ns = 0;  // --work-us: CPU the iteration spends besides its request

struct Bench : loadkit::Scenario<Bench> {
    struct User : loadkit::VU<Bench> {
        loadkit::task<> iteration() {
            co_await http.get(g_url);
            // stands for what real iterations do besides I/O (parsing, templating):
            // with it the generator, not a target sharing this machine, is the
            // bottleneck, which is what scaling over threads needs to show
            if (g_work_ns)
                for (auto until = loadkit::detail::now_ns() + g_work_ns; loadkit::detail::now_ns() < until;) {}
        }
    };
};

}  // namespace

int main(int argc, char** argv) {
    bench::args a{"bench_get",
                  "usage: bench_get --url URL --vus N --requests N [--threads T]\n"
                  "  --url URL       absolute http:// or https:// URL, fetched once per iteration\n"
                  "  --vus N         concurrent VUs (>= 1)\n"
                  "  --requests N    total iterations = requests (>= 1), shared among the VUs\n"
                  "  --threads T     worker threads (>= 1; default: one per core)\n"
                  "  --work-us N     CPU microseconds each iteration spends after its request (default 0)\n"};
    int code = 0;
    std::int64_t vus = -1, requests = -1, threads = 0, work_us = 0;
    if (!a.parse(argc, argv, {"--url", "--vus", "--requests", "--threads", "--work-us"}, code) || !a.url(g_url, code) ||
        !a.integer("--work-us", 0, 1'000'000, work_us, code) || !a.integer("--vus", 1, 1'000'000, vus, code) ||
        !a.integer("--requests", 1, INT64_MAX, requests, code) || !a.integer("--threads", 1, 1024, threads, code))
        return code;
    if (vus < 1) return a.usage("--vus is required");
    if (requests < 1) return a.usage("--requests is required");
    g_work_ns = work_us * 1000;
    return bench::run_and_print(a.program, [&] {
        return loadkit::run<Bench>(
            loadkit::shared_iterations{.vus = static_cast<int>(vus), .iterations = requests, .max_duration = 24h},
            bench::quiet_options(a.program, threads));
    });
}
