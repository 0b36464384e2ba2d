#pragma once
// The run summary: shards merged by name into the seed's JSON shape
// {name, run_id, started_ms, ended_ms, duration_secs, scenarios, metrics,
//  checks, thresholds, thresholds_passed, aborted}, and the console report.
#include <algorithm>
#include <charconv>
#include <iterator>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "../metrics/histogram.hpp"
#include "../core/error_code.hpp"
#include "../metrics/registry.hpp"
#include "../metrics/shard.hpp"
#include "../core/config.hpp"
#include <optional>

namespace loadkit::inline LOADKIT_ABI {

// Everything measured in a run, merged across threads and keyed by names:
// what run_result::metrics and progress::metrics hold, what the summary,
// the thresholds, the exported state and the outputs (HTML, Prometheus,
// JSON/CSV lines) are made of. Plain data: HTTP requests by their tags
// (http_tags: scenario, name, method, status, error, expected, group, the
// request's own tags) with their counts and timing histograms (http_row);
// iterations and data per scenario; checks by scenario, name and group;
// custom metrics (Counter, Gauge, Rate, Trend) by their tags; the vus and
// vus_max gauges. Merges exactly: add() takes a thread's shard, the rows'
// merge() take another run's.
struct merged_metrics {
    struct http_row {
        std::uint64_t reqs = 0, failed = 0;
        histogram duration, blocked, connecting, tls_handshaking, sending, waiting, receiving, duration_intended;
        // from a thread's series or from another row: the same fields
        template <class Series>
        void merge(const Series& s) {
            reqs += s.reqs;
            failed += s.failed;
            duration.merge(s.duration);
            blocked.merge(s.blocked);
            connecting.merge(s.connecting);
            tls_handshaking.merge(s.tls_handshaking);
            sending.merge(s.sending);
            waiting.merge(s.waiting);
            receiving.merge(s.receiving);
            duration_intended.merge(s.duration_intended);
        }
    };
    struct http_tags {
        std::string scenario, name, method;
        int status;
        int error;
        bool expected;
        std::string group;
        std::string tags;  // the request's own, canonical
        auto operator<=>(const http_tags&) const = default;
    };
    struct gauge {
        double last = 0, min = 0, max = 0, sum = 0;
        std::uint64_t count = 0;
        std::int64_t last_ns = 0;
        // Another thread's (or series') gauge: min and max widen, the later value is the last.
        void merge(double o_min, double o_max, double o_last, std::int64_t o_last_ns, std::uint64_t o_count) {
            if (o_count == 0) return;
            if (count == 0) {
                min = o_min;
                max = o_max;
            }
            min = std::min(min, o_min);
            max = std::max(max, o_max);
            if (o_last_ns >= last_ns) {
                last = o_last;
                last_ns = o_last_ns;
            }
            count += o_count;
        }
    };
    struct custom_tags {
        std::string metric, scenario, group, tags;
        auto operator<=>(const custom_tags&) const = default;
    };
    struct custom_value {
        histogram values;
        double sum = 0;
        std::uint64_t trues = 0, total = 0;
        gauge g;
        template <class Series>
        void merge_series(const Series& s) {
            values.merge(s.values);
            sum += s.sum;
            trues += s.trues;
            total += s.total;
            if (s.last_ns) g.merge(s.min, s.max, s.last, s.last_ns, s.n);
        }
    };

    std::map<http_tags, http_row> http;
    std::map<std::string, scenario_series> scenarios;
    // A check's tags: its scenario, its name and its group's path ("" for
    // none, "::outer::inner" as k6 writes it).
    struct check_tags {
        std::string scenario, name, group;
        auto operator<=>(const check_tags&) const = default;
    };
    std::map<check_tags, check_series> checks;
    std::vector<std::string> check_order;  // check names, sorted
    std::map<custom_tags, custom_value> custom;
    gauge vus, vus_max;
    // tags that apply to whole scenarios and to the whole run (options, not samples)
    std::map<std::string, std::map<std::string, std::string, std::less<>>> scenario_tags;
    std::map<std::string, std::string, std::less<>> run_tags;

