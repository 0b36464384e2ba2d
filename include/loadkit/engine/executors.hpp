#pragma once
// Executors: how many VUs run, and when they iterate (k6's executors). In the
// closed model the schedule is a pure function of the time and the VU's index;
// in the open model (arrival rates) it is a pure function of the iteration's
// number. Either way every worker thread decides for its own VUs without
// asking anyone: the only shared state is shared-iterations' atomic counter.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "../core/config.hpp"
#include "../core/duration.hpp"
#include "../core/errors.hpp"

namespace loadkit::inline LOADKIT_ABI {

using namespace std::chrono_literals;

// k6's options that every executor has, written once: startTime (when the
// scenario starts, from the run's start) and gracefulStop (how long an
// iteration in flight may finish once the scenario is over). They are the
// last fields of each executor rather than members of a common base: C++20
// designated initializers cannot name a base's members, and
// loadkit::constant_vus{.vus = 10, .duration = 30s, .graceful_stop = 5s}
// must keep compiling. The engine reads them through std::visit, also once
// (schedule, validate, describe). The macro is #undef'd below.
#define LOADKIT_EXECUTOR_SHARED_OPTIONS \
    nanoseconds start_time{};           \
    nanoseconds graceful_stop = 30s

namespace detail {
// The iteration-based executors' maxDuration default (k6's).
inline constexpr nanoseconds default_max_duration = 10min;
// "No end" (externally-controlled without a duration): about a century, far
// enough from the int64 limit that adding a gracefulStop cannot overflow.
inline constexpr std::int64_t no_end_ns = 3'000'000'000'000'000'000;
}  // namespace detail

struct stage {
    nanoseconds duration{};
    int target = 0;
};

// `vus` VUs iterate as fast as they can for `duration`.
struct constant_vus {
    int vus = 1;
    nanoseconds duration = 10s;
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};
// The VU count follows `stages` linearly from `start_vus`.
struct ramping_vus {
    int start_vus = 1;
    std::vector<stage> stages;
    nanoseconds graceful_ramp_down = 30s;
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};
// Each of `vus` VUs runs exactly `iterations` iterations.
struct per_vu_iterations {
    int vus = 1;
    std::int64_t iterations = 1;
    nanoseconds max_duration = detail::default_max_duration;
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};
// `iterations` iterations in total, shared by `vus` VUs (the fastest do more).
struct shared_iterations {
    int vus = 1;
    std::int64_t iterations = 1;
    nanoseconds max_duration = detail::default_max_duration;
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};

// Open model: `rate` iterations start per `time_unit` for `duration`, on
// schedule whatever the target does. An iteration that finds no free VU gets
// a new one while fewer than `max_vus` exist, and is otherwise dropped
// (counted in dropped_iterations).
struct constant_arrival_rate {
    double rate = 1;
    nanoseconds time_unit = 1s;
    nanoseconds duration = 10s;
    int pre_allocated_vus = 1;
    int max_vus = 0;  // 0: pre_allocated_vus
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};
// Open model: the rate follows `stages` (targets are iterations per
// `time_unit`) linearly from `start_rate`.
struct ramping_arrival_rate {
    double start_rate = 0;
    nanoseconds time_unit = 1s;
    std::vector<stage> stages;
    int pre_allocated_vus = 1;
    int max_vus = 0;  // 0: pre_allocated_vus
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};

// k6's externally-controlled: `vus` VUs iterate as fast as they can until
// the run is stopped or `duration` (0: no end) has passed, and the run's
// control (engine/control.hpp: an API call, `loadkit scale`) changes `vus`
// and raises `max_vus` while it runs. Pausing stops its clock, as in k6 (the
// other executors' schedules go on while paused). Unlike k6, which refuses
// gracefulStop here and cuts iterations in flight at the end, loadkit gives
// them the usual gracefulStop.
struct externally_controlled {
    int vus = 1;
    int max_vus = 0;             // 0: vus
    nanoseconds duration = 0s;  // 0: until stopped
    LOADKIT_EXECUTOR_SHARED_OPTIONS;
};

using executor = std::variant<constant_vus, ramping_vus, per_vu_iterations, shared_iterations, constant_arrival_rate,
                              ramping_arrival_rate, externally_controlled>;

#undef LOADKIT_EXECUTOR_SHARED_OPTIONS

inline std::string_view executor_name(const executor& e) {
    static constexpr std::string_view names[] = {"constant-vus",      "ramping-vus",           "per-vu-iterations",
                                                 "shared-iterations", "constant-arrival-rate", "ramping-arrival-rate",
                                                 "externally-controlled"};
    return names[e.index()];
}
inline bool is_open_model(const executor& e) noexcept { return e.index() == 4 || e.index() == 5; }

namespace detail {

inline std::string format_number(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

// Which of a scenario's global indices (VU indices, arrival numbers) this
// instance runs: index g is its own when g mod period is in `own`. The
// default is every index (the whole test); execution segments make others
// (see segment.hpp).
struct stripe {
    std::int64_t period = 1;
    std::vector<std::int64_t> own{0};  // sorted slots in [0, period)

    bool whole() const noexcept { return period == 1 && own.size() == 1; }
    // How many of the indices 0..n-1 are this instance's.
    std::int64_t scale(std::int64_t n) const noexcept {
        if (n <= 0) return 0;
        auto in_rest = std::lower_bound(own.begin(), own.end(), n % period) - own.begin();
        return n / period * static_cast<std::int64_t>(own.size()) + in_rest;
    }
    // The global index of this instance's j-th (from 0).
    std::uint64_t global(std::uint64_t j) const noexcept {
        if (period == 1 && own.size() == 1) return j;  // the whole test: no division on the arrival path
        if (own.empty()) return std::numeric_limits<std::uint64_t>::max();
        auto m = own.size();
        return j / m * static_cast<std::uint64_t>(period) + static_cast<std::uint64_t>(own[j % m]);
    }
};

// The most iterations an arrival-rate scenario may start: what a signed
// 64-bit counter holds (rounded down to a double).
inline constexpr double max_arrivals = 9.2e18;

// What a VU does next.
struct decision {
    enum kind_t { iterate, wait, stop } kind = stop;
    std::int64_t at = 0;        // wait: until when
    std::int64_t deadline = 0;  // iterate: when the iteration is cut
    bool idle = false;          // wait: the VU is not among the scenario's active ones (externally-controlled)
};

// A scenario's schedule, made absolute when the run starts.
class schedule {
  public:
    schedule(const executor& e, std::int64_t run_start_ns, stripe st = {}) : exec_(e), stripe_(std::move(st)) {
        std::visit(
            [&](auto& x) {
            start_ = run_start_ns + x.start_time.count();
            graceful_stop_ = x.graceful_stop.count();
            },
            exec_);
        end_ = start_ +
               std::visit(
                   [](auto& x) -> std::int64_t {
                       using T = std::decay_t<decltype(x)>;
                       if constexpr (std::is_same_v<T, constant_vus> || std::is_same_v<T, constant_arrival_rate>)
                           return x.duration.count();
                       else if constexpr (std::is_same_v<T, externally_controlled>)
                           return detail::no_end_ns;  // its end moves with pauses: live_end_ (below)
                       else if constexpr (std::is_same_v<T, ramping_vus> || std::is_same_v<T, ramping_arrival_rate>) {
                           std::int64_t t = 0;
                           for (auto& s : x.stages) t += s.duration.count();
                           return t;
                       } else return x.max_duration.count();
                   },
                   exec_);
        if (auto* x = std::get_if<externally_controlled>(&exec_)) {
            live_end_.store(x->duration.count() > 0 ? start_ + x->duration.count() : end_);
            target_.store(x->vus);
        }
        if (auto* r = std::get_if<ramping_arrival_rate>(&exec_)) {
            // iterations started by the end of each stage, for arrival_offset()
            double a = r->start_rate, n = 0;
            for (auto& st : r->stages) {
                n += (a + st.target) / 2.0 * static_cast<double>(st.duration.count()) /
                     static_cast<double>(r->time_unit.count());
                stage_counts_.push_back(n);
                a = st.target;
            }
        }
    }

    static void validate(const std::string& scenario, const executor& e) {
        auto bad = [&](const std::string& what, const char* key = "") {
            throw config_error("scenario '" + scenario + "': " + what, key);
        };
        std::visit(
            [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if (x.start_time.count() < 0) bad("startTime must not be negative");
            if (x.graceful_stop.count() < 0) bad("gracefulStop must not be negative");
            if constexpr (std::is_same_v<T, constant_arrival_rate> || std::is_same_v<T, ramping_arrival_rate>) {
                if (x.time_unit.count() <= 0) bad("timeUnit must be positive", "timeUnit");
                if (x.pre_allocated_vus < 0) bad("preAllocatedVUs must not be negative");
                if (x.max_vus != 0 && x.max_vus < x.pre_allocated_vus)
                    bad("maxVUs (" + std::to_string(x.max_vus) + ") must not be less than preAllocatedVUs (" +
                        std::to_string(x.pre_allocated_vus) + ")");
                if (std::max(x.max_vus, x.pre_allocated_vus) < 1) bad("preAllocatedVUs or maxVUs must be at least 1");
                // Iterations are numbered with 64-bit counters: a schedule that
                // starts more than they hold cannot be run (rate: 1e300 once
                // passed and never ended). Far below that the engine drops what
                // it cannot start, at O(1) per wake-up whatever the rate.
                auto too_many = [&](double n, const char* key, const std::string& what) {
                    if (!(n <= max_arrivals))
                        bad(what + " starts " + format_number(n) +
                                " iterations in all, more than a 64-bit counter holds (" + format_number(max_arrivals) +
                                ")",
                            key);
                };
                double unit = static_cast<double>(x.time_unit.count());
                if constexpr (std::is_same_v<T, constant_arrival_rate>) {
                    if (!std::isfinite(x.rate))
                        bad("rate must be a finite number, got " + format_number(x.rate), "rate");
                    if (!(x.rate > 0)) bad("rate must be positive", "rate");
                    if (x.duration.count() <= 0) bad("duration must be positive", "duration");
                    too_many(x.rate * (static_cast<double>(x.duration.count()) / unit), "rate",
                             "rate " + format_number(x.rate) + " per " + format_duration(x.time_unit) + " for " +
                                 format_duration(x.duration));
                } else {
                    if (!std::isfinite(x.start_rate))
                        bad("startRate must be a finite number, got " + format_number(x.start_rate), "startRate");
                    if (!(x.start_rate >= 0)) bad("startRate must not be negative", "startRate");
                    if (x.stages.empty()) bad("ramping-arrival-rate needs at least one stage", "stages");
                    double a = x.start_rate, n = 0;
                    for (auto& s : x.stages) {
                        if (s.duration.count() < 0) bad("a stage's duration must not be negative", "stages");
                        if (s.target < 0) bad("a stage's target must not be negative", "stages");
                        n += (a + s.target) / 2.0 * (static_cast<double>(s.duration.count()) / unit);
                        a = s.target;
                    }
                    int peak = 0;
                    for (auto& s : x.stages) peak = std::max(peak, s.target);
                    too_many(n, x.start_rate > peak ? "startRate" : "stages",
                             "startRate " + format_number(x.start_rate) + " with these stages");
                }
            } else if constexpr (std::is_same_v<T, externally_controlled>) {
                if (x.vus < 0) bad("vus must not be negative, got " + std::to_string(x.vus), "vus");
                if (x.max_vus != 0 && x.max_vus < x.vus)
                    bad("maxVUs (" + std::to_string(x.max_vus) + ") must not be less than vus (" +
                            std::to_string(x.vus) + ")",
                        "maxVUs");
                if (std::max(x.vus, x.max_vus) < 1) bad("vus or maxVUs must be at least 1", "maxVUs");
                if (x.duration.count() < 0) bad("duration must not be negative (0: until stopped)", "duration");
            } else if constexpr (std::is_same_v<T, ramping_vus>) {
                if (x.start_vus < 0) bad("startVUs must not be negative");
                if (x.stages.empty()) bad("ramping-vus needs at least one stage");
                for (auto& s : x.stages) {
                    if (s.duration.count() < 0) bad("a stage's duration must not be negative");
                    if (s.target < 0) bad("a stage's target must not be negative");
                }
            } else {
                if (x.vus < 1) bad("vus must be at least 1, got " + std::to_string(x.vus));
                if constexpr (std::is_same_v<T, constant_vus>) {
                    if (x.duration.count() <= 0) bad("duration must be positive");
                } else {
                    if (x.iterations < 1) bad("iterations must be at least 1, got " + std::to_string(x.iterations));
                    if (x.max_duration.count() <= 0) bad("maxDuration must be positive");
                    if constexpr (std::is_same_v<T, shared_iterations>)
                        if (x.iterations < x.vus) {}  // allowed: VUs past the count just do nothing
                }
            }
            },
            e);
    }

    // The most VUs the scenario ever runs at once (on this instance: only
    // ramping-vus' counts are still global when scaled, see scale_executor).
    static int max_vus(const executor& e, const stripe& st) {
        int m = max_vus(e);
        return std::holds_alternative<ramping_vus>(e) ? static_cast<int>(st.scale(m)) : m;
    }
    static int max_vus(const executor& e) {
        return std::visit(
            [](auto& x) -> int {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, ramping_vus>) {
                    int m = x.start_vus;
                    for (auto& s : x.stages) m = std::max(m, s.target);
                    return m;
                } else if constexpr (std::is_same_v<T, constant_arrival_rate> ||
                                     std::is_same_v<T, ramping_arrival_rate>) {
                    return std::max(x.max_vus, x.pre_allocated_vus);
                } else if constexpr (std::is_same_v<T, externally_controlled>) {
                    return std::max(x.max_vus, x.vus);
                } else return x.vus;
            },
            e);
    }

    static std::string describe(const executor& e) {
        return std::visit(
            [](auto& x) -> std::string {
                using T = std::decay_t<decltype(x)>;
                std::string s;
                if constexpr (std::is_same_v<T, constant_vus>)
                    s = std::to_string(x.vus) + " looping VUs for " + format_duration(x.duration);
                else if constexpr (std::is_same_v<T, ramping_vus>) {
                    nanoseconds total{};
                    for (auto& st : x.stages) total += st.duration;
                    s = "up to " + std::to_string(max_vus(x)) + " looping VUs for " + format_duration(total) +
                        " over " + std::to_string(x.stages.size()) +
                        " stages (gracefulRampDown: " + format_duration(x.graceful_ramp_down) + ")";
                } else if constexpr (std::is_same_v<T, per_vu_iterations>)
                    s = std::to_string(x.iterations) + " iterations for each of " + std::to_string(x.vus) +
                        " VUs (maxDuration: " + format_duration(x.max_duration) + ")";
                else if constexpr (std::is_same_v<T, constant_arrival_rate>)
                    s = format_number(x.rate) + " iterations/" + format_duration(x.time_unit) + " for " +
                        format_duration(x.duration) + " (maxVUs: " + std::to_string(max_vus(x)) + ")";
                else if constexpr (std::is_same_v<T, ramping_arrival_rate>) {
                    nanoseconds total{};
                    double peak = x.start_rate;
                    for (auto& st : x.stages) {
                        total += st.duration;
                        peak = std::max(peak, static_cast<double>(st.target));
                    }
                    s = "up to " + format_number(peak) + " iterations/" + format_duration(x.time_unit) + " for " +
                        format_duration(total) + " over " + std::to_string(x.stages.size()) +
                        " stages (maxVUs: " + std::to_string(max_vus(x)) + ")";
                } else if constexpr (std::is_same_v<T, externally_controlled>)
                    s = std::to_string(x.vus) + " VUs (maxVUs: " + std::to_string(max_vus(x)) +
                        ") under external control, " +
                        (x.duration.count() ? "for " + format_duration(x.duration) : std::string("until stopped"));
                else
                    s = std::to_string(x.iterations) + " iterations shared among " + std::to_string(x.vus) +
                        " VUs (maxDuration: " + format_duration(x.max_duration) + ")";
                if (x.start_time.count()) s += ", startTime: " + format_duration(x.start_time);
                return s + ", gracefulStop: " + format_duration(x.graceful_stop);
            },
            e);
    }

    // Open model: iteration `k`'s (0-based, counted over the whole scenario)
    // intended start, as an offset from the scenario's start; -1 when it
    // falls at or after the end. Iteration k starts when the integral of the
    // rate reaches k, so a constant rate r starts exactly r*duration of them.
    // With a stripe, k counts this instance's iterations only.
    std::int64_t arrival_offset(std::uint64_t k) const {
        k = stripe_.global(k);
        if (k == std::numeric_limits<std::uint64_t>::max()) return -1;
        double n = static_cast<double>(k);
        double off;
        if (auto* c = std::get_if<constant_arrival_rate>(&exec_)) {
            off = n * static_cast<double>(c->time_unit.count()) / c->rate;
        } else {
            auto& r = std::get<ramping_arrival_rate>(exec_);
            auto it = std::upper_bound(stage_counts_.begin(), stage_counts_.end(), n);
            if (it == stage_counts_.end()) return -1;
            auto i = static_cast<std::size_t>(it - stage_counts_.begin());
            double before = i ? stage_counts_[i - 1] : 0.0;
            double a = i ? r.stages[i - 1].target : r.start_rate, b = r.stages[i].target;
            double unit = static_cast<double>(r.time_unit.count()),
                   span = static_cast<double>(r.stages[i].duration.count());
            std::int64_t t0 = 0;
            for (std::size_t j = 0; j < i; ++j) t0 += r.stages[j].duration.count();
            // solve a*t + (b-a)*t^2/(2*span) = (n - before)*unit for t, in the
            // form that does not cancel when b is close to a
            double m = (n - before) * unit, slope = (b - a) / span;
            double disc = a * a + 2.0 * slope * m;
            double denom = a + std::sqrt(std::max(0.0, disc));
            double t = denom > 0 ? 2.0 * m / denom : 0.0;
            off = static_cast<double>(t0) + std::min(t, span);
        }
        // compared as a double first: a tiny rate puts late iterations past
        // what an int64 holds (the cast would be undefined)
        if (!(off < static_cast<double>(end_ - start_))) return -1;
        auto o = static_cast<std::int64_t>(off);
        return o < end_ - start_ ? o : -1;
    }

    // Open model: the last of the iterations k, k+step, k+2*step, ... that
    // is due by `off` (an offset from the scenario's start), given that k
    // is. A lane with no free VU drops every iteration due so far at once:
    // counted, not walked one by one, so a rate far beyond what the machine
    // can start costs O(log n) per wake-up instead of overrunning the
    // duration (5,000,000/s once took 18.8 s for 2 s).
    std::uint64_t last_due(std::uint64_t k, std::uint64_t step, std::int64_t off) const {
        auto due = [&](std::uint64_t m) {  // is k + m*step due?
            if (m > (std::numeric_limits<std::uint64_t>::max() - k) / step) return false;
            auto o = arrival_offset(k + m * step);
            return o >= 0 && o <= off;
        };
        std::uint64_t lo = 0, hi = 1;  // due(lo), and !due(hi) once found
        while (due(hi)) {
            lo = hi;
            if (hi > std::numeric_limits<std::uint64_t>::max() / 2) break;
            hi *= 2;
        }
        if (lo == hi) return k + lo * step;
        while (hi - lo > 1) {
            auto mid = lo + (hi - lo) / 2;
            (due(mid) ? lo : hi) = mid;
        }
        return k + lo * step;
    }

    std::int64_t start_ns() const noexcept { return start_; }
    std::int64_t end_ns() const noexcept { return end_; }
    // externally-controlled: the VU count and the end, changed by the run's
    // control while it runs (scale; a pause moves the end); other executors:
    // their fixed end.
    bool controlled() const noexcept { return std::holds_alternative<externally_controlled>(exec_); }
    std::int64_t live_end_ns() const noexcept { return controlled() ? live_end_.load() : end_; }
    std::int64_t target_vus() const noexcept { return target_.load(std::memory_order_relaxed); }
    void set_target_vus(std::int64_t n) noexcept { target_.store(n); }
    // Moves the end `by` later (a pause's length); not when it has no end.
    void extend(std::int64_t by) noexcept {
        if (!controlled() || by <= 0) return;
        auto e = live_end_.load();
        if (e < end_) live_end_.compare_exchange_strong(e, e + by);
    }
    // A stop ends it now (its VUs' waits end there).
    void end_now(std::int64_t now) noexcept {
        auto e = live_end_.load();
        while (now < e && !live_end_.compare_exchange_weak(e, now)) {}
    }
    std::int64_t graceful_stop_ns() const noexcept { return graceful_stop_; }

    // What VU `index`, which has completed `done` iterations, does at `now`.
    // No iteration left for a VU that has done `done`, whatever the time
    // (per-vu-iterations done, shared-iterations all claimed): claims nothing.
    bool exhausted(std::uint64_t done) const noexcept {
        if (auto* p = std::get_if<per_vu_iterations>(&exec_)) return done >= static_cast<std::uint64_t>(p->iterations);
        if (auto* s = std::get_if<shared_iterations>(&exec_))
            return claimed_.load(std::memory_order_relaxed) >= s->iterations;
        return false;
    }
    decision next(std::uint64_t index, std::uint64_t done, std::int64_t now) {
        if (now < start_) return {decision::wait, start_, 0};
        if (now >= end_) return {};
        std::int64_t hard = end_ + graceful_stop_;
        return std::visit(
            [&](auto& x) -> decision {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, constant_vus>) {
                    return {decision::iterate, 0, hard};
                } else if constexpr (std::is_same_v<T, per_vu_iterations>) {
                    if (done >= static_cast<std::uint64_t>(x.iterations)) return decision{};
                    return {decision::iterate, 0, hard};
                } else if constexpr (std::is_same_v<T, shared_iterations>) {
                    if (claimed_.fetch_add(1, std::memory_order_relaxed) >= x.iterations) return decision{};
                    return {decision::iterate, 0, hard};
                } else if constexpr (std::is_same_v<T, externally_controlled>) {
                    auto end = live_end_.load(std::memory_order_relaxed);
                    if (now >= end) return decision{};
                    // VUs above the current count wait (until scaled up, woken
                    // by the sweeper, or the end); `idle`: not counted as active
                    if (index >= static_cast<std::uint64_t>(target_.load(std::memory_order_relaxed)))
                        return {decision::wait, end, 0, true};
                    return {decision::iterate, 0, end + graceful_stop_};
                } else if constexpr (std::is_same_v<T, ramping_vus>) {
                    index = stripe_.global(index);  // the stages count VUs over the whole test
                    auto off = now - start_;
                    if (active(x, index, off)) {
                        auto cut = ramp_down_cut(x, index, off);
                        std::int64_t d = cut < 0 || cut > hard - start_ ? hard : start_ + cut;
                        return {decision::iterate, 0, std::min(d, hard)};
                    }
                    auto on = change(x, index, true, off);
                    if (on < 0) return decision{};  // never active again: the VU retires
                    return {decision::wait, start_ + on, 0};
                } else {
                    return decision{};  // open model: the arrival dispatcher hands out iterations
                }
            },
            exec_);
    }

