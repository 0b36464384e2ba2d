#pragma once
// What the bench_* programs share: "--key value" / "--key=value" parsing with
// range checks, the soft fd limit raised to the hard one (every VU may hold a
// connection), and the summary printed as JSON. One file, so the three
// programs differ only in their scenario.
#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include <loadkit/engine/engine.hpp>

namespace bench {

// The options a program takes: name -> what it holds. parse() fills them.
struct args {
    args(std::string name, std::string usage) : program(std::move(name)), usage_text(std::move(usage)) {}
    std::string program, usage_text;
    std::map<std::string, std::string, std::less<>> values;

    int usage(std::string_view why) const {
        if (!why.empty()) std::cerr << program << ": " << why << "\n";
        std::cerr << usage_text;
        return 2;
    }
    // true: parsed; false: stop with `exit_code` (2 after a message, 0 after --help).
    bool parse(int argc, char** argv, std::initializer_list<std::string_view> known, int& exit_code) {
        for (int i = 1; i < argc; ++i) {
            std::string_view a = argv[i], key = a, value;
            if (a == "-h" || a == "--help") {
                exit_code = usage({});
                return false;
            }
            if (auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
                key = a.substr(0, eq);
                value = a.substr(eq + 1);
            } else if (a.starts_with("--")) {
                if (i + 1 >= argc) return fail(std::string(a) + " needs a value", exit_code);
                value = argv[++i];
            } else {
                return fail("unexpected argument '" + std::string(a) + "'", exit_code);
            }
            bool ok = false;
            for (auto k : known) ok |= k == key;
            if (!ok) return fail("unknown option '" + std::string(key) + "'", exit_code);
            values[std::string(key)] = std::string(value);
        }
        return true;
    }
    bool has(std::string_view k) const { return values.count(k) != 0; }
    // An integer option within [lo, hi] into `out` (untouched when absent); false on a bad value.
    bool integer(std::string_view k, std::int64_t lo, std::int64_t hi, std::int64_t& out, int& exit_code) const {
        auto it = values.find(k);
        if (it == values.end()) return true;
        auto& s = it->second;
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || out < lo || out > hi)
            return fail(std::string(k) + ": bad value '" + s + "'", exit_code);
        return true;
    }
    bool real(std::string_view k, double lo, double hi, double& out, int& exit_code) const {
        auto it = values.find(k);
        if (it == values.end()) return true;
        auto& s = it->second;
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(out) || out < lo ||
            out > hi)
            return fail(std::string(k) + ": bad value '" + s + "'", exit_code);
        return true;
    }
    // --url: required, absolute
    bool url(std::string& out, int& exit_code) const {
        auto it = values.find("--url");
        if (it == values.end()) return fail("--url is required", exit_code);
        if (!loadkit::detail::is_absolute_url(it->second))
            return fail("--url must be an absolute http(s) URL", exit_code);
        out = it->second;
        return true;
    }
    bool fail(const std::string& why, int& exit_code) const {
        exit_code = usage(why);
        return false;
    }
};

inline void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

inline loadkit::nanoseconds seconds(double s) {
    return std::chrono::duration_cast<loadkit::nanoseconds>(std::chrono::duration<double>(s));
}

// Options every bench program uses: no console report, an absolute URL.
inline loadkit::options quiet_options(std::string name, std::int64_t threads) {
    loadkit::options o;
    o.name = std::move(name);
    o.threads = static_cast<int>(threads);
    o.print_summary = false;
    return o;
}

// Runs `run()` (which returns a run_result), prints the summary JSON, and
// maps errors to exit codes: 2 for a configuration mistake, 1 otherwise.
template <class F>
int run_and_print(const std::string& program, F run) {
    try {
        auto result = run();
        std::cout << result.summary.dump(2) << "\n";
        // which event mechanism the run used (the compare scripts record it)
        std::cerr << program << ": I/O: " << loadkit::io_mechanism() << "\n";
        return result.exit_code();
    } catch (const loadkit::config_error& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace bench
