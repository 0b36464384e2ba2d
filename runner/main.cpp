// loadkit: the runner. The same engine as the C++ DSL, driven by YAML flows.
//
//   loadkit run FILE.yaml|FILE.js [-u N] [-d 30s] [-i N] [-e KEY=VALUE]... [--target URL|builtin]
//                         [--threads N] [--summary-export FILE] [--out json=FILE|csv=FILE]...
//                         [--execution-segment A:B [--execution-segment-sequence P,...] | --instance I/N]
//                         [--setup-data FILE] [--start-at RFC3339] [--quiet] [--no-color] [--no-thresholds]
//                         k6's: [-o/--out ...] [--tag NAME=VALUE]... [-s DURATION:TARGET]... [--http-debug[=full]]
//                         [--summary-trend-stats LIST] [--summary-time-unit s|ms|us] [--no-summary]
//                         [--console-output FILE]; K6_*/LOADKIT_* variables for the same (flags win)
//   loadkit setup FILE -o SETUP.json        only setup(): its data, for every instance's --setup-data
//   loadkit teardown FILE --setup-data SETUP.json
//   loadkit merge A.json B.json... [-o MERGED.json] [--test FILE] [--report FILE.html] [--require-whole]
//                                           [--allow-different-tests]
//                                           one summary from instances' exports (exit 99 on thresholds)
//   loadkit compare BASE.json NEW.json [...] [--fail-on GATE]... [--format text|markdown|json] [--report FILE.html]
//                                           what changed beyond noise (exit 99 on a gate, 104 on a bad input)
//   loadkit report RESULTS.json -o REPORT.html
//   loadkit validate FILE.yaml|FILE.js
//   loadkit inspect FILE.yaml|FILE.js [--execution-requirements]   the resolved options as JSON (k6 inspect)
//   loadkit serve [--port N] [--address A] [--tls] [--threads N] [--faults]
//   loadkit new cpp|yaml|js DIR             a starting project that runs against `loadkit serve`
//   loadkit version
//
// Exit codes (k6's): 0 ok, 99 thresholds failed, 104 invalid configuration,
// 105 aborted from outside (SIGINT/SIGTERM), 107 script error, 108 aborted by
// the test; 2 for a command-line mistake, 1 when an output (summary, report,
// setup data) could not be written, 109 for an internal failure (out of memory).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <map>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/version.hpp>
#include <openssl/opensslv.h>

#include <loadkit/core/file.hpp>
#include <loadkit/core/memory.hpp>
#include <loadkit/core/signals.hpp>
#include <loadkit/outputs/html.hpp>
#include <loadkit/outputs/json_lines.hpp>
#include <loadkit/outputs/prometheus.hpp>
#include <loadkit/outputs/dashboard.hpp>
#include <loadkit/engine/timeline.hpp>
#include <loadkit/target/server.hpp>
#include <loadkit/yaml.hpp>
#if LOADKIT_RUNNER_JS
#include <loadkit/js.hpp>
#endif

#include "cli.hpp"
#include "compare_command.hpp"
#include "inspect.hpp"
#include "new_project.hpp"
#include "progress.hpp"

namespace {

using loadkit::runner::merge_flags;
using loadkit::runner::run_flags;
using loadkit::runner::run_settings;
constexpr int usage_error = loadkit::runner::usage_exit;
constexpr int output_error = loadkit::runner::output_exit;  // a summary, report or data file could not be written

int fail(int code, const std::string& message) {
    std::cerr << "loadkit: " << message << "\n";
    return code;
}

bool has_suffix(const std::string& s, std::string_view suffix) { return std::string_view(s).ends_with(suffix); }

// What a command runs of the test: all of it, or only setup() or teardown()
// (a test split over machines runs those once, on their own).
enum class phase { run, setup, teardown };

// Outputs go where they are asked to: missing parent directories are made.
std::ofstream open_output(const std::string& path) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    return std::ofstream(path, std::ios::binary);
}
bool write_output(const std::string& path, const std::string& text) {
    auto out = open_output(path);
    out << text;
    out.close();
    return static_cast<bool>(out);
}

// An input (an export, setup data) whole; nullopt with `error` when it is not
// a regular file of at most the data-file limit.
std::optional<std::string> read_file(const std::string& path, std::string& error) {
    std::string text;
    if (!loadkit::read_input_file(path, loadkit::max_data_file_bytes, text, error)) return std::nullopt;
    return text;
}

