#pragma once
// Execution contexts. One thread_context per worker thread (its io_context,
// its metric shard, its DNS cache, its sweeper); one vu_context per VU, living
// on the thread that runs the VU. Nothing here is shared between threads but
// engine_state, whose fields are atomics or touched off the hot path.
#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstdlib>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../core/io.hpp"
#include "../core/log.hpp"
#include "../core/uring.hpp"
#include "../metrics/shard.hpp"
#include "../core/task.hpp"
#include "events.hpp"
#include "../core/signals.hpp"

namespace loadkit::inline LOADKIT_ABI {

class client;
struct request;
class response;
struct client_options;

namespace detail {

struct engine_state;
struct vu_context;

// Something other than an HTTP client that a VU waits on (a WebSocket
// session, ws/): the sweeper calls `fire(self, false)` once `deadline_ns`
// (steady clock; 0: none) has passed, and the VU's interrupt calls
// `fire(self, true)`. An intrusive list on the thread, walked off the hot
// path only (every sweep, and on interrupt); empty unless such a thing is open.
struct io_watch {
    io_watch *prev = nullptr, *next = nullptr;
    vu_context* vu = nullptr;
    std::int64_t deadline_ns = 0;
    void* self = nullptr;
    void (*fire)(void* self, bool interrupted) = nullptr;
};

// The VU whose code runs on this thread now. Every awaitable of loadkit's
// (requests, sleep, group) sets it again when it resumes its VU, so code
// between two awaits sees its own VU: custom metrics use it to find the
// thread's shard and the VU's scenario and group.
inline thread_local vu_context* current_vu = nullptr;

// What k6/execution's exec.scenario reads about a scenario (one per
// scenario of the run, owned by the engine).
struct scenario_info {
    std::string_view executor;              // k6's name: "constant-vus", ...
    std::int64_t start_ns = 0, end_ns = 0;  // its schedule, on the steady clock
    std::int64_t start_unix_ms = 0;         // when it starts, in Unix milliseconds
    std::uint64_t total_iterations = 0;     // iteration-based executors (this instance's share); 0: time-based
    // Iterations started in this instance: exec.scenario.iterationInInstance,
    // and (through the instance's stripe) iterationInTest. One relaxed add
    // per iteration.
    std::atomic<std::uint64_t> started{0};
};

struct thread_context {
    thread_context(engine_state* e, int idx) : engine(e), index(idx), sweep_timer(ioc), sleep_timer(ioc) {}
    thread_context(const thread_context&) = delete;

    // One thread runs it (hint 1). BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO, which
    // drops the per-socket locks, was measured no cheaper here.
    boost::asio::io_context ioc{1};
    // The thread's io_uring when the run's hot path uses one (io_backend()):
    // made on the thread itself by start_ring(), destroyed before ioc.
    // run_loop() is ioc.run(), or the ring's loop, which runs ioc too.
    std::unique_ptr<uring> ring;
    void start_ring() {
        if (!ring && io_backend() == io_mode::io_uring) ring = uring::open(ioc);
    }
    void run_loop() {
        if (ring) ring->run();
        else ioc.run();
    }
    metrics_shard shard;
    engine_state* engine;
    int index;

