#pragma once
// A run's metrics as data that merges exactly: every series with its counts
// and its histograms' buckets (not percentiles, which do not add). Each
// instance of a test split over machines exports this with its summary;
// `loadkit merge` (merge_runs) adds them up, so the merged summary's
// percentiles come from the merged histograms, and its thresholds are judged
// on the whole test's data.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../metrics/histogram.hpp"
#include "../metrics/registry.hpp"
#include "summary.hpp"
#include "thresholds.hpp"

namespace loadkit::inline LOADKIT_ABI {

// The run's metadata that merging needs besides the metrics.
struct run_state_info {
    std::string name, run_id, segment;
    std::int64_t started_ms = 0, ended_ms = 0;
    std::optional<std::string> aborted;
    std::vector<std::string> scenarios;
    threshold_set thresholds;
};

namespace detail {

inline constexpr std::string_view state_format = "loadkit-state/1";

// {"n": count, "sum", "min", "max", "b": [lowest value, count, lowest value, count, ...]}
inline nlohmann::json histogram_json(const histogram& h) {
    // unsigned, as every count here: merge_histogram_json takes unsigned
    // integers, and a merged state is merged again in memory, not only
    // through text (where a plain 0 would parse as unsigned anyway)
    if (h.count() == 0) return {{"n", std::uint64_t{0}}};
    nlohmann::json b = nlohmann::json::array();
    h.for_each_bucket([&](std::uint64_t lo, std::uint64_t, std::uint64_t n) {
        b.push_back(lo);
        b.push_back(n);
    });
    return {{"n", h.count()},
            {"sum", static_cast<std::uint64_t>(h.sum())},
            {"min", h.min()},
            {"max", h.max()},
            {"b", std::move(b)}};
}

// Malformed input throws std::invalid_argument naming `where`.
inline void merge_histogram_json(histogram& into, const nlohmann::json& j, const std::string& where) {
    auto bad = [&](const std::string& what) { throw std::invalid_argument(where + ": " + what); };
    if (!j.is_object() || !j.contains("n") || !j["n"].is_number_unsigned())
        bad("expected a histogram {\"n\": count, ...}");
    auto n = j["n"].get<std::uint64_t>();
    if (n == 0) return;
    auto b = j.value("b", nlohmann::json());
    if (!b.is_array() || b.size() % 2) bad("expected \"b\": [value, count, ...]");
    histogram h;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < b.size(); i += 2) {
        if (!b[i].is_number_unsigned() || !b[i + 1].is_number_unsigned())
            bad("expected non-negative integers in \"b\"");
        auto k = b[i + 1].get<std::uint64_t>();
        h.record_n(b[i].get<std::uint64_t>(), k);
        total += k;
    }
    if (total != n) bad("bucket counts add up to " + std::to_string(total) + ", not " + std::to_string(n));
    auto num = [&](const char* key) {
        if (!j.contains(key) || !j[key].is_number_unsigned())
            bad(std::string("expected \"") + key + "\": a non-negative integer");
        return j[key].get<std::uint64_t>();
    };
    h.restore_exact(num("sum"), num("min"), num("max"));
    into.merge(h);
}

inline nlohmann::json gauge_json(const merged_metrics::gauge& g) {
    return {{"last", g.last}, {"min", g.min},     {"max", g.max},
            {"sum", g.sum},   {"count", g.count}, {"last_ns", g.last_ns}};
}
inline merged_metrics::gauge gauge_from_json(const nlohmann::json& j) {
    merged_metrics::gauge g;
    g.last = j.value("last", 0.0);
    g.min = j.value("min", 0.0);
    g.max = j.value("max", 0.0);
    g.sum = j.value("sum", 0.0);
    g.count = j.value("count", std::uint64_t{0});
    g.last_ns = j.value("last_ns", std::int64_t{0});
    return g;
}

inline nlohmann::json thresholds_json(const threshold_set& set) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& [metric, list] : set) {
        nlohmann::json criteria = nlohmann::json::array();
        for (auto& t : list)
            criteria.push_back({{"expression", t.expression},
                                {"abort_on_fail", t.abort_on_fail},
                                {"delay_abort_eval_ns", t.delay_abort_eval.count()}});
        out.push_back({{"metric", metric}, {"criteria", std::move(criteria)}});
    }
    return out;
}
inline threshold_set thresholds_from_json(const nlohmann::json& j) {
    threshold_set set;
    for (auto& e : j) {
        std::vector<threshold> list;
        for (auto& c : e.at("criteria"))
            list.emplace_back(c.at("expression").get<std::string>(), c.value("abort_on_fail", false),
                              nanoseconds(c.value("delay_abort_eval_ns", std::int64_t{0})));
        set.emplace_back(e.at("metric").get<std::string>(), std::move(list));
    }
    return set;
}

