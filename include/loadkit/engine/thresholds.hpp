#pragma once
// Thresholds in k6's grammar: pass/fail criteria on metrics, evaluated while
// the run goes (for abortOnFail) and at its end (for the exit code).
//
//   metric or sub-metric    http_req_duration{name:login}, http_req_failed{scenario:users}
//   expression              avg|min|max|med|p(N) for trends, rate for rates,
//                           count|rate for counters, value for gauges;
//                           then < <= > >= == != and a number: "p(95)<200"
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../metrics/registry.hpp"
#include "summary.hpp"

namespace loadkit::inline LOADKIT_ABI {

// One criterion; a plain string converts to one ("p(95)<200").
struct threshold {
    std::string expression;
    bool abort_on_fail = false;                  // stop the run as soon as it fails
    nanoseconds delay_abort_eval{};              // ...but not before this much of the run has passed
    threshold(const char* e) : expression(e) {}  // NOLINT: implicit by design
    threshold(std::string e, bool abort = false, nanoseconds delay = {})  // NOLINT
        : expression(std::move(e)), abort_on_fail(abort), delay_abort_eval(delay) {}
};

// Metric (or sub-metric) to its criteria, in the order given.
using threshold_set = std::vector<std::pair<std::string, std::vector<threshold>>>;

namespace detail {

struct parsed_threshold {
    std::string selector_text;  // as written
    metric_selector selector;
    std::string expression;  // as written
    enum class stat { avg, min, max, med, pct, rate, count, value } what = stat::avg;
    double percentile = 0;  // for pct, 0..100
    enum class op { lt, le, gt, ge, eq, ne } cmp = op::lt;
    double bound = 0;
    bool abort_on_fail = false;
    std::int64_t delay_abort_eval_ns = 0;
    bool failed_during_run = false;  // abortOnFail tripped: stays failed
};

// Parses every threshold; throws config_error naming the metric and the
// expression, and saying what was expected, on the first mistake.
inline std::vector<parsed_threshold> parse_thresholds(const threshold_set& all) {
    std::vector<parsed_threshold> out;
    for (auto& entry : all) {
        // (not a structured binding: clang 14 cannot capture one in the lambdas below)
        const std::string& sel_text = entry.first;
        const std::vector<threshold>& list = entry.second;
        parsed_threshold base;
        base.selector_text = sel_text;
        std::string err;
        if (!parse_selector(sel_text, base.selector, err))
            throw config_error("threshold on '" + sel_text + "': " + err);
        auto* info = metric_registry::get().find(base.selector.metric);
        if (!info)
            throw config_error("threshold on '" + sel_text + "': no metric named '" + base.selector.metric +
                               "' (not a built-in, and no custom metric was declared with that name)");
        if (list.empty()) throw config_error("threshold on '" + sel_text + "': expected at least one expression");
        for (auto& t : list) {
            auto p = base;
            p.expression = t.expression;
            p.abort_on_fail = t.abort_on_fail;
            p.delay_abort_eval_ns = t.delay_abort_eval.count();
            auto bad = [&](const std::string& what) {
                throw config_error("threshold on '" + sel_text + "': '" + t.expression + "': " + what);
            };
            if (t.delay_abort_eval.count() < 0) bad("delayAbortEval must not be negative");
            std::string_view e = trim(t.expression);
            // the aggregation
            auto take_word = [&] {
                std::size_t i = 0;
                while (i < e.size() && ((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= 'A' && e[i] <= 'Z'))) ++i;
                auto w = e.substr(0, i);
                e.remove_prefix(i);
                return w;
            };
            auto word = take_word();
            using stat = parsed_threshold::stat;
            if (word == "avg") p.what = stat::avg;
            else if (word == "min") p.what = stat::min;
            else if (word == "max") p.what = stat::max;
            else if (word == "med") p.what = stat::med;
            else if (word == "rate") p.what = stat::rate;
            else if (word == "count") p.what = stat::count;
            else if (word == "value") p.what = stat::value;
            else if (word == "p") {
                p.what = stat::pct;
                e = trim(e);
                if (e.empty() || e.front() != '(') bad("expected '(' after 'p', as in p(95)");
                auto close = e.find(')');
                if (close == std::string_view::npos) bad("expected ')' after the percentile, as in p(95)");
                auto num = trim(e.substr(1, close - 1));
                auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), p.percentile);
                if (ec != std::errc() || ptr != num.data() + num.size() || p.percentile < 0 || p.percentile > 100)
                    bad("expected a percentile between 0 and 100 in p(...), found '" + std::string(num) + "'");
                e.remove_prefix(close + 1);
            } else {
                bad("expected avg, min, max, med, p(N), rate, count or value at the start, found '" +
                    std::string(word.empty() ? e.substr(0, 12) : word) + "'");
            }
            // does it apply to this kind of metric?
            bool fits = false;
            switch (info->kind) {
                case metric_kind::trend:
                    fits = p.what == stat::avg || p.what == stat::min || p.what == stat::max || p.what == stat::med ||
                           p.what == stat::pct;
                    break;
                case metric_kind::rate: fits = p.what == stat::rate; break;
                case metric_kind::counter: fits = p.what == stat::count || p.what == stat::rate; break;
                case metric_kind::gauge: fits = p.what == stat::value; break;
            }
            if (!fits) {
                static const char* allowed[] = {"count or rate", "value", "rate", "avg, min, max, med or p(N)"};
                bad("'" + std::string(word) + "' does not apply to " + std::string(kind_name(info->kind)) + " '" +
                    base.selector.metric + "': use " + allowed[static_cast<int>(info->kind)]);
            }
            // the operator
            e = trim(e);
            using op = parsed_threshold::op;
            auto starts = [&](std::string_view s) {
                if (!e.starts_with(s)) return false;
                e.remove_prefix(s.size());
                return true;
            };
            if (starts("<=")) p.cmp = op::le;
            else if (starts(">=")) p.cmp = op::ge;
            else if (starts("===") || starts("==")) p.cmp = op::eq;
            else if (starts("!==") || starts("!=")) p.cmp = op::ne;
            else if (starts("<")) p.cmp = op::lt;
            else if (starts(">")) p.cmp = op::gt;
            else
                bad("expected an operator (<, <=, >, >=, ==, !=) after '" + std::string(word) +
                    (p.what == stat::pct ? "(...)" : "") + "', found '" + std::string(e) + "'");
            // the number
            e = trim(e);
            if (e.starts_with('+')) e.remove_prefix(1);
            auto [ptr, ec] = std::from_chars(e.data(), e.data() + e.size(), p.bound);
            if (e.empty() || ec != std::errc() || ptr != e.data() + e.size())
                bad("expected a number after the operator, found '" + std::string(e) + "'");
            out.push_back(std::move(p));
        }
    }
    return out;
}