    // Iterations ended on this thread (k6's exec.instance.iterationsCompleted
    // and iterationsInterrupted): written by this thread only (a load and a
    // store, no contended add), read by any.
    std::atomic<std::uint64_t> iterations_completed{0}, iterations_interrupted{0};
    void count_iteration(bool completed) noexcept {
        auto& n = completed ? iterations_completed : iterations_interrupted;
        n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    client* clients = nullptr;     // intrusive list, for timeouts
    io_watch* watches = nullptr;   // other things with timeouts and interrupts (see io_watch)
    void watch(io_watch& w) noexcept {
        w.prev = nullptr;
        w.next = watches;
        if (watches) watches->prev = &w;
        watches = &w;
    }
    void unwatch(io_watch& w) noexcept {
        if (w.prev) w.prev->next = w.next;
        else if (watches == &w) watches = w.next;
        if (w.next) w.next->prev = w.prev;
        w.prev = w.next = nullptr;
    }
    // The sweeper's and an interrupt's walk over the watches (a fired watch
    // may unwatch itself, so the next one is taken first).
    void sweep_watches(std::int64_t now) {
        for (io_watch *w = watches, *n; w; w = n) {
            n = w->next;
            if (w->deadline_ns && now >= w->deadline_ns) {
                w->deadline_ns = 0;
                w->fire(w->self, false);
            }
        }
    }
    void interrupt_watches(const vu_context* v) {
        for (io_watch *w = watches, *n; w; w = n) {
            n = w->next;
            if (w->vu == v) w->fire(w->self, true);
        }
    }
    std::vector<vu_context*> vus;  // every VU of this thread, for deadlines
    // The earliest hard deadline a VU of this thread may have reached: the
    // sweeper walks `vus` only when it has come (or the run stops or wakes
    // VUs), so thousands of VUs sleeping through their iterations cost it
    // nothing per pass. Lowered by vu_context::set_hard_deadline, recomputed
    // by the walk.
    std::int64_t next_vu_deadline = std::numeric_limits<std::int64_t>::max();
    std::unordered_map<std::string, std::vector<boost::asio::ip::tcp::endpoint>, string_hash, std::equal_to<>> dns;
    std::string dns_key;  // "host:port", the last one looked up in dns (its storage reused)

    std::vector<boost::asio::steady_timer*> stop_timers;  // woken when the run stops (arrival dispatchers)

    // A live snapshot of this thread's shard (abortOnFail thresholds,
    // progress) is normally a handler posted to ioc. While JavaScript spins
    // on this thread the loop cannot run it, so the script's interrupt
    // callback (every 50 ms, on this thread, between two JavaScript steps:
    // never while the shard is being written) answers it instead.
    std::mutex snapshot_mu;
    std::function<void()>* snapshot_wanted = nullptr;  // guarded by snapshot_mu
    std::atomic<bool> snapshot_pending{false};
    void answer_snapshot() {
        if (!snapshot_pending.load(std::memory_order_acquire)) return;
        std::lock_guard lock(snapshot_mu);
        if (snapshot_wanted) (*snapshot_wanted)();
        snapshot_wanted = nullptr;
        snapshot_pending.store(false);
    }

    boost::asio::steady_timer sweep_timer;
    std::uint32_t wakes_seen = 0;  // engine_state::wake_gen already acted on by this thread's sweeper
    nanoseconds sweep_period = std::chrono::milliseconds(10);
    bool sweeping = false;

    void start_sweeper();
    void stop_sweeper() {
        sweeping = false;
        sweep_timer.cancel();
    }
    void sweep();

    // VUs waiting until a time (vu_context::wait_until): a min-heap of
    // deadlines and one timer armed for the earliest. A waiting VU costs a
    // heap entry, not an Asio timer and operation of its own (at thousands
    // of VUs that was 250 bytes each). An entry whose VU was woken early
    // (wake()) is dropped when it comes up: its ticket no longer matches.
    struct sleeper {
        std::int64_t at;
        vu_context* v;
        std::uint32_t ticket;
        bool operator>(const sleeper& o) const noexcept { return at > o.at; }
        // Its VU was woken early (wake()) or sleeps again under a later entry.
        bool stale() const noexcept;
    };
    std::vector<sleeper> sleepers;
    std::size_t sleeping = 0;  // entries whose VU still waits
    boost::asio::steady_timer sleep_timer;
    std::int64_t sleep_armed = std::numeric_limits<std::int64_t>::max();  // sleep_timer's deadline
    void sleep(vu_context& v, std::int64_t at, std::coroutine_handle<> h);
    void wake(vu_context& v);  // now, from wherever it waits (its resumption is posted)
    void wake_due();
    void arm_sleep();

    // When a running VU's iteration must be cut: its own deadline, the
    // test's hard stop, or an abort's gracefulStop (defined in client.hpp).
    std::int64_t stop_limit(const vu_context& v) const;
};

// One VU's identity and state, as the engine, its client and its code see it.
struct vu_context {
    thread_context* thread = nullptr;
    std::uint32_t scenario_id = 0;  // index into engine_state::scenario_names
    std::string_view scenario;
    std::uint64_t id = 0;         // 1-based, unique in the run (k6's __VU), and over instances of a split test
    std::uint64_t local_id = 0;   // 1-based, in this instance (k6's exec.vu.idInInstance)
    std::uint64_t index = 0;      // 0-based within its scenario
    std::uint64_t iteration = 0;  // this VU's current iteration, 0-based (k6's __ITER)
    // The current iteration's number in its scenario: in this instance, and
    // in the whole test (unique over every instance of a split test).
    std::uint64_t scenario_iteration = 0, scenario_iteration_in_test = 0;
    scenario_info* scenario_state = nullptr;  // null in setup/teardown
    std::uint32_t group = 0;                  // current group (string id in the thread's shard; 0 = none)
    // Locust's tasks (engine/tasks.hpp): the task this iteration runs (an
    // index into the front end's list), the VU's own generator (weighted
    // picks, between() waits) and how many tasks a sequence has handed out.
    std::uint32_t task = 0;
    std::uint64_t rng = 0, task_seq = 0;

