// loadkit: the runner. The same engine as the C++ DSL, driven by YAML flows.
//
//   loadkit run FILE.yaml|FILE.js [-u N] [-d 30s] [-i N] [-e KEY=VALUE]... [--target URL|builtin]
//                         [--threads N] [--summary-export FILE] [--out json=FILE|csv=FILE]...
//                         [--execution-segment A:B [--execution-segment-sequence P,...] | --instance I/N]
//                         [--setup-data FILE] [--start-at RFC3339] [--quiet] [--no-color] [--no-thresholds]
//   loadkit setup FILE -o SETUP.json        only setup(): its data, for every instance's --setup-data
//   loadkit teardown FILE --setup-data SETUP.json
//   loadkit merge A.json B.json... [-o MERGED.json] [--test FILE] [--report FILE.html] [--require-whole]
//                                           one summary from instances' exports (exit 99 on thresholds)
//   loadkit report RESULTS.json -o REPORT.html
//   loadkit validate FILE.yaml|FILE.js
//   loadkit serve [--port N] [--address A] [--tls] [--threads N] [--faults]
//   loadkit version
//
// Exit codes (k6's): 0 ok, 99 thresholds failed, 104 invalid configuration,
// 105 aborted from outside (SIGINT/SIGTERM), 107 script error, 108 aborted by
// the test; 2 for a command-line mistake, 1 when an output (summary, report,
// setup data) could not be written.
#include <chrono>
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
#include <map>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/version.hpp>
#include <openssl/opensslv.h>

#include <loadkit/report/html.hpp>
#include <loadkit/report/json_lines.hpp>
#include <loadkit/report/prometheus.hpp>
#include <loadkit/report/timeline.hpp>
#include <loadkit/target/server.hpp>
#include <loadkit/yaml.hpp>
#if LOADKIT_RUNNER_JS
#include <loadkit/js.hpp>
#endif

#include "progress.hpp"