// The value a threshold compares: trends in their reported unit (ms for times).
inline double threshold_value(const parsed_threshold& t, const aggregate& a, double secs) {
    using stat = parsed_threshold::stat;
    switch (t.what) {
        case stat::avg: return a.values.mean() * a.scale;
        case stat::min: return static_cast<double>(a.values.min()) * a.scale;
        case stat::max: return static_cast<double>(a.values.max()) * a.scale;
        case stat::med: return a.values.quantile(0.5) * a.scale;
        case stat::pct: return a.values.quantile(t.percentile / 100.0) * a.scale;
        case stat::count: return a.sum;
        case stat::value: return a.g.last;
        case stat::rate:
            if (a.kind == metric_kind::counter) return secs > 0 ? a.sum / secs : 0;
            return a.total > 0 ? a.trues / a.total : 0;
    }
    return 0;
}

inline bool threshold_holds(const parsed_threshold& t, double v) {
    using op = parsed_threshold::op;
    switch (t.cmp) {
        case op::lt: return v < t.bound;
        case op::le: return v <= t.bound;
        case op::gt: return v > t.bound;
        case op::ge: return v >= t.bound;
        case op::eq: return v == t.bound;
        case op::ne: return v != t.bound;
    }
    return false;
}

// Evaluates `list` on `m` (every one, or only abortOnFail ones whose delay has
// passed when `abort_only`). Returns the summary's "thresholds" array; `passed`
// is false when any evaluated threshold fails.
inline nlohmann::json evaluate_thresholds(std::vector<parsed_threshold>& list, const merged_metrics& m, double secs,
                                          bool& passed, bool abort_only = false, std::int64_t elapsed_ns = 0,
                                          std::string* first_failure = nullptr) {
    passed = true;
    nlohmann::json out = nlohmann::json::array();
    for (auto& t : list) {
        if (abort_only && (!t.abort_on_fail || elapsed_ns < t.delay_abort_eval_ns)) continue;
        aggregate a;
        collect(m, t.selector, a);
        double v = threshold_value(t, a, secs);
        bool ok = threshold_holds(t, v) && !t.failed_during_run;
        if (!ok) {
            if (passed && first_failure) *first_failure = t.selector_text + ": " + t.expression;
            passed = false;
            if (abort_only) t.failed_during_run = true;
        }
        out.push_back({{"metric", t.selector.text()},
                       {"threshold", t.expression},
                       {"ok", ok},
                       {"value", v},
                       {"abort_on_fail", t.abort_on_fail}});
    }
    return out;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