    bool running = false;  // inside an iteration (or on_start/on_stop)
    bool interrupted = false;
    bool ignore_global_stop = false;  // on_stop after an abort: only its own deadline applies
    std::int64_t hard_deadline = std::numeric_limits<std::int64_t>::max();
    std::int64_t graceful_stop_ns = 0;  // the scenario's gracefulStop, applied after an abort
    // (what a VU's deadline is set with: its thread's sweeper then knows to look)
    inline void set_hard_deadline(std::int64_t at) noexcept;

    // Open model: the iteration handed to this VU by its arrival dispatcher.
    std::coroutine_handle<> parked{};  // set while the VU waits for an iteration
    bool released = false;             // the dispatcher is done: leave instead of iterating
    std::int64_t intended_start = 0;   // when the iteration was scheduled to start
    std::int64_t start_lag = -1;       // how late it started; -1 in the closed model

    const std::map<std::string, std::string, std::less<>>* env = nullptr;  // the scenario's env

    client* clients = nullptr;  // this VU's clients, to cut their I/O on interrupt
    // sleep and start waits (thread_context::sleep): the waiting coroutine,
    // and which of the thread's heap entries is its current one
    std::coroutine_handle<> waiting{};
    std::uint32_t wait_ticket = 0;

    // Hooks of the VU type, bound by the engine when the type has them.
    void* hook_self = nullptr;
    void (*before_request)(void*, request&) = nullptr;
    void (*after_request)(void*, const response&) = nullptr;
    // Told when the VU is interrupted: code that runs elsewhere (a JavaScript
    // VU's own thread) stops there too.
    void* interrupt_self = nullptr;
    void (*on_interrupt)(void*) = nullptr;

    void interrupt();  // cut the current iteration (defined in client.hpp)

