#pragma once
// Two runs compared: their summary exports read back (read_run_export), and
// for each metric, each request name and each check, the baseline, the new
// value, the change and whether the change is beyond noise (compare_runs);
// --fail-on gates on the changes (parse_fail_on). The formats of the result
// are in outputs/compare.hpp and outputs/compare_html.hpp.
//
//   auto base = loadkit::read_run_export(json_of_base, "base.json", warnings);
//   auto next = loadkit::read_run_export(json_of_new, "new.json", warnings);
//   loadkit::compare_options o;
//   o.gates.push_back(loadkit::parse_fail_on("p(95)>+10%"));
//   auto c = loadkit::compare_runs(base, next, o);  // c.rows, c.gates, c.gates_passed
//
// "Beyond noise" (each rule also needs p < alpha, 0.001 by default: a
// comparison has dozens of rows, and at 0.05 one in twenty would cry wolf):
//   avg            Welch's z on the means, and |change| >= min_effect (5%)
//   p(N)           the percentiles' distribution-free intervals
//                  (metrics/histogram_stats.hpp), and |change| >= min_effect,
//                  more beyond p(95): p(99) 11%, p(99.9) 35% (tail_factor)
//   distribution   Mann-Whitney's rank test on the binned samples, its
//                  effect size A (P(new slower) + ties/2) outside
//                  0.5 -+ min_rank_effect (0.06: Vargha and Delaney's "small"),
//                  and the Hodges-Lehmann shift >= min_effect of the median
//   rate           two proportions (failure and check rates), and
//                  |change| >= min_effect_pp (0.1 percentage points)
//   per second     two counts over two durations (requests, iterations),
//                  and |change| >= min_effect
//   max, min       never: one sample has no noise to measure
// The minimum effect is there because the tests assume independent
// samples: over a million requests they call a 0.3% shift significant,
// although the machine's load alone moves a run that much. A change has to be
// both unlikely by chance and large enough to matter. Exports without
// histograms (no "state": k6's, an older loadkit's) are compared on their
// aggregates: percentiles untested, rates and counts tested on their counts.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../metrics/histogram.hpp"
#include "../metrics/histogram_stats.hpp"
#include "../metrics/registry.hpp"
#include "state.hpp"
#include "summary.hpp"

