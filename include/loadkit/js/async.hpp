#pragma once
// Async JavaScript VUs: a scenario whose exec function is `async` runs its
// VUs without threads of their own. Each worker thread has one JSContext
// (a child of the script's parent runtime) with one global (the prelude and
// the k6 API) in which each of its async VUs has its own instance of the
// script's modules; `await http.asyncRequest(...)` and `await sleep(...)`
// return promises that the engine's coroutines settle on the worker's event
// loop, then the job queue runs the awaiting code. JavaScript only ever runs
// to completion on the worker's stack, between two events, so the context's
// rooting stays in stack order; nothing rooted lives across a co_await.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../core/config.hpp"
#include "bridge.hpp"
#include "context.hpp"
#include "errors.hpp"
#include "instance.hpp"
#include "loader.hpp"
#include "program.hpp"
#include "realm.hpp"
#include "spidermonkey.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

// Async VUs run their JavaScript on the worker's own thread, so a busy loop
// would also stop the sweeper there that enforces gracefulStop. A watchdog
// thread asks every shared context for an interrupt check every 50 ms, and
// the check (on the worker) stops the running VU's code once the VU is past
// the deadline the sweeper would have applied.
class watchdog {
  public:
    static watchdog& get() {
        static watchdog w;
        return w;
    }
    void add(JSContext* cx) {
        std::lock_guard lock(mu_);
        contexts_.insert(cx);
        if (!thread_.joinable()) thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
    }
    void remove(JSContext* cx) {
        std::lock_guard lock(mu_);
        contexts_.erase(cx);
    }
    // On the context's thread, inside JavaScript.
    static bool check(JSContext* cx) {
        JS::Realm* realm = JS::GetCurrentRealmOrNull(cx);
        auto* state = realm ? static_cast<realm_state*>(JS::GetRealmPrivate(realm)) : nullptr;
        ld::vu_context* v = state && state->current ? state->current->vu() : nullptr;
        if (v && v->thread) v->thread->answer_snapshot();  // the loop may be stuck in this JavaScript
        if (!v || !v->thread || !v->running || ld::now_ns() < v->thread->stop_limit(*v)) return true;
        if (!v->interrupted) v->interrupt();
        return false;  // uncatchable: the VU's code stops here
    }

  private:
    watchdog() = default;
    void loop(std::stop_token stop) {
        while (!stop.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            std::lock_guard lock(mu_);
            for (JSContext* cx : contexts_) JS_RequestInterruptCallback(cx);
        }
    }
    std::mutex mu_;
    std::set<JSContext*> contexts_;
    std::jthread thread_;  // declared last: joined before the set goes
};

// One context and one global per (worker thread, script), shared by that
// thread's async VUs and destroyed with the last of them, on that thread.
struct shared_context {
    JSContext* cx = nullptr;
    realm_state realm;
    std::unique_ptr<JS::PersistentRootedObject> global;

    explicit shared_context(program& p) {
        cx = JS_NewContext(heap_max_bytes, p.parent);
        if (!cx) throw script_error("cannot create a JavaScript context (out of memory?)");
        try {
            setup_context(cx, 4u << 20, 16u << 20);  // on a worker thread's stack (8 MB)
            realm.async_mode = true;
            std::string error;
            JSObject* g = new_global(cx, p, realm, error);
            if (!g) throw script_error("init code: " + error);
            global = std::make_unique<JS::PersistentRootedObject>(cx, g);
            JS_AddInterruptCallback(cx, &watchdog::check);
            watchdog::get().add(cx);
        } catch (...) {
            realm.release();
            global.reset();
            JS_DestroyContext(cx);
            throw;
        }
    }
    ~shared_context() {
        watchdog::get().remove(cx);
        realm.release();
        global.reset();
        JS_DestroyContext(cx);
    }
    shared_context(const shared_context&) = delete;