// Whether an output can be written, checked before any load (a run must not
// find out at its end that its summary has nowhere to go): its directory is
// made, and the file is created if missing (and removed again) or must be
// writable if present. False with the reason.
bool output_writable(const std::string& path, std::string& error) {
    std::error_code ec;
    auto p = std::filesystem::path(path);
    if (!p.parent_path().empty()) std::filesystem::create_directories(p.parent_path(), ec);
    if (std::filesystem::is_directory(p, ec)) {
        error = "'" + path + "' is a directory";
        return false;
    }
    bool existed = std::filesystem::exists(p, ec);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0) {
        error = "cannot write '" + path + "': " + std::generic_category().message(errno);
        return false;
    }
    ::close(fd);
    if (!existed) ::unlink(path.c_str());
    return true;
}

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
    std::string why;  // missing, a directory, /dev/zero, too large: said before anything reads it
    if (!loadkit::check_input_file(file, loadkit::max_test_file_bytes, why)) throw loadkit::config_error(why);
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
    if (js_file)
        throw std::invalid_argument(
            file + ": running a JavaScript file needs the JavaScript adapter, which this build does not have");
    t.plan = loadkit::yaml::load_file(file);
    if (!t.plan.script.empty())
        throw std::invalid_argument(t.plan.file + ": script '" + t.plan.script +
                                    "' needs the JavaScript adapter, which this build does not have");
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
    } catch (const std::bad_alloc&) {
        throw;                           // main's: exit 109
    } catch (const std::exception& e) {  // std::invalid_argument, js::script_error, ...
        return fail(loadkit::exit_code::script_error, e.what());
    }
}

// The VUs a scenario allocates before it starts: all of a closed model's;
// an arrival-rate executor's preAllocatedVUs (its maxVUs come one at a
// time, when iterations need them: a generous maxVUs must not be refused).
std::int64_t upfront_vus(const loadkit::executor& e) {
    return std::visit(
        [](auto& x) -> std::int64_t {
            if constexpr (requires { x.pre_allocated_vus; }) return x.pre_allocated_vus;
            else return loadkit::executor_max_vus(loadkit::executor(x));
        },
        e);
}
// Over all scenarios, in 64 bits (each count fits an int, their sum need not).
std::int64_t plan_max_vus(const loadkit::yaml::plan& p) {
    std::int64_t n = 0;
    for (auto& s : p.scenarios) n += upfront_vus(s.exec);
    return n;
}

// Refuses a plan whose VUs cannot fit in the memory this process may use
// (estimated per VU), before any is allocated: `vus: 100000000` under a
// memory limit ended in std::bad_alloc and a core dump.
void check_vus_fit(const loadkit::yaml::plan& p, bool js, const loadkit::execution_segment& seg) {
    // this instance's share (rounded up: a segment runs at least its share)
    double share = static_cast<double>(seg.to.num) / static_cast<double>(seg.to.den) -
                   static_cast<double>(seg.from.num) / static_cast<double>(seg.from.den);
    auto vus = static_cast<std::int64_t>(std::ceil(static_cast<double>(plan_max_vus(p)) * std::clamp(share, 0.0, 1.0)));
    auto per_vu = loadkit::vu_memory_estimate(js);
    auto avail = loadkit::available_memory();
    if (!avail.bytes || static_cast<double>(vus) * static_cast<double>(per_vu) <= static_cast<double>(avail.bytes))
        return;
    std::string where = p.file;
    const loadkit::yaml::scenario_plan* biggest = nullptr;
    for (auto& s : p.scenarios)
        if (!biggest || upfront_vus(s.exec) > upfront_vus(biggest->exec)) biggest = &s;
    if (biggest && biggest->where.line > 0)
        where += ":" + std::to_string(biggest->where.line) + ":" + std::to_string(biggest->where.column);
    throw loadkit::config_error(where + ": " + std::to_string(vus) + " VUs" +
                                (biggest ? " (scenario '" + biggest->name + "' has the most)" : "") + " need about " +
                                loadkit::memory_text(static_cast<double>(vus) * static_cast<double>(per_vu)) + " (" +
                                loadkit::memory_text(static_cast<double>(per_vu)) + " each), but only " +
                                loadkit::memory_text(static_cast<double>(avail.bytes)) + " is available (" +
                                avail.source +
                                "): use fewer VUs, or split the test over machines (--execution-segment)");
}

// ------------------------------------------------------------ k6's command-line options

// -s/--stage (and K6_STAGES): the test's scenarios become one ramping-vus
// scenario "default" with these stages, starting at -u VUs (1 without), as
// k6 does. It keeps the flow (YAML) or the function (a script: `default`
// when it exports one) of the scenario named "default", else the first.
void apply_stages(loadkit::yaml::plan& p, const std::vector<loadkit::stage>& stages, std::optional<int> vus,
                  const loadkit::script* s) {
    if (p.scenarios.empty()) return;
    auto it = std::find_if(p.scenarios.begin(), p.scenarios.end(),
                           [](auto& sc) { return sc.name == "default" || sc.exec_function == "default"; });
    auto sc = it == p.scenarios.end() ? p.scenarios.front() : *it;
    sc.name = "default";
    if (s && s->has_function("default")) sc.exec_function = "default";
    sc.exec = loadkit::ramping_vus{.start_vus = vus.value_or(1), .stages = stages};
    loadkit::validate_executor(sc.name, sc.exec);
    p.scenarios.assign(1, std::move(sc));
}

// The file's own k6 options that the runner reads (a script's options.
// summaryTrendStats, summaryTimeUnit, httpDebug), or null.
nlohmann::json script_option([[maybe_unused]] const loaded_test& t, [[maybe_unused]] const char* key) {
#if LOADKIT_RUNNER_JS
    if (auto* js = dynamic_cast<const loadkit::js::script*>(t.script.get()))
        if (auto& o = js->options(); o.is_object() && o.contains(key)) return o[key];
#endif
    return nullptr;
}

