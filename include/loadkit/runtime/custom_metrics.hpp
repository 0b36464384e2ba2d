#pragma once
// Custom metrics (k6's Counter, Gauge, Rate, Trend). Declare them anywhere,
// usually as globals, and add samples from VU code, hooks, setup or
// teardown; they appear in the summary and take thresholds like built-ins:
//
//   inline loadkit::counter orders{"orders_placed"};
//   inline loadkit::trend checkout{"checkout_time", loadkit::time_values};
//   ... orders.add(1, {{"shop", "eu"}}); checkout.add(res.timings.duration / 1e6);
//
// A sample lands in the calling thread's shard under the current VU's
// scenario and group (no lock); outside any VU it goes to a process-wide
// shard under a lock.
#include <cmath>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "../core/config.hpp"
#include "context.hpp"
#include "../metrics/registry.hpp"
#include "../metrics/shard.hpp"

namespace loadkit::inline LOADKIT_ABI {

using tag_list = std::initializer_list<detail::tag_pair>;

namespace detail {

// Samples recorded outside any VU (a listener, main()): replaced by each run.
struct orphan_metrics {
    std::mutex mu;
    std::unique_ptr<metrics_shard> shard = std::make_unique<metrics_shard>();
    static orphan_metrics& get() {
        static orphan_metrics o;
        return o;
    }
};

inline void record_sample(metrics_shard& shard, std::uint32_t scenario, std::uint32_t group, std::uint32_t metric,
                          metric_kind kind, bool time, double v, std::span<const tag_pair> tags) {
    std::uint32_t tag_id = tags.size() ? intern_tags(shard.strings, tags) : 0;
    auto& s = shard.custom(custom_key{metric, scenario, group, tag_id});
    ++s.n;
    switch (kind) {
        case metric_kind::counter: s.sum += v; break;
        case metric_kind::rate:
            ++s.total;
            s.trues += v != 0;
            break;
        case metric_kind::trend: s.values.record(trend_units(v, time)); break;
        case metric_kind::gauge:
            if (s.n == 1) s.min = s.max = v;
            s.min = std::min(s.min, v);
            s.max = std::max(s.max, v);
            s.last = v;
            s.last_ns = now_ns();
            break;
    }
}

inline void record_sample(std::uint32_t metric, metric_kind kind, bool time, double v, std::span<const tag_pair> tags) {
    if (auto* vu = current_vu; vu && vu->thread) {
        record_sample(vu->thread->shard, vu->scenario_id, vu->group, metric, kind, time, v, tags);
        return;
    }
    auto& o = orphan_metrics::get();
    std::lock_guard lock(o.mu);
    record_sample(*o.shard, 0, 0, metric, kind, time, v, tags);
}

template <metric_kind Kind>
class metric {
  public:
    explicit metric(std::string_view name, bool time = false)
        : id_(metric_registry::get().add(name, Kind, time)), time_(time), name_(name) {}
    const std::string& name() const noexcept { return name_; }

  protected:
    void record(double v, tag_list tags) const { record_sample(id_, Kind, time_, v, {tags.begin(), tags.size()}); }

  private:
    std::uint32_t id_;
    bool time_;
    std::string name_;
};

}  // namespace detail

// For trend's second argument: the values are durations in milliseconds.
inline constexpr bool time_values = true;

// Adds up; reported as count (the total) and per_second.
class counter : public detail::metric<metric_kind::counter> {
  public:
    using metric::metric;
    void add(double v, tag_list tags = {}) const { record(v, tags); }
};
// Keeps the last value, with min and max.
class gauge : public detail::metric<metric_kind::gauge> {
  public:
    using metric::metric;
    void add(double v, tag_list tags = {}) const { record(v, tags); }
};
// The share of non-zero samples.
class rate : public detail::metric<metric_kind::rate> {
  public:
    using metric::metric;
    template <class T>
    requires std::is_arithmetic_v<T>
    void add(T v, tag_list tags = {}) const { record(v ? 1.0 : 0.0, tags); }
};
// A distribution: avg, min, med, max, p(N) from a histogram (error < 1%).
class trend : public detail::metric<metric_kind::trend> {
  public:
    using metric::metric;
    void add(double v, tag_list tags = {}) const { record(v, tags); }
};

}  // namespace loadkit::inline LOADKIT_ABI