namespace loadkit::inline LOADKIT_ABI {

// One run, read from a summary export.
struct run_export {
    std::string file, name, run_id;
    double duration_secs = 0;
    bool exact = false;  // it has the histograms ("state"): every change can be tested
    merged_metrics metrics;
    // the summary's metrics as [{"metric", "kind", "agg": {avg, med, p90, ...,
    // sum, count, rate, per_second}, "time"}], k6's shapes turned into this one
    nlohmann::json metric_list = nlohmann::json::array();
    nlohmann::json requests = nlohmann::json::array();  // the export's per (name, method) rows
    nlohmann::json checks = nlohmann::json::array();    // [{"name", "group", "passes", "fails"}]
    nlohmann::json timeline;                            // the export's "timeline" (null without)
    std::size_t merged_from = 0;                        // instances `loadkit merge` added up (0: one run)
};

// A --fail-on gate: "[METRIC[{TAGS}]:]STAT OP CHANGE UNIT", e.g. p(95)>+10%,
// http_req_failed>+0.5pp, http_req_duration{name:login}:p(99)>+5%, avg>+2ms,
// http_reqs<-10%.
struct fail_on {
    std::string text;      // as written
    std::string selector;  // metric{tags}
    std::string stat;      // avg, min, med, max, p(N), rate, per second
    double percentile = 0;
    enum class op { gt, ge, lt, le } cmp = op::gt;
    double bound = 0;  // in `unit`
    enum class unit { percent, pp, ms } in = unit::percent;
};

// What each row and gate is judged with (see the top of this file).
struct compare_options {
    double alpha = 0.001;
    double min_effect = 0.05;       // relative: times and per-second rates
    double min_effect_pp = 0.1;     // absolute, percentage points: failure and check rates
    double min_rank_effect = 0.06;  // |A - 0.5| of the rank test
    bool all_metrics = false;       // also the phases of a request (blocked, waiting...), data, sub-metrics
    std::size_t max_names = 20;     // request names shown, the busiest first (0: all)
    std::vector<fail_on> gates;     // --fail-on
};

enum class change_verdict { within_noise, worse, better, changed, untested, only_base, only_new };

inline std::string_view verdict_name(change_verdict v) noexcept {
    static constexpr std::string_view names[] = {"~",   "worse",        "better",     "changed",
                                                 "n/a", "only in base", "only in new"};
    return names[static_cast<int>(v)];
}

struct comparison_row {
    std::string section;   // "metrics", "requests", "checks"
    std::string subject;   // a metric, "GET /items", a check
    std::string selector;  // how --fail-on names it
    std::string stat;      // avg, p(50), p(90), p(95), p(99), max, distribution, rate, per second
    std::string unit;      // "ms", "" (a trend's own unit), "%" (rates), "/s"
    std::optional<double> base, next;
    std::optional<double> change;     // relative (0.1 = +10%; distribution: the shift over the median), or pp (rates)
    bool pp = false;                  // change is in percentage points
    std::string test;                 // welch, quantile, rank, proportions, counts; "" untested
    std::optional<double> p, effect;  // effect: the rank test's A
    change_verdict verdict = change_verdict::untested;
};

struct gate_result {
    std::string text;
    bool failed = false;
    std::optional<double> base, next, change;  // change in the gate's unit
    std::optional<double> p;
    std::string why;  // what decided it
};

struct comparison {
    const run_export* base = nullptr;
    const run_export* next = nullptr;
    compare_options options;
    std::vector<comparison_row> rows;
    std::vector<gate_result> gates;
    bool gates_passed = true;
    std::vector<std::string> warnings;
    // http_req_duration's percentile curve of each run: (nines, ms) with
    // nines = -log10(1 - q) (0: the minimum, 2: p(99), 3: p(99.9))
    std::vector<std::pair<double, double>> base_curve, next_curve;
    std::size_t worse = 0, better = 0, changed = 0;
};

namespace detail {

inline double json_num(const nlohmann::json& j, const char* key, double fallback = 0) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// k6's metrics object ({"name": {"avg":...}} from --summary-export, or
// {"name": {"type", "contains", "values": {...}}} from handleSummary's data)
// as loadkit's list.
inline nlohmann::json metrics_from_k6(const nlohmann::json& metrics) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& [name, v] : metrics.items()) {
        if (!v.is_object()) continue;
        const auto& values = v.contains("values") && v["values"].is_object() ? v["values"] : v;
        std::string kind = v.contains("type") && v["type"].is_string() ? v["type"].get<std::string>()
                           : values.contains("avg")                    ? "trend"
                           : values.contains("passes")                 ? "rate"
                           : values.contains("count")                  ? "counter"
                                                                       : "gauge";
        nlohmann::json agg = nlohmann::json::object();
        if (kind == "trend") {
            for (auto& [k, x] : values.items()) {
                if (!x.is_number()) continue;
                auto key = percentile_key(k);
                agg[key.empty() ? k : key] = x;
            }
        } else if (kind == "rate") {
            double passes = json_num(values, "passes"), fails = json_num(values, "fails");
            agg["rate"] = values.contains("rate") ? json_num(values, "rate") : json_num(values, "value");
            agg["sum"] = passes;
            agg["count"] = passes + fails;
        } else if (kind == "counter") {
            agg["count"] = agg["sum"] = json_num(values, "count");
            agg["per_second"] = json_num(values, "rate");
        } else {
            agg["last"] = json_num(values, "value");
        }
        bool time = v.value("contains", std::string()) == "time" || name.starts_with("http_req_") ||
                    name == "iteration_duration" || name == "group_duration";
        out.push_back({{"metric", name}, {"kind", kind}, {"agg", std::move(agg)}, {"time", time}});
    }
    return out;
}

// A metric's samples in one run: the histogram (exact runs' trends), or the
// summary's aggregate; counts (rates, counters) either way.
struct compare_side {
    bool found = false, exact = false;
    metric_kind kind = metric_kind::trend;
    double scale = 1e-6;
    histogram values;
    nlohmann::json agg;  // without a histogram
    double trues = 0, total = 0, sum = 0, secs = 0;
    bool events = false;  // a counter of events (requests, iterations): its rate can be tested
};

inline bool counts_events(std::string_view metric) {
    metric = metric.substr(0, metric.find('{'));
    return metric == "http_reqs" || metric == "iterations" || metric == "dropped_iterations" ||
           metric == "iterations_failed" || metric == "iterations_interrupted";
}

inline const nlohmann::json* find_listed(const run_export& r, std::string_view selector) {
    for (auto& m : r.metric_list)
        if (m.value("metric", std::string()) == selector) return &m;
    return nullptr;
}

inline metric_kind kind_of(std::string_view k) {
    return k == "counter" ? metric_kind::counter
           : k == "rate"  ? metric_kind::rate
           : k == "gauge" ? metric_kind::gauge
                          : metric_kind::trend;
}