    void add(const detail::metrics_shard& s, const std::vector<std::string>& scenario_names) {
        for (auto& p : s.http_all()) {
            auto& k = p->key;
            http_tags t{scenario_names[k.scenario],
                        std::string(s.strings.name(k.name)),
                        std::string(s.strings.name(k.method)),
                        k.status,
                        k.error,
                        k.expected,
                        std::string(s.strings.name(k.group)),
                        std::string(s.strings.name(k.tags))};
            http[t].merge(*p);
        }
        for (std::size_t i = 0; i < s.scenarios().size(); ++i) {
            auto& src = s.scenarios()[i];
            auto& dst = scenarios[scenario_names[i]];
            dst.iterations += src.iterations;
            dst.interrupted += src.interrupted;
            dst.failed += src.failed;
            dst.dropped += src.dropped;
            dst.data_sent += src.data_sent;
            dst.data_received += src.data_received;
            dst.iteration_duration.merge(src.iteration_duration);
        }
        for (auto& [k, c] : s.checks()) {
            std::string name(s.strings.name(k.name));
            auto& dst = checks[{scenario_names[k.scenario], name, std::string(s.strings.name(k.group))}];
            if (std::find(check_order.begin(), check_order.end(), name) == check_order.end()) {
                // sorted, so that the order does not depend on thread scheduling
                check_order.insert(std::lower_bound(check_order.begin(), check_order.end(), name), name);
            }
            dst.passes += c.passes;
            dst.fails += c.fails;
        }
        auto& reg = detail::metric_registry::get();
        for (auto& [k, c] : s.customs()) {
            custom_tags t{reg.info(k.metric).name, scenario_names[k.scenario], std::string(s.strings.name(k.group)),
                          std::string(s.strings.name(k.tags))};
            custom[t].merge_series(*c);
        }
    }
    static void sample(gauge& g, double v) {
        if (g.count == 0) {
            g.min = g.max = v;
        }
        g.min = std::min(g.min, v);
        g.max = std::max(g.max, v);
        g.last = v;
        g.sum += v;
        ++g.count;
    }
};

// How the end-of-test summary shows trends (k6's summaryTrendStats and
// summaryTimeUnit, --summary-trend-stats and --summary-time-unit): each
// trend row's stats in order (avg, min, med, max, count, p(N)), and the unit
// of its times ("s", "ms", "us"; "" for each value in the unit that suits
// it). A p(N) the summary's agg does not carry (p90, p95, p99 always) is
// added to each trend's agg as "pN" ("p99.9", "p50").
struct summary_options {
    std::vector<std::string> trend_stats{"avg", "min", "med", "max", "p(90)", "p(95)"};
    std::string time_unit;
    bool enabled = true;  // false: no console summary and no handleSummary (k6's --no-summary)
};

namespace detail {

// The HTTP timing trends by metric name: one table for the summary, the
// thresholds and the exported state (report/state.hpp).
inline constexpr std::pair<std::string_view, histogram merged_metrics::http_row::*> http_trends[] = {
    {"http_req_blocked", &merged_metrics::http_row::blocked},
    {"http_req_connecting", &merged_metrics::http_row::connecting},
    {"http_req_duration", &merged_metrics::http_row::duration},
    {"http_req_duration_intended", &merged_metrics::http_row::duration_intended},
    {"http_req_receiving", &merged_metrics::http_row::receiving},
    {"http_req_sending", &merged_metrics::http_row::sending},
    {"http_req_tls_handshaking", &merged_metrics::http_row::tls_handshaking},
    {"http_req_waiting", &merged_metrics::http_row::waiting}};

// ------------------------------------------------------------ selecting samples by tags

using tag_filter = std::vector<std::pair<std::string, std::string>>;

// A metric with an optional tag filter: "http_req_duration{name:login,method:POST}".
struct metric_selector {
    std::string metric;
    tag_filter filter;
    // The canonical spelling, as the summary names sub-metrics.
    std::string text() const {
        std::string s = metric;
        if (filter.empty()) return s;
        s += '{';
        for (std::size_t i = 0; i < filter.size(); ++i) s += (i ? "," : "") + filter[i].first + ":" + filter[i].second;
        return s + '}';
    }
};

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Parses a selector; on a mistake returns false with `error` saying what was expected.
inline bool parse_selector(std::string_view text, metric_selector& out, std::string& error) {
    out = {};
    auto brace = text.find('{');
    out.metric = std::string(trim(text.substr(0, brace)));
    if (out.metric.empty()) {
        error = "expected a metric name";
        return false;
    }
    if (brace == std::string_view::npos) return true;
    if (text.back() != '}') {
        error = "expected '}' at the end of the tag filter";
        return false;
    }
    auto body = text.substr(brace + 1, text.size() - brace - 2);
    while (!body.empty()) {
        auto comma = body.find(',');
        auto pair = body.substr(0, comma);
        body = comma == std::string_view::npos ? std::string_view{} : body.substr(comma + 1);
        auto colon = pair.find(':');
        if (colon == std::string_view::npos) {
            error = "expected 'tag:value' in the tag filter, found '" + std::string(trim(pair)) + "'";
            return false;
        }
        auto k = trim(pair.substr(0, colon)), v = trim(pair.substr(colon + 1));
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
            v = v.substr(1, v.size() - 2);
        if (k.empty()) {
            error = "expected a tag name before ':' in the tag filter";
            return false;
        }
        out.filter.emplace_back(std::string(k), std::string(v));
    }
    if (out.filter.empty()) {
        error = "expected 'tag:value' between '{' and '}'";
        return false;
    }
    return true;
}

// k6's own tags of an HTTP sample, the one list the summary, thresholds and
// every output read: scenario, name, method, status, expected_response, and
// error_code (a failed request) and group (inside one) when they apply.
// Each reader adds them its own way (an output may drop empty values).
class http_sample_tags {
  public:
    explicit http_sample_tags(const merged_metrics::http_tags& t) {
        add("scenario", t.scenario);
        add("name", t.name);
        add("method", t.method);
        add("status", text(status_, t.status));
        add("expected_response", t.expected ? "true" : "false");
        if (t.error) add("error_code", text(error_, t.error));
        if (!t.group.empty()) add("group", t.group);
    }
    http_sample_tags(const http_sample_tags&) = delete;  // the views point into it
    http_sample_tags& operator=(const http_sample_tags&) = delete;
    const tag_pair* begin() const noexcept { return tags_; }
    const tag_pair* end() const noexcept { return tags_ + n_; }

