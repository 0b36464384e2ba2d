#pragma once
// The run summary: shards merged by name into the seed's JSON shape
// {name, run_id, started_ms, ended_ms, duration_secs, scenarios, metrics,
//  checks, thresholds, thresholds_passed, aborted}, and the console report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "../metrics/histogram.hpp"
#include "../http/errors.hpp"
#include "../metrics/shard.hpp"
#include "../config.hpp"
#include <optional>

namespace loadkit {

namespace detail {

// Everything measured in a run, merged across threads, keyed by names.
struct merged_metrics {
    struct http_row {
        std::uint64_t reqs = 0, failed = 0;
        histogram duration, blocked, connecting, tls_handshaking, sending, waiting, receiving, duration_intended;
        // from a thread's series or from another row: the same fields
        template <class Series>
        void merge(const Series& s) {
            reqs += s.reqs; failed += s.failed;
            duration.merge(s.duration); blocked.merge(s.blocked); connecting.merge(s.connecting);
            tls_handshaking.merge(s.tls_handshaking); sending.merge(s.sending); waiting.merge(s.waiting);
            receiving.merge(s.receiving); duration_intended.merge(s.duration_intended);
        }
    };
    struct http_tags {
        std::string scenario, name, method;
        int status;
        int error;
        bool expected;
        std::string group;
        auto operator<=>(const http_tags&) const = default;
    };
    std::map<http_tags, http_row> http;
    std::map<std::string, scenario_series> scenarios;
    std::map<std::pair<std::string, std::string>, check_series> checks;  // (scenario, check name)
    std::vector<std::string> check_order;  // check names, sorted
    struct gauge { double last = 0, min = 0, max = 0, sum = 0; std::uint64_t count = 0; };
    gauge vus, vus_max;