// The side of `selector` in `r`: collect() over its histograms, or its summary's entry.
inline compare_side side_of(const run_export& r, const std::string& selector) {
    compare_side s;
    s.secs = r.duration_secs;
    s.events = counts_events(selector);
    if (r.exact) {
        metric_selector sel;
        std::string err;
        aggregate a;
        if (!parse_selector(selector, sel, err) || !collect(r.metrics, sel, a)) return s;
        s.exact = true;
        s.kind = a.kind;
        s.scale = a.scale;
        s.values = std::move(a.values);
        s.trues = a.trues;
        s.total = a.total;
        s.sum = a.sum;
        s.found = s.kind == metric_kind::trend  ? s.values.count() > 0
                  : s.kind == metric_kind::rate ? s.total > 0
                                                : true;
        return s;
    }
    auto* m = find_listed(r, selector);
    if (!m || !m->contains("agg") || !(*m)["agg"].is_object()) return s;
    s.kind = kind_of(m->value("kind", std::string()));
    s.agg = (*m)["agg"];
    s.trues = json_num(s.agg, "sum");
    s.total = json_num(s.agg, "count");
    s.sum = s.kind == metric_kind::counter ? json_num(s.agg, "count") : 0;
    s.found = s.kind == metric_kind::trend  ? json_num(s.agg, "count", 1) > 0
              : s.kind == metric_kind::rate ? s.total > 0
                                            : true;
    s.scale = m->value("time", true) ? 1e-6 : 1e-3;
    return s;
}

// What a row or gate measures.
struct stat_spec {
    enum class what { avg, min, max, pct, rate, per_second } w = what::avg;
    double pct = 0;
};