  private:
    // ramping-vus, as k6 (v0.48, lib/executor/ramping_vus.go) steps it. In a
    // stage going from a to b VUs over D (ending at t1), the count reaches c
    // (a < c <= b) at t1 - D*(b-c)/(b-a) on the way up, and drops below c
    // (b < c <= a) at t1 - D*(c-1-b)/(a-b) on the way down, in integer
    // nanoseconds: the count is the line rounded down while it rises and
    // rounded up while it falls. A zero-length stage jumps at its end.
    // (Rounding down both ways ended every ramp-down one step early: 5s->5,
    // 10s->5, 5s->0 of a 1 s iteration made 74 iterations in 19.1 s where k6
    // makes 79 in 20.0 s.) VU i is active while the count is above i.
    struct toggle_t {
        std::int64_t at = -1;  // -1: VU i does not change in this stage
        bool on = false;
    };
    static toggle_t toggle(std::int64_t a, std::int64_t b, std::int64_t t0, std::int64_t t1, std::uint64_t i) {
        auto c = static_cast<std::int64_t>(std::min<std::uint64_t>(i, std::numeric_limits<std::int64_t>::max() - 1)) +
                 1;
        __int128 d = t1 - t0;
        if (b > a && a < c && c <= b)
            return {d == 0 ? t1 : t1 - static_cast<std::int64_t>(d * (b - c) / (b - a)), true};
        if (b < a && b < c && c <= a)
            return {d == 0 ? t1 : t1 - static_cast<std::int64_t>(d * (c - 1 - b) / (a - b)), false};
        return {};
    }
    static bool active(const ramping_vus& r, std::uint64_t i, std::int64_t off) {
        bool on = static_cast<std::uint64_t>(std::max(r.start_vus, 0)) > i;
        std::int64_t a = r.start_vus, t0 = 0;
        for (auto& s : r.stages) {
            if (t0 > off) break;
            std::int64_t t1 = t0 + s.duration.count();
            auto t = toggle(a, s.target, t0, t1, i);
            if (t.at >= 0 && t.at <= off) on = t.on;
            a = s.target;
            t0 = t1;
        }
        return on;
    }
    // The first offset after `off` at which active() becomes `want`; -1: never.
    static std::int64_t change(const ramping_vus& r, std::uint64_t i, bool want, std::int64_t off) {
        std::int64_t a = r.start_vus, t0 = 0;
        for (auto& s : r.stages) {
            std::int64_t t1 = t0 + s.duration.count();
            auto t = toggle(a, s.target, t0, t1, i);
            // (zero-length stages may undo a change at the same instant)
            if (t.at > off && t.on == want && active(r, i, t.at) == want) return t.at;
            a = s.target;
            t0 = t1;
        }
        return -1;
    }
    // When an iteration that VU i runs at `off` is cut, from the start: k6's
    // gracefulRampDown after the VU is ramped down, unless the count comes
    // back up for it within that time (the iteration then simply goes on);
    // -1 when it is never ramped down (gracefulStop applies at the end).
    static std::int64_t ramp_down_cut(const ramping_vus& r, std::uint64_t i, std::int64_t off) {
        auto grace = std::max<std::int64_t>(0, r.graceful_ramp_down.count());
        auto plus_grace = [&](std::int64_t t) {  // saturating: a huge gracefulRampDown is "never"
            return t > std::numeric_limits<std::int64_t>::max() - grace ? std::numeric_limits<std::int64_t>::max()
                                                                        : t + grace;
        };
        auto down = change(r, i, false, off);
        for (std::size_t n = 0; down >= 0 && n <= r.stages.size(); ++n) {
            auto up = change(r, i, true, down);
            if (up < 0 || up > plus_grace(down)) return plus_grace(down);
            down = change(r, i, false, up);
        }
        return down < 0 ? -1 : plus_grace(down);
    }

    executor exec_;
    stripe stripe_;
    std::vector<double> stage_counts_;  // ramping-arrival-rate: iterations by each stage's end
    std::int64_t start_ = 0, end_ = 0, graceful_stop_ = 0;
    std::atomic<std::int64_t> claimed_{0};
    std::atomic<std::int64_t> live_end_{0}, target_{0};  // externally-controlled
};

}  // namespace detail

// The most VUs `e` runs at once, in the whole test (before any execution
// segment takes its share): an arrival-rate executor's maxVUs.
inline int executor_max_vus(const executor& e) { return detail::schedule::max_vus(e); }

// `e` in words, as `loadkit validate` and the console report print it:
// "10 looping VUs for 30s, gracefulStop: 30s".
inline std::string executor_description(const executor& e) { return detail::schedule::describe(e); }

// Checks `e` as the loaders do (stages, VU counts, durations); a
// config_error naming `scenario` when it cannot run.
inline void validate_executor(const std::string& scenario, const executor& e) {
    detail::schedule::validate(scenario, e);
}

}  // namespace loadkit::inline LOADKIT_ABI