    // Awaitable: suspends this VU until `deadline_ns` (steady clock), or until
    // interrupted, in which case it throws interrupted_error.
    auto wait_until(std::int64_t deadline_ns) {
        struct awaiter {
            vu_context* v;
            std::int64_t deadline;
            bool await_ready() const noexcept { return v->interrupted || deadline <= now_ns(); }
            void await_suspend(std::coroutine_handle<> h) { v->thread->sleep(*v, deadline, h); }
            void await_resume() const {
                current_vu = v;
                if (v->interrupted) throw interrupted_error{};
            }
        };
        return awaiter{this, deadline_ns};
    }
};


enum class abort_kind : int {
    none = 0,
    external = 1,
    script = 2,
    setup_failed = 3,
    thresholds = 4,
    vu_init = 5,
    setup_timeout = 6,
    teardown_timeout = 7,
    internal = 8,
    api = 9  // stopped or aborted through the run's control (engine/control.hpp): k6's exit code 103
};

struct engine_state {
    std::atomic<bool> stopping{false};  // no new iterations anywhere
    std::atomic<std::int64_t> abort_at_ns{
        std::numeric_limits<std::int64_t>::max()};  // VUs get their gracefulStop from here
    std::atomic<std::int64_t> hard_stop_ns{std::numeric_limits<std::int64_t>::max()};  // everything is cut from here
    std::atomic<int> kind{0};                                                          // abort_kind of the first abort
    std::atomic<std::int64_t> active_vus{0};
    std::atomic<std::int64_t> initialized_vus{0};  // VUs whose code was created (k6's vusInitialized)
    std::int64_t started_ns = 0;                   // when the run started (k6's currentTestRunDuration counts from it)
    std::vector<thread_context*> workers;          // for exec.instance's iteration counts (set while VUs run)
    std::atomic<bool> force_stop{false};           // cut on_stop too (a second signal)
    std::atomic<bool> in_teardown{false};
    std::atomic<int> signals_seen{0};  // signal_counter::count already acted on
    // The run's control (engine/control.hpp): paused (read by a VU once per
    // iteration, never per request), and a count bumped by resume and scale
    // that makes every sweeper wake its waiting VUs and dispatchers (so they
    // look again), as a stop does.
    const std::atomic<bool>* paused = &never_paused;
    static inline const std::atomic<bool> never_paused{false};
    std::atomic<std::uint32_t> wake_gen{0};
    // The signals that stopped the run, for the summary's control actions.
    struct signal_action {
        std::int64_t at_ns;
        std::string name;
        bool at_once;
    };
    std::vector<signal_action> signal_actions;  // guarded by mu
    std::mutex mu;                     // abort reason
    std::recursive_mutex events_mu;    // event dispatch (a listener may fire another event)
    std::optional<std::string> abort_reason;
    loadkit::events* events = nullptr;
    bool has_request_listeners = false;
    const client_options* http = nullptr;                 // the run's client defaults (owned by the engine)
    std::vector<std::string> scenario_names{""};          // id 0: setup/teardown, no scenario
    std::map<std::string, std::string, std::less<>> env;  // options::env

    // Stops the run: no new iterations; an iteration in flight gets its
    // scenario's gracefulStop, or nothing when `immediate`.
    void abort(std::string reason, abort_kind k, bool immediate = false) {
        {
            std::lock_guard lock(mu);
            if (!abort_reason) {
                abort_reason = std::move(reason);
                kind.store(static_cast<int>(k));
            }
        }
        stopping.store(true);
        auto now = now_ns();
        auto cur = abort_at_ns.load();
        while (now < cur && !abort_at_ns.compare_exchange_weak(cur, now)) {}
        if (immediate) {
            cur = hard_stop_ns.load();
            while (now < cur && !hard_stop_ns.compare_exchange_weak(cur, now)) {}
        }
    }
    // Turns signals counted since the last poll into aborts (any thread).
    void poll_signals() {
        int n = signal_counter::count.load(std::memory_order_relaxed);
        int seen = signals_seen.load(std::memory_order_relaxed);
        if (n == seen || !signals_seen.compare_exchange_strong(seen, n)) return;
        int sig = signal_counter::last.load(std::memory_order_relaxed);
        std::string name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal " + std::to_string(sig);
        auto now = now_ns();
        if (in_teardown.load()) {
            // teardown runs once the VUs are done: a signal now cuts it at
            // once, and the run counts as aborted from outside (105)
            log(log_level::warn, name + ": cutting teardown");
            abort("interrupted by " + name + " during teardown", abort_kind::external, true);
            hard_stop_ns.store(now);
            return;
        }
        bool first = !stopping.load();
        {
            std::lock_guard lock(mu);
            signal_actions.push_back({now, name, !(first && n - seen == 1)});
        }
        if (first && n - seen == 1) {
            log(log_level::warn, name + ": stopping gracefully (gracefulStop applies; send it again to stop at once)");
            abort("interrupted by " + name, abort_kind::external, false);
        } else {
            log(log_level::warn, name + " again: stopping at once");
            force_stop.store(true);
            abort("interrupted by " + name, abort_kind::external, true);
            hard_stop_ns.store(now);
        }
    }

