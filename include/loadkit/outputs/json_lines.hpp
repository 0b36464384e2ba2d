#pragma once
// `--out json=FILE`: one JSON object per line, per metric series and per
// interval (what changed since the previous snapshot), k6-style:
//   {"type":"Point","metric":"http_reqs","time":"2026-11-22T10:00:01.000Z","interval_secs":1,
//    "value":812,"tags":{"scenario":"users","name":"feed","method":"GET","status":"200",...}}
// Every point has the run's tags (--tag, options.tags) and its scenario's
// under its own, and "group" ("" outside groups, "::g1::g2" inside), as k6
// writes them. Counters give the interval's increase, rates the interval's ratio (with
// "count"), gauges their last value, trends the interval's mean in ms with
// "count", "min", "med", "p95", "p99" and "max". It is fed from the engine's
// progress snapshots (options::on_progress), so writing it never touches the
// hot path.
//
// `--out csv=FILE` writes the same points as CSV rows, one per point, under a
// fixed header (k6's first columns, then the interval's statistics, then the
// tags; tags outside the fixed columns go to extra_tags as k=v&k=v):
//   metric_name,timestamp,metric_value,interval_secs,count,min,med,p95,p99,max,
//   scenario,name,method,status,expected_response,error_code,group,check,extra_tags
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/summary.hpp"

namespace loadkit::inline LOADKIT_ABI {

class json_lines_output {
  public:
    enum class format { json, csv };
    explicit json_lines_output(std::ostream& out, format f = format::json) : out_(out), format_(f) {
        if (f == format::csv)
            out_ << "metric_name,timestamp,metric_value,interval_secs,count,min,med,p95,p99,max,"
                    "scenario,name,method,status,expected_response,error_code,group,check,extra_tags\n";
    }