    static std::shared_ptr<shared_context> for_this_thread(program& p) {
        thread_local std::map<const program*, std::weak_ptr<shared_context>> contexts;
        auto& w = contexts[&p];
        if (auto s = w.lock()) return s;
        auto s = std::make_shared<shared_context>(p);
        w = s;
        return s;
    }
};

class async_vu final : public loadkit::script_vu, public async_host {
  public:
    async_vu(program& p, ld::vu_context& ctx, client& http, vars_map& vars)
        : shared_(shared_context::for_this_thread(p)),
          in_(shared_->cx, p, nullptr),
          ctx_(ctx),
          http_(http),
          pending_(shared_->cx),
          result_(shared_->cx),
          request_obj_(shared_->cx) {
        in_.direct_vu = &ctx;
        in_.host = this;
        in_.vars = &vars;
        if (!boot_in(in_, shared_->realm, *shared_->global)) error_ = "init code: " + in_.error;
        free_.push_back(&http_);
        ctx.interrupt_self = this;
        ctx.on_interrupt = [](void* self) { static_cast<async_vu*>(self)->interrupt(); };
    }
    ~async_vu() override {
        *alive_ = false;  // a timer wait still queued must not touch this VU
        ctx_.on_interrupt = nullptr;
        ctx_.interrupt_self = nullptr;
    }
    async_vu(const async_vu&) = delete;

    task<> call(std::string_view function) override {
        return run(bridge::command::call, std::string(function), nullptr, nullptr);
    }
    bool has_before_request() const noexcept override { return in_.prog.exports("beforeRequest"); }
    bool has_after_request() const noexcept override { return in_.prog.exports("afterRequest"); }
    task<> before_request(request& r) override { return run(bridge::command::before, {}, &r, nullptr); }
    task<> after_request(const response& r) override { return run(bridge::command::after, {}, nullptr, &r); }

    // --- async_host: what the natives start ---
    request_spec& next_request() override {
        if (!next_) next_ = take_op();
        return next_->spec;
    }
    bool start_request(JS::HandleObject promise) override {
        auto op = std::move(next_);
        op->is_request = true;
        launch(std::move(op), promise);
        return true;
    }
    bool start_job(engine_job& job, JS::HandleObject promise) override {
        auto op = take_op();
        op->is_request = false;
        op->job = &job;
        launch(std::move(op), promise);
        return true;
    }
    bool start_sleep(double seconds, JS::HandleObject promise) override {
        auto op = take_op();
        op->is_request = false;
        op->sleep_ns = static_cast<std::int64_t>(seconds * 1e9);
        launch(std::move(op), promise);
        return true;
    }

  private:
    // A request or a sleep the engine runs; kept for reuse once settled, so
    // a request's spec keeps its buffers.
    struct pending_op {
        explicit pending_op(JSContext* cx) : promise(cx) {}
        JS::PersistentRootedObject promise;
        std::uint64_t generation = 0;
        bool is_request = false;
        request_spec spec;          // a request, or
        std::int64_t sleep_ns = 0;  // a sleep, or
        engine_job* job = nullptr;  // a module's job (start_job)
    };
    std::unique_ptr<pending_op> take_op() {
        if (spare_ops_.empty()) return std::make_unique<pending_op>(shared_->cx);
        auto op = std::move(spare_ops_.back());
        spare_ops_.pop_back();
        return op;
    }
    // Started once the JavaScript that asked has returned (flush): the
    // promise must not settle, and run jobs, while its caller still runs.
    void launch(std::unique_ptr<pending_op> op, JS::HandleObject promise) {
        op->promise = promise;
        op->generation = generation_;
        ++inflight_;
        launching_.push_back(std::move(op));
    }
    void flush() {
        while (!launching_.empty()) {
            auto ops = std::move(launching_);
            launching_.clear();
            for (auto& op : ops) ld::spawn(perform(std::move(op)), [](std::exception_ptr) {});
        }
        arm_timers();
    }

