#pragma once
// A comparison of two runs (engine/compare.hpp) as text for a terminal,
// Markdown for a pull request, or JSON for tools:
//
//   std::cout << loadkit::compare_text(c);      // aligned columns
//   post(loadkit::compare_markdown(c));         // a GitHub table
//   loadkit::compare_json(c).dump(2);           // {"format": "loadkit-compare/1", ...}
//
// Each row: what (a metric, a request name, a check), the statistic, the
// baseline, the new value, the change (relative, or percentage points for
// rates; for "distribution", the Hodges-Lehmann shift over the baseline's
// median, with the rank test's A beside its p-value), the verdict (worse,
// better, changed: beyond noise; ~: within noise; n/a: not tested) and the
// test with its p-value. The HTML page is outputs/compare_html.hpp.
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/compare.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail::compare_fmt {

inline std::string value(const std::optional<double>& v, std::string_view unit) {
    if (!v) return "-";
    char b[48];
    if (unit == "ms") {
        double ms = *v;
        if (std::fabs(ms) >= 1000) std::snprintf(b, sizeof b, "%.2fs", ms / 1000);
        else if (std::fabs(ms) >= 1) std::snprintf(b, sizeof b, "%.2fms", ms);
        else std::snprintf(b, sizeof b, "%.2fus", ms * 1000);
    } else if (unit == "%") {
        std::snprintf(b, sizeof b, "%.2f%%", *v * 100);
    } else if (unit == "/s") {
        std::snprintf(b, sizeof b, "%.1f/s", *v);
    } else {
        std::snprintf(b, sizeof b, "%.4g", *v);
    }
    return b;
}

inline std::string change(const comparison_row& r) {
    if (!r.change) return "";
    char b[48];
    double c = *r.change;
    if (r.pp) std::snprintf(b, sizeof b, "%+.2fpp", c);
    else if (std::isinf(c)) return c > 0 ? "+inf" : "-inf";
    else std::snprintf(b, sizeof b, std::fabs(c) < 0.1 ? "%+.2f%%" : "%+.1f%%", c * 100);
    return b;
}

inline std::string p_value(double p) {
    char b[32];
    if (p < 1e-300) return "p<1e-300";
    std::snprintf(b, sizeof b, p < 0.001 ? "p=%.1e" : "p=%.3f", p);
    return b;
}

inline std::string evidence(const comparison_row& r) {
    if (r.test.empty()) {
        if (r.verdict == change_verdict::only_base || r.verdict == change_verdict::only_new) return "";
        if (!r.base || !r.next) return "";
        return r.stat == "max" || r.stat == "min" ? "(one sample: not tested)" : "(no histograms: not tested)";
    }
    if (r.effect) {
        char b[32];
        std::snprintf(b, sizeof b, ", A=%.3f", *r.effect);
        return r.test + " " + p_value(*r.p) + b;
    }
    return r.test + " " + p_value(*r.p);
}

inline std::string size_text(const run_export& r) {
    char b[160];
    std::snprintf(b, sizeof b, "%.1fs%s%s", r.duration_secs, r.exact ? "" : ", aggregates only",
                  r.merged_from ? (", merged from " + std::to_string(r.merged_from) + " runs").c_str() : "");
    return b;
}

inline std::string rules_text(const compare_options& o) {
    char b[400];
    std::snprintf(b, sizeof b,
                  "beyond noise: p < %g and a change of at least %g%% (times, per-second rates), %gpp (failure and "
                  "check rates), and for distributions also |A - 0.5| >= %g (the rank test's A = P(new > base))",
                  o.alpha, o.min_effect * 100, o.min_effect_pp, o.min_rank_effect);
    return b;
}

inline std::string gate_change(const gate_result& g, const fail_on& f) {
    if (!g.change) return "-";
    char b[48];
    std::snprintf(b, sizeof b,
                  f.in == fail_on::unit::pp   ? "%+.2fpp"
                  : f.in == fail_on::unit::ms ? "%+.3gms"
                                              : "%+.1f%%",
                  *g.change);
    return b;
}

inline std::string counts_text(const comparison& c) {
    std::size_t noise = 0, untested = 0;
    for (auto& r : c.rows) {
        noise += r.verdict == change_verdict::within_noise;
        untested += r.verdict == change_verdict::untested;
    }
    return std::to_string(c.worse + c.better + c.changed) + " beyond noise (" + std::to_string(c.worse) + " worse, " +
           std::to_string(c.better) + " better, " + std::to_string(c.changed) + " changed), " + std::to_string(noise) +
           " within noise, " + std::to_string(untested) + " not tested";
}

inline std::string md_escape(std::string s) {
    std::string out;
    for (char ch : s) {
        if (ch == '|' || ch == '`' || ch == '*' || ch == '_' || ch == '<' || ch == '>' || ch == '[' || ch == ']' ||
            ch == '\\')
            out += '\\';
        out += ch == '\n' ? ' ' : ch;
    }
    return out;
}
// A code span: no escapes work inside one but a table's \|; a backquote would end it.
inline std::string md_code(std::string s) {
    std::string out = "`";
    for (char ch : s) {
        if (ch == '|') out += '\\';
        out += ch == '`' ? '\'' : ch == '\n' ? ' ' : ch;
    }
    return out + "`";
}

}  // namespace detail::compare_fmt