  private:
    void add(std::string_view k, std::string_view v) noexcept { tags_[n_++] = {k, v}; }
    static std::string_view text(char (&buf)[12], int n) noexcept {
        return {buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, n).ptr - buf)};
    }
    tag_pair tags_[7];
    std::size_t n_ = 0;
    char status_[12], error_[12];
};

// The tags of one merged series: a few fixed ones, the request's or sample's
// own (canonical string), the scenario's and the run's.
struct tag_source {
    std::pair<std::string_view, std::string_view> fixed[8];
    std::size_t nfixed = 0;
    std::string_view canonical;
    const std::map<std::string, std::string, std::less<>>* scenario = nullptr;
    const std::map<std::string, std::string, std::less<>>* run = nullptr;

    void add(std::string_view k, std::string_view v) { fixed[nfixed++] = {k, v}; }
    std::optional<std::string_view> get(std::string_view key) const {
        for (std::size_t i = 0; i < nfixed; ++i)
            if (fixed[i].first == key) return fixed[i].second;
        for (std::string_view c = canonical; !c.empty();) {
            auto end = c.find('\x1e');
            auto pair = c.substr(0, end);
            auto sep = pair.find('\x1f');
            if (pair.substr(0, sep) == key) return pair.substr(sep + 1);
            c = end == std::string_view::npos ? std::string_view{} : c.substr(end + 1);
        }
        if (scenario)
            if (auto it = scenario->find(key); it != scenario->end()) return std::string_view(it->second);
        if (run)
            if (auto it = run->find(key); it != run->end()) return std::string_view(it->second);
        return std::nullopt;
    }
    bool matches(const tag_filter& f) const {
        for (auto& [k, v] : f) {
            auto got = get(k);
            if (!got || *got != v) return false;
        }
        return true;
    }
};

// One metric's samples, merged over every series that a filter selects.
struct aggregate {
    metric_kind kind = metric_kind::counter;
    double scale = 1e-6;          // trend units to reported units
    histogram values;             // trend
    double sum = 0;               // counter
    double trues = 0, total = 0;  // rate
    merged_metrics::gauge g;      // gauge
};