// The summary's trend stats and time unit: the flags (or K6_* variables),
// else the script's options, else k6's defaults. A mistake in the script's is
// a config_error (exit 104) naming the option.
loadkit::summary_options summary_settings(const loaded_test& t, const std::string& file, const run_settings& rs) {
    loadkit::summary_options so;
    try {
        if (rs.trend_stats) so.trend_stats = *rs.trend_stats;
        else if (auto v = script_option(t, "summaryTrendStats"); !v.is_null()) {
            if (!v.is_array() || v.empty())
                throw loadkit::runner::usage_error("options.summaryTrendStats: expected a list of trend stats like "
                                                   "[\"avg\", \"p(95)\"], found " +
                                                   v.dump());
            std::string list;
            for (auto& x : v) list += (list.empty() ? "" : ",") + (x.is_string() ? x.get<std::string>() : x.dump());
            so.trend_stats = loadkit::runner::parse_trend_stats("options.summaryTrendStats", list);
        }
        if (rs.time_unit) so.time_unit = *rs.time_unit;
        else if (auto v = script_option(t, "summaryTimeUnit"); !v.is_null())
            so.time_unit = loadkit::runner::parse_time_unit("options.summaryTimeUnit",
                                                            v.is_string() ? v.get<std::string>() : v.dump());
    } catch (const loadkit::runner::usage_error& e) {
        throw loadkit::config_error(file + ": " + e.what());
    }
    return so;
}

// What the flags change in a loaded test, before it runs or is inspected:
// --tag (replaces the file's tags, as k6's does), -s, -u/-d/-i.
void apply_flags(loaded_test& t, const run_settings& rs) {
    if (!rs.tags.empty()) t.plan.tags = {rs.tags.begin(), rs.tags.end()};
    if (rs.stages) apply_stages(t.plan, *rs.stages, rs.vus, t.script.get());
    loadkit::yaml::apply_shortcuts(t.plan, rs.stages ? std::nullopt : rs.vus, rs.duration, rs.iterations);
}

// --http-debug: each request's and response's head (and bodies with =full)
// on the log, as k6 prints them: the request's head as the client wrote it.
// It listens to the engine's request event, which costs nothing while no one
// listens. Differs from k6: the response's protocol is written HTTP/1.1, and
// a request that was never written (a refused connection) is one line.
void add_http_debug(loadkit::options& o, loadkit::runner::http_debug_mode mode) {
    if (mode == loadkit::runner::http_debug_mode::off) return;
    bool full = mode == loadkit::runner::http_debug_mode::full;
    o.events.request.add_listener([full](const loadkit::request_info& i) {
        // the head as sent, CRLFs as newlines (k6 prints Go's dump the same way)
        std::string text = "Request:\n";
        for (char c : i.request_head)
            if (c != '\r') text += c;
        if (i.request_head.empty()) text.append(i.method).append(" ").append(i.url).append(" (not sent)\n");
        if (full && !i.request_body.empty()) text.append(i.request_body).append("\n");
        loadkit::log_message(loadkit::log_level::info, text);
        if (!i.response || i.status == 0) return;  // no response: the error is the failed request's
        auto& r = *i.response;
        text = "Response:\nHTTP/1.1 " + std::to_string(r.status) + " " + std::string(r.status_text) + "\n";
        for (auto& [k, v] : r.headers()) text += std::string(k) + ": " + std::string(v) + "\n";
        if (full) text += "\n" + r.body;
        loadkit::log_message(loadkit::log_level::info, text);
    });
}

// --console-output FILE: console.* messages go there, from the init code on
// (the file is kept open until the process exits).
bool open_console_output(const std::string& path, std::string& error) {
    if (path.empty()) return true;
    if (!output_writable(path, error)) return false;
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        error = "cannot write '" + path + "'";
        return false;
    }
    loadkit::set_console_output(f);
    return true;
}

