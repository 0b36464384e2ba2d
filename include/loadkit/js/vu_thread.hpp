#pragma once
// SpiderMonkey 102 under the JavaScript adapter: a synchronous VU's thread.
//
// Most VUs are async (async.hpp: one realm per worker thread), synchronous
// k6 scripts included once rewritten to await (transform.hpp). A script
// that cannot be rewritten keeps k6's blocking API the direct way: a
// JavaScript VU needs a stack of its own while it waits, so each VU gets a
// thread of its own running a JSContext created as a child of the script's
// parent runtime (which shares atoms and self-hosted code: about 550 KB per
// context instead of 3 MB). The engine still owns the VU: its iteration is a coroutine on a
// worker thread that hands the VU's turn to the JavaScript thread and serves
// what that thread asks for (a request on the VU's own client, a sleep) on
// the worker's event loop, so executors, metrics, timeouts and interrupts are
// the engine's, unchanged. Exactly one side owns a VU at a time; the turn
// passes through one atomic (a futex), and back through a post to the
// worker's io_context.
//
// Metric samples made in JavaScript (checks, custom metrics, groups) are kept
// in the VU's queue and applied on the worker at the next hand-back, where the
// thread's shard lives.
#include <atomic>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include <pthread.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../http/client.hpp"
#include "../runtime/context.hpp"
#include "bridge.hpp"
#include "context.hpp"
#include "instance.hpp"
#include "loader.hpp"
#include "program.hpp"
#include "spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

namespace ld = loadkit::detail;

// The context's private is the instance of a VU thread (sync VUs only).
inline bool interrupt_callback(JSContext* cx) {
    auto* p = static_cast<instance*>(JS_GetContextPrivate(cx));
    return !(p && p->link && p->link->stop.load(std::memory_order_relaxed));
}

// --- a VU's JavaScript thread ---------------------------------------------