    void add(const metrics_shard& s, const std::vector<std::string>& scenario_names) {
        for (auto& p : s.http_all()) {
            auto& k = p->key;
            http_tags t{scenario_names[k.scenario], std::string(s.strings.name(k.name)), std::string(s.strings.name(k.method)),
                        k.status, k.error, k.expected, k.group ? std::string(s.strings.name(k.group)) : std::string()};
            http[t].merge(*p);
        }
        for (std::size_t i = 0; i < s.scenarios().size(); ++i) {
            auto& src = s.scenarios()[i];
            auto& dst = scenarios[scenario_names[i]];
            dst.iterations += src.iterations; dst.interrupted += src.interrupted; dst.failed += src.failed;
            dst.dropped += src.dropped;
            dst.data_sent += src.data_sent; dst.data_received += src.data_received;
            dst.iteration_duration.merge(src.iteration_duration);
        }
        for (auto& [k, c] : s.checks()) {
            std::string name(s.strings.name(k.name));
            auto& dst = checks[{scenario_names[k.scenario], name}];
            if (std::find(check_order.begin(), check_order.end(), name) == check_order.end()) {
                // sorted, so that the order does not depend on thread scheduling
                check_order.insert(std::lower_bound(check_order.begin(), check_order.end(), name), name);
            }
            dst.passes += c.passes; dst.fails += c.fails;
        }
    }
    static void sample(gauge& g, double v) {
        if (g.count == 0) { g.min = g.max = v; }
        g.min = std::min(g.min, v); g.max = std::max(g.max, v);
        g.last = v; g.sum += v; ++g.count;
    }
};

// Values keep full precision: rounding milliseconds to 3 decimals would cost
// 5% at the 20 us latencies of loopback targets.
inline nlohmann::json agg_json(double avg, double min, double med, double max, double p90, double p95, double p99, double sum,
                               double count, double rate, double per_second, double last) {
    return {{"avg", avg},   {"min", min},   {"med", med},     {"max", max},
            {"p90", p90},   {"p95", p95},   {"p99", p99},     {"sum", sum},
            {"count", count}, {"rate", rate}, {"per_second", per_second}, {"last", last}};
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
    double avg = g.count ? g.sum / static_cast<double>(g.count) : 0;
    return agg_json(avg, g.min, 0, g.max, 0, 0, 0, g.sum, static_cast<double>(g.count), 0, 0, g.last);
}

inline nlohmann::json metric_entry(std::string name, std::string_view kind, nlohmann::json agg) {
    return {{"metric", std::move(name)}, {"kind", kind}, {"agg", std::move(agg)}};
}

struct summary_input {
    std::string name, run_id;
    std::int64_t started_ms = 0, ended_ms = 0;
    std::vector<std::string> scenarios;
    std::optional<std::string> aborted;
    nlohmann::json thresholds = nlohmann::json::array();
    bool thresholds_passed = true;
};

inline nlohmann::json build_summary(const summary_input& in, const merged_metrics& m) {
    double secs = static_cast<double>(in.ended_ms - in.started_ms) / 1000.0;
    merged_metrics::http_row all, expected;
    for (auto& [t, r] : m.http) {
        all.merge(r);
        if (t.expected) expected.merge(r);
    }
    scenario_series it{};
    for (auto& [n, s] : m.scenarios) {
        it.iterations += s.iterations; it.interrupted += s.interrupted; it.failed += s.failed; it.dropped += s.dropped;
        it.data_sent += s.data_sent; it.data_received += s.data_received;
        it.iteration_duration.merge(s.iteration_duration);
    }
    double passes = 0, fails = 0;
    nlohmann::json checks = nlohmann::json::array();
    for (auto& name : m.check_order) {
        double p = 0, f = 0;
        for (auto& [k, c] : m.checks)
            if (k.second == name) { p += static_cast<double>(c.passes); f += static_cast<double>(c.fails); }
        passes += p; fails += f;
        checks.push_back({{"name", name}, {"passes", p}, {"fails", f}});
    }
    auto reqs = static_cast<double>(all.reqs);
    nlohmann::json metrics = nlohmann::json::array();
    metrics.push_back(metric_entry("checks", "rate", rate_agg(passes, passes + fails, secs)));
    metrics.push_back(metric_entry("data_received", "counter", counter_agg(static_cast<double>(it.data_received), secs)));
    metrics.push_back(metric_entry("data_sent", "counter", counter_agg(static_cast<double>(it.data_sent), secs)));
    metrics.push_back(metric_entry("dropped_iterations", "counter", counter_agg(static_cast<double>(it.dropped), secs)));
    metrics.push_back(metric_entry("http_req_blocked", "trend", trend_agg(all.blocked, secs)));
    metrics.push_back(metric_entry("http_req_connecting", "trend", trend_agg(all.connecting, secs)));
    metrics.push_back(metric_entry("http_req_duration", "trend", trend_agg(all.duration, secs)));
    metrics.push_back(metric_entry("http_req_duration{expected_response:true}", "trend", trend_agg(expected.duration, secs)));
    metrics.push_back(metric_entry("http_req_duration_intended", "trend", trend_agg(all.duration_intended, secs)));
    metrics.push_back(metric_entry("http_req_failed", "rate", rate_agg(static_cast<double>(all.failed), reqs, secs)));
    metrics.push_back(metric_entry("http_req_receiving", "trend", trend_agg(all.receiving, secs)));
    metrics.push_back(metric_entry("http_req_sending", "trend", trend_agg(all.sending, secs)));
    metrics.push_back(metric_entry("http_req_tls_handshaking", "trend", trend_agg(all.tls_handshaking, secs)));
    metrics.push_back(metric_entry("http_req_waiting", "trend", trend_agg(all.waiting, secs)));
    metrics.push_back(metric_entry("http_reqs", "counter", counter_agg(reqs, secs)));
    metrics.push_back(metric_entry("iteration_duration", "trend", trend_agg(it.iteration_duration, secs)));
    auto iters = static_cast<double>(it.iterations);
    metrics.push_back(metric_entry("iterations", "counter", counter_agg(iters, secs)));
    metrics.push_back(metric_entry("iterations_failed", "counter", counter_agg(static_cast<double>(it.failed), secs)));
    metrics.push_back(metric_entry("iterations_interrupted", "counter", counter_agg(static_cast<double>(it.interrupted), secs)));
    metrics.push_back(metric_entry("vus", "gauge", gauge_agg(m.vus)));
    metrics.push_back(metric_entry("vus_max", "gauge", gauge_agg(m.vus_max)));

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
inline std::string fmt_bytes(double v) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1000 && u < 4) { v /= 1000; ++u; }
    char b[32];
    std::snprintf(b, sizeof b, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return b;
}
inline std::string dotted(std::string name, std::size_t width = 44) {
    name += ':';
    if (name.size() < width) name.insert(name.size() - 1, std::string(width - name.size(), '.'));
    return name;
}

inline std::string console_report(const nlohmann::json& s, const merged_metrics& m, const std::vector<std::string>& scenario_lines) {
    std::string out;
    char b[512];
    out += "\n  loadkit " LOADKIT_VERSION_STRING "   run " + s["run_id"].get<std::string>() + "   " + s["name"].get<std::string>() + "\n\n";
    for (auto& l : scenario_lines) out += "  " + l + "\n";
    out += "\n";
    for (auto& e : s["metrics"]) {
        auto name = e["metric"].get<std::string>();
        auto kind = e["kind"].get<std::string>();
        auto& a = e["agg"];
        if (kind == "trend") {
            if (a["count"].get<double>() == 0 && name.find('{') != std::string::npos) continue;
            std::snprintf(b, sizeof b, "avg=%s min=%s med=%s max=%s p(90)=%s p(95)=%s p(99)=%s",
                          fmt_ms(a["avg"]).c_str(), fmt_ms(a["min"]).c_str(), fmt_ms(a["med"]).c_str(), fmt_ms(a["max"]).c_str(),
                          fmt_ms(a["p90"]).c_str(), fmt_ms(a["p95"]).c_str(), fmt_ms(a["p99"]).c_str());
        } else if (kind == "rate") {
            std::snprintf(b, sizeof b, "%.2f%%  %.0f out of %.0f", a["rate"].get<double>() * 100, a["sum"].get<double>(),
                          a["count"].get<double>());
        } else if (kind == "counter") {
            if (name.starts_with("data_"))
                std::snprintf(b, sizeof b, "%s  %s/s", fmt_bytes(a["sum"]).c_str(), fmt_bytes(a["per_second"]).c_str());
            else
                std::snprintf(b, sizeof b, "%.0f  %.2f/s", a["sum"].get<double>(), a["per_second"].get<double>());
        } else {
            std::snprintf(b, sizeof b, "%.0f  min=%.0f max=%.0f", a["last"].get<double>(), a["min"].get<double>(), a["max"].get<double>());
        }
        out += "    " + dotted(name) + " " + b + "\n";
    }
    if (!s["checks"].empty()) {
        out += "\n  checks:\n";
        for (auto& c : s["checks"]) {
            double p = c["passes"], f = c["fails"];
            std::snprintf(b, sizeof b, "    %s %s  %.0f passed, %.0f failed\n", f == 0 ? "ok  " : "FAIL", c["name"].get<std::string>().c_str(), p, f);
            out += b;
        }
    }
    // per request name
    std::map<std::pair<std::string, std::string>, merged_metrics::http_row> by_name;
    for (auto& [t, r] : m.http) by_name[{t.name, t.method}].merge(r);
    if (!by_name.empty()) {
        std::size_t w = 4;
        for (auto& [k, r] : by_name) w = std::max(w, std::min<std::size_t>(k.first.size(), 48));
        std::snprintf(b, sizeof b, "\n  requests by name:\n    %-*s %-7s %10s %8s %10s %10s %10s %10s\n", static_cast<int>(w), "name",
                      "method", "count", "failed", "avg", "p(95)", "p(99)", "max");
        out += b;
        for (auto& [k, r] : by_name) {
            auto n = k.first.size() > 48 ? k.first.substr(0, 45) + "..." : k.first;
            std::snprintf(b, sizeof b, "    %-*s %-7s %10llu %8llu %10s %10s %10s %10s\n", static_cast<int>(w), n.c_str(), k.second.c_str(),
                          static_cast<unsigned long long>(r.reqs), static_cast<unsigned long long>(r.failed),
                          fmt_ms(r.duration.mean() / 1e6).c_str(), fmt_ms(r.duration.quantile(0.95) / 1e6).c_str(),
                          fmt_ms(r.duration.quantile(0.99) / 1e6).c_str(), fmt_ms(static_cast<double>(r.duration.max()) / 1e6).c_str());
            out += b;
        }
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
    if (!s["thresholds"].empty()) out += s["thresholds_passed"].get<bool>() ? "  thresholds: all passed\n" : "  thresholds: FAILED\n";
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

}  // namespace loadkit