// Everything in `m`, and what merging needs to know about the run.
inline nlohmann::json export_state(const merged_metrics& m, const run_state_info& info) {
    nlohmann::json http = nlohmann::json::array();
    for (auto& [t, r] : m.http) {
        nlohmann::json row{{"scenario", t.scenario}, {"name", t.name},   {"method", t.method},
                           {"status", t.status},     {"error", t.error}, {"expected", t.expected},
                           {"group", t.group},       {"tags", t.tags},   {"reqs", r.reqs},
                           {"failed", r.failed}};
        for (auto& [metric, field] : http_trends) row[std::string(metric)] = histogram_json(r.*field);
        http.push_back(std::move(row));
    }
    nlohmann::json scenarios = nlohmann::json::array();
    for (auto& [name, s] : m.scenarios)
        scenarios.push_back({{"name", name},
                             {"iterations", s.iterations},
                             {"interrupted", s.interrupted},
                             {"failed", s.failed},
                             {"dropped", s.dropped},
                             {"data_sent", s.data_sent},
                             {"data_received", s.data_received},
                             {"iteration_duration", histogram_json(s.iteration_duration)}});
    nlohmann::json checks = nlohmann::json::array();
    for (auto& [k, c] : m.checks)
        checks.push_back(
            {{"scenario", k.scenario}, {"name", k.name}, {"group", k.group}, {"passes", c.passes}, {"fails", c.fails}});
    nlohmann::json custom = nlohmann::json::array();
    auto& reg = metric_registry::get();
    for (auto& [t, v] : m.custom) {
        auto* mi = reg.find(t.metric);
        custom.push_back({{"metric", t.metric},
                          {"kind", mi ? kind_name(mi->kind) : "trend"},
                          {"time", mi && mi->time},
                          {"scenario", t.scenario},
                          {"group", t.group},
                          {"tags", t.tags},
                          {"values", histogram_json(v.values)},
                          {"sum", v.sum},
                          {"trues", v.trues},
                          {"total", v.total},
                          {"gauge", gauge_json(v.g)}});
    }
    nlohmann::json scenario_tags = nlohmann::json::object();
    for (auto& [sc, tags] : m.scenario_tags) scenario_tags[sc] = tags;
    // declared custom metrics, with or without samples: thresholds may name them
    nlohmann::json declared = nlohmann::json::array();
    for (auto& mi : reg.all())
        if (!mi.builtin) declared.push_back({{"metric", mi.name}, {"kind", kind_name(mi.kind)}, {"time", mi.time}});
    return {{"format", state_format},
            {"name", info.name},
            {"run_id", info.run_id},
            {"segment", info.segment},
            {"started_ms", info.started_ms},
            {"ended_ms", info.ended_ms},
            {"aborted", info.aborted ? nlohmann::json(*info.aborted) : nlohmann::json()},
            {"scenarios_run", info.scenarios},
            {"thresholds", thresholds_json(info.thresholds)},
            {"declared", std::move(declared)},
            {"http", std::move(http)},
            {"scenarios", std::move(scenarios)},
            {"checks", std::move(checks)},
            {"custom", std::move(custom)},
            {"vus", gauge_json(m.vus)},
            {"vus_max", gauge_json(m.vus_max)},
            {"scenario_tags", std::move(scenario_tags)},
            {"run_tags", m.run_tags}};
}

// A string field of an imported state, or `fallback` when absent or not a
// string (json::value would throw a type_error, which is not the
// invalid_argument merge_runs promises).
inline std::string string_field(const nlohmann::json& j, const char* key, const char* fallback) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}

