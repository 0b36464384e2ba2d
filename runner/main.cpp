// loadkit: the runner. The same engine as the C++ DSL, driven by YAML flows.
//
//   loadkit run FILE.yaml|FILE.js [-u N] [-d 30s] [-i N] [-e KEY=VALUE]... [--target URL|builtin]
//                         [--threads N] [--summary-export FILE] [--out json=FILE]
//                         [--quiet] [--no-color] [--no-thresholds]
//   loadkit validate FILE.yaml|FILE.js
//   loadkit serve [--port N] [--address A] [--tls] [--threads N]
//   loadkit version
//
// Exit codes (k6's): 0 ok, 99 thresholds failed, 104 invalid configuration,
// 105 aborted from outside (SIGINT/SIGTERM), 107 script error, 108 aborted by
// the test; 2 for a command-line mistake.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <map>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/version.hpp>
#include <openssl/opensslv.h>

#include <loadkit/report/json_lines.hpp>
#include <loadkit/target/server.hpp>
#include <loadkit/yaml.hpp>
#if LOADKIT_RUNNER_JS
#include <loadkit/js.hpp>
#endif

#include "progress.hpp"

namespace {

constexpr int usage_error = 2;

int fail(int code, const std::string& message) {
    std::cerr << "loadkit: " << message << "\n";
    return code;
}

bool has_suffix(const std::string& s, std::string_view suffix) { return std::string_view(s).ends_with(suffix); }

struct run_flags {
    std::string file;
    int vus = -1;
    std::string duration;
    std::int64_t iterations = -1;
    std::vector<std::string> env;
    std::string target;
    int threads = 0;
    std::string summary_export;
    std::vector<std::string> out;
    bool quiet = false, no_color = false, no_thresholds = false;
};

using env_map = std::map<std::string, std::string, std::less<>>;

// A test: its plan and the script it runs with (none for plain YAML).
struct loaded_test {
    loadkit::yaml::plan plan;
    std::unique_ptr<loadkit::script> script;
};

// The file (YAML, or a k6-style JavaScript module) and its script.
// load_error/config_error on mistakes in the file; js::script_error (or
// std::invalid_argument without the adapter) on a script that cannot run.
loaded_test load_test(const std::string& file, const env_map& env) {
    loaded_test t;
    bool js_file = has_suffix(file, ".js") || has_suffix(file, ".mjs");
#if LOADKIT_RUNNER_JS
    if (js_file) {
        auto s = std::make_unique<loadkit::js::script>(file, loadkit::js::load_options{env});
        t.plan = loadkit::js::make_plan(*s);
        t.script = std::move(s);
    } else {
        t.plan = loadkit::yaml::load_file(file);
        if (!t.plan.script.empty()) {
            auto s = std::make_unique<loadkit::js::script>(t.plan.script, loadkit::js::load_options{env});
            loadkit::yaml::check_script_functions(t.plan, *s);
            loadkit::js::choose_jit(t.plan, *s);
            t.script = std::move(s);
        }
    }
#else
    (void)env;
    if (js_file) throw std::invalid_argument(file + ": running a JavaScript file needs the JavaScript adapter, which this build does not have");
    t.plan = loadkit::yaml::load_file(file);
    if (!t.plan.script.empty())
        throw std::invalid_argument(t.plan.file + ": script '" + t.plan.script + "' needs the JavaScript adapter, which this build does not have");
#endif
    return t;
}

// The exit code and message for what load_test/apply_flags threw (call it
// from a catch block): 104 for a mistake in the file or the flags, 107 for a
// script that cannot run.
int load_failed() {
    try {
        throw;
    } catch (const loadkit::config_error& e) {
        return fail(loadkit::exit_code::invalid_config, e.what());
    } catch (const std::exception& e) {  // std::invalid_argument, js::script_error, ...
        return fail(loadkit::exit_code::script_error, e.what());
    }
}

// -u/-d/-i applied to the plan.
void apply_flags(const run_flags& f, loadkit::yaml::plan& p) {
    std::optional<int> vus;
    std::optional<loadkit::nanoseconds> duration;
    std::optional<std::int64_t> iterations;
    if (f.vus >= 0) {
        if (f.vus < 1) throw loadkit::config_error("--vus must be at least 1");
        vus = f.vus;
    }
    if (!f.duration.empty()) {
        duration = loadkit::detail::parse_duration(f.duration);
        if (!duration || duration->count() <= 0)
            throw loadkit::config_error("--duration: expected a duration like 30s, 1m30s or 500ms, found '" + f.duration + "'");
    }
    if (f.iterations >= 0) {
        if (f.iterations < 1) throw loadkit::config_error("--iterations must be at least 1");
        iterations = f.iterations;
    }
    loadkit::yaml::apply_shortcuts(p, vus, duration, iterations);
}

int run(const run_flags& f) {
    loadkit::options o;
    o.threads = f.threads;
    o.summary_export = f.summary_export;
    o.run_thresholds = !f.no_thresholds;
    for (auto& kv : f.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) return fail(usage_error, "-e/--env: expected KEY=VALUE, found '" + kv + "'");
        o.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    loaded_test test;
    try {
        test = load_test(f.file, env_map(o.env.begin(), o.env.end()));
        apply_flags(f, test.plan);
    } catch (...) {
        return load_failed();
    }
    auto& plan = test.plan;

    // the built-in target, in this process, when asked for
    std::unique_ptr<loadkit::target_server> builtin;
    std::string target = f.target.empty() ? plan.target : f.target;
    if (target == "builtin") {
        builtin = std::make_unique<loadkit::target_server>();
        target = builtin->url();
        if (!f.quiet) std::cerr << "loadkit: the built-in target serves on " << target << "\n";
    } else if (!target.empty()) {
        loadkit::detail::url_parts u;
        if (!loadkit::detail::split_url(target, u))
            return fail(loadkit::exit_code::invalid_config, "--target: expected an http:// or https:// URL or 'builtin', found '" + target + "'");
    }
    o.target = target;

    // outputs and the progress display, fed by the engine's snapshots
    std::ofstream json_file;
    std::unique_ptr<loadkit::json_lines_output> json_out;
    for (auto& spec : f.out) {
        if (spec.starts_with("json=") && spec.size() > 5) {
            if (json_out) return fail(usage_error, "--out json=FILE may be given once");
            json_file.open(spec.substr(5));
            if (!json_file) return fail(loadkit::exit_code::invalid_config, "--out: cannot write " + spec.substr(5));
            json_out = std::make_unique<loadkit::json_lines_output>(json_file);
        } else {
            return fail(usage_error, "--out: expected json=FILE, found '" + spec + "'");
        }
    }
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    bool color = terminal && !f.no_color && std::getenv("NO_COLOR") == nullptr;
    loadkit::runner::progress_display display(stderr, terminal, color);
    if (!f.quiet || json_out) {
        o.on_progress = [&, quiet = f.quiet](const loadkit::progress& p) {
            if (json_out) json_out->write(*p.metrics, p.elapsed_secs);
            if (!quiet) display.update(p);
        };
    }
    try {
        auto r = loadkit::yaml::run(plan, o, test.script.get());
        return r.exit_code();
    } catch (const loadkit::config_error& e) {
        return fail(loadkit::exit_code::invalid_config, plan.file + ": " + e.what());
    }
}

int validate(const std::string& file) {
    try {
        auto t = load_test(file, {});
        auto& p = t.plan;
        std::cout << file << ": valid, " << p.scenarios.size() << (p.scenarios.size() == 1 ? " scenario" : " scenarios") << "\n";
        for (auto& s : p.scenarios)
            std::cout << "  * " << s.name << ": " << loadkit::executor_name(s.exec) << ", "
                      << loadkit::detail::schedule::describe(s.exec) << ", " << s.flow.size() << (s.flow.size() == 1 ? " step" : " steps")
                      << (s.exec_function.empty() ? "" : ", exec " + s.exec_function) << "\n";
        if (t.script) std::cout << "  script " << p.script << ": compiled, init code ran, functions found\n";
        return 0;
    } catch (...) {
        return load_failed();
    }
}

int serve(const std::string& address, int port, bool tls, int threads) {
    if (port < 0 || port > 65535) return fail(usage_error, "--port: expected 0..65535");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the server's threads start: only sigwait sees them
    loadkit::target_options to;
    to.address = address;
    to.port = static_cast<std::uint16_t>(port);
    to.tls = tls;
    to.threads = threads > 0 ? threads : 1;
    std::unique_ptr<loadkit::target_server> server;
    try {
        server = std::make_unique<loadkit::target_server>(to);
    } catch (const std::exception& e) {
        return fail(1, std::string("serve: ") + e.what());
    }
    std::cout << "loadkit: the built-in target serves on " << server->url() << " (Ctrl-C stops it)" << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
    server->stop();
    std::cout << "loadkit: stopped (" << server->total() << " requests served)" << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"loadkit " LOADKIT_VERSION_STRING ": load tests as YAML flows, on the engine of loadkit's C++ DSL", "loadkit"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "loadkit " LOADKIT_VERSION_STRING);

