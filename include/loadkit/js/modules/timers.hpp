#pragma once
// k6/timers (and k6/experimental/timers, its name in k6 v0.48): setTimeout,
// clearTimeout, setInterval, clearInterval, also as globals (as in k6 from
// v0.50 and in browsers; k6 v0.48 has them only as imports). A timer is an
// entry of the VU's timer_queue (../timer_queue.hpp); the VU's event loop
// (async.hpp, or instance::run_timers on a VU's own thread) waits for it,
// so an iteration ends when its timers are done, as in k6:
//   - a setInterval never cleared keeps its iteration going until the VU is
//     interrupted (the scenario's end plus gracefulStop, a signal), which
//     counts it as interrupted and warns that its timers were stopped;
//   - a callback that throws fails the iteration with its exception, and
//     the iteration's other timers never run; so does a rejected promise
//     returned by an async callback;
//   - timers set by init code, setup() or teardown() run before it ends.
// Callbacks get the extra arguments and the global object as `this`. The
// delay is a number of milliseconds, coerced as browsers do (NaN and
// negative: 0). Equal deadlines run in the order they were set; microtasks
// (promise jobs) run after each callback.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "../../core/config.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::timers_module {

namespace ld = loadkit::detail;

// A delay as browsers read it: NaN and negative are 0. Capped at 2^31-1 ms
// (24.8 days) like browsers, whose larger delays overflow to 0 instead.
inline bool delay_ms(JSContext* cx, JS::HandleValue v, double& ms) {
    if (!JS::ToNumber(cx, v, &ms)) return false;
    if (!(ms > 0)) ms = 0;
    ms = std::min(ms, 2147483647.0);
    return true;
}

// setTimer(call, delay, repeat): call is [callback, ...arguments] (made in
// JavaScript below); returns the timer's id.
inline bool n_set_timer(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!args.get(0).isObject()) return throw_error(cx, "setTimer: expected [callback, ...arguments]");
    double ms = 0;
    if (!delay_ms(cx, args.get(1), ms)) return false;
    JS::RootedObject call(cx, &args.get(0).toObject());
    auto ns = static_cast<std::int64_t>(ms * 1e6);
    // A 0 ms interval would spin its VU's thread without end (k6 v0.48
    // panics on it; browsers clamp intervals to 4 ms): 1 ms at least.
    std::int64_t period = JS::ToBoolean(args.get(2)) ? std::max<std::int64_t>(ns, 1'000'000) : 0;
    args.rval().setNumber(self.timers.add(cx, call, ld::now_ns() + ns, period));
    return true;
}
inline bool n_clear_timer(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    // anything but a pending timer's id is ignored, as in browsers
    if (args.get(0).isNumber()) {
        double id = args.get(0).toNumber();
        if (id >= 1 && id <= 4294967295.0 && std::floor(id) == id) self.timers.remove(static_cast<std::uint32_t>(id));
    }
    args.rval().setUndefined();
    return true;
}
// The promise an async callback returned was rejected: the iteration fails
// with its reason (the first one).
inline bool n_timer_rejected(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.timer_failed) {
        self.timer_failed = true;
        self.timer_rejection = args.get(0);
    }
    args.rval().setUndefined();
    return true;
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("setTimer", &n_set_timer, 3, 0),
                                             JS_FN("clearTimer", &n_clear_timer, 1, 0),
                                             JS_FN("timerRejected", &n_timer_rejected, 1, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// The k6 API in JavaScript over the natives above, statements in the
// prelude's scope (prelude.hpp); lk.callTimer is what the VU's event loop
// calls (instance::run_due_timer).
inline constexpr std::string_view javascript = R"JS(
const timerOf = (name, repeat) => function (callback, delay, ...args) {
  if (typeof callback !== 'function')
    throw new TypeError(name + '() needs a function as its first argument (code strings are not run), e.g. ' + name + '(() => { ... }, 1000)');
  return lk.setTimer([callback, ...args], delay, repeat);
};
const setTimeout = timerOf('setTimeout', false), setInterval = timerOf('setInterval', true);
const clearTimeout = id => { lk.clearTimer(id); }, clearInterval = clearTimeout;
lk.callTimer = call => {
  const r = Reflect.apply(call[0], g, call.slice(1));
  if (r instanceof Promise) r.then(undefined, e => lk.timerRejected(e));
};
const timers = { setTimeout, clearTimeout, setInterval, clearInterval };
hide('setTimeout', setTimeout);
hide('clearTimeout', clearTimeout);
hide('setInterval', setInterval);
hide('clearInterval', clearInterval);
)JS";
// What __loadkit.modules['k6/timers'] (and k6/experimental/timers) is.
inline constexpr std::string_view module_object = "Object.assign({ default: timers }, timers)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::timers_module

#pragma GCC diagnostic pop
