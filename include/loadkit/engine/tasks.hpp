#pragma once
// Locust's user model, once for every front end: a scenario's weighted (or
// sequential) tasks, filtered by tags, and its wait time between iterations.
// The C++ DSL, YAML and JavaScript only say what their tasks are and how to
// run task number i; which task runs next, and when, is decided here and in
// the engine's VU loop.
//
// One task per iteration: each iteration runs the task the picker chose, as
// each of a Locust user's loops runs one @task. iteration_duration is the
// task's duration; the wait time runs after it, outside the iteration, and is
// not part of iteration_duration (Locust waits between tasks; k6's sleep()
// inside the exec function is, and stays, part of the iteration).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "../core/duration.hpp"
#include "../core/errors.hpp"

namespace loadkit::inline LOADKIT_ABI {

// How long a VU waits after an iteration before the next one may start
// (Locust's wait_time). A VU waiting is not running an iteration: the end of
// its scenario and a stop of the run wake it at once.
struct wait_time {
    enum kind_t : int {
        none,                 // the next iteration starts at once (k6's looping VUs)
        constant,             // `a` after the iteration ended
        between,              // uniformly in [a, b] after the iteration ended (the VU's own generator)
        constant_pacing,      // iterations start every `a`, whatever they took (none when one took longer)
        constant_throughput,  // `rate` iterations per second per VU: constant_pacing(1 s / rate)
    };
    kind_t kind = none;
    std::int64_t a = 0, b = 0;  // nanoseconds
    double rate = 0;

    constexpr explicit operator bool() const noexcept { return kind != none; }
    friend constexpr bool operator==(const wait_time&, const wait_time&) = default;
};

// Locust's wait_time functions, under C++ names.
constexpr wait_time constant(nanoseconds d) { return {wait_time::constant, d.count(), d.count()}; }
constexpr wait_time between(nanoseconds min, nanoseconds max) { return {wait_time::between, min.count(), max.count()}; }
constexpr wait_time constant_pacing(nanoseconds d) { return {wait_time::constant_pacing, d.count(), d.count()}; }
constexpr wait_time constant_throughput(double per_second) {
    return {wait_time::constant_throughput, 0, 0, per_second};
}

// A task as the engine sees it: a weight and tags (Locust's @task(3) and
// @tag). The front end keeps what the task does, in the same order.
struct task_info {
    std::string name;  // for messages ("browse"); a front end may leave it empty
    unsigned weight = 1;
    std::vector<std::string> tags;
};
struct task_list {
    std::vector<task_info> tasks;  // empty: the scenario has one exec function, no tasks
    bool sequential = false;       // Locust's SequentialTaskSet: in order, one per iteration, round and round
    explicit operator bool() const noexcept { return !tasks.empty(); }
};

namespace detail {

// splitmix64: a VU's own generator (8 bytes of state in its vu_context), so
// that a pick costs a few multiplications and no lock or allocation.
inline std::uint64_t next_random(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
// Uniform in [0, n) for n > 0 (Lemire's multiply-shift: bias below 2^-64 * n).
inline std::uint64_t random_below(std::uint64_t& state, std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next_random(state)) * n) >> 64);
}

// Which task runs next. Built once per scenario (tags applied), read by
// every VU: the cumulative weights of the enabled tasks and their indices in
// the front end's list. A pick is a random number and a binary search.
class task_picker {
  public:
    task_picker() = default;
    // Throws config_error when tags leave no task, or a weight is 0 for all.
    task_picker(std::string_view scenario, const task_list& l, const std::vector<std::string>& include_tags,
                const std::vector<std::string>& exclude_tags)
        : sequential_(l.sequential) {
        auto has = [](const task_info& t, const std::vector<std::string>& tags) {
            for (auto& x : tags)
                if (std::find(t.tags.begin(), t.tags.end(), x) != t.tags.end()) return true;
            return false;
        };
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < l.tasks.size(); ++i) {
            auto& t = l.tasks[i];
            // Locust's --tags: only tasks with one of them; --exclude-tags: none of them
            if (!include_tags.empty() && !has(t, include_tags)) continue;
            if (has(t, exclude_tags)) continue;
            if (t.weight == 0) continue;
            sum += t.weight;
            cumulative_.push_back(sum);
            index_.push_back(static_cast<std::uint32_t>(i));
        }
        if (!l.tasks.empty() && index_.empty())
            throw config_error("scenario '" + std::string(scenario) + "': " +
                               (include_tags.empty() && exclude_tags.empty()
                                    ? std::string("every task has weight 0")
                                    : std::string("no task is left after --tags/--exclude-tags")));
    }
    explicit operator bool() const noexcept { return !index_.empty(); }
    std::size_t size() const noexcept { return index_.size(); }

    // The front end's index of the task to run; `seq` counts this VU's picks
    // (for sequences), `rng` is its generator.
    std::uint32_t pick(std::uint64_t& rng, std::uint64_t& seq) const noexcept {
        if (index_.size() == 1) return index_[0];
        if (sequential_) return index_[static_cast<std::size_t>(seq++ % index_.size())];
        auto r = random_below(rng, cumulative_.back());
        auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
        return index_[static_cast<std::size_t>(it - cumulative_.begin())];
    }

  private:
    std::vector<std::uint64_t> cumulative_;
    std::vector<std::uint32_t> index_;
    bool sequential_ = false;
};