namespace {

constexpr int usage_error = 2;

constexpr int output_error = 1;  // a summary, report or data file could not be written

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
    std::string segment, segment_sequence, instance;  // --execution-segment, --execution-segment-sequence, --instance
    std::string setup_data;                            // --setup-data: setup() ran elsewhere (`loadkit setup`)
    std::string start_at;                              // --start-at
    std::string setup_out;                             // `loadkit setup -o`
    std::string report;                                // --report FILE.html
};

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

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// RFC 3339 ("2026-11-22T10:00:00Z", "2026-11-22T11:00:00.5+01:00") to a
// system_clock time; nullopt when it is not one.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& s) {
    int y, mo, d, h, mi, sec, n = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) return std::nullopt;
    std::size_t i = 19;
    double frac = 0;
    if (i < s.size() && s[i] == '.') {
        std::size_t j = i + 1;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (j == i + 1) return std::nullopt;
        frac = std::stod("0" + s.substr(i, j - i));
        i = j;
    }
    long offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) ++i;
    else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
        offset = (s[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        i += 6;
    } else return std::nullopt;
    if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d; tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
    auto t = ::timegm(&tm) - offset;
    return std::chrono::system_clock::from_time_t(t) + std::chrono::microseconds(static_cast<long long>(frac * 1e6));
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

// --execution-segment/--execution-segment-sequence/--instance to a segment.
loadkit::execution_segment segment_of(const run_flags& f) {
    loadkit::execution_segment seg;
    if (!f.instance.empty()) {
        if (!f.segment.empty() || !f.segment_sequence.empty())
            throw loadkit::config_error("--instance is a shorthand for --execution-segment and --execution-segment-sequence: give one or the other");
        return loadkit::instance_segment(f.instance);
    }
    if (!f.segment.empty()) seg = loadkit::parse_execution_segment(f.segment);
    if (!f.segment_sequence.empty()) {
        seg.sequence = loadkit::parse_segment_sequence(f.segment_sequence);
        if (f.segment.empty()) throw loadkit::config_error("--execution-segment-sequence needs --execution-segment");
    }
    loadkit::detail::make_stripe(seg);  // the segment must be in its sequence: say so now
    return seg;
}

int run(const run_flags& f, phase what = phase::run) {
    loadkit::options o;
    o.threads = f.threads;
    o.run_thresholds = !f.no_thresholds;
    for (auto& kv : f.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) return fail(usage_error, "-e/--env: expected KEY=VALUE, found '" + kv + "'");
        o.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    loaded_test test;
    std::optional<std::chrono::system_clock::time_point> start_at;
    try {
        test = load_test(f.file, env_map(o.env.begin(), o.env.end()));
        apply_flags(f, test.plan);
        o.segment = segment_of(f);
        if (!f.start_at.empty() && !(start_at = parse_rfc3339(f.start_at)))
            throw loadkit::config_error("--start-at: expected an RFC 3339 time like 2026-11-22T10:00:00Z, found '" + f.start_at + "'");
    } catch (...) {
        return load_failed();
    }
    auto& plan = test.plan;

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
        auto text = read_file(f.setup_data);
        if (!text) return fail(loadkit::exit_code::invalid_config, "--setup-data: cannot read " + f.setup_data);
        if (nlohmann::json::parse(*text, nullptr, false).is_discarded())
            return fail(loadkit::exit_code::invalid_config, "--setup-data: " + f.setup_data + " is not JSON (write it with `loadkit setup FILE -o " +
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
        loadkit::detail::url_parts u;
        if (!loadkit::detail::split_url(target, u))
            return fail(loadkit::exit_code::invalid_config, "--target: expected an http:// or https:// URL or 'builtin', found '" + target + "'");
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
            if (!file) return fail(loadkit::exit_code::invalid_config, "--out: cannot write " + arg);
            point_outs.push_back(std::make_unique<loadkit::json_lines_output>(
                file, kind == "csv" ? loadkit::json_lines_output::format::csv : loadkit::json_lines_output::format::json));
        } else if (kind == "prometheus" && !arg.empty()) {
            if (prometheus) return fail(usage_error, "--out prometheus=HOST:PORT may be given once");
            try {
                prometheus = std::make_unique<loadkit::prometheus_output>(arg);
            } catch (const std::exception& e) {
                return fail(loadkit::exit_code::invalid_config, std::string("--out ") + e.what());
            }
            if (!f.quiet) std::cerr << "loadkit: Prometheus metrics on " << prometheus->url() << "\n";
        } else {
            return fail(usage_error, "--out: expected json=FILE, csv=FILE or prometheus=HOST:PORT, found '" + spec + "'");
        }
    }
    // the charts of --report and of the export (`loadkit report` draws them later)
    loadkit::timeline_recorder timeline;
    bool record_timeline = what == phase::run && (!f.report.empty() || !f.summary_export.empty());
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    bool color = terminal && !f.no_color && std::getenv("NO_COLOR") == nullptr;
    loadkit::runner::progress_display display(stderr, terminal, color);
    if ((!f.quiet && what == phase::run) || !point_outs.empty() || prometheus || record_timeline) {
        o.on_progress = [&, quiet = f.quiet || what != phase::run](const loadkit::progress& p) {
            for (auto& out : point_outs) out->write(*p.metrics, p.elapsed_secs);
            if (prometheus) prometheus->update(*p.metrics);
            if (record_timeline) timeline.add(*p.metrics, p.elapsed_secs);
            if (!quiet) display.update(p);
        };
    }
    // start together: every instance waits for the same moment
    if (start_at) {
        auto wait = *start_at - std::chrono::system_clock::now();
        if (wait > std::chrono::hours(24)) return fail(loadkit::exit_code::invalid_config, "--start-at: " + f.start_at + " is more than a day away");
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
    int code = r.exit_code();
    if (what == phase::setup && code == 0) {
        if (!write_output(f.setup_out, test.script->setup_data_json() + "\n")) return fail(output_error, "setup: cannot write " + f.setup_out);
        if (!f.quiet) std::cerr << "loadkit: setup() ran; its data is in " << f.setup_out << "\n";
    }
    if (what != phase::run) return code;
    nlohmann::json extra{{"test", f.file}, {"timeline", timeline.json()}, {"requests", loadkit::requests_table(*r.metrics)}};
    if (!f.summary_export.empty() && !write_output(f.summary_export, loadkit::detail::export_text(r.summary, r.state, extra))) {
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
    if (prometheus) {
        // the final values (teardown's requests too), kept up until Prometheus
        // has scraped them: at most two scrape intervals, a minute at most,
        // and not at all when nothing ever scraped
        prometheus->update(*r.metrics);
        if (prometheus->scrapes() > 0) prometheus->linger(std::chrono::seconds(60));
    }
    return code;
}

// Exports of a test's instances (--summary-export) merged into one result.
struct merge_flags {
    std::vector<std::string> inputs;
    std::string output, test, report;
    std::vector<std::string> env;
    bool quiet = false, no_thresholds = false, require_whole = false;
};

// Instances' timelines on one time axis (wall-clock seconds): counts add;
// percentiles are the requests-weighted mean of the instances' (marked
// approximate: interval histograms are not exported).
nlohmann::json merge_timelines(const std::vector<nlohmann::json>& timelines, std::int64_t started_ms) {
    struct slot { double reqs = 0, failed = 0, iterations = 0, vus = 0, wsum[4] = {0, 0, 0, 0}, w = 0, max = 0; bool any_latency = false; };
    std::map<std::int64_t, slot> slots;
    for (auto& tl : timelines) {
        if (!tl.is_array()) continue;
        for (auto& p : tl) {
            if (!p.is_object() || !p.contains("time_ms")) continue;
            auto& s = slots[p.value("time_ms", std::int64_t{0}) / 1000];
            auto num = [&](const char* k) { return p.contains(k) && p[k].is_number() ? p[k].get<double>() : 0.0; };
            s.reqs += num("reqs"); s.failed += num("failed"); s.iterations += num("iterations"); s.vus += num("vus");
            const char* q[] = {"p50", "p95", "p99"};
            if (p.contains("p50") && p["p50"].is_number()) {
                for (int i = 0; i < 3; ++i) s.wsum[i] += num(q[i]) * num("reqs");
                s.w += num("reqs");
                s.max = std::max(s.max, num("max"));
                s.any_latency = true;
            }
        }
    }
    nlohmann::json out = nlohmann::json::array();
    std::int64_t prev = -1;
    for (auto& [sec, s] : slots) {
        double interval = prev < 0 ? 1.0 : static_cast<double>(sec - prev);
        prev = sec;
        nlohmann::json p{{"t", static_cast<double>(sec * 1000 - started_ms) / 1000.0}, {"interval_secs", interval}, {"time_ms", sec * 1000},
                         {"vus", s.vus}, {"reqs", s.reqs}, {"rps", s.reqs / interval}, {"failed", s.failed}, {"iterations", s.iterations},
                         {"approximate", true}};
        if (s.any_latency && s.w > 0) {
            p["p50"] = s.wsum[0] / s.w; p["p95"] = s.wsum[1] / s.w; p["p99"] = s.wsum[2] / s.w; p["max"] = s.max;
        } else {
            p["p50"] = p["p95"] = p["p99"] = p["max"] = nullptr;
        }
        out.push_back(std::move(p));
    }
    return out;
}

int merge(const merge_flags& mf) {
    const auto& inputs = mf.inputs;
    const auto& test_file = mf.test;
    std::vector<nlohmann::json> timelines;
    std::vector<std::pair<std::string, nlohmann::json>> states;
    std::vector<loadkit::execution_segment> segments;
    std::string recorded_test;
    for (auto& file : inputs) {
        auto text = read_file(file);
        if (!text) return fail(loadkit::exit_code::invalid_config, "merge: cannot read " + file);
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("state"))
            return fail(loadkit::exit_code::invalid_config, "merge: " + file + ": expected a summary written by `loadkit run --summary-export`");
        if (recorded_test.empty() && j.contains("test") && j["test"].is_string()) recorded_test = j["test"];
        if (j.contains("timeline")) timelines.push_back(j["timeline"]);
        auto seg = j["state"].value("segment", std::string());
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
            return fail(loadkit::exit_code::invalid_config, "merge: the runs' execution segments do not cover the test exactly once (0 to 1 without gaps or overlaps)");
        std::cerr << "loadkit: merge: warning: the runs' execution segments do not cover the test exactly once (0 to 1 without gaps or overlaps)\n";
    }
    env_map env;
    for (auto& kv : mf.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) return fail(usage_error, "-e/--env: expected KEY=VALUE, found '" + kv + "'");
        env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }

    loadkit::detail::merged_run m;
    try {
        m = loadkit::detail::merge_runs(states, !mf.no_thresholds);
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
                else if (!custom.is_null()) printed = custom.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
            }
        } catch (const std::exception& e) {
            std::cerr << "loadkit: merge: handleSummary of " << script_file << " failed, using the default report: " << e.what() << "\n";
        }
    }
    if (!mf.quiet) {
        std::cout << printed;
        if (!printed.empty() && printed.back() != '\n') std::cout << '\n';
    }
    nlohmann::json extra{{"test", script_file}, {"merged_from", inputs},
                         {"timeline", merge_timelines(timelines, m.summary.value("started_ms", std::int64_t{0}))},
                         {"requests", loadkit::requests_table(m.metrics)}};
    if (!mf.output.empty() && !write_output(mf.output, loadkit::detail::export_text(m.summary, m.state, extra)))
        return fail(output_error, "merge: cannot write " + mf.output);
    if (!mf.report.empty()) {
        auto results = m.summary;
        results.update(extra);
        if (!write_output(mf.report, loadkit::html_report(results))) return fail(output_error, "merge: cannot write " + mf.report);
    }
    return m.thresholds_passed ? 0 : loadkit::exit_code::thresholds_failed;
}