    // --- k6/timers (timer_queue.hpp): one wait on the worker's event loop
    // for the VU's first timer, re-armed whenever JavaScript has run. ---
    void arm_timers() {
        if (in_.timers.empty() || interrupted_) {
            if (armed_) {
                ++timer_arm_;  // a wait that already completed finds a newer arm
                js_timer_->cancel();
            }
            armed_ = false;
            return;
        }
        std::int64_t when = in_.timers.next_deadline();
        if (armed_ && armed_at_ <= when) return;
        if (!js_timer_) js_timer_.emplace(ctx_.thread->ioc);
        armed_ = true;
        armed_at_ = when;
        auto arm = ++timer_arm_;  // a wait replaced by this one finds a newer arm and does nothing
        js_timer_->expires_at(clock::time_point(nanoseconds(when)));
        js_timer_->async_wait([this, arm, alive = alive_](const boost::system::error_code&) {
            if (*alive && arm == timer_arm_) on_timer();
        });
    }
    // The first timer is due: run every timer due now, each followed by its
    // jobs; a callback that throws fails the iteration (done()).
    void on_timer() {
        armed_ = false;
        if (interrupted_ || ctx_.interrupted) return;
        ld::current_vu = &ctx_;
        {
            auto* cx = shared_->cx;
            JSAutoRealm realm(cx, in_.global);
            in_.make_current();
            for (bool ran = true; ran && timer_failure_.empty() && !in_.timer_failed;) {
                if (in_.run_due_timer(ran)) continue;
                if (!in_.terminating && !in_.abort_reason && JS_IsExceptionPending(cx))
                    timer_failure_ = take_exception(cx);
                else if (timer_failure_.empty())
                    timer_failure_ = " ";  // cut (exec.test.abort(), the watchdog): run() knows why
                JS_ClearPendingException(cx);
                break;
            }
        }
        flush();
        wake_if_settled();
    }
    // At the end of a call: its timers left by a failure or an interrupt never run.
    void drop_timers(bool interrupted) {
        in_.timers.clear(interrupted);
        in_.timer_failed = false;
        in_.timer_rejection.setUndefined();
        timer_failure_.clear();
        start_failed_ = false;
        arm_timers();
    }

    // Runs an exported function; waits for the promise it returns (if any)
    // and for every request and sleep it started.
    task<> run(bridge::command cmd, std::string function, request* req, const response* res) {
        if (!error_.empty()) throw std::runtime_error(error_);
        ++generation_;
        interrupted_ = false;
        std::string failure;
        bool pending = start(cmd, function, req, res, failure);
        start_failed_ = !failure.empty();
        flush();
        if (pending || inflight_ > 0 || (!start_failed_ && !in_.timers.empty())) co_await settled{*this};
        if (interrupted_ || ctx_.interrupted) {
            in_.abort_reason.reset();
            drop_timers(true);
            throw interrupted_error{};
        }
        finish(cmd, req, failure);
        drop_timers(false);
        if (in_.abort_reason) {
            auto reason = std::move(*in_.abort_reason);
            in_.abort_reason.reset();
            ctx_.thread->engine->abort(reason, ld::abort_kind::script, true);
            throw ld::script_abort{};
        }
        if (!failure.empty()) throw std::runtime_error(failure);
    }

    // Calls the function; true while its promise is pending.
    bool start(bridge::command cmd, const std::string& function, request* req, const response* res,
               std::string& failure) {
        auto* cx = shared_->cx;
        JSAutoRealm realm(cx, in_.global);
        in_.make_current();
        pending_ = nullptr;
        result_.setUndefined();
        request_obj_ = nullptr;
        if (!in_.enter_call(true, failure)) return false;
        JS::RootedValue result(cx);
        JS::RootedObject arg(cx);
        if (!in_.call_export(cmd, function, req, res, &result, &arg)) {
            failure = in_.terminating || in_.abort_reason ? std::string() : take_exception(cx);
            JS_ClearPendingException(cx);
            return false;
        }
        request_obj_ = arg;
        ::js::RunJobs(cx);
        if (result.isObject()) {
            JS::RootedObject p(cx, &result.toObject());
            if (JS::IsPromiseObject(p)) {
                pending_ = p;
                return JS::GetPromiseState(p) == JS::PromiseState::Pending && !in_.abort_reason;
            }
        }
        result_ = result;
        return false;
    }