// Aligned columns for a terminal.
inline std::string compare_text(const comparison& c) {
    namespace f = detail::compare_fmt;
    std::string out = "\n  loadkit compare\n";
    char b[512];
    for (auto [label, r] : {std::pair{"base", c.base}, std::pair{"new ", c.next}}) {
        std::snprintf(b, sizeof b, "    %s  %s   %s%s\n", label, r->file.c_str(),
                      r->run_id.empty() ? "" : ("run " + r->run_id + ", ").c_str(), f::size_text(*r).c_str());
        out += b;
    }
    for (auto& w : c.warnings) out += "    warning: " + w + "\n";
    std::string section, subject;
    for (auto& r : c.rows) {
        if (r.section != section) {
            section = r.section;
            subject.clear();
            const char* title = section == "metrics"    ? "metrics"
                                : section == "requests" ? "requests by name"
                                                        : "checks";
            std::snprintf(b, sizeof b, "\n  %-34s %12s %12s %10s  %-8s %s\n", title, "base", "new", "change", "verdict",
                          "test");
            out += b;
        }
        if (r.subject != subject) {
            subject = r.subject;
            out += "  " + (subject.size() > 76 ? subject.substr(0, 73) + "..." : subject) + "\n";
        }
        std::snprintf(b, sizeof b, "    %-32s %12s %12s %10s  %-8s %s\n", r.stat.c_str(),
                      r.stat == "distribution" ? "" : f::value(r.base, r.unit).c_str(),
                      r.stat == "distribution" ? "" : f::value(r.next, r.unit).c_str(), f::change(r).c_str(),
                      std::string(verdict_name(r.verdict)).c_str(), f::evidence(r).c_str());
        out += b;
    }
    out += "\n  " + f::counts_text(c) + "\n  " + f::rules_text(c.options) + "\n";
    if (!c.gates.empty()) {
        out += "\n  fail-on: " + std::string(c.gates_passed ? "passed" : "FAILED") + "\n";
        for (std::size_t i = 0; i < c.gates.size(); ++i) {
            auto& g = c.gates[i];
            std::snprintf(b, sizeof b, "    %-4s %-40s %10s  %s%s\n", g.failed ? "FAIL" : "ok", g.text.c_str(),
                          f::gate_change(g, c.options.gates[i]).c_str(), g.why.c_str(),
                          g.p ? (" (" + f::p_value(*g.p) + ")").c_str() : "");
            out += b;
        }
    }
    return out + "\n";
}