// An exported run (--summary-export, or `loadkit merge -o`) as an HTML report.
int report(const std::string& input, const std::string& output) {
    auto text = read_file(input);
    if (!text) return fail(loadkit::exit_code::invalid_config, "report: cannot read " + input);
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("metrics"))
        return fail(loadkit::exit_code::invalid_config, "report: " + input + ": expected a summary written by `loadkit run --summary-export`");
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
        std::cout << file << ": valid, " << p.scenarios.size() << (p.scenarios.size() == 1 ? " scenario" : " scenarios") << "\n";
        for (auto& s : p.scenarios)
            std::cout << "  * " << s.name << ": " << loadkit::executor_name(s.exec) << ", "
                      << loadkit::detail::schedule::describe(s.exec) << ", " << s.flow.size() << (s.flow.size() == 1 ? " step" : " steps")
                      << (s.exec_function.empty() ? "" : ", exec " + s.exec_function) << "\n";
        if (t.script) std::cout << "  script " << p.script << ": compiled, init code ran, functions found\n";
#if LOADKIT_RUNNER_JS
        if (auto* js = dynamic_cast<loadkit::js::script*>(t.script.get())) {
            if (js->rewritten())
                std::cout << "  JavaScript VUs: async, many per thread (blocking calls are awaited), "
                          << (js->shares_modules() ? "sharing the script's module instances\n"
                                                   : "each with its own module instances, because " + js->own_modules_reason() + "\n");
            else std::cout << "  JavaScript VUs: synchronous ones get a thread each, because " << js->threads_reason() << "\n";
        }
