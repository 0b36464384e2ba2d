#pragma once
// k6: sleep, check, group (and fail, in JavaScript below). A check or a group's
// change is a metric_op for the worker (bridge.hpp); the group path is the
// instance's.
#include <string>
#include <string_view>
#include <utility>

#include "../../core/config.hpp"
#include "../../core/duration.hpp"
#include "../bridge.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::k6_module {

namespace ld = loadkit::detail;

inline bool n_sleep(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.can_ask("sleep()")) return false;
    double s = 0;
    if (!JS::ToNumber(cx, args.get(0), &s)) return false;
    self.link->sleep_seconds = s > 0 ? s : 0;
    if (!self.ask(bridge::ask::sleep)) return false;
    args.rval().setUndefined();
    return true;
}
inline bool n_sleep_async(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.host || self.in_init) return throw_error(cx, "sleep() cannot be called in the init context");
    double seconds = 0;
    if (!JS::ToNumber(cx, args.get(0), &seconds)) return false;
    JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
    if (!promise || !self.host->start_sleep(seconds > 0 ? seconds : 0, promise)) return false;
    args.rval().setObject(*promise);
    return true;
}

inline bool n_check(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    metric_op op{metric_op::check};
    op.name = to_utf8(cx, args.get(0));
    op.flag = JS::ToBoolean(args.get(1));
    self.push(std::move(op));
    args.rval().setUndefined();
    return true;
}
inline bool n_group_enter(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto name = to_utf8(cx, args.get(0));
    if (auto why = ld::group_name_error(name)) return throw_error(cx, why);
    self.group_stack.push_back(self.group_path.size());
    ld::append_group(self.group_path, name);
    self.push(group_op(self.group_path));
    args.rval().setNumber(static_cast<double>(ld::now_ns()));
    return true;
}
inline bool n_group_leave(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.group_stack.empty()) return true;
    if (JS::ToBoolean(args.get(1)) && args.get(0).isNumber()) {
        metric_op op{metric_op::sample};
        op.flag = true;
        op.metric_kind_ = metric_kind::trend;
        op.metric = ld::metric_registry::get().group_duration_id();
        op.value = ld::group_duration_ms(static_cast<std::int64_t>(args.get(0).toNumber()));
        self.push(std::move(op));
    }
    self.group_path.resize(self.group_stack.back());
    self.group_stack.pop_back();
    self.push(group_op(self.group_path));
    args.rval().setUndefined();
    return true;
}

// sleep (sleepAsync for async VUs), check, group; fail is JavaScript only.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args& a) {
    static const JSFunctionSpec natives[] = {JS_FN("sleep", &n_sleep, 1, 0), JS_FN("check", &n_check, 3, 0),
                                             JS_FN("groupEnter", &n_group_enter, 1, 0),
                                             JS_FN("groupLeave", &n_group_leave, 2, 0), JS_FS_END};
    static const JSFunctionSpec async_natives[] = {JS_FN("sleepAsync", &n_sleep_async, 1, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives) && (!a.async_mode || JS_DefineFunctions(cx, lk, async_natives));
}

// k6's API in JavaScript over the natives above: check, group, sleep and
// fail, statements in the prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
// Mistakes in calling the k6 API throw here; the message points at the
// user's line that called (take_exception skips the prelude's frames).
function check(value, checks, tags) {
  if (checks === undefined || checks === null)
    throw new TypeError('check() expects an object of named checks as its second argument, e.g. check(res, { "status is 200": (r) => r.status === 200 })');
  let all = true;
  for (const name of Object.keys(checks)) {
    const c = checks[name];
    let ok;
    try { ok = typeof c === 'function' ? !!c(value) : !!c; } catch (e) { ok = false; }  // k6: a throwing check fails
    lk.check(name, ok, tags);
    all = all && ok;
  }
  return all;
}
// An async fn (a rewritten one, or the user's) keeps the group until its
// promise settles.
function group(name, fn) {
  if (typeof fn !== 'function') throw new TypeError('group() needs a function as its second argument: group(name, () => { ... })');
  const started = lk.groupEnter(String(name));
  let r;
  try {
    r = fn();
  } catch (e) {
    lk.groupLeave(started, false);
    throw e;
  }
  if (!(r instanceof Promise)) {
    lk.groupLeave(started, true);
    return r;
  }
  return r.then(v => { lk.groupLeave(started, true); return v; }, e => { lk.groupLeave(started, false); throw e; });
}
const sleep = lk.asyncMode ? (seconds) => lk.sleepAsync(+seconds) : (seconds) => { lk.sleep(+seconds); };
function fail(message) { throw new Error(message === undefined ? 'fail' : String(message)); }
// randomSeed(n): from then on Math.random draws from a generator seeded with
// n (mulberry32 of its low 32 bits), so a script repeats its draws, as k6's
// does. Differs from k6: async VUs of a thread share one global, so they
// draw from one sequence (a VU on its own thread has its own, as in k6).
function randomSeed(seed) {
  if (seed === undefined || Number.isNaN(Number(seed))) throw new TypeError('randomSeed() expects an integer seed');
  let state = Number(seed) >>> 0;
  Math.random = function random() {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
hide('check', check);
hide('group', group);
hide('sleep', sleep);
hide('fail', fail);
)JS";
// What __loadkit.modules['k6'] is.
inline constexpr std::string_view module_object =
    "{ check, group, sleep, fail, randomSeed, default: { check, group, sleep, fail, randomSeed } }";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::k6_module

#pragma GCC diagnostic pop
