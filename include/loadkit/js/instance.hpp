#pragma once
// One VU's JavaScript (or the init context's, or setup/teardown's): its
// instance of the script's modules in a global (realm.hpp), and the calls
// the engine makes into it (exec functions, setup, teardown, the request
// hooks). The realm and the modules are set up by loader.hpp; the natives
// the k6 modules give it are in modules/.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/log.hpp"
#include "../runtime/checks.hpp"
#include "../runtime/groups.hpp"
#include "../engine/script.hpp"
#include "../http/client.hpp"
#include "../runtime/custom_metrics.hpp"
#include "bridge.hpp"
#include "errors.hpp"
#include "program.hpp"
#include "realm.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"
#include "timer_queue.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

namespace ld = loadkit::detail;

// How long init code's timers (k6/timers) may keep the init context alive.
// k6 waits forever: an interval that init code never clears hangs `k6 run`
// and `k6 inspect` (k6 v0.48.0, tried); here it is an init error after
// k6's setupTimeout default. A variable so the tests can shorten it.
inline std::chrono::nanoseconds init_timers_limit = std::chrono::seconds(60);

struct instance {
    JSContext* cx;
    program& prog;
    bridge* link;  // null in the init context (no requests there)
    vars_map* vars = nullptr;
    bool in_init = true;
    ld::vu_context* direct_vu = nullptr;  // async VUs: the VU, on this very thread
    async_host* host = nullptr;           // async VUs: starts requests and sleeps
    std::shared_ptr<void> ws_sessions;    // k6/ws's open sessions (modules/ws.hpp)
    std::optional<std::string> abort_reason;
    bool terminating = false;  // an answer said "interrupted": unwind without catching

    realm_state own_realm;  // when the global is this instance's own
    realm_state* realm = &own_realm;
    JS::PersistentRootedObject global;
    JS::PersistentRootedObject ns;       // the main module's namespace
    JS::PersistentRootedObject session;  // this VU's `session` ({vars})
    JS::PersistentRootedObject session_vars;
    std::map<std::string, JS::PersistentRootedObject*, std::less<>> modules;
    std::vector<std::unique_ptr<JS::PersistentRootedObject>> module_roots;
    std::string group_path;
    std::vector<std::size_t> group_stack;
    // http.setResponseCallback's rule for this VU's requests; none: k6's default
    std::optional<expected_statuses> response_callback;

    // k6/timers: this VU's pending timers, and the rejection of a promise
    // that an async timer callback returned (fails the iteration, as k6's
    // unhandled rejections do).
    timer_queue timers;
    // Native state a module keeps for this VU (a gRPC client and its
    // streams): freed with the instance, never by the GC, so that an engine
    // job still running never outlives what it works on.
    std::vector<std::shared_ptr<void>> resources;
    bool timer_failed = false;
    JS::PersistentRootedValue timer_rejection{cx};

    instance(JSContext* c, program& p, bridge* b)
        : cx(c), prog(p), link(b), global(c), ns(c), session(c), session_vars(c) {}
    ~instance() {
        if (realm == &own_realm) {
            own_realm.release();
            if (global) JS::SetRealmPrivate(JS::GetObjectRealmOrNull(global), nullptr);
        } else if (realm->current == this) {
            realm->current = nullptr;
        }
    }

    // The instance whose code is running: natives, accessors and the module
    // hook find it through the realm.
    static instance& of(JSContext* cx) {
        return *static_cast<realm_state*>(JS::GetRealmPrivate(JS::GetCurrentRealmOrNull(cx)))->current;
    }
    ld::vu_context* vu() const { return link ? link->vu : direct_vu; }
    // The engine VU running this code: vu(), or setup/teardown's control VU.
    ld::vu_context* engine_vu() const { return link ? (link->vu ? link->vu : link->host_vu) : direct_vu; }
    // Makes this instance the one whose code runs (before entering JavaScript).
    void make_current() noexcept { realm->current = this; }


    // Why boot() or boot_in() (loader.hpp) failed: the exception's text.
    std::string error;

