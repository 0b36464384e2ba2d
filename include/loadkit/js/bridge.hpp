#pragma once
// The hand-over between a VU's engine (its worker thread) and its
// JavaScript: for a sync VU's thread (vu_thread.hpp) the futex that passes
// the turn and what each side asks of the other; for async VUs (async.hpp)
// what their global asks of the engine (async_host). Metric samples made in
// JavaScript travel as metric_ops, applied on the worker.
#include <atomic>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "../core/config.hpp"
#include "../http/client.hpp"
#include "../runtime/custom_metrics.hpp"
#include "spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

namespace ld = loadkit::detail;

// --- the hand-over between a VU's worker and its JavaScript thread ------

// A metric sample made in JavaScript, applied on the worker.
struct metric_op {
    enum kind_t : std::uint8_t { check, sample, group } kind;
    explicit metric_op(kind_t k) : kind(k) {}
    bool flag = false;  // check: passed; sample: time values
    metric_kind metric_kind_ = metric_kind::counter;
    std::uint32_t metric = 0;
    double value = 0;
    std::string name;  // check name, or the group path
    std::vector<std::pair<std::string, std::string>> tags;
};

inline metric_op group_op(std::string path) {
    metric_op op{metric_op::group};
    op.name = std::move(path);
    return op;
}

// A request as JavaScript asked for it (http.* arguments), kept until the
// engine has sent it.
struct request_spec {
    std::string method, url, body, name;
    header_list headers;
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<request_cookie> cookies;  // params.cookies
    std::optional<nanoseconds> timeout;
    int redirects = -1;
    cookie_jar* jar = nullptr;  // params.jar (a script's CookieJar), or null: the VU's
    bool digest_auth = false;   // params.auth 'digest'
    // the response side: the expected statuses (the VU's setResponseCallback
    // or params.responseCallback) and params.responseType
    enum class body_type : std::uint8_t { unset, text, binary, none };
    body_type response_type = body_type::unset;
    bool has_expected = false;
    expected_statuses expected;

    // params viewing this spec (valid while the spec lives and is unchanged)
    params to_params() const {
        params p;
        p.name = name;
        std::size_t n = 0;
        for (auto& [k, v] : tags)
            if (n < std::size(p.tags)) p.tags[n++] = {k, v};
        p.timeout = timeout;
        p.redirects = redirects;
        p.header_list = headers;
        p.cookies = cookies;
        p.jar = jar;
        p.digest_auth = digest_auth;
        if (has_expected) p.expected = &expected;
        if (response_type != body_type::unset) p.discard_body = response_type == body_type::none;
        return p;
    }
};

// Work a module's native hands to the engine other than an HTTP request (a
// gRPC call, a stream's next message, k6/ws's session steps: connect, wait
// for an event, write): run() on the VU's worker thread, then result() on the
// JavaScript side makes the value the native returns (threads: ask::job) or
// its promise settles with (async VUs). The native owns it and keeps it alive
// until result() has run. An interrupt ends run() with interrupted_error, as
// a request.
struct engine_job {
    virtual ~engine_job() = default;
    // On the worker, with the VU's HTTP client (its thread, its VU).
    virtual task<> run(client& http) = 0;
    // On the JavaScript side; false with an exception pending. By default
    // undefined (k6/ws's steps report through their events instead).
    virtual bool result(JSContext*, JS::MutableHandleValue out) {
        out.setUndefined();
        return true;
    }
};

struct bridge {
    enum class command { none, call, setup, teardown, before, after, quit };
    enum class ask { done, http, sleep, job };

    // 1: the JavaScript thread owns the VU; 0: the engine does; 2: the engine
    // does and the JavaScript thread sleeps on the futex.
    std::atomic<int> turn{1};
    // 0: initialising, 1: the engine waits for it, 2: ready
    std::atomic<int> init_state{0};
    std::string init_error;
    std::coroutine_handle<> waiting{};
    boost::asio::io_context* ioc = nullptr;
    std::atomic<JSContext*> cx{nullptr};
    std::atomic<bool> stop{false};  // the VU was interrupted: terminate the JavaScript

    // engine -> JavaScript
    command cmd = command::none;
    std::string function;
    request* req = nullptr;
    const response* res = nullptr;
    ld::vu_context* vu = nullptr;
    // The engine's VU this command runs for: `vu`, or for setup/teardown
    // (whose instance has no VU of its own) the engine's control VU, whose
    // shard records their checks and whose deadline and interrupts apply.
    ld::vu_context* host_vu = nullptr;

    // JavaScript -> engine
    ask asked = ask::done;
    request_spec spec;
    double sleep_seconds = 0;
    engine_job* job = nullptr;  // ask::job
    std::vector<metric_op> ops;

    // answers
    const response* answer = nullptr;
    bool answer_interrupted = false;

    // the outcome of a command
    bool interrupted = false;
    std::optional<std::string> abort_reason;
    std::string failure;

    // JavaScript side: gives the VU back to the engine, waits for it again.
    void hand_back() {
        auto h = waiting;
        auto* io = ioc;
        turn.store(0, std::memory_order_release);
        boost::asio::post(*io, [h] { h.resume(); });
        wait_turn();
    }
    // Sleeps in the kernel until the engine gives the turn back. A futex, not
    // std::atomic::wait: libstdc++'s wait spins on sched_yield first, which
    // with a thousand VU threads cost 160 us of CPU per request (measured).
    void wait_turn() {
        for (;;) {
            int t = turn.load(std::memory_order_acquire);
            if (t == 1) return;
            if (t == 0 && !turn.compare_exchange_strong(t, 2, std::memory_order_acq_rel)) continue;
            ::syscall(SYS_futex, reinterpret_cast<int*>(&turn), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
        }
    }
    // Engine side: the turn to the JavaScript thread, waking it if it sleeps.
    void give() {
        if (turn.exchange(1, std::memory_order_acq_rel) == 2)
            ::syscall(SYS_futex, reinterpret_cast<int*>(&turn), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
    // Engine side: gives the VU to the JavaScript thread until it hands back.
    struct give_turn {
        bridge& b;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            b.waiting = h;
            b.give();
        }
        void await_resume() const noexcept {}
    };
    // Engine side: until the JavaScript thread has run the init code.
    struct ready {
        bridge& b;
        bool await_ready() const noexcept { return b.init_state.load(std::memory_order_acquire) == 2; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            b.waiting = h;
            int expected = 0;
            return b.init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
        }
        void await_resume() const noexcept {}
    };
};

// What an async VU gives its global: requests and sleeps run by the engine,
// each settling `promise` when done.
struct async_host {
    virtual ~async_host() = default;
    // The spec of the next request, to fill (its buffers are reused), then
    // start_request starts it.
    virtual request_spec& next_request() = 0;
    virtual bool start_request(JS::HandleObject promise) = 0;
    virtual bool start_sleep(double seconds, JS::HandleObject promise) = 0;
    // Runs `job` on the engine, then settles `promise` with its result();
    // the job must live until then (the iteration waits for it).
    virtual bool start_job(engine_job& job, JS::HandleObject promise) = 0;
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
