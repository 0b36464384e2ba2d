#pragma once
// The run over time, for the HTML report's charts: one point per interval
// between two of the engine's cumulative progress snapshots
// (options::on_progress, about once per second, off the hot path):
//   {"t": 12.0, "interval_secs": 1.0, "time_ms": 1795600000000, "vus": 20,
//    "reqs": 812, "rps": 812.0, "failed": 3, "iterations": 406,
//    "p50": 1.2, "p95": 3.4, "p99": 5.6, "max": 9.1}
// t is the point's end (seconds since the run started), the latencies are
// http_req_duration over the interval in ms (null when it had no request),
// vus the gauge's last value. An interval under a tenth of the previous
// point's (the final snapshot, just after a periodic one) joins that point
// rather than charting a few requests over a few ms as a huge rate. Long runs
// are coarsened (see timeline_recorder).
// Also requests_table(): the per (name, method) rows of the console's
// "requests by name"; and merge_timelines(): instances' timelines as one
// (`loadkit merge`).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../metrics/histogram.hpp"
#include "summary.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {

// `now - before` for two cumulative histograms of the same series: the
// buckets that grew, each at its midpoint (as json_lines_output does).
// Both lists come lowest first, so one merge-like pass suffices.
inline histogram histogram_delta(const histogram& now, const histogram& before) {
    if (before.count() == 0) return now;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> old;  // (lowest value, count)
    before.for_each_bucket([&](std::uint64_t lo, std::uint64_t, std::uint64_t k) { old.emplace_back(lo, k); });
    histogram d;
    std::size_t i = 0;
    now.for_each_bucket([&](std::uint64_t lo, std::uint64_t hi, std::uint64_t k) {
        while (i < old.size() && old[i].first < lo) ++i;
        std::uint64_t was = i < old.size() && old[i].first == lo ? old[i].second : 0;
        if (k > was) d.record_n(lo + (hi - lo) / 2, k - was);
    });
    return d;
}

}  // namespace detail

// One action on the run while it went (engine/control.hpp: pause, resume,
// scale, stop, abort), as the summary's "control" list keeps it:
//   {"t": 4.2, "time_ms": 1795600000000, "action": "pause", "by": "cli"}
// (scale adds "vus" and "vus-max", a signal "signal"). t counts seconds from
// the run's start, as the timeline's points do.
struct control_action {
    double t = 0;
    std::int64_t time_ms = 0;
    std::string action, by;
    nlohmann::json detail;  // null, or an object merged into the row
};
inline nlohmann::json control_actions_json(const std::vector<control_action>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& a : list) {
        nlohmann::json row{{"t", a.t}, {"time_ms", a.time_ms}, {"action", a.action}, {"by", a.by}};
        if (a.detail.is_object()) row.update(a.detail);
        out.push_back(std::move(row));
    }
    return out;
}

// The same list in words, for the console report's header:
// "pause at 2.0s (cli), resume at 4.1s (cli), scale to 5/10 VUs at 5.0s (api)".
inline std::string control_actions_text(const std::vector<control_action>& list) {
    std::string out;
    for (auto& a : list) {
        if (!out.empty()) out += ", ";
        out += a.action;
        if (a.detail.is_object() && a.detail.contains("vus"))
            out += " to " + a.detail["vus"].dump() + "/" + a.detail.value("vus-max", nlohmann::json()).dump() + " VUs";
        char b[32];
        std::snprintf(b, sizeof b, " at %.1fs", a.t);
        out += b;
        out += " (" + a.by;
        if (a.detail.is_object() && a.detail.contains("signal")) out += " " + a.detail["signal"].get<std::string>();
        out += ")";
    }
    return out;
}

// The control actions (the summary's "control" list) placed on the timeline
// too: each goes into the "control" list of the point whose interval holds
// it (the first point ending at or after it; the last point for one after
// the last snapshot), so that the export's timeline says when the run was
// paused, scaled or stopped next to what it did then.
inline nlohmann::json with_control_actions(nlohmann::json timeline, const nlohmann::json& actions) {
    if (!timeline.is_array() || timeline.empty() || !actions.is_array()) return timeline;
    for (auto& a : actions) {
        if (!a.is_object() || !a.contains("t") || !a["t"].is_number()) continue;
        double t = a["t"].get<double>();
        auto* point = &timeline.back();
        for (auto& p : timeline)
            if (p.is_object() && p.contains("t") && p["t"].is_number() && p["t"].get<double>() >= t) {
                point = &p;
                break;
            }
        if (!point->is_object()) continue;
        (*point)["control"].push_back(a);
    }
    return timeline;
}