    // Writes the points of everything that changed since the last call.
    void write(const merged_metrics& m, double elapsed_secs) {
        using namespace detail;
        double interval = elapsed_secs - last_secs_;
        last_secs_ = elapsed_secs;
        auto time = now_rfc3339();
        auto unix_secs = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        auto point =
            [&](std::string_view metric, nlohmann::json value, nlohmann::json tags, nlohmann::json extra = nullptr) {
            if (format_ == format::csv) return csv_row(metric, unix_secs, interval, value, tags, extra);
            nlohmann::json j{{"type", "Point"},           {"metric", metric},          {"time", time},
                             {"interval_secs", interval}, {"value", std::move(value)}, {"tags", std::move(tags)}};
            if (extra.is_object()) j.update(extra);
            out_ << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        };
        for (auto& [t, r] : m.http) {
            const merged_metrics::http_row* before = nullptr;
            if (prev_)
                if (auto it = prev_->http.find(t); it != prev_->http.end()) before = &it->second;
            auto reqs = r.reqs - (before ? before->reqs : 0);
            if (reqs == 0) continue;
            nlohmann::json tags = base_tags(m, t.scenario);
            for (auto& [k, v] : http_sample_tags(t)) tags[std::string(k)] = std::string(v);
            add_canonical(tags, t.tags);
            if (!tags.contains("group")) tags["group"] = "";  // k6 writes it outside groups too
            // k6's url tag: the URL, which is the name unless the script named
            // the request (the series keep only the name)
            if (t.name.starts_with("http://") || t.name.starts_with("https://")) tags.emplace("url", t.name);
            point("http_reqs", reqs, tags);
            auto failed = r.failed - (before ? before->failed : 0);
            point("http_req_failed", static_cast<double>(failed) / static_cast<double>(reqs), tags, {{"count", reqs}});
            trend_point(point, "http_req_duration", r.duration, before ? &before->duration : nullptr, tags);
            trend_point(point, "http_req_waiting", r.waiting, before ? &before->waiting : nullptr, tags);
        }
        for (auto& [name, sc] : m.scenarios) {
            if (name.empty()) continue;
            const scenario_series* before = nullptr;
            if (prev_)
                if (auto it = prev_->scenarios.find(name); it != prev_->scenarios.end()) before = &it->second;
            nlohmann::json tags = base_tags(m, name);
            tags["scenario"] = name;
            tags["group"] = "";  // an iteration's samples are outside any group (k6 writes it so)
            auto delta = [&](std::uint64_t scenario_series::*f) { return sc.*f - (before ? before->*f : 0); };
            if (auto d = delta(&scenario_series::iterations)) point("iterations", d, tags);
            if (auto d = delta(&scenario_series::dropped)) point("dropped_iterations", d, tags);
            if (auto d = delta(&scenario_series::data_sent)) point("data_sent", d, tags);
            if (auto d = delta(&scenario_series::data_received)) point("data_received", d, tags);
            trend_point(point, "iteration_duration", sc.iteration_duration,
                        before ? &before->iteration_duration : nullptr, tags);
        }
        for (auto& [k, c] : m.checks) {
            check_series before{};
            if (prev_)
                if (auto it = prev_->checks.find(k); it != prev_->checks.end()) before = it->second;
            auto passes = c.passes - before.passes, fails = c.fails - before.fails;
            if (passes + fails == 0) continue;
            nlohmann::json tags = base_tags(m, k.scenario);
            tags["scenario"] = k.scenario;
            tags["check"] = k.name;
            tags["group"] = k.group;  // "::outer::inner", or "" outside any group (k6 writes both)
            point("checks", static_cast<double>(passes) / static_cast<double>(passes + fails), std::move(tags),
                  {{"count", passes + fails}});
        }
        for (auto& [t, v] : m.custom) {
            const merged_metrics::custom_value* before = nullptr;
            if (prev_)
                if (auto it = prev_->custom.find(t); it != prev_->custom.end()) before = &it->second;
            nlohmann::json tags = base_tags(m, t.scenario);
            if (!t.scenario.empty()) tags["scenario"] = t.scenario;
            if (!t.scenario.empty() || !t.group.empty()) tags["group"] = t.group;
            add_canonical(tags, t.tags);
            auto* info = metric_registry::get().find(t.metric);
            if (!info) continue;
            switch (info->kind) {
                case metric_kind::counter:
                    if (double d = v.sum - (before ? before->sum : 0)) point(t.metric, d, tags);
                    break;
                case metric_kind::rate: {
                    auto total = v.total - (before ? before->total : 0);
                    if (total)
                        point(t.metric,
                              static_cast<double>(v.trues - (before ? before->trues : 0)) / static_cast<double>(total),
                              tags, {{"count", total}});
                    break;
                }
                case metric_kind::gauge:
                    if (v.g.count != (before ? before->g.count : 0)) point(t.metric, v.g.last, tags);
                    break;
                case metric_kind::trend:
                    trend_point(point, t.metric, v.values, before ? &before->values : nullptr, tags,
                                trend_scale(info->time));
                    break;
            }
        }
        point("vus", m.vus.last, base_tags(m, {}));
        out_.flush();
        prev_ = std::make_shared<merged_metrics>(m);
    }