    // The setup data, parsed and deeply frozen once per realm (read-only in
    // every VU; loaded at the first call after setup() has run).
    bool load_data() {
        if (realm->data) return true;
        JS::RootedString s(cx, new_string(cx, prog.setup_json));
        JS::RootedValue v(cx);
        if (!s || !JS_ParseJSON(cx, s, &v)) return false;
        if (v.isObject()) {
            JS::RootedValue helper(cx);
            if (!loadkit_helper("deepFreeze", &helper)) return false;
            JS::RootedValue out(cx);
            JS::RootedValueArray<1> args(cx);
            args[0].set(v);
            if (!JS_CallFunctionValue(cx, nullptr, helper, args, &out)) return false;
        }
        realm->data = std::make_unique<JS::PersistentRootedValue>(cx, v);
        return true;
    }
    JS::Value data() const { return realm->data ? realm->data->get() : JS::UndefinedValue(); }
    bool loadkit_helper(const char* name, JS::MutableHandleValue out) {
        JS::RootedValue lk(cx);
        if (!JS_GetProperty(cx, global, "__loadkit", &lk) || !lk.isObject()) return false;
        JS::RootedObject o(cx, &lk.toObject());
        return JS_GetProperty(cx, o, name, out);
    }

    // Hands the VU to the engine with `what` asked; false when the answer is
    // that the VU was interrupted (the caller then unwinds, uncatchable).
    bool ask(bridge::ask what) {
        link->asked = what;
        link->answer_interrupted = false;
        link->hand_back();
        if (link->answer_interrupted) {
            terminating = true;
            return false;
        }
        return true;
    }
    bool can_ask(const char* what) {
        if (link && !in_init) return true;
        return throw_error(cx,
                           std::string(what) + " cannot be called in the init context (outside exported functions)");
    }

    template <class F>
    bool for_each_string(JS::HandleObject o, F&& f) {
        JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
        if (!JS_Enumerate(cx, o, &ids)) return false;
        JS::RootedValue key(cx), val(cx);
        JS::RootedId id(cx);
        for (std::size_t i = 0; i < ids.length(); ++i) {
            id = ids[i];
            if (!JS_IdToValue(cx, id, &key) || !JS_GetPropertyById(cx, o, id, &val)) return false;
            if (val.isUndefined()) continue;
            f(to_utf8(cx, key), val.isObject() ? stringify(val) : to_utf8(cx, val));
        }
        return true;
    }
    std::string stringify(JS::HandleValue v) {
        JS::RootedObject json(cx);
        JS::RootedValue jv(cx), out(cx);
        if (!JS_GetProperty(cx, global, "JSON", &jv) || !jv.isObject()) return {};
        json = &jv.toObject();
        JS::RootedValueArray<1> args(cx);
        args[0].set(v);
        if (!JS_CallFunctionName(cx, json, "stringify", args, &out)) return {};
        return out.isString() ? to_utf8(cx, out) : std::string();
    }

    // __loadkit.<name>, found once per realm
    bool realm_helper(std::unique_ptr<JS::PersistentRootedValue>& slot, const char* name, JS::MutableHandleValue out) {
        if (!slot) {
            if (!loadkit_helper(name, out)) return false;
            slot = std::make_unique<JS::PersistentRootedValue>(cx, out);
        }
        out.set(*slot);
        return true;
    }
    // A response object, made by the prelude's makeResponse (JIT-compiled,
    // one shape for all) from 16 values: cheaper than defining its
    // properties through the API (16k instructions per response, measured).
    // headers and request are built on first use by Response.prototype.
    JSObject* response_object(const response& r, request_spec::body_type type = request_spec::body_type::unset) {
        JS::RootedValue make_response(cx);
        if (!realm_helper(realm->make_response, "makeResponse", &make_response)) return nullptr;
        std::string& block = realm->header_block;
        block.clear();
        for (auto& [name, value] : r.headers()) block.append(name).append(":").append(value).append("\n");
        auto& t = r.timings;
        JS::RootedValueArray<18> a(cx);
        // a[2..8]: body, url, error, name, headers, method, status text. Each
        // goes into the rooted `a` as soon as it is made: the next allocation
        // may run a GC that moves it. The name is the URL unless one was
        // given; the method and status text repeat (one string each).
        auto put = [&](std::size_t i, JSString* str) {
            if (!str) return false;
            a[i].setString(str);
            return true;
        };
        if (!response_body(r, type, a[2]) || !put(3, new_string(cx, r.url)) || !put(4, new_string(cx, r.error)) ||
            !(r.name == r.url ? (a[5].set(a[3]), true) : put(5, new_string(cx, r.name))) ||
            !put(6, new_string(cx, block)) || !put(7, realm->method.get(cx, r.method)) ||
            !put(8, realm->status_text.get(cx, r.status_text)))
            return nullptr;
        a[0].setInt32(r.status);
        a[1].setInt32(static_cast<int>(r.error_code));
        double ms[] = {timings::ms(t.blocked), timings::ms(t.connecting), timings::ms(t.tls_handshaking),
                       timings::ms(t.sending), timings::ms(t.waiting),    timings::ms(t.receiving),
                       timings::ms(t.duration)};
        for (std::size_t i = 0; i < std::size(ms); ++i) a[9 + i].setDouble(ms[i]);
        if (!r.sent_cookies.empty() || r.redirects > 0) {  // a[16]: for res.request (modules/http_request.hpp)
            if (!request_sent(r, a[16])) return nullptr;
        }
        if (r.proto != "HTTP/1.1" && !put(17, realm->proto.get(cx, r.proto))) return nullptr;  // a[17]: HTTP/2.0
        JS::RootedValue out(cx);
        if (!JS_CallFunctionValue(cx, nullptr, make_response, a, &out) || !out.isObject()) return nullptr;
        JS::RootedObject res(cx, &out.toObject());
        if (r.tls() && !tls_fields(res, *r.tls())) return nullptr;
        return res;
    }

    // k6's res.tls_version, tls_cipher_suite and ocsp, on a response that
    // came over TLS (a plain one finds '' and an empty ocsp on Response's
    // prototype, as k6 gives them).
    bool tls_fields(JS::HandleObject res, const tls_info& t) {
        auto str = [&](JS::HandleObject o, const char* name, std::string_view s) {
            JS::RootedValue v(cx, JS::StringValue(new_string(cx, s)));
            return v.toString() && JS_DefineProperty(cx, o, name, v, JSPROP_ENUMERATE);
        };
        auto num = [&](JS::HandleObject o, const char* name, std::int64_t n) {
            JS::RootedValue v(cx, JS::NumberValue(static_cast<double>(n)));
            return JS_DefineProperty(cx, o, name, v, JSPROP_ENUMERATE);
        };
        JS::RootedObject ocsp(cx, JS_NewPlainObject(cx));
        if (!ocsp || !num(ocsp, "produced_at", t.ocsp.produced_at) || !num(ocsp, "this_update", t.ocsp.this_update) ||
            !num(ocsp, "next_update", t.ocsp.next_update) || !num(ocsp, "revoked_at", t.ocsp.revoked_at) ||
            !str(ocsp, "revocation_reason", t.ocsp.revocation_reason) || !str(ocsp, "status", t.ocsp.status))
            return false;
        JS::RootedValue ov(cx, JS::ObjectValue(*ocsp));
        return str(res, "tls_version", t.version) && str(res, "tls_cipher_suite", t.cipher_suite) &&
               JS_DefineProperty(cx, res, "ocsp", ov, JSPROP_ENUMERATE);
    }

    // res.body as params.responseType asks: a string, an ArrayBuffer
    // ('binary'), or null when the body was not kept ('none', or
    // discardResponseBodies without a responseType), as in k6.
    bool response_body(const response& r, request_spec::body_type type, JS::MutableHandleValue out) {
        if (r.body_discarded) {
            out.setNull();
            return true;
        }
        JSObject* ab = nullptr;
        JSString* str = nullptr;
        if (type == request_spec::body_type::binary) ab = new_array_buffer(cx, r.body);
        else str = new_string(cx, r.body);
        if (!ab && !str) return false;
        if (ab) out.setObject(*ab);
        else out.setString(str);
        return true;
    }

    // res.request's part that only the engine knows, [Cookie header sent or
    // undefined, first hop's URL, its method] (undefined unless redirected):
    // made only for a response that sent cookies or was redirected.
    bool request_sent(const response& r, JS::MutableHandleValue out) {
        JS::RootedValueArray<3> x(cx);
        auto put = [&](std::size_t i, const std::string& s) {
            JSString* str = new_string(cx, s);
            if (str) x[i].setString(str);
            return str != nullptr;
        };
        if (!r.sent_cookies.empty() && !put(0, r.sent_cookies)) return false;
        if (r.redirects > 0 && (!put(1, r.first_url) || !put(2, r.first_method))) return false;
        JSObject* arr = JS::NewArrayObject(cx, x);
        if (!arr) return false;
        out.setObject(*arr);
        return true;
    }