// Merges the samples of `sel` into `out`; false when no such metric exists.
// The one mechanism behind the summary, its sub-metrics and thresholds.
inline bool collect(const merged_metrics& m, const metric_selector& sel, aggregate& out) {
    auto* info = metric_registry::get().find(sel.metric);
    if (!info) return false;
    out.kind = info->kind;
    out.scale = trend_scale(info->time);
    const auto& name = sel.metric;
    auto scenario_tags = [&](const std::string& sc) -> const std::map<std::string, std::string, std::less<>>* {
        auto it = m.scenario_tags.find(sc);
        return it == m.scenario_tags.end() ? nullptr : &it->second;
    };
    if (name.starts_with("http_req")) {
        auto trend = std::find_if(std::begin(http_trends), std::end(http_trends),
                                  [&](auto& t) { return t.first == name; });
        for (auto& [t, r] : m.http) {
            tag_source src;
            http_sample_tags fixed(t);
            for (auto& [k, v] : fixed) src.add(k, v);
            src.add("url", t.name);  // thresholds may select by url: k6's url tag is the name
            src.canonical = t.tags;
            src.scenario = scenario_tags(t.scenario);
            src.run = &m.run_tags;
            if (!src.matches(sel.filter)) continue;
            if (trend != std::end(http_trends)) out.values.merge(r.*(trend->second));
            else if (name == "http_reqs") out.sum += static_cast<double>(r.reqs);
            else if (name == "http_req_failed") {
                out.trues += static_cast<double>(r.failed);
                out.total += static_cast<double>(r.reqs);
            }
        }
        return true;
    }
    static const std::map<std::string_view, std::uint64_t scenario_series::*> scenario_counters{
        {"iterations", &scenario_series::iterations},
        {"iterations_failed", &scenario_series::failed},
        {"iterations_interrupted", &scenario_series::interrupted},
        {"dropped_iterations", &scenario_series::dropped},
        {"data_sent", &scenario_series::data_sent},
        {"data_received", &scenario_series::data_received}};
    if (auto c = scenario_counters.find(name); c != scenario_counters.end() || name == "iteration_duration") {
        for (auto& [sc, s] : m.scenarios) {
            tag_source src;
            src.add("scenario", sc);
            src.scenario = scenario_tags(sc);
            src.run = &m.run_tags;
            if (!src.matches(sel.filter)) continue;
            if (c != scenario_counters.end()) out.sum += static_cast<double>(s.*(c->second));
            else out.values.merge(s.iteration_duration);
        }
        return true;
    }
    if (name == "checks") {
        for (auto& [k, c] : m.checks) {
            tag_source src;
            src.add("scenario", k.scenario);
            src.add("check", k.name);
            src.add("group", k.group);
            src.scenario = scenario_tags(k.scenario);
            src.run = &m.run_tags;
            if (!src.matches(sel.filter)) continue;
            out.trues += static_cast<double>(c.passes);
            out.total += static_cast<double>(c.passes + c.fails);
        }
        return true;
    }
    if (name == "vus" || name == "vus_max") {
        tag_source src;
        src.run = &m.run_tags;
        if (src.matches(sel.filter)) out.g = name == "vus" ? m.vus : m.vus_max;
        return true;
    }
    // custom metrics and group_duration
    for (auto it = m.custom.lower_bound({name, "", "", ""}); it != m.custom.end() && it->first.metric == name; ++it) {
        auto& [t, v] = *it;
        tag_source src;
        if (!t.scenario.empty()) src.add("scenario", t.scenario);
        if (!t.group.empty()) src.add("group", t.group);
        src.canonical = t.tags;
        src.scenario = scenario_tags(t.scenario);
        src.run = &m.run_tags;
        if (!src.matches(sel.filter)) continue;
        out.values.merge(v.values);
        out.sum += v.sum;
        out.trues += static_cast<double>(v.trues);
        out.total += static_cast<double>(v.total);
        out.g.merge(v.g.min, v.g.max, v.g.last, v.g.last_ns, v.g.count);
    }
    return true;
}

