// bench_get: the smallest loadkit load test, for measuring the generator
// itself. Each iteration GETs one absolute URL once; the run is
// shared_iterations (exactly --requests iterations over --vus VUs), with the
// full metrics loadkit always records. Prints the summary JSON to stdout.
//
//   bench_get --url http://127.0.0.1:8080/ --vus 50 --requests 200000 [--threads 1]
//
// benchmarks/compare_wrk runs it next to wrk against nginx.
// Only what it uses (not <loadkit.hpp>, which also brings the built-in target).
#include <loadkit/exec/engine.hpp>
#include <loadkit/scenario.hpp>

#include <charconv>
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
    if (!why.empty()) std::cerr << "bench_get: " << why << "\n";
    std::cerr << "usage: bench_get --url URL --vus N --requests N [--threads T]\n"
                 "  --url URL       absolute http:// or https:// URL, fetched once per iteration\n"
                 "  --vus N         concurrent VUs (>= 1)\n"
                 "  --requests N    total iterations = requests (>= 1), shared among the VUs\n"
                 "  --threads T     worker threads (>= 1; default: one per core)\n";
    return 2;
}

bool parse_int(std::string_view s, std::int64_t& out) {
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t vus = -1, requests = -1, threads = 0;
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
        if (key == "--url") {
            if (!loadkit::detail::is_absolute_url(value)) return usage("--url must be an absolute http(s) URL");
            g_url.assign(value);
            have_url = true;
        } else if (key == "--vus" || key == "--requests" || key == "--threads") {
            if (!parse_int(value, n) || n < 1 || (key == "--vus" && n > 1'000'000) || (key == "--threads" && n > 1024))
                return usage(std::string(key) + ": bad value '" + std::string(value) + "'");
            (key == "--vus" ? vus : key == "--requests" ? requests : threads) = n;
        } else {
            return usage("unknown option '" + std::string(key) + "'");
        }
    }
    if (!have_url) return usage("--url is required");
    if (vus < 1) return usage("--vus is required");
    if (requests < 1) return usage("--requests is required");

    loadkit::options opts;
    opts.name = "bench_get";
    opts.target = "";  // the URL is absolute
    opts.threads = static_cast<int>(threads);
    opts.print_summary = false;

    try {
        auto result = loadkit::run<Bench>(
            loadkit::shared_iterations{.vus = static_cast<int>(vus), .iterations = requests, .max_duration = 24h}, opts);
        std::cout << result.summary.dump(2) << "\n";
        return result.exit_code();
    } catch (const loadkit::config_error& e) {
        std::cerr << "bench_get: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "bench_get: " << e.what() << "\n";
        return 1;
    }
}