    // The outcome: a rejection becomes the failure; beforeRequest's request
    // is read back; session.vars go back to the VU.
    void finish(bridge::command cmd, request* req, std::string& failure) {
        auto* cx = shared_->cx;
        JSAutoRealm realm(cx, in_.global);
        in_.make_current();
        if (pending_) {
            JS::RootedObject p(cx, pending_);
            switch (JS::GetPromiseState(p)) {
                case JS::PromiseState::Fulfilled: result_ = JS::GetPromiseResult(p); break;
                case JS::PromiseState::Rejected: {
                    JS::RootedValue reason(cx, JS::GetPromiseResult(p));
                    JS_SetPendingException(cx, reason);
                    failure = take_exception(cx);
                    break;
                }
                default:
                    if (!in_.abort_reason && timer_failure_.empty() && !in_.timer_failed)
                        failure =
                            "the async function's promise never settled (it awaits something that never resolves)";
            }
            pending_ = nullptr;
        }
        // a timer's callback threw, or the promise it returned was rejected
        if (failure.empty() && !in_.abort_reason && !timer_failure_.empty() && timer_failure_ != " ")
            failure = timer_failure_;
        if (failure.empty() && !in_.abort_reason && in_.timer_failed) {
            JS_SetPendingException(cx, in_.timer_rejection);
            failure = take_exception(cx);
        }
        if (failure.empty() && cmd == bridge::command::before && request_obj_ &&
            !in_.read_back(result_, request_obj_, *req))
            failure = take_exception(cx);
        in_.vars_out();
        JS_ClearPendingException(cx);
        result_.setUndefined();
        request_obj_ = nullptr;
    }