    run_flags rf;
    auto* run_cmd = app.add_subcommand("run", "Run a load test");
    run_cmd->add_option("file", rf.file, "The test: a YAML file or a k6-style JavaScript module")->required();
    run_cmd->add_option("-u,--vus", rf.vus, "VUs (overrides the file: with -d, constant-vus; with -i, shared-iterations)");
    run_cmd->add_option("-d,--duration", rf.duration, "Duration, e.g. 30s or 1m30s (overrides the file: constant-vus)");
    run_cmd->add_option("-i,--iterations", rf.iterations, "Iterations in total (overrides the file: shared-iterations)");
    run_cmd->add_option("-e,--env", rf.env, "KEY=VALUE for env (repeatable); over the file's env")->take_all();
    run_cmd->add_option("--target", rf.target, "Base URL for relative URLs, or 'builtin' (overrides the file)");
    run_cmd->add_option("--threads", rf.threads, "Worker threads (default: one per core)")->check(CLI::NonNegativeNumber);
    run_cmd->add_option("--summary-export", rf.summary_export, "Write the summary JSON here");
    run_cmd->add_option("--out", rf.out, "Outputs: json=FILE (one JSON line per metric series and second)")->take_all();
    run_cmd->add_flag("-q,--quiet", rf.quiet, "No progress display");
    run_cmd->add_flag("--no-color", rf.no_color, "No colors (also: NO_COLOR in the environment)");
    run_cmd->add_flag("--no-thresholds", rf.no_thresholds, "Do not evaluate thresholds");

