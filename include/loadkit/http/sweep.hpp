#pragma once
// The client's side of a thread's housekeeping, apart from client.hpp: the
// sweeper that times requests out and stops VUs at their deadlines, a VU's
// interrupt, and run_blocking (a task driven to its end from the calling
// thread). Included by client.hpp, whose private members these use.
#include <exception>
#include <limits>
#include <stdexcept>

#include <boost/asio/executor_work_guard.hpp>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../runtime/context.hpp"
#include "client.hpp"

namespace loadkit::inline LOADKIT_ABI {
namespace detail {

inline void vu_context::interrupt() {
    interrupted = true;
    if (thread) thread->wake(*this);
    for (client* c = clients; c; c = c->next_in_vu_) c->cut();
    if (thread) thread->interrupt_watches(this);
    if (on_interrupt) on_interrupt(interrupt_self);
}

// Runs `t` to completion on `ctx` from the calling thread, with the sweeper
// on for timeouts: setup, teardown and fetch() drive the client this way.
// The loop is kept running until the task is done, whatever else happens
// to its sweeper: a task may wait for another thread (a JavaScript
// setup/teardown thread posts back when it is done) with nothing of its own
// pending on the loop meanwhile.
inline std::exception_ptr run_blocking(thread_context& ctx, task<> t) {
    std::exception_ptr err;
    bool done = false;
    ctx.ioc.restart();
    auto busy = boost::asio::make_work_guard(ctx.ioc);
    ctx.start_sweeper();
    spawn(std::move(t), [&](std::exception_ptr e) {
        err = e;
        done = true;
        ctx.stop_sweeper();
        busy.reset();
    });
    ctx.ioc.run();
    if (!done) err = std::make_exception_ptr(std::runtime_error("did not complete"));
    return err;
}

inline std::int64_t thread_context::stop_limit(const vu_context& v) const {
    auto limit = v.hard_deadline;
    if (!engine) return limit;
    if (!v.ignore_global_stop || engine->force_stop.load(std::memory_order_relaxed)) {
        limit = std::min(limit, engine->hard_stop_ns.load(std::memory_order_relaxed));
        auto abort_at = engine->abort_at_ns.load(std::memory_order_relaxed);
        if (abort_at != std::numeric_limits<std::int64_t>::max())
            limit = std::min(limit, abort_at + v.graceful_stop_ns);
    }
    return limit;
}

inline void thread_context::sweep() {
    auto now = now_ns();
    for (client *c = clients, *n; c; c = n) {
        n = c->next_;
        if (!c->deadline_ns_) c->unlink_deadline();  // its request ended
        else if (now >= c->deadline_ns_ && !c->timed_out_) c->on_timeout();
    }
    if (watches) sweep_watches(now);
    if (!engine) return;
    engine->poll_signals();
    bool stopping = engine->stopping.load(std::memory_order_relaxed);
    // a resume or a scale (engine/control.hpp): waiting VUs look again
    auto gen = engine->wake_gen.load(std::memory_order_relaxed);
    bool wake = stopping || gen != wakes_seen;
    wakes_seen = gen;
    // the VUs, when one may be due: its own deadline, or the run's end
    // (a hard stop or an abort's: every pass then)
    constexpr auto never = std::numeric_limits<std::int64_t>::max();
    bool ending = engine->hard_stop_ns.load(std::memory_order_relaxed) != never ||
                  engine->abort_at_ns.load(std::memory_order_relaxed) != never;
    if (!wake && !ending && now < next_vu_deadline) return;
    next_vu_deadline = never;
    for (vu_context* v : vus) {
        if (v->running) {
            if (v->interrupted) continue;
            if (now >= stop_limit(*v)) {
                v->interrupt();
                continue;
            }
        } else if (wake) {
            this->wake(*v);  // VUs waiting to start see the stop (or the resume)
        }
        // (a deadline set before its VU runs counts too)
        if (v->hard_deadline < next_vu_deadline) next_vu_deadline = v->hard_deadline;
    }
    if (wake)
        for (auto* t : stop_timers) t->cancel();
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