class vu_thread {
  public:
    // `vu` is null for the setup/teardown instance.
    vu_thread(program& p, ld::vu_context* vu, vars_map* vars) : prog_(p), vars_(vars) {
        // Each VU thread maps about 7 regions (stack, guard, GC chunks, ...);
        // past vm.max_map_count, SpiderMonkey's allocations fail and it
        // crashes (measured at 8000 VUs with the default 65530). Refuse the
        // VU instead, with what to do about it.
        static const long max_maps = [] {
            long n = 65530;
            std::ifstream("/proc/sys/vm/max_map_count") >> n;
            return n;
        }();
        static std::atomic<long> live{0};
        long limit = (max_maps - 4096) / maps_per_vu_thread;
        if (live.fetch_add(1) >= limit) {
            live.fetch_sub(1);
            throw std::runtime_error("too many synchronous JavaScript VUs for vm.max_map_count (" +
                                     std::to_string(max_maps) + "): at most " + std::to_string(limit) +
                                     " here; raise it (sysctl -w vm.max_map_count=" + std::to_string(max_maps * 4) +
                                     "), or make the exec function async (one thread for many VUs)");
        }
        live_ = &live;
        b_.vu = vu;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, vu_stack_bytes);
        int rc = pthread_create(&thread_, &attr, &vu_thread::start, this);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            live_->fetch_sub(1);
            throw std::runtime_error(std::string("cannot start a JavaScript VU thread: ") + std::strerror(rc));
        }
    }
    ~vu_thread() {
        int s;
        if (b_.init_state.load(std::memory_order_acquire) != 2) interrupt();  // init code that never ends
        while ((s = b_.init_state.load(std::memory_order_acquire)) != 2) b_.init_state.wait(s);
        b_.cmd = bridge::command::quit;
        b_.give();
        pthread_join(thread_, nullptr);
        live_->fetch_sub(1);
    }
    vu_thread(const vu_thread&) = delete;

    bridge& link() noexcept { return b_; }

    // Engine side: runs the command set in the bridge to its end, serving the
    // requests and sleeps it asks for on `http` (the VU's client).
    task<> drive(client& http) {
        b_.ioc = &http.thread().ioc;
        // setup/teardown: the engine's control VU (checks, groups, sleeps
        // that a deadline or a signal can cut)
        ld::vu_context* vu = b_.vu ? b_.vu : http.vu();
        b_.host_vu = vu;
        b_.stop.store(false);
        if (vu && vu->interrupted) interrupt();  // cut before it got here
        co_await bridge::ready{b_};
        if (!b_.init_error.empty()) throw std::runtime_error(b_.init_error);
        for (;;) {
            co_await bridge::give_turn{b_};
            ld::current_vu = vu;
            for (auto& op : b_.ops) instance::apply(op, vu);
            b_.ops.clear();
            ld::current_vu = vu;
            if (b_.asked == bridge::ask::done) break;
            try {
                if (b_.asked == bridge::ask::http) {
                    auto p = b_.spec.to_params();
                    b_.answer = &co_await http.send(b_.spec.method, b_.spec.url, b_.spec.body, p);
                } else if (b_.asked == bridge::ask::job) {
                    co_await b_.job->run(http);
                } else {
                    auto until = ld::now_ns() + static_cast<std::int64_t>(b_.sleep_seconds * 1e9);
                    if (vu) {
                        co_await vu->wait_until(until);
                    } else {
                        boost::asio::steady_timer t(http.thread().ioc);
                        t.expires_at(clock::time_point(nanoseconds(until)));
                        co_await ld::io([&](auto h) { t.async_wait(std::move(h)); });
                    }
                }
            } catch (const interrupted_error&) {
                b_.answer_interrupted = true;
            }
        }
        if (b_.abort_reason) {
            http.thread().engine->abort(*b_.abort_reason, ld::abort_kind::script, true);
            throw ld::script_abort{};
        }
        if (b_.interrupted) throw interrupted_error{};
        if (!b_.failure.empty()) throw std::runtime_error(b_.failure);
    }

    // From any thread: stop the JavaScript now (the VU was interrupted).
    void interrupt() {
        b_.stop.store(true);
        if (auto* cx = b_.cx.load()) JS_RequestInterruptCallback(cx);
    }

  private:
    static void* start(void* self) {
        static_cast<vu_thread*>(self)->main();
        return nullptr;
    }
    void init_done() {
        b_.turn.store(0, std::memory_order_release);
        int prev = b_.init_state.exchange(2, std::memory_order_acq_rel);
        b_.init_state.notify_all();
        if (prev == 1) boost::asio::post(*b_.ioc, [h = b_.waiting] { h.resume(); });
    }
    void main() {
        JSContext* cx = JS_NewContext(heap_max_bytes, prog_.parent);
        if (!cx) {
            b_.init_error = "cannot create a JavaScript context (out of memory?)";
            init_done();
            b_.wait_turn();
            return;
        }
        {
            instance in(cx, prog_, &b_);
            in.vars = vars_;
            JS_SetContextPrivate(cx, &in);
            try {
                setup_context(cx, stack_quota_bytes);
                JS_AddInterruptCallback(cx, &interrupt_callback);
                b_.cx.store(cx);
                if (!boot(in)) b_.init_error = "init code: " + in.error;
            } catch (const std::exception& e) {
                b_.init_error = e.what();
            }
            init_done();
            for (;;) {
                b_.wait_turn();
                if (b_.cmd == bridge::command::quit) break;
                if (b_.init_error.empty()) in.serve(b_);
                b_.asked = bridge::ask::done;
                auto h = b_.waiting;
                b_.turn.store(0, std::memory_order_release);
                boost::asio::post(*b_.ioc, [h] { h.resume(); });
            }
            b_.cx.store(nullptr);
            JS_SetContextPrivate(cx, nullptr);
        }
        JS_DestroyContext(cx);
    }

    static constexpr long maps_per_vu_thread = 7;  // 6.5 measured without the JIT
    program& prog_;
    vars_map* vars_;
    bridge b_;
    pthread_t thread_{};
    std::atomic<long>* live_ = nullptr;
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