// When the next iteration may start, given when this one started and ended.
inline std::int64_t next_start(const wait_time& w, std::int64_t started, std::int64_t ended,
                               std::uint64_t& rng) noexcept {
    switch (w.kind) {
        case wait_time::none: return ended;
        case wait_time::constant: return ended + w.a;
        case wait_time::between:
            return ended + w.a +
                   (w.b > w.a ? static_cast<std::int64_t>(random_below(rng, static_cast<std::uint64_t>(w.b - w.a) + 1))
                              : 0);
        case wait_time::constant_pacing: return started + w.a;
        case wait_time::constant_throughput: return started + static_cast<std::int64_t>(1e9 / w.rate);
    }
    return ended;
}

// A wait time's own checks (the engine runs them before any load).
inline void validate(std::string_view scenario, const wait_time& w, bool open_model) {
    auto bad = [&](const std::string& what) {
        throw config_error("scenario '" + std::string(scenario) + "': wait time: " + what, "waitTime");
    };
    if (!w) return;
    if (open_model) bad("an arrival-rate executor sets when iterations start; wait times are for VU-based executors");
    if (w.a < 0 || w.b < 0) bad("durations must not be negative");
    if (w.kind == wait_time::between && w.b < w.a) bad("between(min, max) needs min <= max");
    if (w.kind == wait_time::constant_throughput && !(w.rate > 0 && std::isfinite(w.rate)))
        bad("constant_throughput needs a rate above 0");
}

// "constant(2s)", "between(1, 5)", "between(100ms, 1s)", "constant_pacing(10)",
// "constant_throughput(0.5)" (also camelCase: constantPacing, constantThroughput):
// how YAML files and JavaScript options write a wait time (the scenario
// option waitTime). A number alone is seconds, as Locust writes them. Throws
// config_error with what was expected.
inline wait_time parse_wait_time(std::string_view s) {
    auto fail = [&](std::string_view why) -> wait_time {
        throw config_error(
            "wait time '" + std::string(s) + "': " + std::string(why) +
                " (expected constant(2), between(1, 5), constant_pacing(10) or constant_throughput(0.5); "
                "durations in seconds or with a unit: 500ms)",
            "waitTime");
    };
    auto trim = [](std::string_view x) {
        while (!x.empty() && (x.front() == ' ' || x.front() == '\t')) x.remove_prefix(1);
        while (!x.empty() && (x.back() == ' ' || x.back() == '\t')) x.remove_suffix(1);
        return x;
    };
    auto t = trim(s);
    auto open = t.find('(');
    if (open == std::string_view::npos || t.back() != ')') return fail("not a function call");
    auto fn = trim(t.substr(0, open));
    auto args = t.substr(open + 1, t.size() - open - 2);
    std::vector<std::string_view> a;
    while (true) {
        auto comma = args.find(',');
        a.push_back(trim(args.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        args.remove_prefix(comma + 1);
    }
    auto number = [&](std::string_view x, double& out) {
        auto r = std::from_chars(x.data(), x.data() + x.size(), out);
        return r.ec == std::errc{} && r.ptr == x.data() + x.size();
    };
    auto duration = [&](std::string_view x) -> std::int64_t {
        double secs = 0;
        if (number(x, secs)) {
            if (!(secs >= 0) || secs > 1e9) fail("a duration must be between 0 and 1e9 seconds");
            return static_cast<std::int64_t>(std::llround(secs * 1e9));
        }
        auto d = parse_duration(x);
        if (!d) fail("'" + std::string(x) + "' is not a duration");
        return d->count();
    };
    auto want = [&](std::size_t n) {
        if (a.size() != n || a[0].empty()) fail(std::string(fn) + " takes " + std::to_string(n) + " argument(s)");
    };
    if (fn == "constant") {
        want(1);
        return {wait_time::constant, duration(a[0]), duration(a[0])};
    }
    if (fn == "between") {
        want(2);
        auto lo = duration(a[0]), hi = duration(a[1]);
        if (hi < lo) fail("between(min, max) needs min <= max");
        return {wait_time::between, lo, hi};
    }
    if (fn == "constant_pacing" || fn == "constantPacing") {
        want(1);
        auto d = duration(a[0]);
        return {wait_time::constant_pacing, d, d};
    }
    if (fn == "constant_throughput" || fn == "constantThroughput") {
        want(1);
        double r = 0;
        if (!number(a[0], r) || !(r > 0) || !std::isfinite(r)) fail("the rate must be a number above 0");
        return constant_throughput(r);
    }
    return fail("unknown function '" + std::string(fn) + "'");
}

// Parsed and checked for `scenario` (a loader's one call).
inline wait_time parse_wait_time(std::string_view s, std::string_view scenario, bool open_model) {
    auto w = parse_wait_time(s);
    validate(scenario, w, open_model);
    return w;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
