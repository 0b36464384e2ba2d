#pragma once
// The HTML report: one self-contained page (inline CSS and SVG, no request
// of any kind when opened) from a run summary, the shape build_summary()
// produces, plus the optional "timeline" (timeline_recorder::json()) and
// "requests" (requests_table()) keys:
//
//   std::ofstream("report.html") << loadkit::html_report(summary);
//
// Any key may be missing or null (a merged run may have no timeline): what
// is there is rendered, the rest says "no data". Only a summary that is not
// a JSON object is refused, with std::invalid_argument. Every string from
// the input is HTML-escaped.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail::html {

using json = nlohmann::json;

// ------------------------------------------------------------ reading what may not be there

inline const json* at(const json* j, const char* key) {
    if (!j || !j->is_object()) return nullptr;
    auto it = j->find(key);
    return it == j->end() || it->is_null() ? nullptr : &*it;
}
inline const json* at(const json& j, const char* key) { return at(&j, key); }

// A finite number, or nothing (strings, NaN and the like are not numbers here).
inline std::optional<double> num(const json* j) {
    if (!j || !j->is_number()) return std::nullopt;
    double v = j->get<double>();
    return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}
// A string as it is; anything else as its JSON text, so that odd input still shows.
inline std::string text(const json* j) {
    if (!j) return {};
    if (j->is_string()) return j->get<std::string>();
    return j->dump(-1, ' ', false, json::error_handler_t::replace);
}
// Elements of an array (a non-array has none).
inline const json& items(const json* j) {
    static const json none = json::array();
    return j && j->is_array() ? *j : none;
}

// ------------------------------------------------------------ writing