    // A sample for the worker (or, in the init context, recorded at once).
    void push(metric_op op) {
        if (link) {
            link->ops.push_back(std::move(op));
            return;
        }
        apply(op, vu());  // the init context (no VU), or an async VU on its own thread
    }
    static void apply(const metric_op& op, ld::vu_context* v) {
        ld::current_vu = v;
        switch (op.kind) {
            case metric_op::check: ld::record_check(v, op.name, op.flag); break;
            case metric_op::group:
                if (v) ld::set_group(*v, op.name);
                break;
            case metric_op::sample: {
                std::vector<ld::tag_pair> tags;
                tags.reserve(op.tags.size());
                for (auto& [k, val] : op.tags) tags.push_back({k, val});
                ld::record_sample(op.metric, op.metric_kind_, op.flag, op.value, tags);
                break;
            }
        }
    }
    void reset_group() {
        if (group_path.empty()) return;
        group_path.clear();
        group_stack.clear();
        push(group_op({}));
    }

    // --- calls into the script ---

    // session.vars <- the VU's vars
    bool vars_in() {
        if (!vars) return true;
        JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
        if (!JS_Enumerate(cx, session_vars, &ids)) return false;
        JS::RootedId id(cx);
        for (std::size_t i = 0; i < ids.length(); ++i) {
            id = ids[i];
            JS::ObjectOpResult deleted;
            if (!JS_DeletePropertyById(cx, session_vars, id, deleted)) return false;
        }
        for (auto& [k, v] : *vars)
            if (!set_string(cx, session_vars, k.c_str(), v)) return false;
        return true;
    }
    // session.vars -> the VU's vars (strings; other values as JSON)
    bool vars_out() {
        if (!vars) return true;
        vars->clear();
        return for_each_string(session_vars,
                               [&](std::string k, std::string v) { (*vars)[std::move(k)] = std::move(v); });
    }

    // Calls `fn` with `args`; waits for a returned promise (async functions).
    bool invoke(JS::HandleValue fn, const JS::HandleValueArray& args, JS::MutableHandleValue result) {
        return JS_CallFunctionValue(cx, nullptr, fn, args, result) && await_here(result);
    }
    // A promise result, settled by running the job queue on this thread (a VU
    // thread or the init context; async VUs wait on the engine instead).
    // Timers set by the call run first (k6's event loop: the call ends when
    // none is left).
    bool await_here(JS::MutableHandleValue result) {
        JS::RootedObject p(cx, result.isObject() ? &result.toObject() : nullptr);
        if (p && !JS::IsPromiseObject(p)) p = nullptr;
        if (!p && timers.empty()) return true;
        ::js::RunJobs(cx);
        if (terminating) return false;
        if (!run_timers(p)) return false;
        if (!p) return true;
        switch (JS::GetPromiseState(p)) {
            case JS::PromiseState::Fulfilled: result.set(JS::GetPromiseResult(p)); return true;
            case JS::PromiseState::Rejected: {
                JS::RootedValue reason(cx, JS::GetPromiseResult(p));
                JS_SetPendingException(cx, reason);
                return false;
            }
            default:
                return throw_error(
                    cx, "the async function's promise never settled (it awaits something that never resolves)");
        }
    }
    // --- k6/timers (timer_queue.hpp) ---

    // Runs the first timer due now, if any (`ran`): its callback through
    // the prelude's callTimer (modules/timers.hpp), then the jobs it queued.
    // False when the callback threw (the exception is pending) or was cut.
    bool run_due_timer(bool& ran) {
        JS::RootedObject call(cx);
        ran = timers.pop_due(ld::now_ns(), &call);
        if (!ran) return true;
        JS::RootedValue lk(cx), call_timer(cx), rv(cx);
        if (!JS_GetProperty(cx, global, "__lk", &lk) || !lk.isObject()) return false;
        JS::RootedObject lko(cx, &lk.toObject());
        if (!JS_GetProperty(cx, lko, "callTimer", &call_timer)) return false;
        JS::RootedValueArray<1> args(cx);
        args[0].setObject(*call);
        if (!JS_CallFunctionValue(cx, nullptr, call_timer, args, &rv)) return false;
        ::js::RunJobs(cx);
        return !terminating;
    }
    // The event loop of a VU's own thread, the init context and
    // handleSummary: waits for each timer and runs it until none is left,
    // or `p` (the call's promise) is rejected. A VU's thread asks the engine
    // to sleep (interruptible, as sleep()); init code, which has no engine
    // yet, sleeps here and stops when its VU is cut. False with the
    // exception pending when a callback threw or its promise was rejected.
    bool run_timers(JS::HandleObject p) {
        const std::int64_t started = ld::now_ns();
        while (!timers.empty() && !timer_failed) {
            if (p && JS::GetPromiseState(p) == JS::PromiseState::Rejected) break;  // k6: fails now
            std::int64_t wait = timers.next_deadline() - ld::now_ns();
            if (wait > 0) {
                if (link && !in_init) {
                    link->sleep_seconds = static_cast<double>(wait) / 1e9;
                    if (!ask(bridge::ask::sleep)) return false;
                } else {
                    if (ld::now_ns() - started > init_timers_limit.count()) {
                        timers.clear(false);
                        return throw_error(cx, "the init code's timers (k6/timers) were still pending after " +
                                                   std::to_string(init_timers_limit.count() / 1'000'000) +
                                                   " ms: an interval it never clears keeps init from ending");
                    }
                    auto slice = std::chrono::nanoseconds(std::min<std::int64_t>(wait, 50'000'000));
                    std::this_thread::sleep_for(slice);
                    if (link && link->stop.load()) {
                        terminating = true;
                        return false;
                    }
                    continue;
                }
            }
            for (bool ran = true; ran && !timer_failed;)
                if (!run_due_timer(ran)) return false;
        }
        if (timer_failed) {
            timer_failed = false;
            JS_SetPendingException(cx, timer_rejection);
            timer_rejection.setUndefined();
            return false;
        }
        return true;
    }