  private:
    // The tags every point of a scenario carries before its own: the run's
    // (--tag, options.tags), then the scenario's over them; a sample's own
    // tags go over both (k6's order). They are options, not in the shard's
    // keys: the thresholds read them the same way (detail::tag_source).
    static nlohmann::json base_tags(const merged_metrics& m, const std::string& scenario) {
        nlohmann::json tags = nlohmann::json::object();
        for (auto& [k, v] : m.run_tags) tags[k] = v;
        if (!scenario.empty())
            if (auto it = m.scenario_tags.find(scenario); it != m.scenario_tags.end())
                for (auto& [k, v] : it->second) tags[k] = v;
        return tags;
    }
    // RFC 4180: quoted when it holds a comma, a quote or a line break.
    static std::string csv_field(std::string_view v) {
        if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
        std::string q = "\"";
        for (char c : v) {
            if (c == '"') q += '"';
            q += c;
        }
        return q + '"';
    }
    static std::string csv_number(const nlohmann::json& v) {
        if (v.is_null()) return "";
        if (v.is_number_float()) {
            char b[40];
            std::snprintf(b, sizeof b, "%.9g", v.get<double>());
            return b;
        }
        return v.dump();
    }
    void csv_row(std::string_view metric, double unix_secs, double interval, const nlohmann::json& value,
                 const nlohmann::json& tags, const nlohmann::json& extra) {
        static constexpr std::string_view columns[] = {"scenario",          "name",       "method", "status",
                                                       "expected_response", "error_code", "group",  "check"};
        auto get = [&](const char* k) { return extra.is_object() && extra.contains(k) ? extra[k] : nlohmann::json(); };
        char ts[32];
        std::snprintf(ts, sizeof ts, "%.3f", unix_secs);
        std::string row = csv_field(metric) + "," + ts + "," + csv_number(value) + "," + csv_number(interval);
        for (auto* k : {"count", "min", "med", "p95", "p99", "max"}) row += "," + csv_number(get(k));
        std::string extra_tags;
        for (auto c : columns) {
            row += ",";
            if (auto it = tags.find(c); it != tags.end() && it->is_string()) row += csv_field(it->get<std::string>());
        }
        for (auto& [k, v] : tags.items()) {
            if (std::find(std::begin(columns), std::end(columns), k) != std::end(columns) || !v.is_string()) continue;
            extra_tags += (extra_tags.empty() ? "" : "&") + k + "=" + v.get<std::string>();
        }
        out_ << row << "," << csv_field(extra_tags) << '\n';
    }
    static void add_canonical(nlohmann::json& tags, std::string_view c) {
        while (!c.empty()) {
            auto end = c.find('\x1e');
            auto pair = c.substr(0, end);
            auto sep = pair.find('\x1f');
            tags[std::string(pair.substr(0, sep))] = std::string(pair.substr(sep + 1));
            c = end == std::string_view::npos ? std::string_view{} : c.substr(end + 1);
        }
    }
    // The interval's part of a cumulative histogram: the bucket counts that grew.
    static histogram delta(const histogram& now, const histogram* before) {
        if (!before) return now;
        std::map<std::uint64_t, std::uint64_t> old;
        before->for_each_bucket([&](std::uint64_t lo, std::uint64_t, std::uint64_t k) { old[lo] = k; });
        histogram d;
        now.for_each_bucket([&](std::uint64_t lo, std::uint64_t hi, std::uint64_t k) {
            auto it = old.find(lo);
            auto was = it == old.end() ? 0 : it->second;
            if (k > was) d.record_n(lo + (hi - lo) / 2, k - was);
        });
        return d;
    }
    template <class Point>
    static void trend_point(Point& point, std::string_view metric, const histogram& now, const histogram* before,
                            const nlohmann::json& tags, double scale = 1e-6) {
        if (before && now.count() == before->count()) return;
        if (now.count() == 0) return;
        auto d = delta(now, before);
        point(metric, d.mean() * scale, tags,
              {{"count", d.count()},
               {"min", static_cast<double>(d.min()) * scale},
               {"med", d.quantile(0.5) * scale},
               {"p95", d.quantile(0.95) * scale},
               {"p99", d.quantile(0.99) * scale},
               {"max", static_cast<double>(d.max()) * scale}});
    }
    static std::string now_rfc3339() {
        auto now = std::chrono::system_clock::now();
        auto secs = std::chrono::system_clock::to_time_t(now);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char b[96];
        std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
        return b;
    }

    std::ostream& out_;
    format format_ = format::json;
    std::shared_ptr<merged_metrics> prev_;
    double last_secs_ = 0;
};

}  // namespace loadkit::inline LOADKIT_ABI
