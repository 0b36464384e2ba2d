#pragma once
// What a run returns: the summary, the state that merges exactly, the
// metrics it was built from, the report, the verdict and the exit code; and
// typed access to them for load tests inside test code:
//
//   auto r = loadkit::run<Shop>(...);
//   CHECK(r.metric("http_req_duration").p(95) < 200);          // ms, as thresholds read it
//   CHECK(r.metric("http_reqs{name:login}").count > 0);         // the same selectors as thresholds
//   CHECK(r.check("status is 200").rate() == 1.0);
//   CHECK(r.requests("login").failed == 0);
//   for (auto& t : r.thresholds()) if (!t.passed) ...
//
// Every view is read from the same merged metrics (and, for checks and
// thresholds, the same rows) as the summary: detail::collect() is the one
// mechanism behind the summary, thresholds and these views, so a number read
// here is the number the summary and the thresholds saw.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "options.hpp"
#include "summary.hpp"

namespace loadkit::inline LOADKIT_ABI {

// One metric (or sub-metric) of a run, as the summary aggregates it. Trends
// are in the summary's units (time trends in ms); p(N) works for any N.
struct metric_values {
    std::string name;  // as asked for, e.g. "http_req_duration{name:login}"
    metric_kind kind = metric_kind::counter;
    double count = 0;  // trend: samples; counter: its total (k6's count); rate: samples; gauge: samples
    double rate = 0;   // counter, trend: per second; rate: the share of non-zero samples (0..1)
    double sum = 0;    // trend: sum of values; counter: its total; rate: non-zero samples
    double avg = 0, min = 0, med = 0, max = 0;
    double value = 0;  // gauge: its last value; rate: as `rate`; counter: as `count`
    // The value at the N-th percentile (0..100), e.g. p(95), p(99.9); 0 for a
    // metric that is no trend or has no samples.
    double p(double n) const noexcept {
        if (kind != metric_kind::trend || !values_.count()) return 0;
        return values_.quantile(n / 100) * scale_;
    }

  private:
    friend struct run_result;
    histogram values_;
    double scale_ = 1e-6;
};

// One check (every group and scenario it ran in, added up).
struct check_values {
    std::string name;
    std::uint64_t passes = 0, fails = 0;
    double rate() const noexcept {
        auto n = passes + fails;
        return n ? static_cast<double>(passes) / static_cast<double>(n) : 0.0;
    }
};

// The requests of one name tag (every method, status and scenario), as the
// summary's "requests by name" table counts them; durations in ms.
struct request_values {
    std::string name;
    std::uint64_t count = 0, failed = 0;
    double avg = 0, min = 0, max = 0;
    double p(double n) const noexcept { return duration_.count() ? duration_.quantile(n / 100) * 1e-6 : 0; }

  private:
    friend struct run_result;
    histogram duration_;
};

// One threshold as the run evaluated it (the summary's "thresholds" rows).
struct threshold_values {
    std::string name;        // the metric (with its tag filter): "http_req_duration{name:login}"
    std::string expression;  // "p(95)<200"
    bool passed = true;
    double value = 0;  // what the expression's left side came to
    bool abort_on_fail = false;
};

struct run_result {
    nlohmann::json summary;
    // The metrics as data that merges exactly (`loadkit merge`): also written
    // into options::summary_export's file as "state".
    nlohmann::json state;
    std::shared_ptr<const merged_metrics> metrics;  // what the summary was built from
    std::string report;                             // what was (or would have been) printed
    bool thresholds_passed = true;
    std::optional<std::string> aborted;
    int code = exit_code::ok;
    int exit_code() const noexcept { return code; }

    // A metric by name or selector ("http_reqs", "http_req_duration{name:login}",
    // a custom metric's name). Throws std::out_of_range for a name no metric
    // has (a typo must not read as a passing zero).
    metric_values metric(std::string_view selector) const {
        detail::metric_selector sel;
        std::string error;
        if (!detail::parse_selector(selector, sel, error))
            throw std::invalid_argument("run_result::metric(\"" + std::string(selector) + "\"): " + error);
        detail::aggregate a;
        static const merged_metrics none;
        if (!detail::collect(metrics ? *metrics : none, sel, a))
            throw std::out_of_range("run_result::metric: no metric named '" + sel.metric + "'");
        metric_values v;
        v.name = std::string(selector);
        v.kind = a.kind;
        double secs = duration_secs();
        switch (a.kind) {
            case metric_kind::trend: {
                auto& h = a.values;
                v.count = static_cast<double>(h.count());
                v.rate = secs > 0 ? v.count / secs : 0;
                v.sum = h.sum() * a.scale;
                v.avg = h.mean() * a.scale;
                v.min = static_cast<double>(h.min()) * a.scale;
                v.med = h.quantile(0.5) * a.scale;
                v.max = static_cast<double>(h.max()) * a.scale;
                v.values_ = std::move(a.values);
                v.scale_ = a.scale;
                break;
            }
            case metric_kind::counter:
                v.count = v.sum = v.value = a.sum;
                v.rate = secs > 0 ? a.sum / secs : 0;
                break;
            case metric_kind::rate:
                v.count = a.total;
                v.sum = a.trues;
                v.rate = v.value = a.total > 0 ? a.trues / a.total : 0;
                break;
            case metric_kind::gauge:
                v.count = static_cast<double>(a.g.count);
                v.min = a.g.min;
                v.max = a.g.max;
                v.value = a.g.last;
                v.avg = a.g.count && a.g.sum != 0 ? a.g.sum / static_cast<double>(a.g.count) : a.g.last;
                break;
        }
        return v;
    }

    // A check by name (or by k6's path, "::group::name"), over every group
    // and scenario; zero passes and fails when no such check ran.
    check_values check(std::string_view name) const {
        check_values c;
        c.name = std::string(name);
        if (!summary.contains("checks")) return c;
        for (auto& row : summary["checks"]) {
            if (row.value("name", std::string()) != name && row.value("path", std::string()) != name) continue;
            c.passes += static_cast<std::uint64_t>(row.value("passes", 0.0));
            c.fails += static_cast<std::uint64_t>(row.value("fails", 0.0));
        }
        return c;
    }

    // The requests whose name tag is `name` (a YAML step's name, a DSL
    // request's name, the URL when none was given).
    request_values requests(std::string_view name) const {
        request_values r;
        r.name = std::string(name);
        if (!metrics) return r;
        for (auto& [t, row] : metrics->http) {
            if (t.name != name) continue;
            r.count += row.reqs;
            r.failed += row.failed;
            r.duration_.merge(row.duration);
        }
        r.avg = r.duration_.mean() * 1e-6;
        r.min = static_cast<double>(r.duration_.min()) * 1e-6;
        r.max = static_cast<double>(r.duration_.max()) * 1e-6;
        return r;
    }

    // Every threshold, in the order the summary lists them.
    std::vector<threshold_values> thresholds() const {
        std::vector<threshold_values> out;
        if (!summary.contains("thresholds")) return out;
        for (auto& t : summary["thresholds"])
            out.push_back({t.value("metric", std::string()), t.value("threshold", std::string()), t.value("ok", true),
                           t.value("value", 0.0), t.value("abort_on_fail", false)});
        return out;
    }
    // The thresholds that failed (none when thresholds_passed).
    std::vector<threshold_values> failed_thresholds() const {
        auto all = thresholds();
        std::erase_if(all, [](const threshold_values& t) { return t.passed; });
        return all;
    }

    double duration_secs() const { return summary.is_object() ? summary.value("duration_secs", 0.0) : 0.0; }
};

}  // namespace loadkit::inline LOADKIT_ABI