class timeline_recorder {
  public:
    // Past `max_points` points, neighbours are merged pairwise and later
    // points cover twice as many snapshots: at one snapshot a second, an hour
    // at full resolution, then 2 s points, 4 s after two hours... Memory stays
    // at about max_points points plus two histograms, however long the run.
    explicit timeline_recorder(std::size_t max_points = 3600) : max_points_(std::max<std::size_t>(max_points, 2)) {}

    // One cumulative snapshot; elapsed_secs counts from the run's start.
    void add(const merged_metrics& m, double elapsed_secs) {
        totals now;
        now.secs = elapsed_secs;
        for (auto& [tags, row] : m.http) {
            now.reqs += row.reqs;
            now.failed += row.failed;
            now.duration.merge(row.duration);
        }
        for (auto& [name, s] : m.scenarios)
            if (!name.empty()) now.iterations += s.iterations;

        point p = measure(base_, now);
        p.vus = m.vus.last;
        p.time_ms = detail::wall_ms();
        if (!points_.empty() && points_.back().snapshots < stride_) {
            // the last point is still open: it grows to cover this snapshot too,
            // measured from its own start, so its percentiles stay exact
            p.snapshots = points_.back().snapshots + 1;
            points_.back() = p;
        } else if (!points_.empty() && p.interval < 0.1 * points_.back().interval) {
            // a sliver (the final snapshot right after a periodic one): on its
            // own, a few requests over a few ms would chart as a huge rate
            p.snapshots = 1;
            points_.back() = combine(points_.back(), p);
        } else {
            p.snapshots = 1;
            points_.push_back(p);
        }
        if (points_.back().snapshots >= stride_) base_ = std::move(now);  // closed: the next point starts here
        if (points_.size() > max_points_ && points_.back().snapshots >= stride_) coarsen();
    }

    // The points, oldest first.
    nlohmann::json json() const {
        nlohmann::json out = nlohmann::json::array();
        for (auto& p : points_) {
            auto ms = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
            out.push_back({{"t", p.t},
                           {"interval_secs", p.interval},
                           {"time_ms", p.time_ms},
                           {"vus", p.vus},
                           {"reqs", p.reqs},
                           {"rps", p.interval > 0 ? static_cast<double>(p.reqs) / p.interval : 0.0},
                           {"failed", p.failed},
                           {"iterations", p.iterations},
                           {"p50", ms(p.p50)},
                           {"p95", ms(p.p95)},
                           {"p99", ms(p.p99)},
                           {"max", ms(p.max)}});
        }
        return out;
    }
    std::size_t size() const noexcept { return points_.size(); }

  private:
    // What a point is measured from: run-wide totals at one snapshot.
    struct totals {
        double secs = 0;
        std::uint64_t reqs = 0, failed = 0, iterations = 0;
        histogram duration;  // http_req_duration over every request row
    };
    struct point {
        double t = 0, interval = 0, vus = 0;
        std::int64_t time_ms = 0;
        std::uint64_t reqs = 0, failed = 0, iterations = 0;
        std::optional<double> p50, p95, p99, max;  // ms
        std::size_t snapshots = 0;                 // how many add() calls it covers
    };

    // Counters never go down; if a caller feeds an unrelated snapshot anyway,
    // its whole value counts rather than wrapping around.
    static std::uint64_t grew(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : now; }

    static point measure(const totals& before, const totals& now) {
        point p;
        p.t = now.secs;
        p.interval = std::max(0.0, now.secs - before.secs);
        p.reqs = grew(now.reqs, before.reqs);
        p.failed = grew(now.failed, before.failed);
        p.iterations = grew(now.iterations, before.iterations);
        auto d = now.duration.count() >= before.duration.count()
                     ? detail::histogram_delta(now.duration, before.duration)
                     : now.duration;
        if (d.count()) {
            p.p50 = d.quantile(0.50) / 1e6;
            p.p95 = d.quantile(0.95) / 1e6;
            p.p99 = d.quantile(0.99) / 1e6;
            // the exact maximum when it was set in this interval, else the bucket's midpoint
            p.max = static_cast<double>(now.duration.max() > before.duration.max() ? now.duration.max() : d.max()) /
                    1e6;
        }
        return p;
    }

    // Two neighbouring points as one. Without the intervals' histograms, the
    // percentiles are the larger of the two: an upper bound, and a latency
    // spike stays visible.
    static point combine(const point& a, const point& b) {
        point m = b;  // the later point's end, time and VU gauge
        m.interval = a.interval + b.interval;
        m.reqs = a.reqs + b.reqs;
        m.failed = a.failed + b.failed;
        m.iterations = a.iterations + b.iterations;
        m.snapshots = a.snapshots + b.snapshots;
        auto larger = [](const std::optional<double>& x, const std::optional<double>& y) {
            return x && y ? std::optional<double>(std::max(*x, *y)) : x ? x : y;
        };
        m.p50 = larger(a.p50, b.p50);
        m.p95 = larger(a.p95, b.p95);
        m.p99 = larger(a.p99, b.p99);
        m.max = larger(a.max, b.max);
        return m;
    }