// `compare`: --baseline and its --fail-on gates (run only).
int run(const run_flags& f, const run_settings& rs, phase what = phase::run,
        const loadkit::runner::compare_flags* compare = nullptr) {
    loadkit::options o;
    o.threads = rs.threads;
    o.run_thresholds = !f.no_thresholds;
    o.include_tags = f.task_tags;
    o.exclude_tags = f.exclude_task_tags;
    o.seed = f.seed;
    for (auto& [k, v] : rs.env) o.env[k] = v;
    // every output must be writable before any load (exit 1 now, not after the run)
    for (auto [flag, path] : {std::pair{"--summary-export", &f.summary_export}, std::pair{"--report", &f.report},
                              std::pair{"-o/--output", &f.setup_out}}) {
        std::string why;
        if (!path->empty() && !output_writable(*path, why)) return fail(output_error, f.name_of(flag) + ": " + why);
    }
    if (std::string why; what == phase::run && !open_console_output(f.console_output, why))
        return fail(output_error, f.name_of("--console-output") + ": " + why);
    loaded_test test;
    auto& start_at = rs.start_at;
    try {
        test = load_test(f.file, env_map(o.env.begin(), o.env.end()));
        apply_flags(test, rs);
        // --local-ips (K6_LOCAL_IPS): over the file's http.localIPs; a mistake is exit 104 (k6's exits -1)
        if (std::string why; !f.local_ips.empty() && !test.plan.http.local_ips.parse(f.local_ips, why))
            throw loadkit::config_error(f.name_of("--local-ips") + ": " + why);
        o.summary = summary_settings(test, f.file, rs);
        o.summary.enabled = !f.no_summary;
        if (test.script) test.script->use_summary_options(o.summary, f.no_color);  // handleSummary's data.options
        auto debug = rs.http_debug;
        // options.httpDebug: "headers" or "full", as the flag's values (the flag wins)
        if (auto v = script_option(test, "httpDebug"); debug == loadkit::runner::http_debug_mode::off) {
            if (v == "full") debug = loadkit::runner::http_debug_mode::full;
            else if (v == "headers") debug = loadkit::runner::http_debug_mode::headers;
        }
        if (what == phase::run) add_http_debug(o, debug);
        o.segment = rs.segment;
        if (what == phase::run) check_vus_fit(test.plan, test.script != nullptr, rs.segment);
    } catch (...) {
        return load_failed();
    }
    auto& plan = test.plan;
    // --baseline: read (and its gates parsed, the test's metrics declared)
    // before any load: a bad file is exit 104 now, not after the run
    std::optional<loadkit::runner::baseline_run> baseline;
    if (what == phase::run && compare && !compare->baseline.empty()) {
        int code = 0;
        baseline = loadkit::runner::load_baseline(*compare, code, std::cerr);
        if (!baseline) return code;
    }

    // the phases: setup() alone, teardown() alone, or a run whose setup() and
    // teardown() run elsewhere, once (--setup-data)
    o.run_setup = what == phase::setup || (what == phase::run && f.setup_data.empty());
    o.run_vus = what == phase::run;
    o.run_teardown = what == phase::teardown || (what == phase::run && f.setup_data.empty());
    if (what == phase::setup && !(test.script && test.script->has_setup())) {
        std::cerr << "loadkit: " << f.file << " has no setup(): its data is null\n";
        if (!write_output(f.setup_out, "null\n")) return fail(output_error, "setup: cannot write " + f.setup_out);
        return 0;
    }
    if (!f.setup_data.empty()) {
        std::string why;
        auto text = read_file(f.setup_data, why);
        if (!text) return fail(loadkit::exit_code::invalid_config, "--setup-data: " + why);
        if (nlohmann::json::parse(*text, nullptr, false).is_discarded())
            return fail(loadkit::exit_code::invalid_config, "--setup-data: " + f.setup_data +
                                                                " is not JSON (write it with `loadkit setup FILE -o " +
                                                                f.setup_data + "`)");
        if (test.script) test.script->set_setup_data_json(*text);
    }
    if (what != phase::run) {
        o.print_summary = false;
        o.run_thresholds = false;
    }

    // the built-in target, in this process, when asked for
    std::unique_ptr<loadkit::target_server> builtin;
    std::string target = f.target.empty() ? plan.target : f.target;
    if (target == "builtin") {
        builtin = std::make_unique<loadkit::target_server>();
        target = builtin->url();
        if (!f.quiet) std::cerr << "loadkit: the built-in target serves on " << target << "\n";
    } else if (!target.empty()) {
        if (!loadkit::is_http_url(target))
            return fail(loadkit::exit_code::invalid_config,
                        "--target: expected an http:// or https:// URL or 'builtin', found '" + target + "'");
    }
    o.target = target;

    // outputs and the progress display, fed by the engine's snapshots
    // (deques: the streams must not move once an output holds them)
    std::deque<std::ofstream> files;
    std::vector<std::unique_ptr<loadkit::json_lines_output>> point_outs;
    std::unique_ptr<loadkit::prometheus_output> prometheus;
    for (auto& spec : what == phase::run ? f.out : std::vector<std::string>{}) {
        auto eq = spec.find('=');
        auto kind = spec.substr(0, eq);
        auto arg = eq == std::string::npos ? std::string() : spec.substr(eq + 1);
        if ((kind == "json" || kind == "csv") && !arg.empty()) {
            auto& file = files.emplace_back(open_output(arg));
            if (!file) return fail(output_error, "--out: cannot write " + arg);
            point_outs.push_back(std::make_unique<loadkit::json_lines_output>(
                file,
                kind == "csv" ? loadkit::json_lines_output::format::csv : loadkit::json_lines_output::format::json));
        } else {  // prometheus (validate() took nothing else)
            try {
                prometheus = std::make_unique<loadkit::prometheus_output>(arg);
            } catch (const std::exception& e) {
                return fail(loadkit::exit_code::invalid_config, std::string("--out ") + e.what());
            }
            if (!f.quiet) std::cerr << "loadkit: Prometheus metrics on " << prometheus->url() << "\n";
        }
    }
    // the run's control (control_command.hpp): declared before the servers whose routes use it
    loadkit::runner::run_control_api control_api;
    // ---- --dashboard: the live page on its own small server (the control
    // API's routes, when served, go on the same server before start())
    std::unique_ptr<loadkit::live_server> live;
    std::unique_ptr<loadkit::dashboard> dashboard;
    if (what == phase::run && !f.dashboard.empty()) {
        try {
            live = std::make_unique<loadkit::live_server>(f.dashboard);
            dashboard = std::make_unique<loadkit::dashboard>(
                *live, loadkit::dashboard_options{plan.name, !o.run_thresholds ? loadkit::threshold_set{}
                                                             : o.thresholds.empty() ? plan.thresholds
                                                                                    : o.thresholds,
                                                  600, o.summary.trend_stats});
        } catch (const std::exception& e) {
            return fail(loadkit::exit_code::invalid_config, std::string("--dashboard: ") + e.what());
        }
        loadkit::add_control_routes(*live, control_api.control);  // the page's buttons: k6's /v1/status
        live->start();
        std::cerr << "loadkit: dashboard on " << live->url() << std::endl;  // even with -q: it is what was asked
    }
    // ---- (end of --dashboard)
    // the charts of --report, of the export (`loadkit report` draws them later) and of the dashboard's last page
    loadkit::timeline_recorder timeline;
    bool record_timeline =
        what == phase::run && (!f.report.empty() || !f.summary_export.empty() || dashboard != nullptr);
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    bool color = terminal && !f.no_color && std::getenv("NO_COLOR") == nullptr;
    loadkit::runner::progress_display display(stderr, terminal, color);
    if ((!f.quiet && what == phase::run) || !point_outs.empty() || prometheus || record_timeline) {
        o.on_progress = [&, quiet = f.quiet || what != phase::run](const loadkit::progress& p) {
            for (auto& out : point_outs) out->write(*p.metrics, p.elapsed_secs);
            if (prometheus) prometheus->update(*p.metrics);
            if (dashboard) dashboard->update(p);
            if (record_timeline) timeline.add(*p.metrics, p.elapsed_secs);
            if (!quiet) display.update(p);
        };
    }
    // the run's control API (--address, --paused; control_command.hpp), before any load
    if (what == phase::run) {
        try {
            // --paused with --dashboard: the page resumes it, no other port is needed
            control_api.start(f.address, f.paused && !live);
        } catch (const std::exception& e) {
            return fail(loadkit::runner::cannot_serve_api_exit, std::string("--address: ") + e.what());
        }
        o.control = &control_api.control;
        o.start_paused = f.paused;
        if (control_api.server && !f.quiet)
            std::cerr << "loadkit: control API on " << control_api.url()
                      << (f.paused ? " (paused: `loadkit resume --address " + control_api.server->address() + ":" +
                                         std::to_string(control_api.server->port()) + "` starts the run)"
                                   : "")
                      << "\n";
    }
    // start together: every instance waits for the same moment
    if (start_at) {
        auto wait = *start_at - std::chrono::system_clock::now();
        if (wait.count() < 0) std::cerr << "loadkit: --start-at " << f.start_at << " has passed: starting now\n";
        else {
            if (!f.quiet) std::cerr << "loadkit: waiting until " << f.start_at << " to start\n";
            std::this_thread::sleep_until(*start_at);
        }
    }

    loadkit::run_result r;
    try {
        r = loadkit::yaml::run(plan, o, test.script.get());
    } catch (const loadkit::config_error& e) {
        return fail(loadkit::exit_code::invalid_config, plan.file + ": " + e.what());
    }
    // From here on a signal must not kill the process (exit 130) and lose
    // the verdict: while outputs are written and the Prometheus endpoint
    // lingers, Ctrl-C only ends the wait.
    loadkit::signal_scope after_run_signals(true);
    const int signals_before = loadkit::signals_received();
    int code = r.exit_code();
    if (what == phase::setup && code == 0) {
        if (!write_output(f.setup_out, test.script->setup_data_json() + "\n"))
            return fail(output_error, "setup: cannot write " + f.setup_out);
        if (!f.quiet) std::cerr << "loadkit: setup() ran; its data is in " << f.setup_out << "\n";
    }
    if (what != phase::run) return code;
    nlohmann::json extra{
        {"test", f.file},
        {"timeline", loadkit::with_control_actions(timeline.json(), r.summary.value("control", nlohmann::json()))},
        {"requests", loadkit::requests_table(*r.metrics)}};
    if (!f.summary_export.empty() && !write_output(f.summary_export, loadkit::export_text(r.summary, r.state, extra))) {
        std::cerr << "loadkit: could not write the summary to " << f.summary_export << "\n";
        if (code == 0) code = output_error;
    }
    if (!f.report.empty()) {
        auto results = r.summary;
        results.update(extra);
        if (!write_output(f.report, loadkit::html_report(results))) {
            std::cerr << "loadkit: could not write the report to " << f.report << "\n";
            if (code == 0) code = output_error;
        } else if (!f.quiet) {
            std::cerr << "loadkit: report written to " << f.report << "\n";
        }
    }
    if (dashboard) {  // --dashboard: the last event (the report's data), sent to every open page before exit
        auto results = r.summary;
        results.update(extra);
        dashboard->finish(results);
        if (!live->drain(std::chrono::seconds(3)) && !f.quiet)
            std::cerr << "loadkit: a dashboard page did not receive the final event within 3 s\n";
    }
    if (baseline) {  // the comparison, under the summary
        auto now = r.summary;
        now.update(extra);
        now["state"] = r.state;
        std::cout.flush();
        int c = loadkit::runner::compare_with_baseline(*baseline, now, std::cout, std::cerr);
        if (code == 0) code = c;
    }
    if (prometheus) {
        // the final values (teardown's requests too), kept up until Prometheus
        // has scraped them: at most two scrape intervals, a minute at most,
        // and not at all when nothing ever scraped
        prometheus->update(*r.metrics);
        if (prometheus->scrapes() > 0) {
            auto bound = prometheus->linger_bound(std::chrono::seconds(60));
            if (bound.count() > 0 && !f.quiet)
                std::cerr << "loadkit: waiting up to " << loadkit::format_duration(bound)
                          << " for Prometheus to scrape the final values from " << prometheus->url()
                          << " (Ctrl-C stops waiting; the exit code stays " << code << ")" << std::endl;
            prometheus->linger(std::chrono::seconds(60), [&] { return loadkit::signals_received() != signals_before; });
        }
    }
    return code;
}