inline std::optional<double> stat_value(const compare_side& s, const stat_spec& st) {
    if (!s.found) return std::nullopt;
    using w = stat_spec::what;
    if (st.w == w::rate) return s.total > 0 ? std::optional<double>(s.trues / s.total) : std::nullopt;
    if (st.w == w::per_second) {
        if (s.exact || !s.agg.contains("per_second"))
            return s.secs > 0 ? std::optional<double>(s.sum / s.secs) : std::nullopt;
        return json_num(s.agg, "per_second");
    }
    if (s.kind != metric_kind::trend) return std::nullopt;
    if (s.exact) {
        auto& h = s.values;
        switch (st.w) {
            case w::avg: return h.mean() * s.scale;
            case w::min: return static_cast<double>(h.min()) * s.scale;
            case w::max: return static_cast<double>(h.max()) * s.scale;
            default: return h.quantile(st.pct / 100) * s.scale;
        }
    }
    std::string key = st.w == w::avg ? "avg" : st.w == w::min ? "min" : st.w == w::max ? "max" : "";
    if (key.empty()) {
        char b[32];
        std::snprintf(b, sizeof b, "p%g", st.pct);
        key = b;
        if (!s.agg.contains(key) && st.pct == 50) key = "med";
    }
    auto it = s.agg.find(key);
    if (it == s.agg.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
}

// The test of a row, when there is one: trends need both histograms; rates
// and event counts need only their counts.
inline std::optional<stat_test> stat_test_of(const compare_side& a, const compare_side& b, const stat_spec& st,
                                             std::string& name) {
    using w = stat_spec::what;
    if (!a.found || !b.found) return std::nullopt;
    switch (st.w) {
        case w::rate: name = "proportions"; return proportion_test(a.trues, a.total, b.trues, b.total);
        case w::per_second:
            if (!a.events || !b.events) return std::nullopt;
            name = "counts";
            return count_rate_test(a.sum, a.secs, b.sum, b.secs);
        case w::avg:
            if (!a.exact || !b.exact) return std::nullopt;
            name = "welch";
            return mean_test(a.values, b.values);
        case w::pct:
            if (!a.exact || !b.exact) return std::nullopt;
            name = "quantile";
            return quantile_test(a.values, b.values, st.pct / 100);
        default: return std::nullopt;  // min, max: one sample each
    }
}

// +1 when higher is better (checks, throughput), -1 when lower is
// (latencies, failures), 0 when neither (custom metrics, data).
inline int better_direction(std::string_view selector, const stat_spec& st) {
    auto metric = selector.substr(0, selector.find('{'));
    if (metric == "checks") return 1;
    if (metric == "http_req_failed" || metric == "iterations_failed" || metric == "iterations_interrupted" ||
        metric == "dropped_iterations")
        return -1;
    if (st.w == stat_spec::what::per_second) return metric == "http_reqs" || metric == "iterations" ? 1 : 0;
    if (metric.starts_with("http_req_") || metric == "iteration_duration" || metric == "group_duration") return -1;
    return 0;
}

inline change_verdict direction_verdict(int direction, double sign) {
    if (direction == 0) return change_verdict::changed;
    return sign * direction > 0 ? change_verdict::better : change_verdict::worse;
}

// A percentile beyond p(95) rests on the few samples of its tail, and one
// burst of load (a stall, a busy neighbour) moves those together: the
// interval's independence assumption fails there first. Its minimum effect
// grows with 1/sqrt of the tail's share: p(99) 2.2x (11%), p(99.9) 7x.
// Measured: two 10 ms runs side by side on a loaded machine had p(99)
// +10.3% apart with p = 4e-5.
inline double tail_factor(const stat_spec& st) {
    if (st.w != stat_spec::what::pct || st.pct <= 95) return 1;
    double tail = std::max(1e-4, 1 - st.pct / 100);
    return std::sqrt(0.05 / tail);
}

inline comparison_row make_row(const std::string& section, const std::string& subject, const std::string& selector,
                               const std::string& stat, const stat_spec& st, const compare_side& a,
                               const compare_side& b, const compare_options& o) {
    comparison_row r;
    r.section = section;
    r.subject = subject;
    r.selector = selector;
    r.stat = stat;
    using w = stat_spec::what;
    r.pp = st.w == w::rate;
    r.unit = st.w == w::rate ? "%" : st.w == w::per_second ? "/s" : (a.found ? a.scale : b.scale) == 1e-6 ? "ms" : "";
    r.base = stat_value(a, st);
    r.next = stat_value(b, st);
    if (!r.base && !r.next) return r;
    if (!r.base || !r.next) {
        r.verdict = r.base ? change_verdict::only_base : change_verdict::only_new;
        return r;
    }
    double diff = *r.next - *r.base;
    if (r.pp) r.change = diff * 100;
    else if (*r.base != 0) r.change = diff / *r.base;
    else r.change = diff == 0 ? 0.0 : INFINITY;
    std::string name;
    auto t = stat_test_of(a, b, st, name);
    if (!t) return r;
    r.test = name;
    r.p = t->p;
    bool large = r.pp ? std::fabs(*r.change) >= o.min_effect_pp - 1e-12
                      : std::fabs(*r.change) >= o.min_effect * tail_factor(st);
    r.verdict = t->p < o.alpha && large ? direction_verdict(better_direction(selector, st), diff)
                                        : change_verdict::within_noise;
    return r;
}

inline comparison_row rank_row(const std::string& section, const std::string& subject, const std::string& selector,
                               const compare_side& a, const compare_side& b, const compare_options& o) {
    comparison_row r;
    r.section = section;
    r.subject = subject;
    r.selector = selector;
    r.stat = "distribution";
    if (!a.exact || !b.exact || !a.found || !b.found) return r;
    auto t = rank_test(a.values, b.values);
    r.test = "rank";
    r.p = t.p;
    r.effect = t.a;
    // how often (A) and how much (the shift, relative to the baseline's
    // median): a narrow distribution moved by 0.5% has an A near 1
    double median = a.values.quantile(0.5);
    r.change = median > 0 ? shift_estimate(a.values, b.values) / median : 0.0;
    r.verdict = t.p < o.alpha && std::fabs(t.a - 0.5) >= o.min_rank_effect && std::fabs(*r.change) >= o.min_effect
                    ? direction_verdict(better_direction(selector, {}), t.a - 0.5)
                    : change_verdict::within_noise;
    return r;
}

// The rows of one trend: avg, the percentiles, max, and the rank test.
inline void trend_rows(std::vector<comparison_row>& rows, const std::string& section, const std::string& subject,
                       const std::string& selector, const compare_side& a, const compare_side& b,
                       const compare_options& o) {
    using w = stat_spec::what;
    rows.push_back(make_row(section, subject, selector, "avg", {w::avg}, a, b, o));
    for (double q : {50.0, 90.0, 95.0, 99.0}) {
        char label[16];
        std::snprintf(label, sizeof label, "p(%g)", q);
        rows.push_back(make_row(section, subject, selector, label, {w::pct, q}, a, b, o));
    }
    rows.push_back(make_row(section, subject, selector, "max", {w::max}, a, b, o));
    if (a.exact && b.exact) rows.push_back(rank_row(section, subject, selector, a, b, o));
}

inline bool shown_metric(const std::string& name, std::string_view kind, const compare_side& a, const compare_side& b,
                         bool all) {
    if (kind == "gauge") return false;  // VUs are configured, not measured
    if (all) return true;
    if (name.find('{') != std::string::npos) return false;
    for (auto phase :
         {"http_req_blocked", "http_req_connecting", "http_req_tls_handshaking", "http_req_sending", "http_req_waiting",
          "http_req_receiving", "http_req_duration_intended", "data_sent", "data_received"})
        if (name == phase) return false;
    if (name == "dropped_iterations" || name == "iterations_failed" || name == "iterations_interrupted")
        return a.sum > 0 || b.sum > 0;
    return true;
}

// A selector's value for a request name (tags with ',' or '}' cannot be selected).
inline std::string request_selector(const std::string& metric, const std::string& name, const std::string& method) {
    return metric + "{name:" + name + ",method:" + method + "}";
}

// One request name's sides, from the histograms or from the export's "requests".
struct request_sides {
    compare_side duration, reqs, failed;
};
inline std::map<std::pair<std::string, std::string>, request_sides> request_sides_of(const run_export& r) {
    std::map<std::pair<std::string, std::string>, request_sides> out;
    auto prepare = [&](request_sides& s, bool exact) {
        for (auto* x : {&s.duration, &s.reqs, &s.failed}) {
            x->exact = exact;
            x->secs = r.duration_secs;
        }
        s.reqs.kind = metric_kind::counter;
        s.reqs.events = true;
        s.failed.kind = metric_kind::rate;
    };
    if (r.exact) {
        for (auto& [t, row] : r.metrics.http) {
            auto [it, fresh] = out.try_emplace({t.name, t.method});
            auto& s = it->second;
            if (fresh) prepare(s, true);
            s.duration.values.merge(row.duration);
            s.reqs.sum += static_cast<double>(row.reqs);
            s.failed.trues += static_cast<double>(row.failed);
            s.failed.total += static_cast<double>(row.reqs);
        }
        for (auto& [k, s] : out) {
            s.duration.found = s.duration.values.count() > 0;
            s.reqs.found = true;
            s.failed.found = s.failed.total > 0;
        }
        return out;
    }
    for (auto& q : r.requests) {
        if (!q.is_object()) continue;
        auto& s = out[{q.value("name", std::string()), q.value("method", std::string())}];
        prepare(s, false);
        s.duration.agg = q;
        s.duration.found = json_num(q, "count") > 0;
        s.reqs.sum = json_num(q, "count");
        s.reqs.found = true;
        s.failed.trues = json_num(q, "failed");
        s.failed.total = json_num(q, "count");
        s.failed.found = s.failed.total > 0;
    }
    return out;
}

// http_req_duration's percentile curve on the nines scale.
inline std::vector<std::pair<double, double>> percentile_curve(const run_export& r) {
    std::vector<std::pair<double, double>> out;
    auto s = side_of(r, "http_req_duration");
    if (!s.found) return out;
    if (s.exact) {
        double n = static_cast<double>(s.values.count());
        double top = std::min(5.0, std::log10(std::max(n, 1.0)));
        for (double x = 0; x <= top + 1e-9; x += 0.05)
            out.emplace_back(x, s.values.quantile(1 - std::pow(10.0, -x)) * s.scale);
        out.emplace_back(top, static_cast<double>(s.values.max()) * s.scale);
        return out;
    }
    for (auto [x, key] : {std::pair{0.0, "min"}, std::pair{std::log10(2.0), "med"}, std::pair{1.0, "p90"},
                          std::pair{std::log10(20.0), "p95"}, std::pair{2.0, "p99"}})
        if (s.agg.contains(key) && s.agg[key].is_number()) out.emplace_back(x, s.agg[key].get<double>());
    return out;
}

}  // namespace detail

