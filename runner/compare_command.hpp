#pragma once
// Running `loadkit compare` and `loadkit run --baseline` (their flags are
// compare.hpp): read the exports, compare, print, write the page, and say
// the exit code (compare.hpp lists them).
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <loadkit/core/file.hpp>
#include <loadkit/engine/compare.hpp>
#include <loadkit/engine/options.hpp>
#include <loadkit/outputs/compare.hpp>
#include <loadkit/outputs/compare_html.hpp>

#include "cli.hpp"
#include "compare.hpp"

namespace loadkit::runner {

inline constexpr int compare_input_exit = loadkit::exit_code::invalid_config;  // 104: an input is not an export
inline constexpr int gate_exit = loadkit::exit_code::thresholds_failed;        // 99: a --fail-on gate failed

// One export read from `path`; nullopt with the message in `error`.
inline std::optional<run_export> load_export(const std::string& path, std::vector<std::string>& warnings,
                                             std::string& error) {
    std::string text;
    if (!loadkit::read_input_file(path, loadkit::max_data_file_bytes, text, error)) return std::nullopt;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
        error = path +
                ": not JSON: expected a summary export (the file of `loadkit run --summary-export` or `loadkit merge "
                "-o`)";
        return std::nullopt;
    }
    try {
        return read_run_export(j, path, warnings);
    } catch (const std::invalid_argument& e) {
        error = e.what();
        return std::nullopt;
    }
}

// The flags' rules; the gates parsed (usage_error on a mistake: the
// metrics they name must be known, so after the exports or the test loaded).
inline compare_options compare_options_of(const compare_flags& f) {
    compare_options o;
    o.alpha = f.alpha;
    o.min_effect = f.min_effect / 100;
    o.min_effect_pp = f.min_effect_pp;
    o.all_metrics = f.all;
    o.max_names = static_cast<std::size_t>(f.names);
    for (auto& text : f.fail_on) {
        try {
            o.gates.push_back(parse_fail_on(text));
        } catch (const std::invalid_argument& e) {
            throw usage_error(e.what());
        }
    }
    return o;
}

inline bool write_text_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    return static_cast<bool>(out);
}

inline int print_comparisons(const std::vector<comparison>& cs, const std::string& format, std::ostream& out) {
    if (format == "json") {
        nlohmann::json j;
        if (cs.size() == 1) j = compare_json(cs.front());
        else {
            j = nlohmann::json::array();
            for (auto& c : cs) j.push_back(compare_json(c));
        }
        out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        for (auto& c : cs) out << (format == "markdown" ? compare_markdown(c) : compare_text(c));
    }
    bool passed = true;
    for (auto& c : cs) passed = passed && c.gates_passed;
    return passed ? 0 : gate_exit;
}

// `loadkit compare BASE NEW [...]`.
inline int compare_command(const compare_flags& f, std::ostream& out, std::ostream& err) {
    std::vector<std::string> warnings;
    std::vector<run_export> runs;
    runs.reserve(f.files.size());
    for (auto& file : f.files) {
        std::string error;
        auto r = load_export(file, warnings, error);
        if (!r) {
            err << "loadkit: compare: " << error << "\n";
            return compare_input_exit;
        }
        runs.push_back(std::move(*r));
    }
    for (auto& w : warnings) err << "loadkit: compare: warning: " << w << "\n";
    compare_options o;
    try {
        o = compare_options_of(f);
    } catch (const usage_error& e) {
        err << "loadkit: compare: " << e.what() << "\n";
        return usage_exit;
    }
    std::vector<comparison> cs;
    for (std::size_t i = 1; i < runs.size(); ++i) cs.push_back(compare_runs(runs[0], runs[i], o));
    int code = print_comparisons(cs, f.format, out);
    if (!f.report.empty() && !write_text_file(f.report, compare_html_report(cs))) {
        err << "loadkit: compare: --report: cannot write " << f.report << "\n";
        return code ? code : output_exit;
    }
    for (auto& c : cs)
        for (auto& g : c.gates)
            if (g.failed) err << "loadkit: compare: --fail-on " << g.text << " failed: " << g.why << "\n";
    return code;
}

// `loadkit run --baseline`: the baseline, read (and the gates parsed) before any load.
struct baseline_run {
    run_export base;
    compare_options options;
};

// nullopt with the exit code in `code` (104 bad input, 2 a bad gate) and the message said on `err`.
inline std::optional<baseline_run> load_baseline(const compare_flags& f, int& code, std::ostream& err) {
    std::vector<std::string> warnings;
    std::string error;
    auto r = load_export(f.baseline, warnings, error);
    if (!r) {
        err << "loadkit: --baseline: " << error << "\n";
        code = compare_input_exit;
        return std::nullopt;
    }
    for (auto& w : warnings) err << "loadkit: --baseline: warning: " << w << "\n";
    baseline_run b{std::move(*r), {}};
    try {
        b.options = compare_options_of(f);
    } catch (const usage_error& e) {
        err << "loadkit: " << e.what() << "\n";
        code = usage_exit;
        return std::nullopt;
    }
    return b;
}

// After the run: `run_json` is what --summary-export writes (the summary,
// its "timeline" and "requests", and "state"). The table goes under the
// summary on `out`; 0, or 99 when a gate failed.
inline int compare_with_baseline(const baseline_run& b, const nlohmann::json& run_json, std::ostream& out,
                                 std::ostream& err) {
    std::vector<std::string> warnings;
    run_export now;
    try {
        now = read_run_export(run_json, "this run", warnings);
    } catch (const std::invalid_argument& e) {
        err << "loadkit: --baseline: " << e.what() << "\n";
        return loadkit::runner::internal_exit;
    }
    std::vector<comparison> cs;
    cs.push_back(compare_runs(b.base, now, b.options));
    int code = print_comparisons(cs, "text", out);
    for (auto& g : cs.front().gates)
        if (g.failed) err << "loadkit: --fail-on " << g.text << " failed: " << g.why << "\n";
    return code;
}

}  // namespace loadkit::runner