// Adds one exported state to `m` (and its metadata to `info`). Counts and
// histograms add; VU gauges add too (instances run side by side); other
// gauges keep the latest value. Throws std::invalid_argument naming `file`
// and what was expected.
inline void import_state(const nlohmann::json& st, const std::string& file, merged_metrics& m, run_state_info& info,
                         bool first) {
    auto bad = [&](const std::string& what) { throw std::invalid_argument(file + ": " + what); };
    if (!st.is_object() || string_field(st, "format", "") != state_format)
        bad("expected a summary exported by loadkit (--summary-export) with \"state\": {\"format\": \"" +
            std::string(state_format) + "\"}");
    try {
        // times in ms since 1970, bounded so that durations (ended - started)
        // cannot overflow: 0 to 10^15 (the year 33658)
        for (const char* key : {"started_ms", "ended_ms"})
            if (auto t = st.find(key); t != st.end() && !(t->is_number_integer() && t->get<std::int64_t>() >= 0 &&
                                                          t->get<std::int64_t>() <= 1'000'000'000'000'000))
                bad(std::string("\"") + key + "\": expected milliseconds since 1970, found " + t->dump());
        if (first) {
            info.name = st.value("name", "loadkit");
            info.started_ms = st.value("started_ms", std::int64_t{0});
            info.ended_ms = st.value("ended_ms", std::int64_t{0});
            info.thresholds = thresholds_from_json(st.value("thresholds", nlohmann::json::array()));
            info.scenarios = st.value("scenarios_run", std::vector<std::string>{});
        } else {
            info.started_ms = std::min(info.started_ms, st.value("started_ms", info.started_ms));
            info.ended_ms = std::max(info.ended_ms, st.value("ended_ms", info.ended_ms));
            for (auto& s : st.value("scenarios_run", std::vector<std::string>{}))
                if (std::find(info.scenarios.begin(), info.scenarios.end(), s) == info.scenarios.end())
                    info.scenarios.push_back(s);
        }
        // find(), not operator[]: on a const object, [] of a missing key is
        // undefined behaviour (an assertion, or a read past the map's end)
        if (auto a = st.find("aborted"); a != st.end() && !a->is_null() && !info.aborted)
            info.aborted = a->get<std::string>();
        for (auto& r : st.at("http")) {
            merged_metrics::http_tags t{r.at("scenario"), r.at("name"),     r.at("method"), r.at("status"),
                                        r.at("error"),    r.at("expected"), r.at("group"),  r.at("tags")};
            auto& row = m.http[t];
            row.reqs += r.at("reqs").get<std::uint64_t>();
            row.failed += r.at("failed").get<std::uint64_t>();
            for (auto& [metric, field] : http_trends)
                merge_histogram_json(row.*field, r.at(std::string(metric)),
                                     file + ": http row " + t.name + ": " + std::string(metric));
        }
        for (auto& s : st.at("scenarios")) {
            auto& d = m.scenarios[s.at("name").get<std::string>()];
            d.iterations += s.at("iterations").get<std::uint64_t>();
            d.interrupted += s.at("interrupted").get<std::uint64_t>();
            d.failed += s.at("failed").get<std::uint64_t>();
            d.dropped += s.at("dropped").get<std::uint64_t>();
            d.data_sent += s.at("data_sent").get<std::uint64_t>();
            d.data_received += s.at("data_received").get<std::uint64_t>();
            merge_histogram_json(d.iteration_duration, s.at("iteration_duration"),
                                 file + ": scenario " + s.at("name").get<std::string>());
        }
        for (auto& c : st.at("checks")) {
            auto name = c.at("name").get<std::string>();
            auto& d = m.checks[{c.at("scenario").get<std::string>(), name, c.value("group", std::string())}];
            d.passes += c.at("passes").get<std::uint64_t>();
            d.fails += c.at("fails").get<std::uint64_t>();
            if (!std::binary_search(m.check_order.begin(), m.check_order.end(), name))
                m.check_order.insert(std::lower_bound(m.check_order.begin(), m.check_order.end(), name), name);
        }
        auto& reg = metric_registry::get();
        auto declare = [&](const nlohmann::json& c) {
            auto metric = c.at("metric").get<std::string>();
            if (reg.find(metric)) return metric;
            auto kind = c.at("kind").get<std::string>();
            metric_kind k = kind == "counter" ? metric_kind::counter
                            : kind == "gauge" ? metric_kind::gauge
                            : kind == "rate"  ? metric_kind::rate
                                              : metric_kind::trend;
            reg.add(metric, k, c.value("time", false));
            return metric;
        };
        for (auto& c : st.value("declared", nlohmann::json::array())) declare(c);
        for (auto& c : st.at("custom")) {
            auto metric = declare(c);
            merged_metrics::custom_tags t{metric, c.at("scenario"), c.at("group"), c.at("tags")};
            auto& v = m.custom[t];
            merge_histogram_json(v.values, c.at("values"), file + ": metric " + metric);
            v.sum += c.at("sum").get<double>();
            v.trues += c.at("trues").get<std::uint64_t>();
            v.total += c.at("total").get<std::uint64_t>();
            auto g = gauge_from_json(c.at("gauge"));
            v.g.merge(g.min, g.max, g.last, g.last_ns, g.count);
            v.g.sum += g.sum;
        }
        // instances run side by side: their VUs add up
        for (auto [key, gauge] : {std::pair{"vus", &m.vus}, std::pair{"vus_max", &m.vus_max}}) {
            auto g = gauge_from_json(st.at(key));
            if (first) *gauge = g;
            else {
                gauge->last += g.last;
                gauge->min += g.min;
                gauge->max += g.max;
                gauge->sum += g.sum;
                gauge->count = std::max(gauge->count, g.count);
            }
        }
        for (auto& [sc, tags] : st.at("scenario_tags").items())
            for (auto& [k, v] : tags.items()) m.scenario_tags[sc][k] = v.get<std::string>();
        for (auto& [k, v] : st.at("run_tags").items()) m.run_tags[k] = v.get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        bad(std::string("malformed state: ") + e.what());
    }
}

}  // namespace detail

// A summary file with its state: the summary pretty-printed for people, the
// state (thousands of bucket counts) on one line at the end.
inline std::string export_text(const nlohmann::json& summary, const nlohmann::json& state,
                               const nlohmann::json& extra = nullptr) {
    auto text = summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    text.pop_back();  // the closing brace
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (extra.is_object())
        for (auto& [k, v] : extra.items())
            if (!summary.contains(k))
                text += ",\n  \"" + k + "\": " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!state.is_null())
        text += ",\n  \"state\": " + state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return text + "\n}\n";
}

