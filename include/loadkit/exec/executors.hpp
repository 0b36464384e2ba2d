#pragma once
// Executors: how many VUs run, and when they iterate (k6's closed-model
// executors). The schedule is a pure function of the time and the VU's index,
// so every worker thread decides for its own VUs without asking anyone: the
// only shared state is shared-iterations' atomic counter.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "../config.hpp"

namespace loadkit {

using namespace std::chrono_literals;

// A configuration mistake found before any load starts.
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct stage {
    nanoseconds duration{};
    int target = 0;
};

// `vus` VUs iterate as fast as they can for `duration`.
struct constant_vus {
    int vus = 1;
    nanoseconds duration = 10s;
    nanoseconds start_time{};
    nanoseconds graceful_stop = 30s;
};
// The VU count follows `stages` linearly from `start_vus`.
struct ramping_vus {
    int start_vus = 1;
    std::vector<stage> stages;
    nanoseconds graceful_ramp_down = 30s;
    nanoseconds start_time{};
    nanoseconds graceful_stop = 30s;
};
// Each of `vus` VUs runs exactly `iterations` iterations.
struct per_vu_iterations {
    int vus = 1;
    std::int64_t iterations = 1;
    nanoseconds max_duration = 10min;
    nanoseconds start_time{};
    nanoseconds graceful_stop = 30s;
};
// `iterations` iterations in total, shared by `vus` VUs (the fastest do more).
struct shared_iterations {
    int vus = 1;
    std::int64_t iterations = 1;
    nanoseconds max_duration = 10min;
    nanoseconds start_time{};
    nanoseconds graceful_stop = 30s;
};

using executor = std::variant<constant_vus, ramping_vus, per_vu_iterations, shared_iterations>;

inline std::string_view executor_name(const executor& e) {
    static constexpr std::string_view names[] = {"constant-vus", "ramping-vus", "per-vu-iterations", "shared-iterations"};
    return names[e.index()];
}

namespace detail {

inline std::string format_duration(nanoseconds d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    std::string s;
    if (ms >= 3600000) { s += std::to_string(ms / 3600000) + "h"; ms %= 3600000; }
    if (ms >= 60000) { s += std::to_string(ms / 60000) + "m"; ms %= 60000; }
    if (ms >= 1000 || (s.empty() && ms == 0)) {
        s += std::to_string(ms / 1000);
        if (ms % 1000) { auto f = std::to_string(1000 + ms % 1000).substr(1); while (f.back() == '0') f.pop_back(); s += "." + f; }
        s += "s";
    } else if (ms) s += std::to_string(ms) + "ms";
    return s;
}

// What a VU does next.
struct decision {
    enum kind_t { iterate, wait, stop } kind = stop;
    std::int64_t at = 0;        // wait: until when
    std::int64_t deadline = 0;  // iterate: when the iteration is cut
};

// A scenario's schedule, made absolute when the run starts.
class schedule {
  public:
    schedule(const executor& e, std::int64_t run_start_ns) : exec_(e) {
        std::visit([&](auto& x) {
            start_ = run_start_ns + x.start_time.count();
            graceful_stop_ = x.graceful_stop.count();
        }, exec_);
        end_ = start_ + std::visit([](auto& x) -> std::int64_t {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, constant_vus>) return x.duration.count();
            else if constexpr (std::is_same_v<T, ramping_vus>) {
                std::int64_t t = 0;
                for (auto& s : x.stages) t += s.duration.count();
                return t;
            } else return x.max_duration.count();
        }, exec_);
    }

    static void validate(const std::string& scenario, const executor& e) {
        auto bad = [&](const std::string& what) { throw config_error("scenario '" + scenario + "': " + what); };
        std::visit([&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if (x.start_time.count() < 0) bad("startTime must not be negative");
            if (x.graceful_stop.count() < 0) bad("gracefulStop must not be negative");
            if constexpr (std::is_same_v<T, ramping_vus>) {
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
        }, e);
    }

    // The most VUs the scenario ever runs at once.
    static int max_vus(const executor& e) {
        return std::visit([](auto& x) -> int {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, ramping_vus>) {
                int m = x.start_vus;
                for (auto& s : x.stages) m = std::max(m, s.target);
                return m;
            } else return x.vus;
        }, e);
    }