// A GitHub-flavoured Markdown table, for a pull request's comment.
inline std::string compare_markdown(const comparison& c) {
    namespace f = detail::compare_fmt;
    std::string out = "### loadkit compare: " + f::md_code(c.base->file) + " → " + f::md_code(c.next->file) + "\n\n";
    out += "| | run | duration |\n|---|---|---|\n";
    for (auto [label, r] : {std::pair{"base", c.base}, std::pair{"new", c.next}})
        out += std::string("| ") + label + " | " + f::md_code(r->file) + " " + f::md_escape(r->run_id) + " | " +
               f::md_escape(f::size_text(*r)) + " |\n";
    out += "\n" + std::string(c.worse ? "**" : "") + f::counts_text(c) + (c.worse ? "**" : "") + "\n\n";
    for (auto& w : c.warnings) out += "> warning: " + f::md_escape(w) + "\n";
    if (!c.warnings.empty()) out += "\n";
    out += "| | stat | base | new | change | verdict | test |\n|---|---|---:|---:|---:|---|---|\n";
    std::string section, subject;
    for (auto& r : c.rows) {
        if (r.section != section) {
            section = r.section;
            subject.clear();
            out += std::string("| **") +
                   (section == "metrics"    ? "metrics"
                    : section == "requests" ? "requests by name"
                                            : "checks") +
                   "** | | | | | | |\n";
        }
        std::string who = r.subject == subject ? "" : f::md_code(r.subject);
        subject = r.subject;
        bool beyond = r.verdict == change_verdict::worse || r.verdict == change_verdict::better ||
                      r.verdict == change_verdict::changed;
        auto verdict = r.verdict == change_verdict::within_noise ? std::string("within noise")
                                                                 : std::string(verdict_name(r.verdict));
        verdict = beyond ? "**" + verdict + "**" : f::md_escape(verdict);
        out += "| " + who + " | " + f::md_escape(r.stat) + " | " +
               (r.stat == "distribution" ? "" : f::md_escape(f::value(r.base, r.unit))) + " | " +
               (r.stat == "distribution" ? "" : f::md_escape(f::value(r.next, r.unit))) + " | " +
               f::md_escape(f::change(r)) + " | " + verdict + " | " + f::md_escape(f::evidence(r)) + " |\n";
    }
    if (!c.gates.empty()) {
        out += std::string("\n**fail-on: ") + (c.gates_passed ? "passed" : "FAILED") +
               "**\n\n| gate | change | result |\n|---|---:|---|\n";
        for (std::size_t i = 0; i < c.gates.size(); ++i) {
            auto& g = c.gates[i];
            out += "| " + f::md_code(g.text) + " | " + f::md_escape(f::gate_change(g, c.options.gates[i])) + " | " +
                   (g.failed ? "**FAIL**: " : "ok: ") + f::md_escape(g.why) + " |\n";
        }
    }
    out += "\n<sub>" + f::md_escape(f::rules_text(c.options)) + "</sub>\n";
    return out;
}

// For tools: every row and gate with its numbers (null where there is none).
inline nlohmann::json compare_json(const comparison& c) {
    auto opt = [](const std::optional<double>& v) {
        return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json();
    };
    auto run = [](const run_export& r) {
        return nlohmann::json{{"file", r.file},        {"name", r.name},
                              {"run_id", r.run_id},    {"duration_secs", r.duration_secs},
                              {"histograms", r.exact}, {"merged_from", r.merged_from}};
    };
    nlohmann::json rows = nlohmann::json::array();
    for (auto& r : c.rows)
        rows.push_back({{"section", r.section},
                        {"subject", r.subject},
                        {"selector", r.selector},
                        {"stat", r.stat},
                        {"unit", r.unit},
                        {"base", opt(r.base)},
                        {"new", opt(r.next)},
                        {"change", opt(r.change)},
                        {"change_unit", r.pp ? "pp" : "ratio"},
                        {"verdict", r.verdict == change_verdict::within_noise ? "within noise"
                                                                              : std::string(verdict_name(r.verdict))},
                        {"test", r.test.empty() ? nlohmann::json() : nlohmann::json(r.test)},
                        {"p", opt(r.p)},
                        {"effect", opt(r.effect)}});
    nlohmann::json gates = nlohmann::json::array();
    for (auto& g : c.gates)
        gates.push_back({{"gate", g.text},
                         {"failed", g.failed},
                         {"base", opt(g.base)},
                         {"new", opt(g.next)},
                         {"change", opt(g.change)},
                         {"p", opt(g.p)},
                         {"why", g.why}});
    std::size_t noise = 0, untested = 0;
    for (auto& r : c.rows) {
        noise += r.verdict == change_verdict::within_noise;
        untested += r.verdict == change_verdict::untested;
    }
    auto& o = c.options;
    return {{"format", "loadkit-compare/1"},
            {"base", run(*c.base)},
            {"new", run(*c.next)},
            {"rules",
             {{"alpha", o.alpha},
              {"min_effect", o.min_effect},
              {"min_effect_pp", o.min_effect_pp},
              {"min_rank_effect", o.min_rank_effect}}},
            {"counts",
             {{"worse", c.worse},
              {"better", c.better},
              {"changed", c.changed},
              {"within_noise", noise},
              {"not_tested", untested}}},
            {"rows", std::move(rows)},
            {"gates", std::move(gates)},
            {"gates_passed", c.gates_passed},
            {"warnings", c.warnings}};
}

}  // namespace loadkit::inline LOADKIT_ABI