// Values keep full precision: rounding milliseconds to 3 decimals would cost
// 5% at the 20 us latencies of loopback targets.
inline nlohmann::json agg_json(double avg, double min, double med, double max, double p90, double p95, double p99,
                               double sum, double count, double rate, double per_second, double last) {
    return {{"avg", avg},
            {"min", min},
            {"med", med},
            {"max", max},
            {"p90", p90},
            {"p95", p95},
            {"p99", p99},
            {"sum", sum},
            {"count", count},
            {"rate", rate},
            {"per_second", per_second},
            {"last", last}};
}

// A trend's aggregate; `scale` converts recorded units (ns) to reported ones (ms).
inline nlohmann::json trend_agg(const histogram& h, double secs, double scale = 1e-6) {
    double n = static_cast<double>(h.count());
    double ps = secs > 0 ? n / secs : 0;
    return agg_json(h.mean() * scale, static_cast<double>(h.min()) * scale, h.quantile(0.5) * scale,
                    static_cast<double>(h.max()) * scale, h.quantile(0.9) * scale, h.quantile(0.95) * scale,
                    h.quantile(0.99) * scale, h.sum() * scale, n, ps, ps, 0);
}
// A counter's count is its total, as in k6 (data_sent's count is bytes).
inline nlohmann::json counter_agg(double total, double secs) {
    double ps = secs > 0 ? total / secs : 0;
    return agg_json(0, 0, 0, 0, 0, 0, 0, total, total, ps, ps, total);
}
inline nlohmann::json rate_agg(double trues, double total, double secs) {
    double r = total > 0 ? trues / total : 0;
    return agg_json(r, 0, 0, 0, 0, 0, 0, trues, total, std::round(r * 1e6) / 1e6, secs > 0 ? total / secs : 0, r);
}
inline nlohmann::json gauge_agg(const merged_metrics::gauge& g) {
    double avg = g.count && g.sum != 0 ? g.sum / static_cast<double>(g.count) : g.last;
    return agg_json(avg, g.min, 0, g.max, 0, 0, 0, g.sum, static_cast<double>(g.count), 0, 0, g.last);
}
inline nlohmann::json agg_of(const aggregate& a, double secs) {
    switch (a.kind) {
        case metric_kind::trend: return trend_agg(a.values, secs, a.scale);
        case metric_kind::counter: return counter_agg(a.sum, secs);
        case metric_kind::rate: return rate_agg(a.trues, a.total, secs);
        case metric_kind::gauge: return gauge_agg(a.g);
    }
    return {};
}

inline nlohmann::json metric_entry(std::string name, std::string_view kind, nlohmann::json agg) {
    return {{"metric", std::move(name)}, {"kind", kind}, {"agg", std::move(agg)}};
}

// "p(99.9)" -> "p99.9", the key of a percentile in a summary's agg; "" for
// a stat that is no percentile.
inline std::string percentile_key(std::string_view stat) {
    if (stat.size() < 4 || !stat.starts_with("p(") || stat.back() != ')') return {};
    return "p" + std::string(stat.substr(2, stat.size() - 3));
}

struct summary_input {
    std::string name, run_id;
    std::int64_t started_ms = 0, ended_ms = 0;
    std::vector<std::string> scenarios;
    std::optional<std::string> aborted;
    nlohmann::json thresholds = nlohmann::json::array();
    bool thresholds_passed = true;
    std::vector<std::string> submetrics;   // selectors with tags to report too (the thresholds')
    std::vector<std::string> trend_stats;  // summary_options::trend_stats: percentiles to add to trends' agg
};

// The summary's checks, the one rule every front end and report uses: one
// row per check name per group path, over scenarios (k6 keeps a check per
// group: root_group.groups[].checks), in group path then name order. Each
// row says its group ("" at the top) and k6's path ("::group::name").
inline nlohmann::json check_rows(const merged_metrics& m) {
    std::map<std::pair<std::string, std::string>, check_series> rows;  // (group, name)
    for (auto& [k, c] : m.checks) {
        auto& r = rows[{k.group, k.name}];
        r.passes += c.passes;
        r.fails += c.fails;
    }
    nlohmann::json out = nlohmann::json::array();
    for (auto& [k, c] : rows)
        out.push_back({{"name", k.second},
                       {"group", k.first},
                       {"path", k.first + "::" + k.second},
                       {"passes", static_cast<double>(c.passes)},
                       {"fails", static_cast<double>(c.fails)}});
    return out;
}