int merge(const merge_flags& mf) {
    const auto& inputs = mf.inputs;
    const auto& test_file = mf.test;
    std::vector<nlohmann::json> timelines;
    std::vector<std::pair<std::string, nlohmann::json>> states;
    std::vector<loadkit::execution_segment> segments;
    std::string recorded_test;
    for (auto [flag, path] : {std::pair{"-o/--output", &mf.output}, std::pair{"--report", &mf.report}}) {
        std::string why;
        if (!path->empty() && !output_writable(*path, why))
            return fail(output_error, std::string("merge: ") + flag + ": " + why);
    }
    // which test each export is of: its file (by name: instances on other
    // machines have other paths to it) and its name
    std::string first_file, first_test, first_name;
    for (auto& file : inputs) {
        std::string why;
        auto text = read_file(file, why);
        if (!text) return fail(loadkit::exit_code::invalid_config, "merge: " + why);
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("state") || !j["state"].is_object())
            return fail(loadkit::exit_code::invalid_config,
                        "merge: " + file + ": expected a summary written by `loadkit run --summary-export`" +
                            (j.is_object() && j.contains("state") ? " (its \"state\" is not an object)" : ""));
        if (recorded_test.empty() && j.contains("test") && j["test"].is_string()) recorded_test = j["test"];
        auto text_of = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string(); };
        auto test = std::filesystem::path(text_of(j.value("test", nlohmann::json()))).filename().string();
        auto name = text_of(j["state"].value("name", nlohmann::json()));
        if (first_file.empty()) {
            first_file = file;
            first_test = test;
            first_name = name;
        } else if ((test != first_test || name != first_name) && !mf.allow_different_tests) {
            return fail(
                loadkit::exit_code::invalid_config,
                "merge: " + file + " is an export of another test than " + first_file + " (" +
                    (test != first_test ? "test '" + test + "', not '" + first_test + "'"
                                        : "name '" + name + "', not '" + first_name + "'") +
                    "): merging them would mix unrelated numbers; give --allow-different-tests to merge them anyway");
        }
        if (j.contains("timeline")) timelines.push_back(j["timeline"]);
        auto segv = j["state"].value("segment", nlohmann::json());
        auto seg = segv.is_string() ? segv.get<std::string>() : std::string();
        try {
            segments.push_back(seg.empty() ? loadkit::execution_segment{} : loadkit::parse_execution_segment(seg));
        } catch (const loadkit::config_error& e) {
            return fail(loadkit::exit_code::invalid_config, "merge: " + file + ": " + e.what());
        }
        states.emplace_back(file, std::move(j["state"]));
    }
    // the segments should tile 0..1 exactly once: say so when they do not
    std::sort(segments.begin(), segments.end(), [](auto& a, auto& b) { return a.from < b.from; });
    loadkit::fraction at{0, 1};
    bool tiled = true;
    for (auto& s : segments) {
        if (!(s.from == at)) tiled = false;
        at = s.to;
    }
    if (!tiled || !(at == loadkit::fraction{1, 1})) {
        if (mf.require_whole)
            return fail(
                loadkit::exit_code::invalid_config,
                "merge: the runs' execution segments do not cover the test exactly once (0 to 1 without gaps or overlaps)");
        std::cerr
            << "loadkit: merge: warning: the runs' execution segments do not cover the test exactly once (0 to 1 without gaps or overlaps)\n";
    }
    env_map env;
    for (auto& kv : mf.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail(usage_error, "-e/--env: expected KEY=VALUE, found '" + kv + "'");
        env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }

    loadkit::merged_run m;
    try {
        m = loadkit::merge_runs(states, !mf.no_thresholds);
    } catch (const std::exception& e) {
        return fail(loadkit::exit_code::invalid_config, std::string("merge: ") + e.what());
    }
    // handleSummary once, on the merged summary
    std::string printed = m.report;
    auto script_file = test_file.empty() ? recorded_test : test_file;
    if (!script_file.empty() && (!test_file.empty() || std::filesystem::exists(script_file))) {
        try {
            auto t = load_test(script_file, env);
            if (t.script && t.script->has_handle_summary()) {
                auto custom = t.script->handle_summary(m.summary);
                if (custom.is_string()) printed = custom.get<std::string>();
                else if (!custom.is_null())
                    printed = custom.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
            }
        } catch (const std::exception& e) {
            std::cerr << "loadkit: merge: handleSummary of " << script_file
                      << " failed, using the default report: " << e.what() << "\n";
        }
    }
    if (!mf.quiet) {
        std::cout << printed;
        if (!printed.empty() && printed.back() != '\n') std::cout << '\n';
    }
    nlohmann::json extra{
        {"test", script_file},
        {"merged_from", inputs},
        {"timeline", loadkit::merge_timelines(timelines, m.summary.value("started_ms", std::int64_t{0}))},
        {"requests", loadkit::requests_table(m.metrics)}};
    if (!mf.output.empty() && !write_output(mf.output, loadkit::export_text(m.summary, m.state, extra)))
        return fail(output_error, "merge: cannot write " + mf.output);
    if (!mf.report.empty()) {
        auto results = m.summary;
        results.update(extra);
        if (!write_output(mf.report, loadkit::html_report(results)))
            return fail(output_error, "merge: cannot write " + mf.report);
    }
    return m.thresholds_passed ? 0 : loadkit::exit_code::thresholds_failed;
}