    static std::string describe(const executor& e) {
        return std::visit([](auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            std::string s;
            if constexpr (std::is_same_v<T, constant_vus>)
                s = std::to_string(x.vus) + " looping VUs for " + format_duration(x.duration);
            else if constexpr (std::is_same_v<T, ramping_vus>) {
                nanoseconds total{};
                for (auto& st : x.stages) total += st.duration;
                s = "up to " + std::to_string(max_vus(x)) + " looping VUs for " + format_duration(total) + " over " +
                    std::to_string(x.stages.size()) + " stages (gracefulRampDown: " + format_duration(x.graceful_ramp_down) + ")";
            } else if constexpr (std::is_same_v<T, per_vu_iterations>)
                s = std::to_string(x.iterations) + " iterations for each of " + std::to_string(x.vus) + " VUs (maxDuration: " +
                    format_duration(x.max_duration) + ")";
            else
                s = std::to_string(x.iterations) + " iterations shared among " + std::to_string(x.vus) + " VUs (maxDuration: " +
                    format_duration(x.max_duration) + ")";
            if (x.start_time.count()) s += ", startTime: " + format_duration(x.start_time);
            return s + ", gracefulStop: " + format_duration(x.graceful_stop);
        }, e);
    }

    std::int64_t start_ns() const noexcept { return start_; }
    std::int64_t end_ns() const noexcept { return end_; }
    std::int64_t graceful_stop_ns() const noexcept { return graceful_stop_; }

    // What VU `index`, which has completed `done` iterations, does at `now`.
    decision next(std::uint64_t index, std::uint64_t done, std::int64_t now) {
        if (now < start_) return {decision::wait, start_, 0};
        if (now >= end_) return {};
        std::int64_t hard = end_ + graceful_stop_;
        return std::visit([&](auto& x) -> decision {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, constant_vus>) {
                return {decision::iterate, 0, hard};
            } else if constexpr (std::is_same_v<T, per_vu_iterations>) {
                if (done >= static_cast<std::uint64_t>(x.iterations)) return decision{};
                return {decision::iterate, 0, hard};
            } else if constexpr (std::is_same_v<T, shared_iterations>) {
                if (claimed_.fetch_add(1, std::memory_order_relaxed) >= x.iterations) return decision{};
                return {decision::iterate, 0, hard};
            } else {
                auto off = now - start_;
                if (active(x, index, off)) {
                    auto off_change = change(x, index, false, off);
                    std::int64_t d = off_change < 0 ? hard : start_ + off_change + x.graceful_ramp_down.count();
                    return {decision::iterate, 0, std::min(d, hard)};
                }
                auto on = change(x, index, true, off);
                if (on < 0) return decision{};  // never active again: the VU retires
                return {decision::wait, start_ + on, 0};
            }
        }, exec_);
    }

  private:
    // ramping-vus: the VU count at `off` is floor(linear interpolation);
    // VU `i` is active while that count is above i.
    static double target_at(const ramping_vus& r, std::int64_t off) {
        double a = r.start_vus;
        std::int64_t t0 = 0;
        for (auto& s : r.stages) {
            std::int64_t t1 = t0 + s.duration.count();
            if (off < t1) {
                double f = static_cast<double>(off - t0) / static_cast<double>(t1 - t0);
                return a + (s.target - a) * f;
            }
            a = s.target;
            t0 = t1;
        }
        return a;
    }
    static bool active(const ramping_vus& r, std::uint64_t i, std::int64_t off) {
        return std::floor(target_at(r, off) + 1e-9) >= static_cast<double>(i + 1);
    }
    // The first offset after `off` at which active() becomes `want`; -1: never.
    static std::int64_t change(const ramping_vus& r, std::uint64_t i, bool want, std::int64_t off) {
        double thr = static_cast<double>(i + 1);
        double a = r.start_vus;
        std::int64_t t0 = 0;
        for (auto& s : r.stages) {
            std::int64_t t1 = t0 + s.duration.count();
            double b = s.target;
            if (t1 > off) {
                std::int64_t lo = std::max(t0, off + 1);
                if (lo < t1 && active(r, i, lo) == want) return lo;
                double span = static_cast<double>(t1 - t0);
                if (want && b > a && b >= thr) {
                    auto t = t0 + static_cast<std::int64_t>(std::ceil((thr - a) / (b - a) * span));
                    return std::max(t, off + 1);
                }
                if (!want && b < a && b < thr) {
                    auto t = t0 + static_cast<std::int64_t>(std::floor((a - thr) / (a - b) * span)) + 1;
                    return std::max(t, off + 1);
                }
            }
            a = b;
            t0 = t1;
        }
        return -1;
    }

    executor exec_;
    std::int64_t start_ = 0, end_ = 0, graceful_stop_ = 0;
    std::atomic<std::int64_t> claimed_{0};
};

}  // namespace detail
}  // namespace loadkit