    // An exported function, looked up once (exports are declarations; one
    // that a script reassigns later keeps its first value here).
    // The last one is kept inline: a VU calls the same function every
    // iteration, and at a thousand VUs a lookup elsewhere is a cache miss.
    std::string last_export;
    JS::PersistentRootedValue last_export_fn{cx};
    std::map<std::string, std::unique_ptr<JS::PersistentRootedValue>, std::less<>> exports_seen;
    bool get_export(std::string_view name, JS::MutableHandleValue fn) {
        if (!last_export_fn.isUndefined() && last_export == name) {
            fn.set(last_export_fn);
            return true;
        }
        if (auto it = exports_seen.find(name); it != exports_seen.end()) {
            fn.set(*it->second);
        } else {
            std::string key(name);
            if (!JS_GetProperty(cx, ns, key.c_str(), fn)) return false;
            if (!fn.isObject() || !JS_ObjectIsFunction(&fn.toObject()))
                return throw_error(cx, "the script exports no function '" + key + "'");
            exports_seen.emplace(std::move(key), std::make_unique<JS::PersistentRootedValue>(cx, fn));
        }
        last_export.assign(name);
        last_export_fn = fn;
        return true;
    }

    // Before every call into the script (in its realm): setup's data, loaded
    // once setup has run; session.vars from the VU. False with
    // `failure` set when the data cannot be loaded.
    bool enter_call(bool needs_data, std::string& failure) {
        terminating = false;
        reset_group();
        if (needs_data && !load_data()) {
            failure = "setup data: " + take_exception(cx);
            return false;
        }
        if (!vars_in()) {
            failure = take_exception(cx);
            return false;
        }
        return true;
    }

    // Calls the export a command names, without waiting for a promise it
    // returns: exec/on_start/on_stop get (data, {vu, iteration, scenario}),
    // setup (), teardown (data), beforeRequest the request object (left in
    // `arg` to be read back), afterRequest the response object.
    bool call_export(bridge::command cmd, const std::string& function, const request* req, const response* res,
                     JS::MutableHandleValue result, JS::MutableHandleObject arg) {
        using command = bridge::command;
        std::string_view name = cmd == command::setup      ? std::string_view("setup")
                                : cmd == command::teardown ? std::string_view("teardown")
                                : cmd == command::before   ? std::string_view("beforeRequest")
                                : cmd == command::after    ? std::string_view("afterRequest")
                                                           : std::string_view(function);
        JS::RootedValue fn(cx);
        if (!get_export(name, &fn)) return false;
        if (cmd == command::call) {
            // through the prelude's callExec, which makes the ctx object in
            // JavaScript: cheaper than defining its properties from here
            JS::RootedValue call_exec(cx);
            if (!realm_helper(realm->call_exec, "callExec", &call_exec)) return false;
            JS::RootedValueArray<5> a(cx);
            a[0].set(fn);
            a[1].set(data());
            if (auto* v = vu()) {
                JSString* scenario = realm->scenario.get(cx, v->scenario);
                if (!scenario) return false;
                a[2].setNumber(static_cast<double>(v->id));
                a[3].setNumber(static_cast<double>(v->iteration));
                a[4].setString(scenario);
            }
            return JS_CallFunctionValue(cx, nullptr, call_exec, a, result);
        }
        JS::RootedValueArray<2> args(cx);
        std::size_t argc = 0;
        switch (cmd) {
            case command::teardown: args[0].set(data()), argc = 1; break;
            case command::before:
            case command::after:
                arg.set(cmd == command::before ? request_object(*req) : response_object(*res));
                if (!arg) return false;
                args[0].setObject(*arg);
                argc = 1;
                break;
            default: break;
        }
        return JS_CallFunctionValue(cx, nullptr, fn, JS::HandleValueArray::subarray(args, 0, argc), result);
    }
    // beforeRequest's outcome into `r`: the object it returned, or else its
    // (possibly changed) argument.
    bool read_back(JS::HandleValue result, JS::HandleObject arg, request& r) {
        JS::RootedObject o(cx, result.isObject() ? &result.toObject() : arg.get());
        return read_request(o, r);
    }