// The checks of a summary as k6's console shows them: those outside any
// group first, then each group under "█ name" with its checks and its
// own groups indented below it (rows come in group path order, so a group's
// rows follow its parent's).
inline std::string checks_text(const nlohmann::json& checks) {
    auto names = [](const std::string& group) {  // "::a::b" -> {a, b}
        std::vector<std::string> out;
        for (std::size_t at = 0; at + 2 <= group.size() && group.compare(at, 2, "::") == 0;) {
            auto next = group.find("::", at + 2);
            out.push_back(group.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2));
            if (next == std::string::npos) break;
            at = next;
        }
        return out;
    };
    std::string out;
    std::vector<std::string> open;  // the groups of the row before
    bool first = true;
    for (auto& c : checks) {
        auto path = names(c.value("group", std::string()));
        std::size_t same = 0;
        while (same < open.size() && same < path.size() && open[same] == path[same]) ++same;
        if (!first && (same != open.size() || same != path.size())) out += "\n";
        for (std::size_t i = same; i < path.size(); ++i)
            out += "    " + std::string(2 * i, ' ') + "\xe2\x96\x88 " + path[i] + "\n\n";
        double p = c["passes"], f = c["fails"];
        char b[64];
        std::snprintf(b, sizeof b, "  %.0f passed, %.0f failed\n", p, f);
        out += "    " + std::string(2 * path.size(), ' ') + (f == 0 ? "ok   " : "FAIL ") +
               c["name"].get<std::string>() + b;
        open = std::move(path);
        first = false;
    }
    return out;
}

inline nlohmann::json build_summary(const summary_input& in, const merged_metrics& m) {
    double secs = static_cast<double>(in.ended_ms - in.started_ms) / 1000.0;
    nlohmann::json checks = check_rows(m);
    // built-ins always; custom metrics, group_duration and ws_* (as in k6) when they have samples
    std::vector<std::string> names;
    for (auto& info : metric_registry::get().all())
        if (info.builtin && info.name != "group_duration" && !info.name.starts_with("ws_")) names.push_back(info.name);
    for (auto& [t, v] : m.custom)
        if (names.empty() || names.back() != t.metric) names.push_back(t.metric);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::vector<std::string> selectors;
    for (auto& n : names) {
        selectors.push_back(n);
        if (n == "http_req_duration") selectors.push_back("http_req_duration{expected_response:true}");
        for (auto& sub : in.submetrics)
            if (sub.starts_with(n + "{") && std::find(selectors.begin(), selectors.end(), sub) == selectors.end())
                selectors.push_back(sub);
    }
    nlohmann::json metrics = nlohmann::json::array();
    for (auto& text : selectors) {
        metric_selector sel;
        std::string err;
        aggregate a;
        if (!parse_selector(text, sel, err) || !collect(m, sel, a)) continue;
        auto agg = agg_of(a, secs);
        if (a.kind == metric_kind::trend)
            for (auto& stat : in.trend_stats) {
                auto key = percentile_key(stat);
                if (key.empty() || agg.contains(key)) continue;
                double q = std::strtod(key.c_str() + 1, nullptr) / 100;
                agg[key] = a.values.count() ? a.values.quantile(q) * a.scale : 0.0;
            }
        metrics.push_back(metric_entry(text, kind_name(a.kind), std::move(agg)));
    }

    nlohmann::json j;
    j["name"] = in.name;
    j["run_id"] = in.run_id;
    j["started_ms"] = in.started_ms;
    j["ended_ms"] = in.ended_ms;
    j["duration_secs"] = secs;
    j["scenarios"] = in.scenarios;
    j["metrics"] = std::move(metrics);
    j["checks"] = std::move(checks);
    j["thresholds"] = in.thresholds;
    j["thresholds_passed"] = in.thresholds_passed;
    j["aborted"] = in.aborted ? nlohmann::json(*in.aborted) : nlohmann::json();
    return j;
}

// ------------------------------------------------------------ console report

