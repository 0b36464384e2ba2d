#pragma once
// k6/execution: exec.vu, exec.scenario, exec.instance and exec.test (the
// objects are built by its JavaScript, below, from what these natives read).
#include <algorithm>
#include <atomic>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../../runtime/context.hpp"
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

namespace loadkit::inline LOADKIT_ABI::js::detail::execution_module {

namespace ld = loadkit::detail;

// k6/execution's values, read when asked: part 0 exec.vu, 1
// exec.scenario, 2 exec.instance (k6 v0.48's fields; its JavaScript builds
// the objects). Outside a VU it throws k6's messages.
inline bool n_exec_info(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    int part = args.get(0).isInt32() ? args.get(0).toInt32() : 0;
    auto* v = self.vu();          // null in setup/teardown
    auto* ev = self.engine_vu();  // setup/teardown's control VU too
    auto* es = ev && ev->thread ? ev->thread->engine : nullptr;
    if (part == 1 && (self.in_init || !v || !v->scenario_state))
        return throw_error(cx, "getting scenario information outside of the VU context is not supported");
    if (self.in_init || !es)
        return throw_error(cx, std::string("getting ") + (part == 0 ? "VU" : "instance") +
                                   " information in the init context is not supported");
    JS::RootedObject o(cx, JS_NewPlainObject(cx));
    if (!o) return false;
    auto n = [&](const char* name, double d) { return set_number(cx, o, name, d); };
    bool ok = true;
    if (part == 0) {
        ok = n("idInInstance", v ? static_cast<double>(v->local_id) : 0) &&
             n("idInTest", v ? static_cast<double>(v->id) : 0) &&
             n("iterationInInstance", v ? static_cast<double>(v->iteration) : 0) &&
             n("iterationInScenario", v ? static_cast<double>(v->iteration) : 0) &&
             set_string(cx, o, "scenario", v ? v->scenario : std::string_view{}) &&
             set_string(cx, o, "group", self.group_path);
    } else if (part == 1) {
        auto& si = *v->scenario_state;
        auto now = ld::now_ns();
        double progress = 0;
        // k6: iterations done of those to do. Those started but this one
        // (the one asking is running): the same while VUs take turns.
        if (si.total_iterations)
            progress = static_cast<double>(si.started.load(std::memory_order_relaxed) - 1) /
                       static_cast<double>(si.total_iterations);
        else if (si.end_ns > si.start_ns)
            progress = static_cast<double>(now - si.start_ns) / static_cast<double>(si.end_ns - si.start_ns);
        progress = std::clamp(progress, 0.0, 1.0);
        ok = set_string(cx, o, "name", v->scenario) && set_string(cx, o, "executor", si.executor) &&
             n("startTime", static_cast<double>(si.start_unix_ms)) && n("progress", progress) &&
             n("iterationInInstance", static_cast<double>(v->scenario_iteration)) &&
             n("iterationInTest", static_cast<double>(v->scenario_iteration_in_test));
    } else {
        double completed = 0, interrupted = 0;
        for (auto* t : es->workers) {
            completed += static_cast<double>(t->iterations_completed.load(std::memory_order_relaxed));
            interrupted += static_cast<double>(t->iterations_interrupted.load(std::memory_order_relaxed));
        }
        ok = n("currentTestRunDuration", static_cast<double>(ld::now_ns() - es->started_ns) / 1e6) &&
             n("iterationsCompleted", completed) && n("iterationsInterrupted", interrupted) &&
             n("vusActive", static_cast<double>(es->active_vus.load())) &&
             n("vusInitialized", static_cast<double>(es->initialized_vus.load()));
    }
    if (!ok) return false;
    args.rval().setObject(*o);
    return true;
}
// exec.test.options: the test's options as JSON (see program::test_options)
inline bool n_test_options(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    JSString* str = new_string(cx, instance::of(cx).prog.test_options);
    if (!str) return false;
    args.rval().setString(str);
    return true;
}
inline bool n_abort(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.in_init || (!self.link && !self.host))
        return throw_error(cx, "exec.test.abort() cannot be called in the init context");
    (self.link ? self.link->abort_reason : self.abort_reason) = to_utf8(cx, args.get(0));
    self.terminating = true;
    return false;  // uncatchable: unwinds the whole call
}

// execInfo, testOptions, abort.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("execInfo", &n_exec_info, 1, 0), JS_FN("abort", &n_abort, 1, 0),
                                             JS_FN("testOptions", &n_test_options, 0, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// k6/execution's API in JavaScript over the natives above: exec, its
// objects built on each read, statements in the prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
// k6's tag and metadata values: strings, numbers and booleans, kept as strings.
function tagValue(kind, k, v) {
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return String(v);
  throw new TypeError(`invalid value for metric ${kind} '${String(k)}': only String, Boolean and Number types are accepted as a metric ${kind} value`);
}
// A VU's tags or metadata as k6's dynamic object: what the VU set, over
// `system()` (the scenario and group tags) for tags.
function bag(store, id, kind, system) {
  const own = () => store.get(id);
  const read = k => {
    const o = own();
    if (o && Object.prototype.hasOwnProperty.call(o, k)) return o[k];
    const s = system ? system() : null;
    return s && Object.prototype.hasOwnProperty.call(s, k) ? s[k] : undefined;
  };
  return new Proxy({}, {
    get: (_, k) => typeof k === 'string' ? read(k) : undefined,
    has: (_, k) => typeof k === 'string' && read(k) !== undefined,
    set: (_, k, v) => {
      let o = own();
      const value = tagValue(kind, k, v);
      if (!o) store.set(id, o = Object.create(null));
      o[k] = value;
      return true;
    },
    deleteProperty: (_, k) => { const o = own(); if (o) delete o[k]; return true; },
    ownKeys: () => [...new Set([...Object.keys(system ? system() : {}), ...Object.keys(own() || {})])],
    getOwnPropertyDescriptor: (_, k) => {
      const v = typeof k === 'string' ? read(k) : undefined;
      return v === undefined ? undefined : { value: v, writable: true, enumerable: true, configurable: true };
    },
  });
}
const systemTags = () => {
  const i = lk.execInfo(0), t = {};
  if (i.group !== undefined) t.group = i.group;
  if (i.scenario) t.scenario = i.scenario;
  return t;
};
let testOptions;
const exec = {
  get vu() {
    const i = lk.execInfo(0), tags = bag(userTags, i.idInTest, 'tag', systemTags);
    return { idInInstance: i.idInInstance, idInTest: i.idInTest, iterationInInstance: i.iterationInInstance,
             iterationInScenario: i.iterationInScenario, tags, metrics: { tags, metadata: bag(userMeta, i.idInTest, 'metadata', null) } };
  },
  get scenario() { return lk.execInfo(1); },
  get instance() { return lk.execInfo(2); },
  test: {
    abort(reason) { lk.abort(reason === undefined ? 'test aborted' : String(reason)); },
    get options() { return testOptions || (testOptions = deepFreeze(JSON.parse(lk.testOptions()))); },
  },
};
hide('exec', exec);
)JS";
// What __loadkit.modules['k6/execution'] is.
inline constexpr std::string_view module_object = "{ default: exec }";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::execution_module

#pragma GCC diagnostic pop
