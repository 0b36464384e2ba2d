#pragma once
// A comparison of runs (engine/compare.hpp) as one self-contained page, drawn
// with the HTML report's charts and style (outputs/html.hpp): both runs'
// requests per second, latency and failures over time, and their
// http_req_duration percentile curves, on the same charts; then the table of
// changes and the gates. Nothing is loaded when it is opened.
//
//   std::ofstream("compare.html") << loadkit::compare_html_report({c});
//
// Several comparisons with one baseline (compare BASE NEW1 NEW2) share the
// charts: one line per run.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/compare.hpp"
#include "compare.hpp"
#include "html.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail::compare_html {

using json = nlohmann::json;

// One run's timeline value at each x, interpolated between its own points
// (runs' progress snapshots do not fall on the same instants, and a line
// with gaps at every other x would break into dots); nothing outside its span.
inline std::vector<std::optional<double>> resample(const json& timeline, const char* key,
                                                   const std::vector<double>& x) {
    std::vector<std::pair<double, double>> pts;
    for (auto& p : html::items(&timeline)) {
        auto t = html::num(html::at(p, "t"));
        auto v = html::num(html::at(p, key));
        if (t && v) pts.emplace_back(*t, *v);
    }
    std::vector<std::optional<double>> out;
    for (double xi : x) {
        std::optional<double> y;
        for (std::size_t i = 0; i < pts.size(); ++i) {
            if (pts[i].first == xi) {
                y = pts[i].second;
                break;
            }
            if (i + 1 < pts.size() && pts[i].first < xi && xi < pts[i + 1].first) {
                double f = (xi - pts[i].first) / (pts[i + 1].first - pts[i].first);
                y = pts[i].second + f * (pts[i + 1].second - pts[i].second);
                break;
            }
        }
        out.push_back(y);
    }
    return out;
}

inline std::string nines_label(double x) {
    if (x < 1e-9) return "min";
    double q = 100 * (1 - std::pow(10.0, -x));
    return html::printf_str("p%g", std::round(q * 1000) / 1000);
}

inline constexpr const char* base_color = "#64748b";
inline constexpr const char* next_colors[] = {"#ea580c", "#2563eb", "#16a34a", "#9333ea", "#db2777"};

inline std::string run_name(bool base, std::size_t i) {
    return base ? "base" : i == 0 ? std::string("new") : "new " + std::to_string(i + 1);
}

inline std::string charts(const std::vector<comparison>& cs) {
    std::vector<const run_export*> runs{cs.front().base};
    for (auto& c : cs) runs.push_back(c.next);
    std::vector<double> x;
    for (auto* r : runs)
        for (auto& p : html::items(&r->timeline))
            if (auto t = html::num(html::at(p, "t"))) x.push_back(*t);
    std::sort(x.begin(), x.end());
    x.erase(std::unique(x.begin(), x.end()), x.end());
    // series names must outlive the charts: kept here
    std::vector<std::string> names;
    names.reserve(runs.size() * 3);
    std::vector<html::series> rps, p50, p95, failed;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const char* color = i == 0 ? base_color : next_colors[(i - 1) % 5];
        auto who = run_name(i == 0, i == 0 ? 0 : i - 1);
        names.push_back(who);
        names.push_back(who + " p(50)");
        names.push_back(who + " p(95)");
        auto& n = names[names.size() - 3];
        rps.push_back({n.c_str(), color, resample(runs[i]->timeline, "rps", x)});
        failed.push_back({n.c_str(), color, resample(runs[i]->timeline, "failed", x)});
        p95.push_back({names[names.size() - 1].c_str(), color, resample(runs[i]->timeline, "p95", x)});
        p50.push_back({names[names.size() - 2].c_str(), color, resample(runs[i]->timeline, "p50", x)});
    }
    std::vector<html::series> latency;
    for (auto& s : p95) latency.push_back(s);
    // the curves: x on the nines scale, one x list for every run
    std::vector<double> cx;
    std::vector<std::vector<std::pair<double, double>>> curves{cs.front().base_curve};
    for (auto& c : cs) curves.push_back(c.next_curve);
    for (auto& cv : curves)
        for (auto& [nx, ms] : cv) cx.push_back(nx);
    std::sort(cx.begin(), cx.end());
    cx.erase(std::unique(cx.begin(), cx.end()), cx.end());
    std::vector<html::series> curve_series;
    for (std::size_t i = 0; i < curves.size(); ++i) {
        std::vector<std::optional<double>> y(cx.size());
        json tl = json::array();
        for (auto& [nx, ms] : curves[i]) tl.push_back({{"t", nx}, {"v", ms}});
        y = resample(tl, "v", cx);
        curve_series.push_back({names[3 * i].c_str(), i == 0 ? base_color : next_colors[(i - 1) % 5], std::move(y)});
    }
    auto panel = [](const char* title, std::string svg) {
        return "<div class=\"panel\"><h3>" + std::string(title) + "</h3>" + svg + "</div>\n";
    };
    return "<h2>Over time, and the latency distribution</h2><div class=\"charts\">\n" +
           panel("Requests per second", html::svg_chart("Requests per second", "req/s", html::unit::count, x, rps)) +
           panel("Latency p(95) (http_req_duration)",
                 html::svg_chart("Latency p(95)", "", html::unit::ms, x, latency)) +
           panel("Failed requests per interval",
                 html::svg_chart("Failed requests per interval", "failed", html::unit::integer, x, failed)) +
           panel("Latency by percentile (http_req_duration, whole run)",
                 html::svg_chart("Latency by percentile", "", html::unit::ms, cx, curve_series, nines_label, 1)) +
           "</div>\n";
}