    // A request or sleep on the worker's event loop; settles its promise.
    task<> perform(std::unique_ptr<pending_op> op) {
        const response* res = nullptr;
        std::string error;
        client* c = nullptr;
        try {
            if (op->job) {
                co_await op->job->run(http_);
            } else if (op->is_request) {
                c = take_client();
                auto p = op->spec.to_params();
                res = &co_await c->send(op->spec.method, op->spec.url, op->spec.body, p);
                // The client is free again before the promise settles: the
                // continuation settle() runs may send the VU's next request,
                // which must find this client (its kept-alive connection),
                // not make another. The response it read stays valid until
                // that request starts, after settle() has made the JS object.
                free_.push_back(std::exchange(c, nullptr));
            } else {
                boost::asio::steady_timer t(ctx_.thread->ioc);
                timers_.push_back(&t);
                t.expires_at(clock::time_point(nanoseconds(ld::now_ns() + op->sleep_ns)));
                auto [ec, n] = co_await ld::io([&](auto h) { t.async_wait(std::move(h)); });
                (void)n;
                std::erase(timers_, &t);
                if (ec || ctx_.interrupted) throw interrupted_error{};
            }
        } catch (const interrupted_error&) {
            op->generation = 0;  // never settled: the iteration is gone
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (op->generation == generation_ && !interrupted_) settle(*op, res, error);
        op->promise = nullptr;
        op->job = nullptr;
        spare_ops_.push_back(std::move(op));
        if (c) free_.push_back(c);
        --inflight_;
        wake_if_settled();
    }

    void settle(pending_op& op, const response* res, const std::string& error) {
        auto* cx = shared_->cx;
        JSAutoRealm realm(cx, in_.global);
        in_.make_current();
        JS::RootedObject promise(cx, op.promise);
        JS::RootedValue v(cx);
        bool made = true;
        if (!error.empty()) {
            JS_ReportErrorUTF8(cx, "%s", error.c_str());
            made = false;
        } else if (op.job) {
            made = op.job->result(cx, &v);
        } else if (res) {
            JSObject* o = in_.response_object(*res, op.spec.response_type);
            if (o) v.setObject(*o);
            made = o != nullptr;
        }
        // a failure rejects the promise with its exception: never left pending
        bool ok = made ? JS::ResolvePromise(cx, promise, v)
                       : JS_GetPendingException(cx, &v) &&
                             (JS_ClearPendingException(cx), JS::RejectPromise(cx, promise, v));
        if (!ok) JS_ClearPendingException(cx);
        ::js::RunJobs(cx);
        JS_ClearPendingException(cx);
        flush();
    }

    // A VU's sequential requests all take the client that was free last
    // (LIFO), so they reuse its kept-alive connection as k6's one transport
    // does. Concurrent requests (Promise.all, http.batch) take the VU's
    // other idle clients, or add one with a connection of its own; every
    // client of the VU shares the first one's cookie jar (one jar per VU).
    client* take_client() {
        if (!free_.empty()) {
            auto* c = free_.back();
            free_.pop_back();
            return c;
        }
        extra_.push_back(std::make_unique<client>(*ctx_.thread, &ctx_, http_.settings()));
        extra_.back()->share_cookies(http_);
        return extra_.back().get();
    }

    // Settled, and (as k6's event loop) no timer left, unless the call
    // failed: then its timers are dropped (drop_timers).
    bool done() const {
        if (inflight_ > 0) return false;
        if (interrupted_ || in_.abort_reason || start_failed_ || !timer_failure_.empty() || in_.timer_failed)
            return true;
        if (pending_) {
            auto state = JS::GetPromiseState(pending_);
            if (state == JS::PromiseState::Pending) return false;
            if (state == JS::PromiseState::Rejected) return true;
        }
        return in_.timers.empty();
    }
    void wake_if_settled() {
        if (waiting_ && done()) {
            auto h = waiting_;
            waiting_ = {};
            boost::asio::post(ctx_.thread->ioc, [h] { h.resume(); });
        }
    }
    void interrupt() {
        interrupted_ = true;
        for (auto* t : timers_) t->cancel();
        arm_timers();  // cancels the wait for the script's timers
        wake_if_settled();
    }

    struct settled {
        async_vu& vu;
        bool await_ready() const noexcept { return vu.done(); }
        void await_suspend(std::coroutine_handle<> h) noexcept { vu.waiting_ = h; }
        void await_resume() const noexcept { ld::current_vu = &vu.ctx_; }
    };

    std::shared_ptr<shared_context> shared_;  // first: destroyed last
    instance in_;
    ld::vu_context& ctx_;
    client& http_;
    std::vector<client*> free_;
    std::vector<std::unique_ptr<client>> extra_;
    std::vector<boost::asio::steady_timer*> timers_;
    std::unique_ptr<pending_op> next_;                    // the request being filled
    std::vector<std::unique_ptr<pending_op>> launching_;  // asked for by the running JavaScript
    std::vector<std::unique_ptr<pending_op>> spare_ops_;
    JS::PersistentRootedObject pending_;  // the running function's promise
    JS::PersistentRootedValue result_;
    JS::PersistentRootedObject request_obj_;
    std::coroutine_handle<> waiting_{};
    // k6/timers: the wait for the VU's first timer (arm_timers)
    std::optional<boost::asio::steady_timer> js_timer_;
    std::int64_t armed_at_ = 0;
    std::uint64_t timer_arm_ = 0;
    bool armed_ = false;
    bool start_failed_ = false;  // the call threw before it returned: its timers never run
    std::string timer_failure_;  // a timer callback's exception (" ": cut without one)
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::uint64_t generation_ = 1;
    int inflight_ = 0;
    bool interrupted_ = false;
    std::string error_;
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail
