#pragma once
// `loadkit inspect FILE`: a test's options after every flag, environment
// variable and default was applied, as JSON with k6's keys (`k6 inspect`):
// vus, duration, iterations and stages (the shortcuts, null when the
// scenarios were written out), scenarios (each executor with k6's keys),
// thresholds, tags, setupTimeout/teardownTimeout, the HTTP options loadkit
// reads, summaryTrendStats and summaryTimeUnit; with
// --execution-requirements, totalDuration and maxVUs too.
//
// Where it differs from k6: k6 prints its options as the script gave them
// (null for what the script left out) and every option k6 has; this prints
// what the run will use (each scenario's defaults filled in) and only the
// options loadkit reads.
#include <algorithm>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include <loadkit/core/duration.hpp>
#include <loadkit/engine/executors.hpp>
#include <loadkit/yaml.hpp>

namespace loadkit::runner {

// in k6's order of keys, not sorted
using ordered_json = nlohmann::ordered_json;

inline ordered_json stages_json(const std::vector<loadkit::stage>& stages) {
    auto out = ordered_json::array();
    for (auto& s : stages) out.push_back({{"duration", loadkit::format_duration(s.duration)}, {"target", s.target}});
    return out;
}

// A scenario as k6 writes it (executor, startTime, gracefulStop, env, exec,
// tags, then its executor's own keys).
inline ordered_json scenario_json(const loadkit::yaml::scenario_plan& sc) {
    using loadkit::format_duration;
    ordered_json j{{"executor", std::string(loadkit::executor_name(sc.exec))}};
    std::visit(
        [&](auto& x) {
        j["startTime"] = format_duration(x.start_time);
        j["gracefulStop"] = format_duration(x.graceful_stop);
        },
        sc.exec);
    j["env"] = sc.env.empty() ? ordered_json() : ordered_json(sc.env);
    j["exec"] = sc.exec_function.empty() ? ordered_json() : ordered_json(sc.exec_function);
    j["tags"] = sc.tags.empty() ? ordered_json() : ordered_json(sc.tags);
    std::visit(
        [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, loadkit::constant_vus>) {
            j["vus"] = x.vus;
            j["duration"] = format_duration(x.duration);
        } else if constexpr (std::is_same_v<T, loadkit::ramping_vus>) {
            j["startVUs"] = x.start_vus;
            j["stages"] = stages_json(x.stages);
            j["gracefulRampDown"] = format_duration(x.graceful_ramp_down);
        } else if constexpr (std::is_same_v<T, loadkit::per_vu_iterations> ||
                             std::is_same_v<T, loadkit::shared_iterations>) {
            j["vus"] = x.vus;
            j["iterations"] = x.iterations;
            j["maxDuration"] = format_duration(x.max_duration);
        } else if constexpr (std::is_same_v<T, loadkit::constant_arrival_rate>) {
            j["rate"] = x.rate;
            j["timeUnit"] = format_duration(x.time_unit);
            j["duration"] = format_duration(x.duration);
            j["preAllocatedVUs"] = x.pre_allocated_vus;
            j["maxVUs"] = x.max_vus ? x.max_vus : x.pre_allocated_vus;
        } else if constexpr (std::is_same_v<T, loadkit::externally_controlled>) {
            j["vus"] = x.vus;
            j["maxVUs"] = x.max_vus ? x.max_vus : x.vus;
            j["duration"] = format_duration(x.duration);
        } else {
            j["startRate"] = x.start_rate;
            j["timeUnit"] = format_duration(x.time_unit);
            j["stages"] = stages_json(x.stages);
            j["preAllocatedVUs"] = x.pre_allocated_vus;
            j["maxVUs"] = x.max_vus ? x.max_vus : x.pre_allocated_vus;
        }
        },
        sc.exec);
    return j;
}

// The longest a scenario may run: its start, its schedule (or maxDuration)
// and its gracefulStop (k6's totalDuration is the largest over scenarios).
inline loadkit::nanoseconds scenario_end(const loadkit::executor& e) {
    return std::visit(
        [](auto& x) {
        using T = std::decay_t<decltype(x)>;
        loadkit::nanoseconds d{};
        if constexpr (requires { x.stages; }) {
            for (auto& s : x.stages) d += s.duration;
        } else if constexpr (requires { x.max_duration; }) {
            d = x.max_duration;
        } else {
            d = x.duration;
        }
        (void)sizeof(T);
        return x.start_time + d + x.graceful_stop;
        },
        e);
}

struct inspect_input {
    const loadkit::yaml::plan* plan = nullptr;
    nlohmann::json shortcuts = nlohmann::json::object();  // vus, duration, iterations, stages as given
    std::vector<std::string> trend_stats;
    std::string time_unit;
    bool execution_requirements = false;
};

inline ordered_json inspect_json(const inspect_input& in) {
    auto& p = *in.plan;
    ordered_json j;
    for (auto* k : {"vus", "duration", "iterations", "stages"})
        j[k] = in.shortcuts.contains(k) ? ordered_json::parse(in.shortcuts[k].dump()) : ordered_json();
    ordered_json scenarios = ordered_json::object();
    for (auto& sc : p.scenarios) scenarios[sc.name] = scenario_json(sc);
    j["scenarios"] = scenarios;
    j["setupTimeout"] = loadkit::format_duration(p.setup_timeout);
    j["teardownTimeout"] = loadkit::format_duration(p.teardown_timeout);
    j["maxRedirects"] = p.http.max_redirects;
    j["userAgent"] = p.http.user_agent;
    j["insecureSkipTLSVerify"] = p.http.insecure_skip_tls_verify;
    j["discardResponseBodies"] = p.http.discard_response_bodies;
    j["http2"] = p.http.http2 == loadkit::http2_mode::alpn              ? "auto"
                 : p.http.http2 == loadkit::http2_mode::prior_knowledge ? "prior-knowledge"
                                                                        : "off";
    ordered_json thresholds = ordered_json::object();
    for (auto& [metric, list] : p.thresholds) {
        auto& a = thresholds[metric] = ordered_json::array();
        for (auto& t : list)
            if (!t.abort_on_fail) a.push_back(t.expression);
            else
                a.push_back(ordered_json{{"threshold", t.expression},
                                         {"abortOnFail", true},
                                         {"delayAbortEval", loadkit::format_duration(t.delay_abort_eval)}});
    }
    j["thresholds"] = thresholds.empty() ? ordered_json() : thresholds;
    j["summaryTrendStats"] = in.trend_stats;
    j["summaryTimeUnit"] = in.time_unit.empty() ? ordered_json() : ordered_json(in.time_unit);
    j["tags"] = p.tags.empty() ? ordered_json() : ordered_json(p.tags);
    if (in.execution_requirements) {
        loadkit::nanoseconds total{};
        std::int64_t vus = 0;
        for (auto& sc : p.scenarios) {
            total = std::max(total, scenario_end(sc.exec));
            vus += loadkit::executor_max_vus(sc.exec);
        }
        j["totalDuration"] = loadkit::format_duration(total);
        j["maxVUs"] = vus;
    }
    return j;
}

}  // namespace loadkit::runner
