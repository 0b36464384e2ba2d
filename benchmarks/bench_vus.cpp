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
#include <loadkit/exec/engine.hpp>
#include <loadkit/scenario.hpp>

#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

std::string g_url;              // set once in main, before the run; read by every VU
loadkit::nanoseconds g_sleep{};  // think time after each GET

struct Bench : loadkit::Scenario<Bench> {
    struct User : loadkit::VU<Bench> {
        loadkit::task<> iteration() {
            co_await http.get(g_url);
            co_await sleep(g_sleep);
        }
    };
};

int usage(std::string_view why) {
    if (!why.empty()) std::cerr << "bench_vus: " << why << "\n";
    std::cerr << "usage: bench_vus --url URL --vus N --duration S [--sleep S] [--threads T]\n"
                 "  --url URL       absolute http:// or https:// URL, fetched once per iteration\n"
                 "  --vus N         concurrent VUs (>= 1), each with its own keep-alive connection\n"
                 "  --duration S    seconds (> 0; fractions allowed)\n"
                 "  --sleep S       think time after each GET, seconds (>= 0; default 1)\n"
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

// Every VU holds a connection: lift the soft fd limit to the hard one.
void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

loadkit::nanoseconds seconds(double s) {
    return std::chrono::duration_cast<loadkit::nanoseconds>(std::chrono::duration<double>(s));
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t vus = -1, threads = 0;
    double duration = -1, sleep_s = 1;
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
        } else if (key == "--duration" || key == "--sleep") {
            if (!parse_double(value, d) || d < 0 || (key == "--duration" && !(d > 0)) || d > 86400)
                return usage(std::string(key) + ": bad value '" + std::string(value) + "'");
            (key == "--duration" ? duration : sleep_s) = d;
        } else if (key == "--vus" || key == "--threads") {
            if (!parse_int(value, n) || n < 1 || (key == "--vus" && n > 1'000'000) || (key == "--threads" && n > 1024))
                return usage(std::string(key) + ": bad value '" + std::string(value) + "'");
            (key == "--vus" ? vus : threads) = n;
        } else {
            return usage("unknown option '" + std::string(key) + "'");
        }
    }
    if (!have_url) return usage("--url is required");
    if (vus < 1) return usage("--vus is required");
    if (duration <= 0) return usage("--duration is required");
    g_sleep = seconds(sleep_s);
    raise_fd_limit();

    loadkit::options opts;
    opts.name = "bench_vus";
    opts.target = "";  // the URL is absolute
    opts.threads = static_cast<int>(threads);
    opts.print_summary = false;

    try {
        auto result = loadkit::run<Bench>(loadkit::constant_vus{.vus = static_cast<int>(vus), .duration = seconds(duration)}, opts);
        std::cout << result.summary.dump(2) << "\n";
        return result.exit_code();
    } catch (const loadkit::config_error& e) {
        std::cerr << "bench_vus: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "bench_vus: " << e.what() << "\n";
        return 1;
    }
}