inline std::string fmt_ms(double ms) {
    char b[32];
    if (ms >= 1000) std::snprintf(b, sizeof b, "%.2fs", ms / 1000);
    else if (ms >= 1) std::snprintf(b, sizeof b, "%.2fms", ms);
    else std::snprintf(b, sizeof b, "%.2fus", ms * 1000);
    return b;
}
// A time in ms, in `unit` ("s", "ms", "us"; "" for the unit that suits it).
inline std::string fmt_time(double ms, std::string_view unit) {
    if (unit.empty()) return fmt_ms(ms);
    char b[32];
    if (unit == "s") std::snprintf(b, sizeof b, "%.2fs", ms / 1000);
    else if (unit == "us") std::snprintf(b, sizeof b, "%.2fus", ms * 1000);
    else std::snprintf(b, sizeof b, "%.2fms", ms);
    return b;
}
inline std::string fmt_bytes(double v) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        ++u;
    }
    char b[32];
    std::snprintf(b, sizeof b, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return b;
}
inline std::string dotted(std::string name, std::size_t width = 44) {
    name += ':';
    if (name.size() < width) name.insert(name.size() - 1, std::string(width - name.size(), '.'));
    return name;
}

inline std::string console_report(const nlohmann::json& s, const merged_metrics& m,
                                  const std::vector<std::string>& scenario_lines, const summary_options& format = {}) {
    std::string out;
    char b[512];
    out += "\n  loadkit " LOADKIT_VERSION_STRING "   run " + s["run_id"].get<std::string>() + "   " +
           s["name"].get<std::string>() + "\n\n";
    for (auto& l : scenario_lines) out += "  " + l + "\n";
    out += "\n";
    for (auto& e : s["metrics"]) {
        auto name = e["metric"].get<std::string>();
        auto kind = e["kind"].get<std::string>();
        auto& a = e["agg"];
        // metrics that only some runs have (sub-metrics, the open model's,
        // checks: k6 prints no checks line for a run without any) are left
        // out when empty
        bool optional = name.find('{') != std::string::npos || name == "http_req_duration_intended" ||
                        name == "dropped_iterations" || name == "checks";
        if (optional && a["count"].get<double>() == 0) continue;
        if (kind == "trend") {
            std::string row;
            for (auto& stat : format.trend_stats) {
                auto key = percentile_key(stat);  // "p(95)" -> "p95"; avg, min, med, max, count as they are
                if (key.empty()) key = stat;
                auto it = a.find(key);
                double v = it != a.end() && it->is_number() ? it->get<double>() : 0.0;
                char n[32];
                if (stat == "count") std::snprintf(n, sizeof n, "%.0f", v);
                row += (row.empty() ? "" : " ") + stat + "=" + (stat == "count" ? n : fmt_time(v, format.time_unit));
            }
            out += "    " + dotted(name) + " " + row + "\n";
            continue;
        } else if (kind == "rate") {
            std::snprintf(b, sizeof b, "%.2f%%  %.0f out of %.0f", a["rate"].get<double>() * 100,
                          a["sum"].get<double>(), a["count"].get<double>());
        } else if (kind == "counter") {
            if (name.starts_with("data_"))
                std::snprintf(b, sizeof b, "%s  %s/s", fmt_bytes(a["sum"]).c_str(), fmt_bytes(a["per_second"]).c_str());
            else std::snprintf(b, sizeof b, "%.0f  %.2f/s", a["sum"].get<double>(), a["per_second"].get<double>());
        } else {
            std::snprintf(b, sizeof b, "%.0f  min=%.0f max=%.0f", a["last"].get<double>(), a["min"].get<double>(),
                          a["max"].get<double>());
        }
        out += "    " + dotted(name) + " " + b + "\n";
    }
    if (!s["checks"].empty()) {
        out += "\n  checks:\n";
        out += checks_text(s["checks"]);
    }
    // per request name: the busiest ones (a URL with an id in it once printed
    // 19,997 rows); only what the table shows is merged, not every histogram
    struct name_row {
        std::uint64_t reqs = 0, failed = 0;
        histogram duration;
    };
    std::map<std::pair<std::string_view, std::string_view>, name_row> by_name;
    for (auto& [t, r] : m.http) {
        auto& row = by_name[{t.name, t.method}];
        row.reqs += r.reqs;
        row.failed += r.failed;
        row.duration.merge(r.duration);
    }
    if (!by_name.empty()) {
        constexpr std::size_t max_rows = 50;
        std::uint64_t hidden_reqs = 0;
        std::size_t hidden = 0;
        if (by_name.size() > max_rows) {
            std::vector<decltype(by_name)::iterator> order;
            for (auto it = by_name.begin(); it != by_name.end(); ++it) order.push_back(it);
            // the busiest first; among equals, the first by name (the map's order)
            std::stable_sort(order.begin(), order.end(),
                             [](auto a, auto b) { return a->second.reqs > b->second.reqs; });
            for (std::size_t i = max_rows; i < order.size(); ++i) {
                hidden_reqs += order[i]->second.reqs;
                ++hidden;
                by_name.erase(order[i]);
            }
        }
        std::size_t w = 4;
        for (auto& [k, r] : by_name) w = std::max(w, std::min<std::size_t>(k.first.size(), 48));
        std::snprintf(b, sizeof b, "\n  requests by name:\n    %-*s %-7s %10s %8s %10s %10s %10s %10s\n",
                      static_cast<int>(w), "name", "method", "count", "failed", "avg", "p(95)", "p(99)", "max");
        out += b;
        for (auto& [k, r] : by_name) {
            auto n = k.first.size() > 48 ? std::string(k.first.substr(0, 45)) + "..." : std::string(k.first);
            std::snprintf(b, sizeof b, "    %-*s %-7s %10llu %8llu %10s %10s %10s %10s\n", static_cast<int>(w),
                          n.c_str(), std::string(k.second).c_str(), static_cast<unsigned long long>(r.reqs),
                          static_cast<unsigned long long>(r.failed), fmt_ms(r.duration.mean() / 1e6).c_str(),
                          fmt_ms(r.duration.quantile(0.95) / 1e6).c_str(),
                          fmt_ms(r.duration.quantile(0.99) / 1e6).c_str(),
                          fmt_ms(static_cast<double>(r.duration.max()) / 1e6).c_str());
            out += b;
        }
        if (hidden)
            out += "    ... and " + std::to_string(hidden) + " less busy names (" + std::to_string(hidden_reqs) +
                   " requests): the summary export has every one\n";
    }
    // failures by error
    std::map<int, std::uint64_t> errors;
    for (auto& [t, r] : m.http)
        if (t.error) errors[t.error] += r.reqs;
    if (!errors.empty()) {
        out += "\n  errors:\n";
        for (auto& [code, n] : errors) {
            std::snprintf(b, sizeof b, "    %d %-50s %llu\n", code,
                          code >= 1400 && code < 1600 ? ("HTTP " + std::to_string(code - 1000)).c_str()
                                                      : std::string(describe(static_cast<error_code>(code))).c_str(),
                          static_cast<unsigned long long>(n));
            out += b;
        }
    }
    out += "\n";
    if (!s["thresholds"].empty()) {
        out += s["thresholds_passed"].get<bool>() ? "  thresholds: all passed\n" : "  thresholds: FAILED\n";
        for (auto& t : s["thresholds"]) {
            std::snprintf(b, sizeof b, "    %s %s  %s  (%g)%s\n", t["ok"].get<bool>() ? "ok  " : "FAIL",
                          t["metric"].get<std::string>().c_str(), t["threshold"].get<std::string>().c_str(),
                          t["value"].get<double>(), t["abort_on_fail"].get<bool>() ? "  abortOnFail" : "");
            out += b;
        }
        out += "\n";
    }
    if (!s["aborted"].is_null()) out += "  aborted: " + s["aborted"].get<std::string>() + "\n";
    std::snprintf(b, sizeof b, "  duration: %.2fs\n\n", s["duration_secs"].get<double>());
    out += b;
    return out;
}

}  // namespace detail

// Finds a metric's aggregate in a summary, or null.
inline const nlohmann::json* find_metric(const nlohmann::json& summary, std::string_view name) {
    for (auto& m : summary.at("metrics"))
        if (m.at("metric").get<std::string_view>() == name) return &m.at("agg");
    return nullptr;
}

}  // namespace loadkit::inline LOADKIT_ABI