// A summary export (the runner's --summary-export, `loadkit merge -o`, or
// k6's --summary-export or handleSummary data) as a run to compare. Throws
// std::invalid_argument "FILE: what was expected" when it is not one; adds a
// warning when it has no histograms (its percentiles cannot be tested).
inline run_export read_run_export(const nlohmann::json& j, const std::string& file,
                                  std::vector<std::string>& warnings) {
    auto bad = [&](const std::string& what) { throw std::invalid_argument(file + ": " + what); };
    const char* expected =
        "expected a summary: the JSON of `loadkit run --summary-export` or `loadkit merge -o` (or k6's "
        "--summary-export, or handleSummary's data), with \"metrics\"";
    if (!j.is_object()) bad(std::string(expected) + ", found a JSON " + j.type_name());
    auto mit = j.find("metrics");
    if (mit == j.end() || !(mit->is_array() || mit->is_object())) {
        std::string keys;
        for (auto& [k, v] : j.items())
            if (keys.size() < 60) keys += (keys.empty() ? "" : ", ") + k;
        bad(std::string(expected) + "; found an object with " + (keys.empty() ? "no keys" : "keys " + keys));
    }
    run_export r;
    r.file = file;
    r.name = detail::string_field(j, "name", "");
    r.run_id = detail::string_field(j, "run_id", "");
    if (mit->is_object()) {  // k6's shapes
        r.metric_list = detail::metrics_from_k6(*mit);
        if (auto st = j.find("state"); st != j.end() && st->is_object())
            r.duration_secs = detail::json_num(*st, "testRunDurationMs") / 1000;
        // --summary-export has no run duration, but k6's counters' rate is
        // count over it
        for (const char* counter : {"iterations", "http_reqs"}) {
            auto c = mit->find(counter);
            if (r.duration_secs > 0 || c == mit->end() || !c->is_object()) continue;
            double n = detail::json_num(*c, "count"), rate = detail::json_num(*c, "rate");
            if (n > 0 && rate > 0) r.duration_secs = n / rate;
        }
        warnings.push_back(file + ": k6's summary has no histograms: its percentiles are compared as they are, "
                                  "without a test against noise");
        return r;
    }
    for (auto& m : *mit) {
        if (!m.is_object() || !m.contains("metric") || !m["metric"].is_string() || !m.contains("agg"))
            bad("expected \"metrics\": [{\"metric\", \"kind\", \"agg\"}, ...], found " +
                m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 80));
        auto e = m;
        auto name = e["metric"].get<std::string>();
        auto* info = detail::metric_registry::get().find(name.substr(0, name.find('{')));
        if (!e.contains("time"))
            e["time"] = info ? info->time
                             : name.starts_with("http_req_") || name.starts_with("iteration_duration") ||
                                   name.starts_with("group_duration");
        r.metric_list.push_back(std::move(e));
    }
    r.duration_secs = detail::json_num(j, "duration_secs");
    if (auto q = j.find("requests"); q != j.end() && q->is_array()) r.requests = *q;
    if (auto c = j.find("checks"); c != j.end() && c->is_array()) r.checks = *c;
    if (auto t = j.find("timeline"); t != j.end() && t->is_array()) r.timeline = *t;
    if (auto m = j.find("merged_from"); m != j.end() && m->is_array()) r.merged_from = m->size();
    auto st = j.find("state");
    if (st == j.end() || st->is_null()) {
        warnings.push_back(file + ": no histograms (no \"state\": not written by --summary-export or `loadkit "
                                  "merge -o`): its percentiles are compared as they are, without a test against noise");
        return r;
    }
    if (!st->is_object())
        bad("\"state\": expected an object (the run's histograms), found a JSON " + std::string(st->type_name()));
    run_state_info info;
    detail::import_state(*st, file, r.metrics, info, true);  // throws invalid_argument naming the file
    r.exact = true;
    if (r.duration_secs <= 0 && info.ended_ms > info.started_ms)
        r.duration_secs = static_cast<double>(info.ended_ms - info.started_ms) / 1000;
    if (r.name.empty()) r.name = info.name;
    return r;
}