// An exported run (--summary-export, or `loadkit merge -o`) as an HTML report.
int report(const std::string& input, const std::string& output) {
    std::string why;
    auto text = read_file(input, why);
    if (!text) return fail(loadkit::exit_code::invalid_config, "report: " + why);
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("metrics"))
        return fail(loadkit::exit_code::invalid_config,
                    "report: " + input + ": expected a summary written by `loadkit run --summary-export`");
    j.erase("state");
    std::string html;
    try {
        html = loadkit::html_report(j);
    } catch (const std::exception& e) {
        return fail(loadkit::exit_code::invalid_config, "report: " + input + ": " + e.what());
    }
    if (!write_output(output, html)) return fail(output_error, "report: cannot write " + output);
    return 0;
}

int validate(const std::string& file) {
    try {
        auto t = load_test(file, {});
        auto& p = t.plan;
        std::cout << file << ": valid, " << p.scenarios.size() << (p.scenarios.size() == 1 ? " scenario" : " scenarios")
                  << "\n";
        for (auto& s : p.scenarios)
            std::cout << "  * " << s.name << ": " << loadkit::executor_name(s.exec) << ", "
                      << loadkit::executor_description(s.exec) << ", " << s.flow.size()
                      << (s.flow.size() == 1 ? " step" : " steps")
                      << (s.exec_function.empty() ? "" : ", exec " + s.exec_function) << "\n";
        if (t.script) std::cout << "  script " << p.script << ": compiled, init code ran, functions found\n";
#if LOADKIT_RUNNER_JS
        if (auto* js = dynamic_cast<loadkit::js::script*>(t.script.get())) {
            if (js->rewritten())
                std::cout << "  JavaScript VUs: async, many per thread (blocking calls are awaited), "
                          << (js->shares_modules()
                                  ? "sharing the script's module instances\n"
                                  : "each with its own module instances, because " + js->own_modules_reason() + "\n");
            else
                std::cout << "  JavaScript VUs: synchronous ones get a thread each, because " << js->threads_reason()
                          << "\n";
        }
#endif
        return 0;
    } catch (...) {
        return load_failed();
    }
}

