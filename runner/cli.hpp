#pragma once
// The runner's command line: its subcommands and flags (CLI11), and the
// checks of every flag's value that need no file and no network. It is apart
// from main.cpp so that a fuzzer (tests/fuzz/fuzz_cli.cpp) can feed it random
// argv without running anything: parse() and validate() only read their
// arguments and the machine's CPU count.
//
// Command-line mistakes (a flag's value, an unknown subcommand or flag) are
// exit 2, always, and say what was expected and what was found, as written.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include <loadkit/core/config.hpp>
#include <loadkit/core/duration.hpp>
#include <loadkit/engine/executors.hpp>
#include <loadkit/engine/segment.hpp>
#include <loadkit/http/url.hpp>

#include "compare.hpp"
#include "control_command.hpp"

namespace loadkit::runner {

inline constexpr int usage_exit = 2;       // a command-line mistake
inline constexpr int output_exit = 1;      // a summary, report or data file could not be written
inline constexpr int internal_exit = 109;  // an unexpected failure (out of memory, ...): k6's code for a Go panic

// A mistake in a flag's value (exit 2).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The most worker threads --threads takes: more than this many per core only
// adds contention (and each thread holds file descriptors: --threads 100000
// ran out of them and aborted).
inline int max_threads() {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<int>(std::max(64u, 16 * cores));
}

struct run_flags {
    std::string file;
    std::string vus, duration, iterations, threads;  // as written: checked by validate()
    std::vector<std::string> env;
    std::string target;
    std::string summary_export;
    std::vector<std::string> out;
    bool quiet = false, no_color = false, no_thresholds = false;
    std::string segment, segment_sequence, instance;  // --execution-segment, --execution-segment-sequence, --instance
    std::string setup_data;                           // --setup-data: setup() ran elsewhere (`loadkit setup`)
    std::string start_at;                             // --start-at
    std::string setup_out;                            // `loadkit setup -o`
    std::string report;                               // --report FILE.html
    std::string address;                              // --address ADDR:PORT: the control API (control_command.hpp)
    bool paused = false;                              // -p/--paused: start paused
    std::string dashboard;                            // --dashboard[=ADDR:PORT]: the live page ("" when not asked)
    // k6's flags of a test's outputs (--tag, --http-debug, the summary's),
    // as written; filled from K6_*/LOADKIT_* variables when not given
    // (apply_environment), checked by validate()
    std::vector<std::string> tags;    // --tag NAME=VALUE
    std::vector<std::string> stages;  // -s/--stage DURATION:TARGET
    std::string http_debug;           // --http-debug[=full]: "headers" or "full"
    std::string summary_trend_stats;  // --summary-trend-stats avg,p(99.9),...
    std::string summary_time_unit;    // --summary-time-unit s|ms|us
    std::string console_output;       // --console-output FILE
    std::string local_ips;            // --local-ips: checked when the test loads (a mistake: exit 104)
    bool no_summary = false;          // --no-summary
    // Locust's --tags / --exclude-tags (tasks to run), and the VUs' seed
    std::vector<std::string> task_tags, exclude_task_tags;
    std::uint64_t seed = 0;
    // The flags whose value came from the environment, and the variable it
    // came from: a mistake in it names the variable, not the flag.
    std::map<std::string, std::string> from_env;
    std::string name_of(const std::string& flag) const {
        auto it = from_env.find(flag);
        return it == from_env.end() ? flag : it->second;
    }
};

// --http-debug: off, the requests' and responses' heads, or with bodies.
enum class http_debug_mode { off, headers, full };

// What validate() made of run_flags' values.
struct run_settings {
    std::optional<int> vus;
    std::optional<loadkit::nanoseconds> duration;
    std::optional<std::int64_t> iterations;
    int threads = 0;  // 0: one per core
    std::vector<std::pair<std::string, std::string>> env;
    execution_segment segment;
    std::optional<std::chrono::system_clock::time_point> start_at;
    std::map<std::string, std::string> tags;              // --tag: replaces the file's tags (k6's)
    std::optional<std::vector<loadkit::stage>> stages;    // -s: one ramping-vus scenario
    std::optional<std::vector<std::string>> trend_stats;  // --summary-trend-stats
    std::optional<std::string> time_unit;                 // --summary-time-unit
    http_debug_mode http_debug = http_debug_mode::off;
};

struct merge_flags {
    std::vector<std::string> inputs;
    std::string output, test, report;
    std::vector<std::string> env;
    bool quiet = false, no_thresholds = false, require_whole = false, allow_different_tests = false;
};

// RFC 3339 ("2026-11-22T10:00:00Z", "2026-11-22T11:00:00.5+01:00") to a
// system_clock time; nullopt when it is not one.
inline std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& s) {
    int y, mo, d, h, mi, sec, n = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return std::nullopt;
    std::size_t i = 19;
    double frac = 0;
    if (i < s.size() && s[i] == '.') {
        std::size_t j = i + 1;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (j == i + 1 || j - i > 10) return std::nullopt;
        frac = std::stod("0" + s.substr(i, j - i));
        i = j;
    }
    long offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) ++i;
    else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) return std::nullopt;
        offset = (s[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        i += 6;
    } else return std::nullopt;
    if (i != s.size() || y < 1970 || y > 2200 ||  // (nanoseconds since 1970 overflow in 2262)
        mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    auto t = ::timegm(&tm) - offset;
    return std::chrono::system_clock::from_time_t(t) + std::chrono::microseconds(static_cast<long long>(frac * 1e6));
}

// A whole number of at least `min` and at most `max`, parsed in 64 bits and
// named as written when it is not one: "-u/--vus: expected a whole number
// from 1 to 2147483647, found '4294967297'".
inline std::int64_t whole_flag(const std::string& flag, const std::string& s, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < min || v > max)
        throw usage_error(flag + ": expected a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", found '" + s + "'");
    return v;
}

// k6's trend stats (--summary-trend-stats, summaryTrendStats): avg, min,
// med, max, count and p(N) for 0 <= N <= 100, comma-separated; the names as
// k6 writes them ("p(99.9)"). `what` names the flag or variable in a mistake.
inline std::vector<std::string> parse_trend_stats(const std::string& what, const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    auto expected = [&](const std::string& found) {
        return usage_error(what + ": expected trend stats from avg, min, med, max, count and p(N) with N from 0 to " +
                           "100, separated by commas (e.g. avg,p(95),p(99.9)), found '" + found + "'");
    };
    while (at <= text.size()) {
        auto comma = text.find(',', at);
        auto stat = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        while (!stat.empty() && stat.front() == ' ') stat.erase(0, 1);
        while (!stat.empty() && stat.back() == ' ') stat.pop_back();
        if (stat == "avg" || stat == "min" || stat == "med" || stat == "max" || stat == "count") {
            out.push_back(stat);
        } else if (stat.size() > 3 && stat.starts_with("p(") && stat.back() == ')') {
            auto num = stat.substr(2, stat.size() - 3);
            double v = -1;
            auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
            if (ec != std::errc() || p != num.data() + num.size() || !(v >= 0 && v <= 100)) throw expected(stat);
            out.push_back(stat);
        } else {
            throw expected(stat.empty() ? text : stat);
        }
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return out;
}

// k6's summary time unit: s, ms or us ("" when not given: each value in the
// unit that suits it).
inline std::string parse_time_unit(const std::string& what, const std::string& text) {
    if (text == "s" || text == "ms" || text == "us") return text;
    throw usage_error(what + ": expected s, ms or us, found '" + text + "'");
}

// A k6 stage, DURATION:TARGET ("30s:10", "1m30s:0").
inline loadkit::stage parse_stage(const std::string& what, const std::string& text) {
    auto colon = text.rfind(':');
    auto expected = [&] {
        return usage_error(what + ": expected DURATION:TARGET like 30s:10 (a duration and a VU count), found '" + text +
                           "'");
    };
    if (colon == std::string::npos) throw expected();
    auto d = loadkit::parse_duration(text.substr(0, colon));
    if (!d || d->count() < 0) throw expected();
    auto t = text.substr(colon + 1);
    std::int64_t v = -1;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || p != t.data() + t.size() || v < 0 || v > std::numeric_limits<int>::max())
        throw expected();
    return loadkit::stage{*d, static_cast<int>(v)};
}

// k6's boolean environment values (Go's strconv.ParseBool).
inline bool parse_env_bool(const std::string& name, const std::string& v) {
    for (auto* t : {"1", "t", "T", "true", "TRUE", "True"})
        if (v == t) return true;
    for (auto* f : {"0", "f", "F", "false", "FALSE", "False"})
        if (v == f) return false;
    throw usage_error(name + ": expected true or false, found '" + v + "'");
}

// The K6_* (and LOADKIT_*, which win over them) environment variables of
// k6's options, for every flag not given: flags > environment > the file.
// Lists (K6_STAGES, K6_OUT, K6_SUMMARY_TREND_STATS) are comma-separated, as
// k6 reads them; K6_TAGS is name:value,name:value. `get` is getenv (a test
// or the fuzzer gives its own).
inline void apply_environment(run_flags& f, const char* (*get)(const char*)) {
    auto lookup = [&](const char* name, std::string& var) -> std::optional<std::string> {
        for (auto prefix : {"LOADKIT_", "K6_"}) {
            var = std::string(prefix) + name;
            if (auto* v = get(var.c_str())) return std::string(v);
        }
        return std::nullopt;
    };
    auto split = [](const std::string& s) {
        std::vector<std::string> out;
        std::size_t at = 0;
        for (;;) {
            auto comma = s.find(',', at);
            out.push_back(s.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
        return out;
    };
    std::string var;
    auto text = [&](const char* name, std::string& field, const char* flag) {
        if (!field.empty()) return;
        if (auto v = lookup(name, var)) {
            field = *v;
            f.from_env[flag] = var;
        }
    };
    text("VUS", f.vus, "-u/--vus");
    text("DURATION", f.duration, "-d/--duration");
    text("ITERATIONS", f.iterations, "-i/--iterations");
    text("SUMMARY_EXPORT", f.summary_export, "--summary-export");
    text("SUMMARY_TREND_STATS", f.summary_trend_stats, "--summary-trend-stats");
    text("SUMMARY_TIME_UNIT", f.summary_time_unit, "--summary-time-unit");
    text("CONSOLE_OUTPUT", f.console_output, "--console-output");
    text("HTTP_DEBUG", f.http_debug, "--http-debug");
    text("LOCAL_IPS", f.local_ips, "--local-ips");
    if (f.stages.empty())
        if (auto v = lookup("STAGES", var)) {
            f.stages = split(*v);
            f.from_env["-s/--stage"] = var;
        }
    if (f.out.empty())
        if (auto v = lookup("OUT", var)) {
            f.out = split(*v);
            f.from_env["-o/--out"] = var;
        }
    if (f.tags.empty())
        if (auto v = lookup("TAGS", var)) {
            for (auto& item : split(*v)) {
                auto colon = item.find(':');
                if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
                    throw usage_error(var + ": expected name:value pairs separated by commas, found '" + item + "'");
                f.tags.push_back(item.substr(0, colon) + "=" + item.substr(colon + 1));
            }
            f.from_env["--tag"] = var;
        }
    if (!f.no_summary)
        if (auto v = lookup("NO_SUMMARY", var)) f.no_summary = parse_env_bool(var, *v);
    if (!f.no_thresholds)
        if (auto v = lookup("NO_THRESHOLDS", var)) f.no_thresholds = parse_env_bool(var, *v);
}

// The values of run/setup/teardown's flags, checked: a usage_error (exit 2)
// naming the flag and the value as written for the first that is wrong.
inline run_settings validate(const run_flags& f) {
    run_settings r;
    if (!f.vus.empty())
        r.vus = static_cast<int>(whole_flag(f.name_of("-u/--vus"), f.vus, 1, std::numeric_limits<int>::max()));
    if (!f.iterations.empty())
        r.iterations = whole_flag(f.name_of("-i/--iterations"), f.iterations, 1,
                                  std::numeric_limits<std::int64_t>::max());
    if (!f.duration.empty()) {
        r.duration = loadkit::parse_duration(f.duration);
        if (!r.duration || r.duration->count() <= 0)
            throw usage_error(f.name_of("-d/--duration") + ": expected a duration like 30s, 1m30s or 500ms, found '" +
                              f.duration + "'");
    }
    if (!f.stages.empty()) {
        if (!f.duration.empty() || !f.iterations.empty())
            throw usage_error(f.name_of("-s/--stage") + " cannot be combined with " +
                              f.name_of(f.duration.empty() ? "-i/--iterations" : "-d/--duration") +
                              ": the stages are the schedule (k6 refuses it too)");
        r.stages.emplace();
        for (auto& st : f.stages) r.stages->push_back(parse_stage(f.name_of("-s/--stage"), st));
    }
    for (auto& kv : f.tags) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
            throw usage_error(f.name_of("--tag") + ": expected NAME=VALUE (both not empty), found '" + kv + "'");
        r.tags[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (!f.summary_trend_stats.empty())
        r.trend_stats = parse_trend_stats(f.name_of("--summary-trend-stats"), f.summary_trend_stats);
    if (!f.summary_time_unit.empty())
        r.time_unit = parse_time_unit(f.name_of("--summary-time-unit"), f.summary_time_unit);
    if (f.http_debug == "headers") r.http_debug = http_debug_mode::headers;
    else if (f.http_debug == "full") r.http_debug = http_debug_mode::full;
    else if (!f.http_debug.empty())
        throw usage_error(f.name_of("--http-debug") + ": expected nothing (the heads) or =full (with bodies), found '" +
                          f.http_debug + "'");
    if (!f.threads.empty()) {
        auto max = max_threads();
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(f.threads.data(), f.threads.data() + f.threads.size(), v);
        if (ec != std::errc() || p != f.threads.data() + f.threads.size() || v < 0)
            throw usage_error("--threads: expected a whole number from 0 (one per core) to " + std::to_string(max) +
                              ", found '" + f.threads + "'");
        if (v > max)
            throw usage_error("--threads: at most " + std::to_string(max) +
                              " worker threads (16 per core, at least 64) are allowed, found '" + f.threads +
                              "'; more only add contention and use up file descriptors");
        r.threads = static_cast<int>(v);
    }
    for (auto& kv : f.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw usage_error("-e/--env: expected KEY=VALUE, found '" + kv + "'");
        r.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (!f.target.empty() && f.target != "builtin") {
        if (!loadkit::is_http_url(f.target))
            throw usage_error("--target: expected an http:// or https:// URL or 'builtin', found '" + f.target + "'");
    }
    int prometheus = 0;
    for (auto& spec : f.out) {
        auto eq = spec.find('=');
        auto kind = spec.substr(0, eq);
        bool has_arg = eq != std::string::npos && eq + 1 < spec.size();
        if (!has_arg || (kind != "json" && kind != "csv" && kind != "prometheus"))
            throw usage_error(f.name_of("-o/--out") +
                              ": expected json=FILE, csv=FILE or prometheus=HOST:PORT, found '" + spec + "'");
        if (kind == "prometheus" && ++prometheus > 1) throw usage_error("--out prometheus=HOST:PORT may be given once");
    }
    try {
        if (!f.instance.empty()) {
            if (!f.segment.empty() || !f.segment_sequence.empty())
                throw usage_error(
                    "--instance is a shorthand for --execution-segment and --execution-segment-sequence: give one or the other");
            r.segment = loadkit::instance_segment(f.instance);
        } else {
            if (!f.segment.empty()) r.segment = loadkit::parse_execution_segment(f.segment);
            if (!f.segment_sequence.empty()) {
                if (f.segment.empty()) throw usage_error("--execution-segment-sequence needs --execution-segment");
                r.segment.sequence = loadkit::parse_segment_sequence(f.segment_sequence);
            }
        }
        loadkit::validate_execution_segment(r.segment);  // the segment must be in its sequence: say so now
    } catch (const config_error& e) {
        throw usage_error(e.what());
    }
    if (!f.start_at.empty()) {
        r.start_at = parse_rfc3339(f.start_at);
        if (!r.start_at)
            throw usage_error("--start-at: expected an RFC 3339 time like 2026-11-22T10:00:00Z, found '" + f.start_at +
                              "'");
        if (*r.start_at - std::chrono::system_clock::now() > std::chrono::hours(24))
            throw usage_error("--start-at: " + f.start_at + " is more than a day away");
    }
    return r;
}

// The subcommands, for the message on an unknown one.
inline constexpr const char* subcommands =
    "run, new, setup, teardown, merge, compare, report, validate, inspect, serve, status, pause, resume, scale, "
    "stop, version";

inline bool is_subcommand(std::string_view word) {
    for (auto name : {"run", "new", "setup", "teardown", "merge", "compare", "report", "validate", "inspect", "serve", "version",
                      "status", "pause", "resume", "scale", "stop"})
        if (word == name) return true;
    return false;
}

// The command line: CLI11's app with every subcommand and flag bound to the
// members below. parse() says whether to go on (nullopt) or exit with a code.
class command_line {
  public:
    CLI::App app{"loadkit " LOADKIT_VERSION_STRING
                 ": load tests as YAML flows or k6 JavaScript scripts (run unchanged), on the engine of loadkit's "
                 "C++ DSL",
                 "loadkit"};
    run_flags rf, sf, tf, inf;            // run, setup, teardown, inspect
    bool execution_requirements = false;  // inspect --execution-requirements
    // The environment's K6_*/LOADKIT_* options are read through this (a test
    // or the fuzzer gives its own).
    const char* (*getenv)(const char*) = [](const char* n) -> const char* { return std::getenv(n); };
    merge_flags mf;
    compare_flags cf, bf;  // compare; run --baseline
    CLI::App* compare_cmd = nullptr;
    std::string report_input, report_output, validate_file;
    std::string new_kind, new_dir;  // `loadkit new cpp|yaml|js DIR`
    std::string address = "127.0.0.1";
    int port = 8080, serve_threads = 1;
    bool tls = false, faults = false;
    bool verbose = false;  // -v/--verbose (k6's): debug messages too, console.debug's among them
    control_flags ctlf;            // status, pause, resume, scale, stop (control_command.hpp)
    control_commands control_cmds;
    CLI::App *run_cmd, *setup_cmd, *teardown_cmd, *merge_cmd, *report_cmd, *validate_cmd, *inspect_cmd, *serve_cmd,
        *version_cmd, *new_cmd;

    command_line() {
        app.require_subcommand(1);
        app.footer(R"(Examples:
  loadkit new yaml shop && loadkit serve &      a starting project, and the built-in target on :8080
  loadkit run shop/test.yaml                    a YAML flow
  loadkit run script.js -u 50 -d 30s            a k6 script, unchanged (k6's flags and K6_* variables)
  loadkit run test.yaml --report report.html    with a self-contained HTML report
  loadkit run test.yaml --target builtin        against a built-in target the runner starts itself
See `loadkit run --help` for every flag of a run.)");
        app.set_version_flag("--version", "loadkit " LOADKIT_VERSION_STRING);
        // before or after the subcommand
        app.add_flag("-v,--verbose", verbose, "Show debug messages (console.debug among them)");

        run_cmd = app.add_subcommand("run", "Run a load test");
        run_cmd->add_option("file", rf.file, "The test: a YAML file or a k6-style JavaScript module")->required();
        run_cmd->footer(R"(Examples:
  loadkit run test.yaml                          the file's scenarios, as written
  loadkit run script.js                          a k6 script (k6/http, checks, thresholds, options, scenarios)
  loadkit run script.js -u 10 -d 30s             10 VUs for 30 s (constant-vus), whatever the file says
  loadkit run script.js -s 30s:20 -s 1m:20 -s 30s:0   ramping VUs, as k6's --stage
  loadkit run test.yaml --target http://127.0.0.1:8080 -e TOKEN=abc
  loadkit run test.yaml --summary-export out.json --report report.html --out csv=points.csv
Exit codes: 0 ok, 99 thresholds failed, 103 stopped through the control API, 104 invalid test, 105 interrupted,
106 the control API (--address) could not listen, 107 script error, 2 a flag's mistake.)");
        run_cmd
            ->add_option("-u,--vus", rf.vus,
                         "VUs (overrides the file: with -d, constant-vus; with -i, shared-iterations)")
            ->type_name("N");
        run_cmd
            ->add_option("-d,--duration", rf.duration, "Duration, e.g. 30s or 1m30s (overrides the file: constant-vus)")
            ->type_name("DURATION");
        run_cmd
            ->add_option("-i,--iterations", rf.iterations,
                         "Iterations in total (overrides the file: shared-iterations)")
            ->type_name("N");
        run_cmd->add_option("-e,--env", rf.env, "KEY=VALUE for env (repeatable); over the file's env")->take_all();
        run_cmd->add_option("--target", rf.target, "Base URL for relative URLs, or 'builtin' (overrides the file)");
        run_cmd
            ->add_option("--threads", rf.threads,
                         "Worker threads (default: one per core; at most 16 per core, at least 64)")
            ->type_name("N");
        run_cmd->add_option("--summary-export", rf.summary_export, "Write the summary JSON here");
        run_cmd
            ->add_option("-o,--out", rf.out,
                         "Outputs (repeatable): json=FILE or csv=FILE (a point per metric series and second), "
                         "prometheus=HOST:PORT (a /metrics endpoint during the run)")
            ->take_all();
        run_cmd->add_option("--report", rf.report, "Write a self-contained HTML report here");
        // --dashboard: the live page (outputs/dashboard.hpp); bare, on loopback only
        run_cmd->add_flag("--dashboard{127.0.0.1:5665}", rf.dashboard,
                          "Serve a live dashboard during the run (=ADDR:PORT; default 127.0.0.1:5665, loopback)");
        // Locust's flags of the same names (tasks: a scenario's `tasks`)
        run_cmd->add_option("--tags", rf.task_tags, "TAG,...: run only the tasks with one of these tags (Locust's)")
            ->delimiter(',');
        run_cmd->add_option("--exclude-tags", rf.exclude_task_tags, "TAG,...: do not run tasks with these tags")
            ->delimiter(',');
        run_cmd->add_option("--seed", rf.seed, "N: seeds the VUs' task picks and wait times (0: random)");
        // k6's flags of the same names
        run_cmd->add_option("--tag", rf.tags, "NAME=VALUE: a tag on every sample of the run (repeatable; k6's)")
            ->take_all();
        run_cmd
            ->add_option("-s,--stage", rf.stages,
                         "DURATION:TARGET (repeatable): one ramping-vus scenario with these stages, as k6's -s")
            ->take_all();
        run_cmd->add_flag("--http-debug{headers}", rf.http_debug,
                          "Print each request's and response's head to stderr (=full: with bodies)");
        run_cmd->add_option("--summary-trend-stats", rf.summary_trend_stats,
                            "The summary's trend columns, e.g. avg,min,med,max,p(90),p(95),p(99.9),count");
        run_cmd->add_option("--summary-time-unit", rf.summary_time_unit, "The summary's time unit: s, ms or us");
        run_cmd->add_flag("--no-summary", rf.no_summary, "No end-of-test summary (handleSummary does not run either)");
        run_cmd->add_option("--console-output", rf.console_output, "Write console.log/info/... messages to this file");
        run_cmd->add_option("--local-ips", rf.local_ips,
                            "Source addresses the VUs connect from, spread in turn: IPs, ranges and CIDRs, e.g. "
                            "127.0.0.2-127.0.0.5,10.0.0.0/24 (k6's)");
        run_cmd->add_flag("-q,--quiet", rf.quiet, "No progress display");
        run_cmd->add_flag("-v,--verbose", verbose, "Show debug messages (console.debug among them)");
        run_cmd->add_flag("--no-color", rf.no_color, "No colors (also: NO_COLOR in the environment)");
        run_cmd->add_flag("--no-thresholds", rf.no_thresholds, "Do not evaluate thresholds");
        run_cmd->add_option("--execution-segment", rf.segment,
                            "This instance's share of the test, e.g. 1/4:2/4 (k6's)");
        run_cmd->add_option("--execution-segment-sequence", rf.segment_sequence,
                            "Every instance's segments' points, e.g. 0,1/4,2/4,3/4,1");
        run_cmd->add_option("--instance", rf.instance, "I/N (I from 0): segment I/N:(I+1)/N of N equal ones");
        run_cmd->add_option("--setup-data", rf.setup_data,
                            "Skip setup(): hand VUs this file's data (from `loadkit setup`)");
        run_cmd->add_option("--start-at", rf.start_at,
                            "Wait until this RFC 3339 time to start, e.g. 2026-11-22T10:00:00Z");
        // the run's control (control_command.hpp): k6's REST API, only when asked
        run_cmd->add_option("--address", rf.address,
                            "ADDR:PORT: serve the control API (k6's /v1/status) for loadkit status|pause|resume|"
                            "scale|stop (e.g. localhost:6565, k6's address; :0 any free port)");
        run_cmd->add_flag("-p,--paused", rf.paused,
                          "Start paused, until `loadkit resume` (the API on --address, default localhost:6565)");

        // setup and teardown on their own, for a test split over machines
        setup_cmd = app.add_subcommand("setup",
                                       "Run only setup() and write its data (for every instance's --setup-data)");
        setup_cmd->add_option("file", sf.file, "The test")->required();
        setup_cmd->add_option("-o,--output", sf.setup_out, "Where to write setup()'s data (JSON)")->required();
        setup_cmd->add_option("-e,--env", sf.env, "KEY=VALUE for env (repeatable)")->take_all();
        setup_cmd->add_option("--target", sf.target, "Base URL for relative URLs");
        setup_cmd->add_flag("-q,--quiet", sf.quiet, "Say nothing");
        setup_cmd->add_flag("-v,--verbose", verbose, "Show debug messages (console.debug among them)");
        teardown_cmd = app.add_subcommand("teardown", "Run only teardown(data), with the data `loadkit setup` wrote");
        teardown_cmd->add_option("file", tf.file, "The test")->required();
        teardown_cmd->add_option("--setup-data", tf.setup_data, "setup()'s data (from `loadkit setup`)")->required();
        teardown_cmd->add_option("-e,--env", tf.env, "KEY=VALUE for env (repeatable)")->take_all();
        teardown_cmd->add_option("--target", tf.target, "Base URL for relative URLs");
        teardown_cmd->add_flag("-q,--quiet", tf.quiet, "Say nothing");
        teardown_cmd->add_flag("-v,--verbose", verbose, "Show debug messages (console.debug among them)");

        merge_cmd = app.add_subcommand("merge", "Merge instances' exports (--summary-export) into one summary");
        merge_cmd->add_option("files", mf.inputs, "Exports of the test's instances")->required();
        merge_cmd->add_option("-o,--output", mf.output, "Write the merged summary here (it merges again)");
        merge_cmd->add_option("--test", mf.test,
                              "The test whose handleSummary to run (default: the one the exports name)");
        merge_cmd->add_option("-e,--env", mf.env, "KEY=VALUE for env, for handleSummary (repeatable)")->take_all();
        merge_cmd->add_option("--report", mf.report, "Write a self-contained HTML report here");
        merge_cmd->add_flag("-q,--quiet", mf.quiet, "Do not print the report");
        merge_cmd->add_flag("--no-thresholds", mf.no_thresholds, "Do not evaluate thresholds");
        merge_cmd->add_flag("--require-whole", mf.require_whole,
                            "Fail (exit 104) unless the segments cover the test exactly once");
        merge_cmd->add_flag(
            "--allow-different-tests", mf.allow_different_tests,
            "Merge exports of different tests (another test file or name); refused (exit 104) without it");

        compare_cmd = add_compare_command(app, cf);
        add_baseline_flags(run_cmd, bf);

        report_cmd = app.add_subcommand("report", "Build the HTML report of an exported run");
        report_cmd->add_option("file", report_input, "A summary written by --summary-export or `loadkit merge -o`")
            ->required();
        report_cmd->add_option("-o,--output", report_output, "The HTML file to write")->required();

        validate_cmd = app.add_subcommand("validate", "Check a file (parse and validate, send nothing)");
        validate_cmd->add_option("file", validate_file, "The test: a YAML file or a k6-style JavaScript module")
            ->required();

        inspect_cmd = app.add_subcommand("inspect", "Print a test's options, resolved, as JSON (k6 inspect)");
        inspect_cmd->add_option("file", inf.file, "The test: a YAML file or a k6-style JavaScript module")->required();
        inspect_cmd->add_flag("--execution-requirements", execution_requirements,
                              "Also the run's longest duration and its most VUs (totalDuration, maxVUs)");
        inspect_cmd->add_option("-e,--env", inf.env, "KEY=VALUE for env (repeatable)")->take_all();
        inspect_cmd->add_option("-u,--vus", inf.vus, "VUs, as for run")->type_name("N");
        inspect_cmd->add_option("-d,--duration", inf.duration, "Duration, as for run")->type_name("DURATION");
        inspect_cmd->add_option("-i,--iterations", inf.iterations, "Iterations, as for run")->type_name("N");
        inspect_cmd->add_option("-s,--stage", inf.stages, "DURATION:TARGET, as for run")->take_all();
        inspect_cmd->add_option("--tag", inf.tags, "NAME=VALUE, as for run")->take_all();
        inspect_cmd->add_option("--summary-trend-stats", inf.summary_trend_stats, "As for run");
        inspect_cmd->add_option("--summary-time-unit", inf.summary_time_unit, "As for run");

        serve_cmd = app.add_subcommand("serve", "Serve the built-in target (for trying things out)");
        serve_cmd->add_option("--port", port, "Port (0: any free one)");
        serve_cmd->add_option("--address", address, "Address to listen on");
        serve_cmd->add_option("--threads", serve_threads, "Server threads");
        serve_cmd->add_flag("--tls", tls, "HTTPS with a self-signed certificate");
        serve_cmd->add_flag(
            "--faults", faults,
            "Also a port that refuses connections (--port+1) and an HTTPS one with a self-signed certificate (--port+2); the /fault/* routes are always on");

        control_cmds = add_control_commands(app, ctlf);
        version_cmd = app.add_subcommand("version", "Print the version");

        new_cmd = app.add_subcommand("new", "Write a starting project into a new directory: cpp, yaml or js");
        new_cmd->add_option("kind", new_kind, "cpp (a CMake project), yaml (a YAML flow) or js (a k6-style script)")
            ->required()
            ->check(CLI::IsMember({"cpp", "yaml", "js"}));
        new_cmd->add_option("dir", new_dir, "The directory to create (it must not exist, or be empty)")->required();
        new_cmd->footer(R"(Examples:
  loadkit new yaml shop      shop/test.yaml; then: loadkit serve & loadkit run shop/test.yaml
  loadkit new js shop        shop/test.js (runs under k6 too)
  loadkit new cpp shop       shop/CMakeLists.txt and shop/load_test.cpp (find_package(loadkit)))");
    }

    // Parses argv: nullopt to go on, or the exit code (0 after --help or
    // --version, which CLI11 prints to `out`; 2 after a mistake, said on `err`).
    std::optional<int> parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help, --version
            // an unknown first word is an unknown subcommand, not a missing one
            if (argc > 1 && argv[1][0] != '-' && !is_subcommand(argv[1]))
                err << "loadkit: unknown subcommand '" << argv[1] << "'; expected one of: " << subcommands
                    << "\n(see: loadkit --help)\n";
            else err << "loadkit: " << e.what() << "\n(see: loadkit --help, loadkit run --help)\n";
            return usage_exit;
        }
        try {  // the flags' values, before any file is read
            if (*run_cmd && !bf.fail_on.empty() && bf.baseline.empty())
                throw usage_error("--fail-on needs --baseline FILE: the run's changes are measured against it");
            if (*run_cmd) {
                apply_environment(rf, getenv);
                run = validate(rf);
            } else if (*inspect_cmd) {
                apply_environment(inf, getenv);
                run = validate(inf);
            } else if (*setup_cmd) run = validate(sf);
            else if (*teardown_cmd) run = validate(tf);
            else if (*serve_cmd && (port < 0 || port > 65535))
                throw usage_error("--port: expected 0..65535, found " + std::to_string(port));
            else if (*serve_cmd && (serve_threads < 0 || serve_threads > max_threads()))
                throw usage_error("--threads: expected 0.." + std::to_string(max_threads()) + ", found " +
                                  std::to_string(serve_threads));
            else if (*merge_cmd)
                for (auto& kv : mf.env)
                    if (kv.find('=') == std::string::npos || kv.find('=') == 0)
                        throw usage_error("-e/--env: expected KEY=VALUE, found '" + kv + "'");
        } catch (const usage_error& e) {
            err << "loadkit: " << e.what() << "\n";
            return usage_exit;
        }
        return std::nullopt;
    }

    run_settings run;  // validate()'s result for run, setup or teardown
};

}  // namespace loadkit::runner