// Parses a --fail-on gate; std::invalid_argument says what was expected.
inline fail_on parse_fail_on(const std::string& text) {
    auto bad = [&](const std::string& what) {
        throw std::invalid_argument("--fail-on '" + text + "': " + what +
                                    " (e.g. p(95)>+10%, http_req_failed>+0.5pp, "
                                    "http_req_duration{name:login}:p(99)>+5%, avg>+2ms)");
    };
    fail_on g;
    g.text = text;
    std::string_view s = detail::trim(text);
    auto close = s.find('}');
    auto op_at = s.find_first_of("<>", close == std::string_view::npos ? 0 : close);
    if (op_at == std::string_view::npos) bad("expected an operator, > or <");
    auto left = detail::trim(s.substr(0, op_at));
    auto right = s.substr(op_at + 1);
    bool eq = !right.empty() && right.front() == '=';
    if (eq) right.remove_prefix(1);
    g.cmp = s[op_at] == '>' ? (eq ? fail_on::op::ge : fail_on::op::gt) : (eq ? fail_on::op::le : fail_on::op::lt);
    // the left side: STAT, METRIC, or METRIC[{TAGS}]:STAT
    std::string_view metric, stat;
    auto colon = left.find(':', close == std::string_view::npos ? 0 : close);
    if (close != std::string_view::npos && colon != std::string_view::npos && colon < close)
        colon = std::string_view::npos;
    if (colon != std::string_view::npos) {
        metric = detail::trim(left.substr(0, colon));
        stat = detail::trim(left.substr(colon + 1));
    } else if (left.find('{') == std::string_view::npos &&
               (left == "avg" || left == "min" || left == "med" || left == "max" || left.starts_with("p("))) {
        metric = "http_req_duration";
        stat = left;
    } else {
        metric = left;
    }
    detail::metric_selector sel;
    std::string err;
    if (!detail::parse_selector(metric, sel, err)) bad(err);
    g.selector = sel.text();
    auto* info = detail::metric_registry::get().find(sel.metric);
    if (!info) bad("no metric named '" + sel.metric + "'");
    if (stat.empty()) {
        if (info->kind == metric_kind::rate) g.stat = "rate";
        else if (info->kind == metric_kind::counter) g.stat = "per second";
        else bad("expected a statistic of the trend '" + sel.metric + "': METRIC:avg, METRIC:p(95), ...");
    } else if (stat == "avg" || stat == "min" || stat == "max" || stat == "med") {
        g.stat = stat == "med" ? "p(50)" : std::string(stat);
        if (stat == "med") g.percentile = 50;
    } else if (stat.starts_with("p(") && stat.ends_with(")")) {
        auto num = stat.substr(2, stat.size() - 3);
        auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), g.percentile);
        if (ec != std::errc() || p != num.data() + num.size() || g.percentile < 0 || g.percentile > 100)
            bad("expected a percentile from 0 to 100 in p(...), found '" + std::string(num) + "'");
        g.stat = "p(" + std::string(num) + ")";
    } else if (stat == "rate") {
        g.stat = info->kind == metric_kind::counter ? "per second" : "rate";
    } else {
        bad("expected a statistic (avg, min, med, max, p(N), rate), found '" + std::string(stat) + "'");
    }
    bool trend_stat = g.stat != "rate" && g.stat != "per second";
    if (trend_stat != (info->kind == metric_kind::trend))
        bad("'" + g.stat + "' does not apply to the " + std::string(kind_name(info->kind)) + " '" + sel.metric + "'");
    // the right side: a signed number and its unit
    right = detail::trim(right);
    std::string_view unit;
    for (auto u : {"pp", "%", "ms", "us", "s"})
        if (right.ends_with(u)) {
            unit = u;
            break;
        }
    if (unit.empty())
        bad("expected a unit after the number: % (relative), pp (percentage points, for rates) or ms, s, us");
    auto num = detail::trim(right.substr(0, right.size() - unit.size()));
    if (num.starts_with('+')) num.remove_prefix(1);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), g.bound);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size() || !std::isfinite(g.bound))
        bad("expected a number before '" + std::string(unit) + "', found '" + std::string(num) + "'");
    if (unit == "%") g.in = fail_on::unit::percent;
    else if (unit == "pp") {
        if (g.stat != "rate" || info->kind != metric_kind::rate)
            bad("pp (percentage points) applies to rates (http_req_failed, checks): use % for a relative change");
        g.in = fail_on::unit::pp;
    } else {
        if (!trend_stat || !info->time)
            bad("a time (" + std::string(unit) + ") applies to the statistics of a time trend");
        g.in = fail_on::unit::ms;
        g.bound *= unit == "s" ? 1000 : unit == "us" ? 0.001 : 1;
    }
    return g;
}

