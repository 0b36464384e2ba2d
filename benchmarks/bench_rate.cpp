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
#include <loadkit/exec/engine.hpp>
#include <loadkit/scenario.hpp>

#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

std::string g_url;  // set once in main, before the run; read by every VU

struct Bench : loadkit::Scenario<Bench> {
    struct User : loadkit::VU<Bench> {
        loadkit::task<> iteration() { co_await http.get(g_url); }
    };
};

int usage(std::string_view why) {
    if (!why.empty()) std::cerr << "bench_rate: " << why << "\n";
    std::cerr << "usage: bench_rate --url URL --rate R --duration S [--vus N] [--max-vus N] [--threads T]\n"
                 "  --url URL       absolute http:// or https:// URL, fetched once per iteration\n"
                 "  --rate R        iterations started per second (> 0)\n"
                 "  --duration S    seconds of arrivals (> 0; fractions allowed)\n"
                 "  --vus N         pre-allocated VUs (>= 1; default 50)\n"
                 "  --max-vus N     most VUs (>= --vus; default: --vus)\n"
                 "  --threads T     worker threads (>= 1; default: one per core)\n";
    return 2;
}

bool parse_int(std::string_view s, std::int64_t& out) {
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
bool parse_double(std::string_view s, double& out) {
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

// Every VU may hold a connection: lift the soft fd limit to the hard one.
void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t vus = 50, max_vus = -1, threads = 0;
    double rate = -1, duration = -1;
    bool have_url = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") return usage({});
        std::string_view value;
        std::string_view key = a;
        if (auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
            key = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else if (a.starts_with("--")) {
            if (i + 1 >= argc) return usage(std::string(a) + " needs a value");
            value = argv[++i];
        } else {
            return usage("unexpected argument '" + std::string(a) + "'");
        }
        std::int64_t n = 0;
        double d = 0;
        if (key == "--url") {
            if (!loadkit::detail::is_absolute_url(value)) return usage("--url must be an absolute http(s) URL");
            g_url.assign(value);
            have_url = true;
        } else if (key == "--rate" || key == "--duration") {
            if (!parse_double(value, d) || !(d > 0) || (key == "--duration" && d > 86400))
                return usage(std::string(key) + ": bad value '" + std::string(value) + "'");
            (key == "--rate" ? rate : duration) = d;
        } else if (key == "--vus" || key == "--max-vus" || key == "--threads") {
            if (!parse_int(value, n) || n < 1 || (key != "--threads" && n > 1'000'000) || (key == "--threads" && n > 1024))
                return usage(std::string(key) + ": bad value '" + std::string(value) + "'");
            (key == "--vus" ? vus : key == "--max-vus" ? max_vus : threads) = n;
        } else {
            return usage("unknown option '" + std::string(key) + "'");
        }
    }
    if (!have_url) return usage("--url is required");
    if (rate <= 0) return usage("--rate is required");
    if (duration <= 0) return usage("--duration is required");
    if (max_vus < 0) max_vus = vus;
    if (max_vus < vus) return usage("--max-vus must not be less than --vus");
    raise_fd_limit();

    loadkit::options opts;
    opts.name = "bench_rate";
    opts.target = "";  // the URL is absolute
    opts.threads = static_cast<int>(threads);
    opts.print_summary = false;

    try {
        loadkit::test<Bench> t(opts);
        t.scenario("rate", loadkit::constant_arrival_rate{
                               .rate = rate,
                               .time_unit = 1s,
                               .duration = std::chrono::duration_cast<loadkit::nanoseconds>(std::chrono::duration<double>(duration)),
                               .pre_allocated_vus = static_cast<int>(vus),
                               .max_vus = static_cast<int>(max_vus)});
        auto result = t.run();
        std::cout << result.summary.dump(2) << "\n";
        return result.exit_code();
    } catch (const loadkit::config_error& e) {
        std::cerr << "bench_rate: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "bench_rate: " << e.what() << "\n";
        return 1;
    }
}