inline std::string table(const comparison& c) {
    namespace f = detail::compare_fmt;
    std::string rows, section, subject;
    for (auto& r : c.rows) {
        if (r.section != section) {
            section = r.section;
            subject.clear();
            rows += std::string("<tr><th class=\"l\" colspan=\"7\">") +
                    (section == "metrics"    ? "metrics"
                     : section == "requests" ? "requests by name"
                                             : "checks") +
                    "</th></tr>\n";
        }
        std::string who = r.subject == subject ? "" : "<code>" + html::esc(r.subject) + "</code>";
        subject = r.subject;
        const char* cls = r.verdict == change_verdict::worse    ? " class=\"bad\""
                          : r.verdict == change_verdict::better ? " style=\"color:var(--ok);font-weight:600\""
                                                                : "";
        bool dist = r.stat == "distribution";
        rows += "<tr><td class=\"l name\">" + who + "</td><td class=\"l\">" + html::esc(r.stat) + "</td><td>" +
                (dist ? "" : html::esc(f::value(r.base, r.unit))) + "</td><td>" +
                (dist ? "" : html::esc(f::value(r.next, r.unit))) + "</td><td" + cls + ">" + html::esc(f::change(r)) +
                "</td><td class=\"l\"><span" + cls + ">" +
                html::esc(r.verdict == change_verdict::within_noise ? "within noise" : verdict_name(r.verdict)) +
                "</span></td><td class=\"l\">" + html::esc(f::evidence(r)) + "</td></tr>\n";
    }
    return "<table><tr><th class=\"l\"></th><th class=\"l\">stat</th><th>base</th><th>new</th><th>change</th>"
           "<th class=\"l\">verdict</th><th class=\"l\">test</th></tr>\n" +
           rows + "</table>";
}

inline std::string gates(const comparison& c) {
    if (c.gates.empty()) return "";
    std::string rows;
    for (std::size_t i = 0; i < c.gates.size(); ++i) {
        auto& g = c.gates[i];
        rows += "<tr><td>" + html::badge(!g.failed) + "</td><td class=\"l\"><code>" + html::esc(g.text) +
                "</code></td><td>" + html::esc(compare_fmt::gate_change(g, c.options.gates[i])) +
                "</td><td class=\"l\">" + html::esc(g.why) + "</td></tr>\n";
    }
    return "<table><tr><th></th><th class=\"l\">gate</th><th>change</th><th class=\"l\"></th></tr>\n" + rows +
           "</table>";
}

}  // namespace detail::compare_html

// The page for comparisons that share their baseline (at least one).
inline std::string compare_html_report(const std::vector<comparison>& cs) {
    namespace h = detail::html;
    namespace ch = detail::compare_html;
    if (cs.empty()) throw std::invalid_argument("compare_html_report: no comparison");
    bool failed = false;
    std::size_t worse = 0;
    for (auto& c : cs) {
        failed = failed || !c.gates_passed;
        worse += c.worse;
    }
    std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>loadkit compare</title>\n" +
                       std::string(h::style) + "</head>\n<body><main>\n";
    std::string meta;
    auto add_run = [&](const std::string& label, const run_export& r) {
        meta += (meta.empty() ? "" : " &nbsp;·&nbsp; ") + label + " <b>" + h::esc(r.file) + "</b>" +
                (r.run_id.empty() ? "" : " run " + h::esc(r.run_id)) + " (" +
                h::esc(detail::compare_fmt::size_text(r)) + ")";
    };
    add_run("base", *cs.front().base);
    for (std::size_t i = 0; i < cs.size(); ++i) add_run(ch::run_name(false, i), *cs[i].next);
    const char* status = failed  ? "<span class=\"status fail\">GATE FAILED</span>"
                         : worse ? "<span class=\"status warn\">WORSE</span>"
                                 : "<span class=\"status pass\">NO REGRESSION</span>";
    page += "<header><div><div class=\"brand\">loadkit compare</div><h1>" +
            h::esc(cs.front().base->name.empty() ? std::string("Runs compared") : cs.front().base->name) +
            "</h1><div class=\"meta\">" + meta + "</div></div>" + status + "</header>\n";
    for (auto& c : cs)
        for (auto& w : c.warnings) page += "<div class=\"banner warn\"><b>Warning:</b> " + h::esc(w) + "</div>\n";
    page += ch::charts(cs);
    for (std::size_t i = 0; i < cs.size(); ++i) {
        auto title = "Changes: base → " + ch::run_name(false, i) + " (" + detail::compare_fmt::counts_text(cs[i]) + ")";
        page += h::section(h::esc(title), ch::table(cs[i]));
        if (!cs[i].gates.empty())
            page += h::section(cs[i].gates_passed ? "Gates: passed" : "Gates: FAILED", ch::gates(cs[i]));
    }
    page += "<footer>" + h::esc(detail::compare_fmt::rules_text(cs.front().options)) +
            ". Generated by loadkit " LOADKIT_VERSION_STRING
            ". This page is self-contained: it loads nothing.</footer>\n"
            "</main>\n";
    page += h::render_check;  // four charts, as the run report's
    return page + "</body></html>\n";
}

}  // namespace loadkit::inline LOADKIT_ABI