inline std::string esc(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

inline std::string printf_str(const char* f, ...) __attribute__((format(printf, 1, 2)));
inline std::string printf_str(const char* f, ...) {
    char b[160];
    va_list ap, again;
    va_start(ap, f);
    va_copy(again, ap);
    int n = std::vsnprintf(b, sizeof b, f, ap);
    va_end(ap);
    std::string out;
    if (n >= static_cast<int>(sizeof b)) {  // long (a polygon's points): a second pass at the right size
        out.resize(static_cast<std::size_t>(n) + 1);
        std::vsnprintf(out.data(), out.size(), f, again);
        out.resize(static_cast<std::size_t>(n));
    } else if (n > 0) {
        out.assign(b, static_cast<std::size_t>(n));
    }
    va_end(again);
    return out;
}

// 1234567 -> "1,234,567"; fractions keep two decimals.
inline std::string count_str(double v) {
    if (std::fabs(v) >= 1e15 || v != std::floor(v)) return printf_str(std::fabs(v) >= 1e15 ? "%.3g" : "%.2f", v);
    auto digits = printf_str("%.0f", std::fabs(v));
    std::string out = v < 0 ? "-" : "";
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}
// Seconds as "1.5s", "2m30s", "1h05m".
inline std::string time_label(double s) {
    if (std::fabs(s) < 60) return printf_str("%gs", std::round(s * 100) / 100);
    auto whole = static_cast<long long>(std::llround(s));
    if (std::fabs(s) < 3600)
        return whole % 60 ? printf_str("%lldm%02llds", whole / 60, whole % 60) : printf_str("%lldm", whole / 60);
    if (std::fabs(s) < 1e9)
        return whole % 3600 ? printf_str("%lldh%02lldm", whole / 3600, whole % 3600 / 60)
                            : printf_str("%lldh", whole / 3600);
    return printf_str("%.3gs", s);
}
// Milliseconds in the unit that reads best.
inline std::string duration_str(double ms) {
    double a = std::fabs(ms);
    if (a == 0) return "0";
    if (a < 0.001) return printf_str("%.0f ns", ms * 1e6);
    if (a < 1) return printf_str("%.0f µs", ms * 1000);
    if (a < 1000) return printf_str(a < 10 ? "%.2f ms" : a < 100 ? "%.1f ms" : "%.0f ms", ms);
    if (a < 60'000) return printf_str("%.2f s", ms / 1000);
    return time_label(ms / 1000);  // a run's length: "12m30s"
}
inline std::string bytes_str(double v) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (std::fabs(v) >= 1000 && u < 5) {
        v /= 1000;
        ++u;
    }
    return printf_str(u ? "%.1f %s" : "%.0f %s", v, units[u]);
}
inline std::string percent_str(double ratio) { return printf_str("%.2f%%", ratio * 100); }
inline std::string opt_str(std::optional<double> v, std::string (*f)(double)) { return v ? f(*v) : "–"; }

// Unix milliseconds as "2026-11-22 10:00:01 UTC" (empty when not a plausible time).
inline std::string utc_str(std::optional<double> ms) {
    if (!ms || *ms <= 0 || *ms > 1e14) return {};
    std::time_t secs = static_cast<std::time_t>(*ms / 1000);
    std::tm tm{};
    if (!gmtime_r(&secs, &tm)) return {};
    char b[64];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return b;
}

// Trends that hold durations: the built-in ones. The summary does not say
// for custom trends, so those show plain numbers unless the entry carries
// "time": true.
inline bool is_time_trend(const json& entry, std::string_view name) {
    if (auto* t = at(entry, "time"); t && t->is_boolean()) return t->get<bool>();
    name = name.substr(0, name.find('{'));
    return name.starts_with("http_req_") || name == "iteration_duration" || name == "group_duration";
}

// ------------------------------------------------------------ charts

// Axis values: 1, 2, 2.5 or 5 times a power of ten, about `target` steps over `span`.
inline double nice_step(double span, int target) {
    double raw = span / target;
    if (!(raw > 0) || !std::isfinite(raw)) return 1;
    double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
}
// Seconds steps that a clock reader expects (15 s, 1 min, 5 min...), not 20 s or 50 s.
inline double time_step(double span) {
    static const double steps[] = {0.1, 0.2, 0.25, 0.5, 1,    2,    5,    10,    15,    30,    60,
                                   120, 300, 600,  900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
    for (double s : steps)
        if (span / s <= 7) return s;
    return nice_step(span, 6);
}

enum class unit { count, integer, ms };

inline std::string tick_label(double v, unit u) {
    double a = std::fabs(v);
    if (a < 1e-12) return "0";
    if (u == unit::ms) {
        if (a < 1) return printf_str("%gµs", v * 1000);
        if (a < 1000) return printf_str("%gms", v);
        return printf_str("%gs", v / 1000);
    }
    if (a >= 1e9) return printf_str("%gG", v / 1e9);
    if (a >= 1e6) return printf_str("%gM", v / 1e6);
    if (a >= 1e3) return printf_str("%gk", v / 1e3);
    return printf_str("%g", v);
}

struct series {
    const char* name;
    const char* color;
    std::vector<std::optional<double>> y;  // one per point; nothing where there is no value
};

// An SVG line chart over the run's elapsed seconds `x` (or, with `x_label`,
// any x: its ticks every `x_step`, labelled by x_label). Lines break where a
// value is missing; a value with no neighbour becomes a dot, so no polyline
// ever has a single point (the render check relies on that).
inline std::string svg_chart(std::string_view title, std::string_view axis_name, unit u, const std::vector<double>& x,
                             const std::vector<series>& all, std::string (*x_label)(double) = nullptr,
                             double x_step = 0) {
    constexpr double W = 640, H = 260, L = 58, R = 16, T = 34, B = 30;
    constexpr double pw = W - L - R, ph = H - T - B;
    std::string s = printf_str("<svg class=\"lk-chart\" data-series-points=\"%zu\" viewBox=\"0 0 %.0f %.0f\" "
                               "role=\"img\" aria-label=\"",
                               x.size(), W, H);
    s += esc(title) + "\">";

    // values are clamped so that no span can overflow, whatever the input
    auto clamp = [](double v) { return std::clamp(v, -1e15, 1e15); };
    double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
    bool any = false;
    for (std::size_t i = 0; i < x.size(); ++i) {
        x0 = std::min(x0, clamp(x[i]));
        x1 = std::max(x1, clamp(x[i]));
        for (auto& se : all)
            if (i < se.y.size() && se.y[i]) {
                any = true;
                y0 = std::min(y0, clamp(*se.y[i]));
                y1 = std::max(y1, clamp(*se.y[i]));
            }
    }
    if (x1 <= x0) x1 = x0 + 1;
    double ystep = nice_step(y1 - y0, 4);
    if (u != unit::ms && u != unit::count) ystep = std::max(1.0, std::round(ystep));
    if (y1 <= y0) y1 = y0 + ystep * 4;
    double ybot = std::floor(y0 / ystep) * ystep, ytop = std::ceil(y1 / ystep) * ystep;
    if (ytop <= ybot) ytop = ybot + ystep;
    auto px = [&](double v) { return L + (clamp(v) - x0) / (x1 - x0) * pw; };
    auto py = [&](double v) { return T + ph - (clamp(v) - ybot) / (ytop - ybot) * ph; };

    // grid and tick labels
    auto ny = std::min(20, static_cast<int>(std::lround((ytop - ybot) / ystep)));
    for (int i = 0; i <= ny; ++i) {
        double v = ybot + i * ystep;
        s += printf_str("<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", L, py(v), W - R,
                        py(v));
        s += printf_str("<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", L - 8, py(v) + 4) +
             esc(tick_label(v, u)) + "</text>";
    }
    double xstep = x_label && x_step > 0 ? x_step : time_step(x1 - x0);
    for (int i = 0; i <= 40; ++i) {
        double v = std::ceil(x0 / xstep) * xstep + i * xstep;
        if (v > x1 + xstep * 1e-6) break;
        s += printf_str("<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px(v), T, px(v),
                        T + ph);
        s += printf_str("<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px(v), H - B + 17) +
             esc(x_label ? x_label(v) : time_label(v)) + "</text>";
    }
    s += printf_str("<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", L, T + ph, W - R, T + ph);
    s += printf_str("<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", L, T, L, T + ph);
    s += printf_str("<text class=\"unit\" x=\"%.1f\" y=\"%.1f\">", L - 8, T - 14) + esc(axis_name) + "</text>";

    // legend, right-aligned above the plot (text width estimated, as no font is measured here)
    double lx = W - R;
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        lx -= 26 + 6.6 * static_cast<double>(std::string_view(it->name).size()) + 14;
    for (auto& se : all) {
        s += printf_str(
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\" stroke-linecap=\"round\"/>",
            lx, T - 18, lx + 18, T - 18, se.color);
        s += printf_str("<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", lx + 24, T - 14) + esc(se.name) + "</text>";
        lx += 26 + 6.6 * static_cast<double>(std::string_view(se.name).size()) + 14;
    }

    if (!any) {
        s += printf_str("<text class=\"nodata\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no data</text></svg>",
                        L + pw / 2, T + ph / 2);
        return s;
    }
    for (auto& se : all) {
        // runs of consecutive values
        std::size_t i = 0;
        while (i < x.size()) {
            while (i < x.size() && !(i < se.y.size() && se.y[i])) ++i;
            std::size_t j = i;
            while (j < x.size() && j < se.y.size() && se.y[j]) ++j;
            if (j == i) break;
            bool flat = true;  // every x the same: a line would have no width
            for (std::size_t k = i + 1; k < j; ++k) flat = flat && x[k] == x[i];
            if (j - i >= 2 && !flat) {
                std::string pts;
                for (std::size_t k = i; k < j; ++k)
                    pts += printf_str("%s%.1f,%.1f", k > i ? " " : "", px(x[k]), py(*se.y[k]));
                if (all.size() == 1)  // a single series gets a light area under it
                    s += printf_str(
                        "<polygon points=\"%.1f,%.1f %s %.1f,%.1f\" fill=\"%s\" fill-opacity=\"0.10\" stroke=\"none\"/>",
                        px(x[i]), py(std::max(ybot, 0.0)), pts.c_str(), px(x[j - 1]), py(std::max(ybot, 0.0)),
                        se.color);
                s += "<polyline points=\"" + pts +
                     printf_str("\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                                se.color);
            }
            // dots where a line alone would hide the values: few points, or lone ones
            if (j - i < 2 || flat || x.size() <= 30)
                for (std::size_t k = i; k < j; ++k)
                    s += printf_str("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", px(x[k]), py(*se.y[k]),
                                    se.color);
            i = j;
        }
    }
    return s + "</svg>";
}

// ------------------------------------------------------------ page

// Looks only at layout, so it is meaningful headless: every chart has a box,
// every line has width. The outcome goes to <body data-rendered>.
inline constexpr const char* render_check = R"(<script>
addEventListener('load', function () {
  var why = [], charts = document.querySelectorAll('svg.lk-chart');
  if (charts.length !== 4) why.push(charts.length + ' charts');
  charts.forEach(function (svg, i) {
    var r = svg.getBoundingClientRect(), lines = svg.querySelectorAll('polyline');
    if (!(r.width > 0 && r.height > 0)) why.push('chart ' + i + ' has no box');
    lines.forEach(function (p) {
      if (p.getAttribute('points').trim() && !(p.getBBox().width > 0)) why.push('chart ' + i + ' has a line of no width');
    });
    if (+svg.dataset.seriesPoints >= 2 && !svg.querySelector('polyline, circle, .nodata')) why.push('chart ' + i + ' draws nothing');
  });
  document.body.dataset.rendered = why.length ? 'failed: ' + why.join('; ') : 'ok';
});
</script>
)";

inline constexpr const char* style = R"(<style>
:root { --fg:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f6f7f9; --ok:#15803d; --okbg:#dcfce7; --bad:#b91c1c; --badbg:#fee2e2; --warn:#b45309; --warnbg:#fef3c7; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 16px; margin-bottom: 16px; }
.brand { color: var(--muted); font-size: 12px; letter-spacing: .08em; text-transform: uppercase; }
h1 { margin: 2px 0 6px; font-size: 26px; font-weight: 650; word-break: break-word; }
h2 { font-size: 16px; margin: 28px 0 10px; font-weight: 650; }
h3 { font-size: 13px; margin: 0 0 4px; font-weight: 600; color: #374151; }
.meta { color: var(--muted); } .meta b { color: var(--fg); font-weight: 500; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.status { font-weight: 700; font-size: 15px; padding: 8px 16px; border-radius: 8px; letter-spacing: .04em; white-space: nowrap; }
.run { color: #1d4ed8; background: #dbeafe; }
.progress { height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; margin: -6px 0 16px; } .progress i { display: block; height: 100%; background: #2563eb; }
.pass { color: var(--ok); background: var(--okbg); } .fail { color: var(--bad); background: var(--badbg); } .warn { color: var(--warn); background: var(--warnbg); }
.banner { padding: 10px 14px; border-radius: 8px; margin-bottom: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card, .panel { background: #fff; border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 12px 14px; } .card .k { color: var(--muted); font-size: 12px; } .card .v { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; } .card .s { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 12px; }
.panel { padding: 14px 14px 8px; overflow-x: auto; }
.lk-chart { display: block; width: 100%; height: auto; font-family: inherit; }
.lk-chart .grid { stroke: #eef0f3; } .lk-chart .axis { stroke: #9ca3af; }
.lk-chart .tick { fill: var(--muted); font-size: 11px; } .lk-chart .unit { fill: var(--muted); font-size: 11px; text-anchor: end; }
.lk-chart .legend { fill: #374151; font-size: 11.5px; } .lk-chart .nodata { fill: var(--muted); font-size: 14px; }
table { width: 100%; border-collapse: collapse; background: #fff; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
th { color: var(--muted); font-weight: 600; font-size: 12px; background: #fafbfc; }
tr:last-child td { border-bottom: none; }
th:first-child, td:first-child, .l { text-align: left; } td.name { white-space: normal; word-break: break-all; min-width: 160px; }
.badge { display: inline-block; min-width: 42px; text-align: center; font-size: 11px; font-weight: 700; padding: 2px 6px; border-radius: 5px; }
.bad { color: var(--bad); font-weight: 600; }
.bar { display: inline-block; vertical-align: middle; width: 80px; height: 6px; background: var(--badbg); border-radius: 3px; overflow: hidden; margin-left: 8px; }
.bar i { display: block; height: 100%; background: #22c55e; }
.empty { color: var(--muted); padding: 12px 14px; }
footer { color: var(--muted); font-size: 12px; margin: 28px 0 8px; }
</style>
)";

inline std::string badge(bool ok) {
    return ok ? "<span class=\"badge pass\">PASS</span>" : "<span class=\"badge fail\">FAIL</span>";
}

inline std::string section(std::string_view title, const std::string& body) {
    return "<h2>" + std::string(title) + "</h2><div class=\"panel\" style=\"padding:0\">" + body + "</div>\n";
}

// The metric's aggregate in the summary, if it has one.
inline const json* metric_agg(const json& results, std::string_view name) {
    for (auto& e : items(at(results, "metrics")))
        if (auto* m = at(e, "metric"); m && m->is_string() && m->get<std::string_view>() == name) return at(e, "agg");
    return nullptr;
}

inline std::string cards(const json& r) {
    std::string out;
    // data-metric/data-value: the number shown, unformatted, for whoever reads the page (the dashboard's test)
    std::string metric;
    double value = 0;
    auto card = [&](const char* k, const std::string& v, const std::string& sub, bool bad = false) {
        out += "<div class=\"card\" data-metric=\"" + metric + "\" data-value=\"" + printf_str("%.17g", value) +
               "\"><div class=\"k\">" + std::string(k) + "</div><div class=\"v" + (bad ? " bad" : "") + "\">" + esc(v) +
               "</div><div class=\"s\">" + esc(sub) + "</div></div>";
    };
    auto take = [&](const char* m, std::optional<double> v) {
        metric = m;
        value = v.value_or(0);
    };
    if (auto* p = at(r, "progress")) {  // a live page: where the run is
        auto e = num(at(p, "elapsed_secs")).value_or(0), t = num(at(p, "total_secs")).value_or(0);
        take("elapsed", e);
        card("Elapsed", time_label(std::floor(e)), t > 0 ? "of " + time_label(t) : "");
    }
    if (auto* a = metric_agg(r, "http_reqs")) {
        take("http_reqs", num(at(a, "count")));
        card("Requests", count_str(num(at(a, "count")).value_or(0)),
             printf_str("%.1f/s", num(at(a, "per_second")).value_or(0)));
    }
    if (auto* p = at(r, "progress")) {
        take("rps", num(at(p, "rps")));
        card("Requests/s now", printf_str("%.1f", value), "the last interval");
    }
    if (auto* a = metric_agg(r, "http_req_failed")) {
        take("http_req_failed", num(at(a, "sum")));
        card("Failed requests", percent_str(num(at(a, "rate")).value_or(0)),
             count_str(num(at(a, "sum")).value_or(0)) + " failed", num(at(a, "rate")).value_or(0) > 0);
    }
    if (auto* a = metric_agg(r, "http_req_duration"); a && (take("p95", num(at(a, "p95"))), true))
        card("Latency p(95)", opt_str(num(at(a, "p95")), duration_str),
             "median " + opt_str(num(at(a, "med")), duration_str));
    if (auto* a = metric_agg(r, "iterations"); a && (take("iterations", num(at(a, "count"))), true))
        card("Iterations", count_str(num(at(a, "count")).value_or(0)),
             printf_str("%.1f/s", num(at(a, "per_second")).value_or(0)));
    if (auto* p = at(r, "progress"); p && (take("vus", num(at(p, "vus"))), true)) card("VUs", count_str(value), "now");
    if (auto* a = metric_agg(r, "vus"); a && (take("vus_peak", num(at(a, "max"))), true))
        card("Peak VUs", count_str(num(at(a, "max")).value_or(0)),
             "max configured " +
                 count_str(num(at(metric_agg(r, "vus_max"), "last")).value_or(num(at(a, "max")).value_or(0))));
    if (auto* a = metric_agg(r, "checks"); a && (take("checks", num(at(a, "rate"))), true))
        card("Checks passed", percent_str(num(at(a, "rate")).value_or(0)),
             count_str(num(at(a, "sum")).value_or(0)) + " of " + count_str(num(at(a, "count")).value_or(0)),
             num(at(a, "rate")).value_or(1) < 1);
    return out.empty() ? "" : "<div class=\"cards\">" + out + "</div>\n";
}

inline std::string charts(const json& r) {
    std::vector<double> x;
    series rps{"requests/s", "#2563eb", {}}, vus{"VUs", "#7c3aed", {}}, failed{"failed requests", "#dc2626", {}};
    series p50{"p(50)", "#16a34a", {}}, p95{"p(95)", "#d97706", {}}, p99{"p(99)", "#dc2626", {}};
    for (auto& p : items(at(r, "timeline"))) {
        auto t = num(at(p, "t"));
        if (!t) continue;  // a point must say when it was
        x.push_back(*t);
        rps.y.push_back(num(at(p, "rps")));
        vus.y.push_back(num(at(p, "vus")));
        failed.y.push_back(num(at(p, "failed")));
        p50.y.push_back(num(at(p, "p50")));
        p95.y.push_back(num(at(p, "p95")));
        p99.y.push_back(num(at(p, "p99")));
    }
    auto panel = [](const char* title, std::string svg) {
        return "<div class=\"panel\"><h3>" + std::string(title) + "</h3>" + svg + "</div>\n";
    };
    // the run's control actions (the summary's "control" list: pause, resume, scale, stop), when there were any
    std::string actions;
    for (auto& a : items(at(r, "control"))) {
        actions += actions.empty() ? "" : ", ";
        actions += esc(text(at(a, "action")));
        if (auto vus = num(at(a, "vus"))) actions += " to " + count_str(*vus) + " VUs";
        actions += printf_str(" at %.1f s (", num(at(a, "t")).value_or(0)) + esc(text(at(a, "by"))) + ")";
    }
    if (!actions.empty()) actions = "<p class=\"control\">Control: " + actions + "</p>\n";
    return "<h2>Over time</h2>" + actions + "<div class=\"charts\">\n" +
           panel("Requests per second", svg_chart("Requests per second", "req/s", unit::count, x, {rps})) +
           panel("Virtual users", svg_chart("Virtual users", "VUs", unit::integer, x, {vus})) +
           panel("Failed requests per interval",
                 svg_chart("Failed requests per interval", "failed", unit::integer, x, {failed})) +
           panel("Latency (http_req_duration)",
                 svg_chart("Latency (http_req_duration)", "", unit::ms, x, {p50, p95, p99})) +
           "</div>\n";
}

inline std::string thresholds(const json& r) {
    std::string rows;
    for (auto& t : items(at(r, "thresholds"))) {
        auto* ok = at(t, "ok");
        auto* abort = at(t, "abort_on_fail");
        auto value = num(at(t, "value"));
        auto metric = text(at(t, "metric"));
        // a time trend's statistic is in ms; anything else (a rate, a count) is a plain number
        auto expr = text(at(t, "threshold"));
        bool ms = is_time_trend(t, metric) && expr.find("count") == std::string::npos &&
                  expr.find("rate") == std::string::npos;
        rows += "<tr><td>" + badge(ok && ok->is_boolean() && ok->get<bool>()) + "</td><td class=\"l name\"><code>" +
                esc(metric) + "</code></td><td class=\"l\"><code>" + esc(expr) + "</code></td><td>" +
                (value ? esc(printf_str(ms ? "%.4g ms" : "%.4g", *value)) : "–") + "</td><td class=\"l\">" +
                (abort && abort->is_boolean() && abort->get<bool>() ? "abortOnFail" : "") + "</td></tr>\n";
    }
    if (rows.empty()) return section("Thresholds", "<div class=\"empty\">No thresholds.</div>");
    return section(
        "Thresholds",
        "<table><tr><th style=\"width:64px\"></th><th class=\"l\">metric</th><th class=\"l\">threshold</th><th>value</th>"
        "<th class=\"l\" style=\"width:120px\"></th></tr>\n" +
            rows + "</table>");
}

inline std::string requests(const json& r) {
    std::string rows;
    for (auto& q : items(at(r, "requests"))) {
        auto count = num(at(q, "count")).value_or(0), failed = num(at(q, "failed")).value_or(0);
        rows += "<tr><td class=\"name\">" + esc(text(at(q, "name"))) + "</td><td class=\"l\">" +
                esc(text(at(q, "method"))) + "</td><td>" + count_str(count) + "</td><td" +
                (failed > 0 ? " class=\"bad\"" : "") + ">" + count_str(failed) +
                (count > 0 && failed > 0 ? printf_str(" (%.1f%%)", failed / count * 100) : "") + "</td>";
        for (auto* k : {"avg", "med", "p90", "p95", "p99", "max"})
            rows += "<td>" + opt_str(num(at(q, k)), duration_str) + "</td>";
        rows += "</tr>\n";
    }
    if (rows.empty()) return section("Requests by name", "<div class=\"empty\">No per-request data.</div>");
    return section("Requests by name",
                   "<table><tr><th>name</th><th class=\"l\">method</th><th>count</th><th>failed</th><th>avg</th>"
                   "<th>med</th><th>p(90)</th><th>p(95)</th><th>p(99)</th><th>max</th></tr>\n" +
                       rows + "</table>");
}

inline std::string checks(const json& r) {
    std::string rows;
    for (auto& c : items(at(r, "checks"))) {
        double p = num(at(c, "passes")).value_or(0), f = num(at(c, "fails")).value_or(0);
        double rate = p + f > 0 ? p / (p + f) : 1;
        // a check is per group (summary.hpp's check_rows): its group path before its name
        auto group = text(at(c, "group"));
        auto name = group.empty() ? text(at(c, "name"))
                                  : group.substr(group.starts_with("::") ? 2 : 0) + " \u203a " + text(at(c, "name"));
        rows += "<tr><td>" + badge(f == 0) + "</td><td class=\"l name\">" + esc(name) + "</td><td>" + count_str(p) +
                "</td><td" + (f > 0 ? " class=\"bad\"" : "") + ">" + count_str(f) + "</td><td>" + percent_str(rate) +
                printf_str("<span class=\"bar\"><i style=\"width:%.1f%%\"></i></span>", rate * 100) + "</td></tr>\n";
    }
    if (rows.empty()) return section("Checks", "<div class=\"empty\">No checks.</div>");
    return section(
        "Checks",
        "<table><tr><th></th><th class=\"l\">check</th><th>passed</th><th>failed</th><th>pass rate</th></tr>\n" + rows +
            "</table>");
}

inline std::string metrics(const json& r) {
    std::string trends, others;
    for (auto& e : items(at(r, "metrics"))) {
        if (!e.is_object()) continue;
        auto name = text(at(e, "metric"));
        auto kind = text(at(e, "kind"));
        const json* a = at(e, "agg");
        auto count = num(at(a, "count"));
        // as in the console: sub-metrics and the open model's metrics only when they have samples
        bool optional = name.find('{') != std::string::npos || name == "http_req_duration_intended" ||
                        name == "dropped_iterations";
        if (optional && count.value_or(0) == 0) continue;
        auto cell = [](const std::string& v) { return "<td>" + esc(v) + "</td>"; };
        if (kind == "trend") {
            bool time = is_time_trend(e, name);
            std::string (*f)(double) = time ? duration_str : +[](double v) { return printf_str("%.4g", v); };
            trends += "<tr><td class=\"name\"><code>" + esc(name) + "</code></td>";
            for (auto* k : {"avg", "min", "med", "max", "p90", "p95", "p99"}) trends += cell(opt_str(num(at(a, k)), f));
            trends += cell(opt_str(count, count_str)) + "</tr>\n";
            continue;
        }
        std::string value, detail;
        if (kind == "counter") {
            bool bytes = name.starts_with("data_");
            value = opt_str(num(at(a, "count")), bytes ? bytes_str : count_str);
            if (auto ps = num(at(a, "per_second"))) detail = (bytes ? bytes_str(*ps) : printf_str("%.2f", *ps)) + "/s";
        } else if (kind == "rate") {
            value = opt_str(num(at(a, "rate")), percent_str);
            detail = opt_str(num(at(a, "sum")), count_str) + " of " + opt_str(count, count_str);
        } else if (kind == "gauge") {
            value = opt_str(num(at(a, "last")), count_str);
            detail = "min " + opt_str(num(at(a, "min")), count_str) + ", max " + opt_str(num(at(a, "max")), count_str);
        } else {
            value = a ? text(a) : "–";  // not a kind this page knows: its raw aggregate
        }
        others += "<tr><td class=\"name\"><code>" + esc(name) + "</code></td><td class=\"l\">" + esc(kind) + "</td>" +
                  cell(value) + "<td class=\"l\">" + esc(detail) + "</td></tr>\n";
    }
    std::string body;
    if (!trends.empty())
        body += section(
            "Trends",
            "<table><tr><th>metric</th><th>avg</th><th>min</th><th>med</th><th>max</th><th>p(90)</th><th>p(95)</th>"
            "<th>p(99)</th><th>count</th></tr>\n" +
                trends + "</table>");
    if (!others.empty())
        body += section(
            "Counters, rates and gauges",
            "<table><tr><th>metric</th><th class=\"l\">kind</th><th>value</th><th class=\"l\"></th></tr>\n" + others +
                "</table>");
    return body.empty() ? section("Metrics", "<div class=\"empty\">No metrics.</div>") : body;
}

inline std::string header(const json& r) {
    auto name = text(at(r, "name"));
    auto* passed = at(r, "thresholds_passed");
    bool failed = passed && passed->is_boolean() && !passed->get<bool>();
    for (auto& t : items(at(r, "thresholds")))
        if (auto* ok = at(t, "ok"); ok && ok->is_boolean() && !ok->get<bool>()) failed = true;
    auto* aborted = at(r, "aborted");
    // a live page (the dashboard's "progress"): running until its final event, thresholds failing so far in red
    auto* live = at(r, "progress");
    auto state = text(at(live, "state"));
    const char* status = live && failed ? "<span class=\"status fail\">FAILING</span>"
                         : live         ? "<span class=\"status run\">RUNNING</span>"
                         : failed       ? "<span class=\"status fail\">FAILED</span>"
                         : aborted      ? "<span class=\"status warn\">ABORTED</span>"
                                        : "<span class=\"status pass\">PASSED</span>";
    std::string meta;
    auto add = [&](const char* k, const std::string& v) {
        if (!v.empty()) meta += std::string(meta.empty() ? "" : " &nbsp;·&nbsp; ") + k + " <b>" + esc(v) + "</b>";
    };
    add("run", text(at(r, "run_id")));
    add("started", utc_str(num(at(r, "started_ms"))));
    if (auto d = num(at(r, "duration_secs"))) add("duration", duration_str(*d * 1000));
    std::string scenarios;
    for (auto& s : items(at(r, "scenarios"))) scenarios += (scenarios.empty() ? "" : ", ") + text(&s);
    add("scenarios", scenarios);
    if (live && !state.empty()) add("state", state);
    std::string out = "<header><div><div class=\"brand\">loadkit " + std::string(live ? "live" : "report") +
                      "</div><h1>" + (name.empty() ? std::string("Load test") : esc(name)) +
                      "</h1><div class=\"meta\">" + meta + "</div></div>" + status + "</header>\n";
    if (aborted) out += "<div class=\"banner warn\"><b>Aborted:</b> " + esc(text(aborted)) + "</div>\n";
    if (live) {
        auto e = num(at(live, "elapsed_secs")).value_or(0), t = num(at(live, "total_secs")).value_or(0);
        out += printf_str("<div class=\"progress\"><i style=\"width:%.1f%%\"></i></div>\n",
                          t > 0 ? std::clamp(e / t, 0.0, 1.0) * 100 : 0.0);
    }
    return out;
}

// The page's parts, in order, each by the id of the element that holds it:
// the report writes them once; the live dashboard (dashboard.hpp) sends them
// again with every snapshot and its page swaps each element's content.
using section_list = std::vector<std::pair<const char*, std::string>>;
inline section_list sections(const json& r) {
    return {{"lk-header", header(r)},  {"lk-cards", cards(r)},       {"lk-thresholds", thresholds(r)},
            {"lk-charts", charts(r)},  {"lk-requests", requests(r)}, {"lk-checks", checks(r)},
            {"lk-metrics", metrics(r)}};
}

// The page: the report's, or (with `live`: a control bar and the script that
// follows the event stream) the dashboard's. One template for both.
struct page_parts {
    std::string_view title_suffix = "loadkit report";
    std::string_view before;  // after <main>, before the sections (the dashboard's controls)
    std::string_view script;  // before </body> (the dashboard's event handling)
};
inline std::string page(const json& results, const page_parts& parts, const section_list& all) {
    auto name = text(at(results, "name"));
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
                      esc(name.empty() ? std::string(parts.title_suffix)
                                       : name + " - " + std::string(parts.title_suffix)) +
                      "</title>\n" + style + "</head>\n<body><main>\n";
    out += parts.before;
    for (auto& [id, html] : all) out += "<div id=\"" + std::string(id) + "\">" + html + "</div>\n";
    out += "<footer>Generated by loadkit " LOADKIT_VERSION_STRING
           ". This page is self-contained: it loads nothing.</footer>\n</main>\n";
    out += render_check;
    out += parts.script;
    return out + "</body></html>\n";
}

}  // namespace detail::html

// The report page for a run summary (see the top of this file).
inline std::string html_report(const nlohmann::json& results) {
    if (!results.is_object())
        throw std::invalid_argument(std::string("html_report: expected the run summary, a JSON object, got ") +
                                    results.type_name());
    return detail::html::page(results, {}, detail::html::sections(results));
}

}  // namespace loadkit::inline LOADKIT_ABI