    // Runs one command from the engine, on this VU's thread; leaves the
    // outcome in the bridge.
    void serve(bridge& b) {
        JSAutoRealm realm(cx, global);
        b.failure.clear();
        b.interrupted = false;
        b.abort_reason.reset();
        if (!enter_call(b.cmd != bridge::command::setup, b.failure)) return;  // setup() has run before any other call
        if (b.cmd == bridge::command::setup || b.cmd == bridge::command::teardown) {
            // k6 runs them in a group of their name: their checks and
            // requests are under "::setup" and "::teardown"
            group_path.clear();
            ld::append_group(group_path, b.cmd == bridge::command::setup ? "setup" : "teardown");
            push(group_op(group_path));
        }
        JS::RootedValue result(cx);
        JS::RootedObject arg(cx);
        bool ok = call_export(b.cmd, b.function, b.req, b.res, &result, &arg) && await_here(&result);
        if (ok && b.cmd == bridge::command::setup) {
            if (result.isUndefined()) {
                prog.setup_json = "null";
            } else {
                std::string json = stringify(result);
                if (json.empty() || JS_IsExceptionPending(cx)) {
                    std::string why = JS_IsExceptionPending(cx) ? take_exception(cx) : "it is not JSON";
                    b.failure = "setup() must return JSON-serialisable data (it is shared with every VU as JSON): " +
                                why;
                } else {
                    prog.setup_json = std::move(json);
                }
            }
        }
        if (ok && b.cmd == bridge::command::before) ok = read_back(result, arg, *b.req);
        if (!ok) {
            bool cut = terminating || b.stop.load();  // uncatchable: interrupted, or exec.test.abort()
            b.interrupted = cut && !b.abort_reason;
            if (!cut && !b.abort_reason) b.failure = take_exception(cx);
        }
        vars_out();
        JS_ClearPendingException(cx);
        timers.clear(b.interrupted);  // left by a failure or an interrupt: never run (k6)
        timer_failed = false;
    }

    JSObject* request_object(const request& r) {
        JS::RootedObject o(cx, JS_NewPlainObject(cx)), h(cx, JS_NewPlainObject(cx));
        if (!o || !h) return nullptr;
        for (auto& [k, v] : r.headers) set_string(cx, h, k.c_str(), v);
        JS::RootedValue hv(cx, JS::ObjectValue(*h));
        bool ok = set_string(cx, o, "name", r.name) && set_string(cx, o, "method", r.method) &&
                  set_string(cx, o, "url", r.url) && set_string(cx, o, "body", r.body) &&
                  JS_SetProperty(cx, o, "headers", hv);
        return ok ? o.get() : nullptr;
    }
    bool read_request(JS::HandleObject o, request& r) {
        JS::RootedValue v(cx);
        for (auto [key, field] : {std::pair{"name", &r.name}, std::pair{"method", &r.method}, std::pair{"url", &r.url},
                                  std::pair{"body", &r.body}}) {
            if (!JS_GetProperty(cx, o, key, &v)) return false;
            if (!v.isUndefined()) *field = v.isObject() ? stringify(v) : to_utf8(cx, v);
        }
        if (!JS_GetProperty(cx, o, "headers", &v)) return false;
        if (v.isObject()) {
            r.headers.clear();
            JS::RootedObject h(cx, &v.toObject());
            return for_each_string(
                h, [&](std::string k, std::string val) { r.headers.emplace_back(std::move(k), std::move(val)); });
        }
        return true;
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