// The test's options after the flags and the environment, as JSON (k6 inspect).
int inspect(const run_flags& f, const run_settings& rs, bool execution_requirements) {
    try {
        env_map env;
        for (auto& [k, v] : rs.env) env[k] = v;
        auto t = load_test(f.file, env);
        apply_flags(t, rs);
        loadkit::runner::inspect_input in;
        in.plan = &t.plan;
        for (auto* k : {"vus", "duration", "iterations", "stages"})
            if (auto v = script_option(t, k); !v.is_null()) in.shortcuts[k] = v;
        if (rs.vus) in.shortcuts["vus"] = *rs.vus;
        if (rs.duration) in.shortcuts["duration"] = loadkit::format_duration(*rs.duration);
        if (rs.iterations) in.shortcuts["iterations"] = *rs.iterations;
        if (rs.stages) in.shortcuts["stages"] = nlohmann::json::parse(loadkit::runner::stages_json(*rs.stages).dump());
        auto so = summary_settings(t, f.file, rs);
        in.trend_stats = so.trend_stats;
        in.time_unit = so.time_unit;
        in.execution_requirements = execution_requirements;
        std::cout << loadkit::runner::inspect_json(in).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
        return 0;
    } catch (...) {
        return load_failed();
    }
}

int serve(const std::string& address, int port, bool tls, int threads, bool faults) {
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
    to.faults = faults;
    if (faults && port > 65533)
        return fail(usage_error, "--faults: uses --port+1 and --port+2: expected --port 0..65533");
    std::unique_ptr<loadkit::target_server> server;
    try {
        server = std::make_unique<loadkit::target_server>(to);
    } catch (const std::exception& e) {
        return fail(1, std::string("serve: ") + e.what());
    }
    std::cout << "loadkit: the built-in target serves on " << server->url() << " (Ctrl-C stops it)" << std::endl;
    if (faults) {
        auto u = server->url();
        std::cout << "loadkit: faults: " << u << "/fault/{refuse,reset,hang,garbage,truncate,drip,big-header,close}\n"
                  << "loadkit: faults: connections refused at " << server->refused_url() << "\n"
                  << "loadkit: faults: a self-signed certificate at " << server->tls_fault_url() << std::endl;
    }
    int sig = 0;
    sigwait(&set, &sig);
    server->stop();
    std::cout << "loadkit: stopped (" << server->total() << " requests served)" << std::endl;
    return 0;
}