    // Merges neighbours pairwise, newest first, so the last (closed) point
    // gets the new stride; an odd one out stays at the start.
    void coarsen() {
        std::vector<point> out;
        out.reserve(points_.size() / 2 + 1);
        std::size_t i = points_.size();
        while (i >= 2) {
            out.push_back(combine(points_[i - 2], points_[i - 1]));
            i -= 2;
        }
        if (i == 1) out.push_back(points_[0]);
        std::reverse(out.begin(), out.end());
        points_ = std::move(out);
        stride_ *= 2;
    }

    std::size_t max_points_;
    std::size_t stride_ = 1;  // snapshots per point from now on
    std::vector<point> points_;
    totals base_;  // the snapshot where the open (or next) point starts
};

// One row per (request name, method), like the console's "requests by name":
// {"name","method","count","failed","avg","med","p90","p95","p99","max"} in ms.
inline nlohmann::json requests_table(const merged_metrics& m) {
    std::map<std::pair<std::string, std::string>, merged_metrics::http_row> by_name;
    for (auto& [t, r] : m.http) by_name[{t.name, t.method}].merge(r);
    nlohmann::json rows = nlohmann::json::array();
    for (auto& [k, r] : by_name) {
        auto& h = r.duration;
        rows.push_back({{"name", k.first},
                        {"method", k.second},
                        {"count", r.reqs},
                        {"failed", r.failed},
                        {"avg", h.mean() / 1e6},
                        {"med", h.quantile(0.5) / 1e6},
                        {"p90", h.quantile(0.9) / 1e6},
                        {"p95", h.quantile(0.95) / 1e6},
                        {"p99", h.quantile(0.99) / 1e6},
                        {"max", static_cast<double>(h.max()) / 1e6}});
    }
    return rows;
}

// Instances' timelines on one time axis (wall-clock seconds): counts add;
// percentiles are the requests-weighted mean of the instances' (marked
// approximate: interval histograms are not exported).
inline nlohmann::json merge_timelines(const std::vector<nlohmann::json>& timelines, std::int64_t started_ms) {
    struct slot {
        double reqs = 0, failed = 0, iterations = 0, vus = 0, wsum[4] = {0, 0, 0, 0}, w = 0, max = 0;
        bool any_latency = false;
    };
    std::map<std::int64_t, slot> slots;
    for (auto& tl : timelines) {
        if (!tl.is_array()) continue;
        for (auto& p : tl) {
            if (!p.is_object() || !p.contains("time_ms")) continue;
            auto& s = slots[p.value("time_ms", std::int64_t{0}) / 1000];
            auto num = [&](const char* k) { return p.contains(k) && p[k].is_number() ? p[k].get<double>() : 0.0; };
            s.reqs += num("reqs");
            s.failed += num("failed");
            s.iterations += num("iterations");
            s.vus += num("vus");
            const char* q[] = {"p50", "p95", "p99"};
            if (p.contains("p50") && p["p50"].is_number()) {
                for (int i = 0; i < 3; ++i) s.wsum[i] += num(q[i]) * num("reqs");
                s.w += num("reqs");
                s.max = std::max(s.max, num("max"));
                s.any_latency = true;
            }
        }
    }
    nlohmann::json out = nlohmann::json::array();
    std::int64_t prev = -1;
    for (auto& [sec, s] : slots) {
        double interval = prev < 0 ? 1.0 : static_cast<double>(sec - prev);
        prev = sec;
        nlohmann::json p{{"t", static_cast<double>(sec * 1000 - started_ms) / 1000.0},
                         {"interval_secs", interval},
                         {"time_ms", sec * 1000},
                         {"vus", s.vus},
                         {"reqs", s.reqs},
                         {"rps", s.reqs / interval},
                         {"failed", s.failed},
                         {"iterations", s.iterations},
                         {"approximate", true}};
        if (s.any_latency && s.w > 0) {
            p["p50"] = s.wsum[0] / s.w;
            p["p95"] = s.wsum[1] / s.w;
            p["p99"] = s.wsum[2] / s.w;
            p["max"] = s.max;
        } else {
            p["p50"] = p["p95"] = p["p99"] = p["max"] = nullptr;
        }
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace loadkit::inline LOADKIT_ABI