namespace detail {

inline gate_result evaluate_gate(const fail_on& g, const run_export& a, const run_export& b, const compare_options& o) {
    gate_result out;
    out.text = g.text;
    auto sa = side_of(a, g.selector), sb = side_of(b, g.selector);
    stat_spec st;
    using w = stat_spec::what;
    st.w = g.stat == "avg"          ? w::avg
           : g.stat == "min"        ? w::min
           : g.stat == "max"        ? w::max
           : g.stat == "rate"       ? w::rate
           : g.stat == "per second" ? w::per_second
                                    : w::pct;
    st.pct = g.percentile;
    out.base = stat_value(sa, st);
    out.next = stat_value(sb, st);
    if (!out.base || !out.next) {
        out.failed = true;  // a gate that cannot look must not pass: a misspelt name would pass forever
        out.why = std::string("no samples of ") + g.selector + " in " + (out.base ? "the new run" : "the baseline");
        return out;
    }
    double diff = *out.next - *out.base;
    switch (g.in) {
        case fail_on::unit::pp: out.change = diff * 100; break;
        case fail_on::unit::ms: out.change = diff; break;
        case fail_on::unit::percent:
            out.change = *out.base != 0 ? diff / *out.base * 100 : diff == 0 ? 0 : diff > 0 ? INFINITY : -INFINITY;
    }
    double c = *out.change;
    bool past = g.cmp == fail_on::op::gt   ? c > g.bound
                : g.cmp == fail_on::op::ge ? c >= g.bound
                : g.cmp == fail_on::op::lt ? c < g.bound
                                           : c <= g.bound;
    std::string name;
    auto t = stat_test_of(sa, sb, st, name);
    if (t) out.p = t->p;
    if (!past) out.why = "within the bound";
    else if (t && t->p >= o.alpha) {
        char b[96];
        std::snprintf(b, sizeof b, "past the bound, but within noise (p=%.2g, not below %g)", t->p, o.alpha);
        out.why = b;
    } else {
        out.failed = true;
        out.why = t ? "past the bound, and beyond noise" : "past the bound (not tested against noise)";
    }
    return out;
}

}  // namespace detail