// What `loadkit merge` makes of several runs' exports.
struct merged_run {
    nlohmann::json summary;  // the seed's shape, from the merged data
    nlohmann::json state;    // the merged state (merges again)
    std::string report;      // the console report
    merged_metrics metrics;
    bool thresholds_passed = true;
};

// Merges exported runs ({file name, the export's "state"}): counts add,
// histograms merge, the run spans the earliest start to the latest end, and
// thresholds (the first export's) are judged on the merged data.
inline merged_run merge_runs(const std::vector<std::pair<std::string, nlohmann::json>>& states,
                             bool run_thresholds = true) {
    if (states.empty()) throw std::invalid_argument("nothing to merge");
    merged_run out;
    run_state_info info;
    std::vector<std::string> segments;
    for (std::size_t i = 0; i < states.size(); ++i) {
        detail::import_state(states[i].second, states[i].first, out.metrics, info, i == 0);
        segments.push_back(detail::string_field(states[i].second, "segment", ""));
    }
    detail::summary_input in;
    in.name = info.name;
    in.run_id = "merged";
    for (auto& st : states) in.run_id += "-" + detail::string_field(st.second, "run_id", "?").substr(0, 6);
    in.started_ms = info.started_ms;
    in.ended_ms = info.ended_ms;
    in.scenarios = info.scenarios;
    in.aborted = info.aborted;
    std::vector<detail::parsed_threshold> thresholds;
    if (run_thresholds) {
        try {
            thresholds = detail::parse_thresholds(info.thresholds);
        } catch (const config_error& e) {
            throw std::invalid_argument(states[0].first + ": thresholds: " + e.what());
        }
        for (auto& t : thresholds)
            if (!t.selector.filter.empty()) in.submetrics.push_back(t.selector.text());
        bool passed = true;
        in.thresholds = detail::evaluate_thresholds(thresholds, out.metrics,
                                                    static_cast<double>(in.ended_ms - in.started_ms) / 1000.0, passed);
        in.thresholds_passed = passed;
    }
    out.thresholds_passed = in.thresholds_passed;
    out.summary = detail::build_summary(in, out.metrics);
    std::string segs;
    for (auto& s : segments) segs += (segs.empty() ? "" : ", ") + (s.empty() ? std::string("0:1") : s);
    out.report = detail::console_report(
        out.summary, out.metrics,
        {"merged: " + std::to_string(states.size()) + (states.size() == 1 ? " run" : " runs") +
         " (execution segments " + segs + ")"});
    info.run_id = in.run_id;
    out.state = detail::export_state(out.metrics, info);
    return out;
}

}  // namespace loadkit::inline LOADKIT_ABI