#endif
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
    if (faults && port > 65533) return fail(usage_error, "--faults: uses --port+1 and --port+2: expected --port 0..65533");
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
    run_cmd->add_option("--out", rf.out,
                        "Outputs (repeatable): json=FILE or csv=FILE (a point per metric series and second), "
                        "prometheus=HOST:PORT (a /metrics endpoint during the run)")->take_all();
    run_cmd->add_option("--report", rf.report, "Write a self-contained HTML report here");
    run_cmd->add_flag("-q,--quiet", rf.quiet, "No progress display");
    run_cmd->add_flag("--no-color", rf.no_color, "No colors (also: NO_COLOR in the environment)");
    run_cmd->add_flag("--no-thresholds", rf.no_thresholds, "Do not evaluate thresholds");
    run_cmd->add_option("--execution-segment", rf.segment, "This instance's share of the test, e.g. 1/4:2/4 (k6's)");
    run_cmd->add_option("--execution-segment-sequence", rf.segment_sequence, "Every instance's segments' points, e.g. 0,1/4,2/4,3/4,1");
    run_cmd->add_option("--instance", rf.instance, "I/N (I from 0): segment I/N:(I+1)/N of N equal ones");
    run_cmd->add_option("--setup-data", rf.setup_data, "Skip setup(): hand VUs this file's data (from `loadkit setup`)");
    run_cmd->add_option("--start-at", rf.start_at, "Wait until this RFC 3339 time to start, e.g. 2026-11-22T10:00:00Z");

    // setup and teardown on their own, for a test split over machines
    run_flags sf, tf;
    auto* setup_cmd = app.add_subcommand("setup", "Run only setup() and write its data (for every instance's --setup-data)");
    setup_cmd->add_option("file", sf.file, "The test")->required();
    setup_cmd->add_option("-o,--output", sf.setup_out, "Where to write setup()'s data (JSON)")->required();
    setup_cmd->add_option("-e,--env", sf.env, "KEY=VALUE for env (repeatable)")->take_all();
    setup_cmd->add_option("--target", sf.target, "Base URL for relative URLs");
    setup_cmd->add_flag("-q,--quiet", sf.quiet, "Say nothing");
    auto* teardown_cmd = app.add_subcommand("teardown", "Run only teardown(data), with the data `loadkit setup` wrote");
    teardown_cmd->add_option("file", tf.file, "The test")->required();
    teardown_cmd->add_option("--setup-data", tf.setup_data, "setup()'s data (from `loadkit setup`)")->required();
    teardown_cmd->add_option("-e,--env", tf.env, "KEY=VALUE for env (repeatable)")->take_all();
    teardown_cmd->add_option("--target", tf.target, "Base URL for relative URLs");
    teardown_cmd->add_flag("-q,--quiet", tf.quiet, "Say nothing");

    merge_flags mf;
    auto* merge_cmd = app.add_subcommand("merge", "Merge instances' exports (--summary-export) into one summary");
    merge_cmd->add_option("files", mf.inputs, "Exports of the test's instances")->required();
    merge_cmd->add_option("-o,--output", mf.output, "Write the merged summary here (it merges again)");
    merge_cmd->add_option("--test", mf.test, "The test whose handleSummary to run (default: the one the exports name)");
    merge_cmd->add_option("-e,--env", mf.env, "KEY=VALUE for env, for handleSummary (repeatable)")->take_all();
    merge_cmd->add_option("--report", mf.report, "Write a self-contained HTML report here");
    merge_cmd->add_flag("-q,--quiet", mf.quiet, "Do not print the report");
    merge_cmd->add_flag("--no-thresholds", mf.no_thresholds, "Do not evaluate thresholds");
    merge_cmd->add_flag("--require-whole", mf.require_whole, "Fail (exit 104) unless the segments cover the test exactly once");

    std::string report_input, report_output;
    auto* report_cmd = app.add_subcommand("report", "Build the HTML report of an exported run");
    report_cmd->add_option("file", report_input, "A summary written by --summary-export or `loadkit merge -o`")->required();
    report_cmd->add_option("-o,--output", report_output, "The HTML file to write")->required();

    std::string validate_file;
    auto* validate_cmd = app.add_subcommand("validate", "Check a file (parse and validate, send nothing)");
    validate_cmd->add_option("file", validate_file, "The test: a YAML file or a k6-style JavaScript module")->required();

    std::string address = "127.0.0.1";
    int port = 8080, serve_threads = 1;
    bool tls = false, faults = false;
    auto* serve_cmd = app.add_subcommand("serve", "Serve the built-in target (for trying things out)");
    serve_cmd->add_option("--port", port, "Port (0: any free one)");
    serve_cmd->add_option("--address", address, "Address to listen on");
    serve_cmd->add_option("--threads", serve_threads, "Server threads");
    serve_cmd->add_flag("--tls", tls, "HTTPS with a self-signed certificate");
    serve_cmd->add_flag("--faults", faults, "Also a port that refuses connections (--port+1) and an HTTPS one with a self-signed certificate (--port+2); the /fault/* routes are always on");

    auto* version_cmd = app.add_subcommand("version", "Print the version");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::cerr << "loadkit: " << e.what() << "\n(see: loadkit --help, loadkit run --help)\n";
        return usage_error;
    }
    if (*run_cmd) return run(rf);
    if (*setup_cmd) return run(sf, phase::setup);
    if (*teardown_cmd) return run(tf, phase::teardown);
    if (*merge_cmd) return merge(mf);
    if (*report_cmd) return report(report_input, report_output);
    if (*validate_cmd) return validate(validate_file);
    if (*serve_cmd) return serve(address, port, tls, serve_threads, faults);
    if (*version_cmd) {
        std::cout << "loadkit " LOADKIT_VERSION_STRING " (Boost " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << ", "
                  << OPENSSL_VERSION_TEXT << ")\n";
        return 0;
    }
    return usage_error;
}