// Compares `next` with `base` (see the top of this file) and evaluates the options' gates.
inline comparison compare_runs(const run_export& base, const run_export& next, const compare_options& o = {}) {
    comparison c;
    c.base = &base;
    c.next = &next;
    c.options = o;
    // both with histograms, or both compared on aggregates
    run_export const* pa = &base;
    run_export const* pb = &next;
    run_export degraded_a, degraded_b;
    if (base.exact != next.exact) {
        auto& full = base.exact ? base : next;
        c.warnings.push_back(full.file + "'s histograms are compared with " + (base.exact ? next.file : base.file) +
                             "'s aggregates: no percentile is tested against noise");
        auto strip = [](const run_export& r, run_export& out) {
            out.file = r.file;
            out.name = r.name;
            out.run_id = r.run_id;
            out.duration_secs = r.duration_secs;
            out.metric_list = r.metric_list;
            out.requests = r.requests;
            out.checks = r.checks;
            out.timeline = r.timeline;
        };
        if (base.exact) strip(base, degraded_a), pa = &degraded_a;
        else strip(next, degraded_b), pb = &degraded_b;
    }
    const run_export& a = *pa;
    const run_export& b = *pb;

    // metrics, in the summary's order, the baseline's first
    std::vector<std::pair<std::string, std::string>> names;  // (selector, kind)
    for (auto* r : {&a, &b})
        for (auto& m : r->metric_list) {
            auto n = m.value("metric", std::string());
            if (std::none_of(names.begin(), names.end(), [&](auto& x) { return x.first == n; }))
                names.emplace_back(n, m.value("kind", std::string()));
        }
    for (auto& [n, kind] : names) {
        auto sa = detail::side_of(a, n), sb = detail::side_of(b, n);
        if (!detail::shown_metric(n, kind, sa, sb, o.all_metrics)) continue;
        auto k = detail::kind_of(kind);
        using w = detail::stat_spec::what;
        if (k == metric_kind::trend) detail::trend_rows(c.rows, "metrics", n, n, sa, sb, o);
        else if (k == metric_kind::rate)
            c.rows.push_back(detail::make_row("metrics", n, n, "rate", {w::rate}, sa, sb, o));
        else if (k == metric_kind::counter)
            c.rows.push_back(detail::make_row("metrics", n, n, "per second", {w::per_second}, sa, sb, o));
    }
    // request names, the busiest (in the baseline, then in the new run) first
    auto ra = detail::request_sides_of(a), rb = detail::request_sides_of(b);
    std::vector<std::pair<double, std::pair<std::string, std::string>>> order;
    for (auto& [k, s] : ra) order.push_back({s.reqs.sum + 1e-9 * (rb.count(k) ? rb[k].reqs.sum : 0), k});
    for (auto& [k, s] : rb)
        if (!ra.count(k)) order.push_back({1e-9 * s.reqs.sum, k});
    std::stable_sort(order.begin(), order.end(), [](auto& x, auto& y) { return x.first > y.first; });
    if (o.max_names && order.size() > o.max_names) {
        c.warnings.push_back(std::to_string(order.size() - o.max_names) +
                             " less busy request names are not shown (--names 0 shows every one)");
        order.resize(o.max_names);
    }
    detail::request_sides none;
    for (auto& [busy, k] : order) {
        auto& sa = ra.count(k) ? ra[k] : none;
        auto& sb = rb.count(k) ? rb[k] : none;
        auto subject = k.second + " " + k.first;
        using w = detail::stat_spec::what;
        detail::trend_rows(c.rows, "requests", subject,
                           detail::request_selector("http_req_duration", k.first, k.second), sa.duration, sb.duration,
                           o);
        c.rows.push_back(detail::make_row("requests", subject, detail::request_selector("http_reqs", k.first, k.second),
                                          "per second", {w::per_second}, sa.reqs, sb.reqs, o));
        c.rows.push_back(detail::make_row("requests", subject,
                                          detail::request_selector("http_req_failed", k.first, k.second), "rate",
                                          {w::rate}, sa.failed, sb.failed, o));
    }
    // checks, by group and name: their counts are exact in every export
    std::map<std::pair<std::string, std::string>, std::pair<detail::compare_side, detail::compare_side>> checks;
    for (int side = 0; side < 2; ++side)
        for (auto& ch : (side ? b : a).checks) {
            if (!ch.is_object()) continue;
            auto& s = side ? checks[{ch.value("group", std::string()), ch.value("name", std::string())}].second
                           : checks[{ch.value("group", std::string()), ch.value("name", std::string())}].first;
            s.kind = metric_kind::rate;
            s.trues += detail::json_num(ch, "passes");
            s.total += detail::json_num(ch, "passes") + detail::json_num(ch, "fails");
            s.found = s.total > 0;
        }
    for (auto& [k, s] : checks) {
        auto subject = k.first.empty() ? k.second
                                       : k.first.substr(k.first.starts_with("::") ? 2 : 0) + " > " + k.second;
        c.rows.push_back(detail::make_row("checks", subject, "checks{check:" + k.second + "}", "rate",
                                          {detail::stat_spec::what::rate}, s.first, s.second, o));
    }
    for (auto& r : c.rows) {
        c.worse += r.verdict == change_verdict::worse;
        c.better += r.verdict == change_verdict::better;
        c.changed += r.verdict == change_verdict::changed;
    }
    for (auto& g : o.gates) {
        c.gates.push_back(detail::evaluate_gate(g, a, b, o));
        if (c.gates.back().failed) c.gates_passed = false;
    }
    c.base_curve = detail::percentile_curve(a);
    c.next_curve = detail::percentile_curve(b);
    return c;
}

}  // namespace loadkit::inline LOADKIT_ABI
