// bench_rate: loadkit's open model as a load generator. One
// constant_arrival_rate scenario whose iterations GET one absolute URL once:
// --rate iterations start per second for --duration seconds, on schedule
// whatever the target does, on a pool of --vus pre-allocated VUs (up to
// --max-vus); an iteration that finds no free VU is dropped and counted in
// dropped_iterations. Prints the summary JSON to stdout.
//
//   bench_rate --url http://127.0.0.1:8080/ --rate 50000 --duration 4 [--vus 50] [--max-vus 50] [--threads 1]
//
// benchmarks/scaling searches for the highest rate one thread sustains.
// Only what it uses (not <loadkit.hpp>, which also brings the built-in target).
#include <loadkit/engine/engine.hpp>
#include <loadkit/dsl/scenario.hpp>

#include "bench_args.hpp"

using namespace std::chrono_literals;

namespace {

std::string g_url;  // set once in main, before the run; read by every VU

struct Bench : loadkit::Scenario<Bench> {
    struct User : loadkit::VU<Bench> {
        loadkit::task<> iteration() { co_await http.get(g_url); }
    };
};

}  // namespace

int main(int argc, char** argv) {
    bench::args a{"bench_rate",
                  "usage: bench_rate --url URL --rate R --duration S [--vus N] [--max-vus N] [--threads T]\n"
                  "  --url URL       absolute http:// or https:// URL, fetched once per iteration\n"
                  "  --rate R        iterations started per second (> 0)\n"
                  "  --duration S    seconds of arrivals (> 0; fractions allowed)\n"
                  "  --vus N         pre-allocated VUs (>= 1; default 50)\n"
                  "  --max-vus N     most VUs (>= --vus; default: --vus)\n"
                  "  --threads T     worker threads (>= 1; default: one per core)\n"};
    int code = 0;
    std::int64_t vus = 50, max_vus = -1, threads = 0;
    double rate = -1, duration = -1;
    if (!a.parse(argc, argv, {"--url", "--rate", "--duration", "--vus", "--max-vus", "--threads"}, code) ||
        !a.url(g_url, code) || !a.real("--rate", 1e-9, 1e9, rate, code) ||
        !a.real("--duration", 1e-3, 86400, duration, code) || !a.integer("--vus", 1, 1'000'000, vus, code) ||
        !a.integer("--max-vus", 1, 1'000'000, max_vus, code) || !a.integer("--threads", 1, 1024, threads, code))
        return code;
    if (rate <= 0) return a.usage("--rate is required");
    if (duration <= 0) return a.usage("--duration is required");
    if (max_vus < 0) max_vus = vus;
    if (max_vus < vus) return a.usage("--max-vus must not be less than --vus");
    bench::raise_fd_limit();
    return bench::run_and_print(a.program, [&] {
        loadkit::test<Bench> t(bench::quiet_options(a.program, threads));
        t.scenario("rate", loadkit::constant_arrival_rate{.rate = rate,
                                                          .time_unit = 1s,
                                                          .duration = bench::seconds(duration),
                                                          .pre_allocated_vus = static_cast<int>(vus),
                                                          .max_vus = static_cast<int>(max_vus)});
        return t.run();
    });
}
