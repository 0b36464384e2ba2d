#pragma once
// A scenario while it runs: its schedule in this instance, its VU ids and
// counts (scenario_runtime), and in the open model each thread's share of its
// arrivals (arrival_lane). The engine's own bookkeeping, read by its VU loops.
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <unistd.h>  // getentropy

#include <boost/asio/steady_timer.hpp>

#include "../core/config.hpp"
#include "../runtime/context.hpp"
#include "executors.hpp"
#include "options.hpp"
#include "segment.hpp"
#include "tasks.hpp"
#include "vu.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

struct scenario_runtime {
    // `s.exec` is this instance's (scaled to its segment), `st` its stripe
    scenario_runtime(const scenario_spec& s, std::uint32_t id_, std::int64_t t0, std::uint64_t first, const stripe& st,
                     const options* o = nullptr)
        : name(s.name),
          id(id_),
          plan(s.exec, t0, st),
          factory(s.factory),
          first_vu_id(first),
          vu_stripe(&st),
          max_vus(schedule::max_vus(s.exec, st)),
          open(is_open_model(s.exec)),
          env(&s.env),
          wait(s.wait) {
        if (o && s.tasks) picker = task_picker(s.name, s.tasks, o->include_tags, o->exclude_tags);
        seed = o && o->seed ? o->seed : random_seed();
        std::visit(
            [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (requires { x.pre_allocated_vus; }) pre_allocated = x.pre_allocated_vus;
            if constexpr (std::is_same_v<T, shared_iterations>)
                info.total_iterations = static_cast<std::uint64_t>(x.iterations);
            if constexpr (std::is_same_v<T, per_vu_iterations>)
                info.total_iterations = static_cast<std::uint64_t>(x.iterations) * static_cast<std::uint64_t>(x.vus);
            },
            s.exec);
        info.executor = executor_name(s.exec);
        info.start_ns = plan.start_ns();
        info.end_ns = plan.end_ns();
        info.start_unix_ms = wall_ms() + (plan.start_ns() - now_ns()) / 1'000'000;
    }
    std::string name;
    std::uint32_t id;
    schedule plan;
    std::shared_ptr<vu_factory> factory;
    std::uint64_t first_vu_id;         // over the whole test: VU ids are unique across instances
    std::uint64_t first_local_id = 1;  // in this instance
    const stripe* vu_stripe;           // a VU's index here to its index in the whole test
    int max_vus;
    bool open;
    int pre_allocated = 0;
    const std::map<std::string, std::string, std::less<>>* env;
    std::atomic<std::int64_t> active{0};  // VUs that have started and not retired
    scenario_info info;                   // what exec.scenario reads
    // Locust's user model (tasks.hpp): which task each iteration runs, the
    // wait after it, and what seeds the VUs' generators (VU i: seed ^ f(id)).
    task_picker picker;
    loadkit::wait_time wait;
    std::uint64_t seed = 0;

    // The wait time before a VU's next iteration (until `not_before`), as a
    // wait like the schedule's own: a VU waiting is not in an iteration, and
    // the end of the schedule (or a stop) wakes it. Asked before the
    // schedule, whose next() may claim an iteration (shared-iterations); not
    // waited when the VU has nothing left to run. Otherwise: iterate (ask
    // the schedule).
    decision paced(std::int64_t not_before, std::int64_t now, std::uint64_t done) const noexcept {
        if (not_before > now && plan.end_ns() > now && !plan.exhausted(done))
            return {decision::wait, std::min(not_before, plan.end_ns()), 0};
        return {decision::iterate, 0, 0};
    }
    static std::uint64_t random_seed() {
        std::uint64_t r = 0;
        if (::getentropy(&r, sizeof r) != 0) r = 0;
        return r ^ static_cast<std::uint64_t>(now_ns());
    }
};

// Whether some scenario's schedule still runs at `now` (an end of 0: none).
// The engine samples the vus gauge only then, as k6 does (its once-a-second
// samples stop with the run): past the end, VUs only finish their last
// iterations, and a sample there caught them ending ("vus 0 min=0" for a
// constant-vus run, where k6 shows "vus 10 min=10").
inline bool any_scheduled(const std::deque<scenario_runtime>& runtimes, std::int64_t now) noexcept {
    for (auto& sc : runtimes) {
        auto end = sc.plan.live_end_ns();
        if (end == 0 || now < end) return true;
    }
    return false;
}

// A scenario's tasks and wait time, checked before any load.
inline void validate_user_model(const scenario_spec& s, const options& o) {
    validate(s.name, s.wait, is_open_model(s.exec));
    if (s.tasks) task_picker(s.name, s.tasks, o.include_tags, o.exclude_tags);
}

// Open model: one thread's share ("lane") of a scenario's arrivals. Lane j of
// D starts iterations j, j+D, j+2D... on VUs j, j+D, ... of the scenario, so
// the lanes never talk to each other and together start exactly the
// scenario's schedule.
struct arrival_lane {
    arrival_lane(scenario_runtime& s, thread_context& t, std::deque<vu_context>& c, std::uint64_t j, std::uint64_t d)
        : sc(&s), w(&t), contexts(&c), lane(j), lanes(d), next_index(j), timer(t.ioc) {
        // VU indices j, j+d, ... below the scenario's max
        auto max = static_cast<std::uint64_t>(s.max_vus);
        idle.slots.resize(max > j ? static_cast<std::size_t>((max - j + d - 1) / d) : 1);
    }
    scenario_runtime* sc;
    thread_context* w;
    std::deque<vu_context>* contexts;  // the thread's VU contexts
    std::uint64_t lane, lanes;
    std::uint64_t next_index;  // the next VU index this lane may create
    // VUs waiting for an iteration, first in first out (as k6's pool): every
    // pre-allocated VU takes turns, so all are warm (connected) early rather
    // than a cold one showing up in a burst late in the run. A ring sized
    // for every VU the lane may have: no allocation when VUs come and go.
    struct idle_ring {
        std::vector<vu_context*> slots;
        std::size_t head = 0, count = 0;
        bool empty() const noexcept { return count == 0; }
        void push(vu_context* v) {
            slots[(head + count) % slots.size()] = v;
            ++count;
        }
        vu_context* pop() {
            auto* v = slots[head];
            head = (head + 1) % slots.size();
            --count;
            return v;
        }
    } idle;
    bool done = false;
    boost::asio::steady_timer timer;

    // The lane is done: its parked VUs leave (on_stop, user_stop).
    void release_idle() {
        done = true;
        std::vector<vu_context*> leaving;
        while (!idle.empty()) leaving.push_back(idle.pop());
        for (auto* v : leaving) {
            v->released = true;
            v->parked.resume();
        }
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::detail