    std::string validate_file;
    auto* validate_cmd = app.add_subcommand("validate", "Check a file (parse and validate, send nothing)");
    validate_cmd->add_option("file", validate_file, "The test: a YAML file or a k6-style JavaScript module")->required();

    std::string address = "127.0.0.1";
    int port = 8080, serve_threads = 1;
    bool tls = false;
    auto* serve_cmd = app.add_subcommand("serve", "Serve the built-in target (for trying things out)");
    serve_cmd->add_option("--port", port, "Port (0: any free one)");
    serve_cmd->add_option("--address", address, "Address to listen on");
    serve_cmd->add_option("--threads", serve_threads, "Server threads");
    serve_cmd->add_flag("--tls", tls, "HTTPS with a self-signed certificate");

    auto* version_cmd = app.add_subcommand("version", "Print the version");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::cerr << "loadkit: " << e.what() << "\n(see: loadkit --help, loadkit run --help)\n";
        return usage_error;
    }
    if (*run_cmd) return run(rf);
    if (*validate_cmd) return validate(validate_file);
    if (*serve_cmd) return serve(address, port, tls, serve_threads);
    if (*version_cmd) {
        std::cout << "loadkit " LOADKIT_VERSION_STRING " (Boost " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << ", "
                  << OPENSSL_VERSION_TEXT << ")\n";
        return 0;
    }
    return usage_error;
}