// `loadkit new KIND DIR`: the files, and what to do next.
int new_project(const std::string& kind, const std::string& dir) {
    std::vector<std::string> written;
    std::string error;
    if (!loadkit::runner::write_new_project(kind, dir, written, error)) return fail(output_error, "new: " + error);
    for (auto& f : written) std::cout << "loadkit: wrote " << f << "\n";
    std::cout << "next:\n  loadkit serve &                    # the built-in target on http://127.0.0.1:8080\n";
    if (kind == "cpp")
        std::cout << "  cmake -S " << dir << " -B " << dir << "/build && cmake --build " << dir << "/build\n  " << dir
                  << "/build/load_test\n";
    else std::cout << "  loadkit run " << written.front() << "\n";
    return 0;
}

// The subcommand argv names. Whatever it throws is caught here: no input
// ends loadkit with SIGABRT and a core dump, but with a message and exit 109
// (an internal failure; out of memory among them).
int dispatch(loadkit::runner::command_line& cl) {
    if (*cl.run_cmd) return run(cl.rf, cl.run, phase::run, &cl.bf);
    if (*cl.setup_cmd) return run(cl.sf, cl.run, phase::setup);
    if (*cl.teardown_cmd) return run(cl.tf, cl.run, phase::teardown);
    if (*cl.merge_cmd) return merge(cl.mf);
    if (*cl.compare_cmd) return loadkit::runner::compare_command(cl.cf, std::cout, std::cerr);
    if (*cl.report_cmd) return report(cl.report_input, cl.report_output);
    if (*cl.validate_cmd) return validate(cl.validate_file);
    if (*cl.inspect_cmd) return inspect(cl.inf, cl.run, cl.execution_requirements);
    if (*cl.serve_cmd) return serve(cl.address, cl.port, cl.tls, cl.serve_threads, cl.faults);
    if (*cl.new_cmd) return new_project(cl.new_kind, cl.new_dir);
    if (cl.control_cmds.any()) return loadkit::runner::control_command(cl.control_cmds, cl.ctlf, std::cout, std::cerr);
    if (*cl.version_cmd) {
        std::cout << "loadkit " LOADKIT_VERSION_STRING " (Boost " << BOOST_VERSION / 100000 << "."
                  << BOOST_VERSION / 100 % 1000 << ", " << OPENSSL_VERSION_TEXT << ")\n"
                  << "I/O: " << loadkit::io_mechanism()
                  << (loadkit::io_mechanism() == "io_uring" ? " (LOADKIT_IO=epoll forces epoll)\n"
                                                            : " (io_uring: not given by this kernel, or LOADKIT_IO=epoll)\n")
                  << "clock: " << loadkit::clock_source()
                  << (loadkit::clock_source() == "tsc" ? " (LOADKIT_CLOCK=steady forces steady_clock)\n"
                                                       : " (steady_clock)\n");
        return 0;
    }
    return usage_error;
}

}  // namespace

int main(int argc, char** argv) {
    loadkit::raise_fd_limit();  // a descriptor per connection: soft limit up to the hard one (as Go, so k6)
    try {
        auto cl = std::make_unique<loadkit::runner::command_line>();
        if (auto code = cl->parse(argc, argv, std::cout, std::cerr)) return *code;
        if (cl->verbose) loadkit::set_log_level(loadkit::log_level::debug);
        return dispatch(*cl);
    } catch (const std::bad_alloc&) {
        std::fputs(
            "loadkit: out of memory: the test needs more memory than this process may use (see ulimit -v and the "
            "container's memory limit); use fewer VUs or split the test over machines (--execution-segment)\n",
            stderr);
        return loadkit::runner::internal_exit;
    } catch (const std::system_error& e) {
        std::cerr << "loadkit: " << e.what()
                  << (e.code() == std::errc::too_many_files_open ? " (raise ulimit -n, or use fewer --threads)" : "")
                  << "\n";
        return loadkit::runner::internal_exit;
    } catch (const std::exception& e) {
        std::cerr << "loadkit: internal error: " << e.what() << "\n";
        return loadkit::runner::internal_exit;
    } catch (...) {
        std::cerr << "loadkit: internal error: an unknown exception\n";
        return loadkit::runner::internal_exit;
    }
}