    bool aborted() {
        std::lock_guard lock(mu);
        return abort_reason.has_value();
    }
    template <class F>
    void with_events(F&& f) {
        if (!events) return;
        std::lock_guard lock(events_mu);
        try {
            f(*events);
        } catch (const std::exception& e) {
            log(log_level::warn, std::string("event listener failed: ") + e.what());
        } catch (...) {
            log(log_level::warn, "event listener failed");
        }
    }
};

// k6's __ENV lookup order: the scenario's env, the run's env, the process's.
inline std::string_view lookup_env(const vu_context* v, std::string_view key, std::string_view fallback) {
    if (v && v->env)
        if (auto it = v->env->find(key); it != v->env->end()) return it->second;
    if (v && v->thread && v->thread->engine) {
        auto& e = v->thread->engine->env;
        if (auto it = e.find(key); it != e.end()) return it->second;
    }
    if (const char* p = std::getenv(std::string(key).c_str())) return p;
    return fallback;
}

inline bool thread_context::sleeper::stale() const noexcept { return v->wait_ticket != ticket || !v->waiting; }

inline void thread_context::sleep(vu_context& v, std::int64_t at, std::coroutine_handle<> h) {
    v.waiting = h;
    sleepers.push_back({at, &v, ++v.wait_ticket});
    std::push_heap(sleepers.begin(), sleepers.end(), std::greater<>{});
    ++sleeping;
    if (at < sleep_armed) arm_sleep();
}

inline void thread_context::wake(vu_context& v) {
    if (!v.waiting) return;
    auto h = std::exchange(v.waiting, {});
    ++v.wait_ticket;  // its entry is stale now
    --sleeping;
    arm_sleep();  // (for the next live entry, or none)
    boost::asio::post(ioc, pooled([h] { h.resume(); }));  // (as a cancelled timer's handler was)
}

inline void thread_context::wake_due() {
    sleep_armed = std::numeric_limits<std::int64_t>::max();  // (the timer fired: nothing armed)
    auto now = now_ns();
    while (!sleepers.empty() && sleepers.front().at <= now) {
        std::pop_heap(sleepers.begin(), sleepers.end(), std::greater<>{});
        sleeper e = sleepers.back();
        sleepers.pop_back();
        if (e.stale()) continue;  // woken early
        --sleeping;
        std::exchange(e.v->waiting, {}).resume();  // (may sleep again: a later entry)
    }
    arm_sleep();
}

inline void thread_context::arm_sleep() {
    // Entries of VUs woken early are dropped here once nothing waits, or
    // when they come first: a stale entry must not keep the timer, and so
    // the thread's loop, waiting for a VU that no longer waits (nor outlive
    // the run's VU contexts it points to).
    if (sleeping == 0) sleepers.clear();
    while (!sleepers.empty() && sleepers.front().stale()) {
        std::pop_heap(sleepers.begin(), sleepers.end(), std::greater<>{});
        sleepers.pop_back();
    }
    if (sleepers.empty()) {
        sleep_armed = std::numeric_limits<std::int64_t>::max();
        sleep_timer.cancel();
        return;
    }
    if (sleepers.front().at == sleep_armed) return;  // already set for it
    sleep_armed = sleepers.front().at;
    sleep_timer.expires_at(clock::time_point(nanoseconds(sleep_armed)));  // (cancels the earlier wait)
    sleep_timer.async_wait(pooled([this](const boost::system::error_code& ec) {
        if (ec == boost::asio::error::operation_aborted) return;  // re-armed, or nothing waits
        wake_due();
    }));
}

inline void vu_context::set_hard_deadline(std::int64_t at) noexcept {
    hard_deadline = at;
    if (thread && at < thread->next_vu_deadline) thread->next_vu_deadline = at;
}

inline void thread_context::start_sweeper() {
    sweeping = true;
    sweep_timer.expires_after(sweep_period);
    sweep_timer.async_wait(pooled([this](const boost::system::error_code& ec) {
        if (ec || !sweeping) return;
        sweep();
        if (sweeping) start_sweeper();
    }));
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
