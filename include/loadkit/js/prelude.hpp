#pragma once
// The JavaScript side of the adapter: k6's API written in JavaScript over a
// few natives (`__lk`, the k6 modules' natives: modules.hpp), and the k6/*
// modules that re-export it. The prelude is one script: the helpers that
// several modules share (here), then each k6 module's JavaScript (its file
// under modules/), in the table's order, then __loadkit (here). Compiled
// once per script to a stencil and instantiated in every VU's global, so a
// VU pays for instantiation, not for parsing.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "module.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

// The prelude's start: its scope (one function over __lk, so that the
// modules' parts see each other and these helpers) and the shared helpers.
inline constexpr std::string_view prelude_head = R"JS(
(function (lk) {
'use strict';
const g = globalThis;
const hide = (name, value) => Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });

// Tags set on exec.vu.tags, by VU id (a realm runs many async VUs), and the
// VUs' metadata (exec.vu.metrics.metadata). A VU's tags go on its requests
// and custom metric samples from then on, as in k6; nothing is looked up
// while no VU has set any.
const userTags = new Map(), userMeta = new Map();
// exec.test.options (k6/execution) and SharedArray's arrays (k6/data).
function deepFreeze(o) {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const k of Object.keys(o)) deepFreeze(o[k]);
  }
  return o;
}
)JS";

// The prelude's end, after the modules' parts: what the adapter's C++
// (instance.hpp, realm.hpp) and the rewrite (transform.hpp) read of it,
// under __loadkit; Response and makeResponse are k6/http's (modules/http.hpp).
inline constexpr std::string_view prelude_tail = R"JS(
const callExec = (fn, data, vu, iteration, scenario) => fn(data, { vu, iteration, scenario });
// A rewritten x.forEach(fn) whose fn makes requests (transform.hpp): fn is
// async, so each call is awaited before the next, as the blocking calls ran.
const awaitable = x => ({
  async forEach(fn, thisArg) {
    const calls = [];
    x.forEach((...a) => { calls.push(a); });
    for (const a of calls) await fn.apply(thisArg, a);
  },
});
hide('__loadkit', { deepFreeze, Response, makeResponse, callExec, awaitable, isAsync: (f) => Object.prototype.toString.call(f) === '[object AsyncFunction]', modules: {
)JS";

// The prelude of the table `modules` (modules.hpp): the head, each row's
// JavaScript in order, the tail, and __loadkit.modules from the rows.
inline std::string assemble_prelude(const std::vector<module_entry>& modules) {
    std::string src(prelude_head);
    for (auto& m : modules) src += m.javascript;
    src += prelude_tail;
    for (auto& m : modules)
        if (!m.name.empty()) src += "  '" + std::string(m.name) + "': " + std::string(m.module_object) + ",\n";
    src += "} });\n})(__lk);\n";
    return src;
}

// The module text for a k6/* specifier, re-exporting what the prelude made
// (`names`: its exports, from the table in modules.hpp).
inline std::string builtin_module_source(std::string_view specifier, const std::vector<std::string>& names) {
    std::string src = "const m = globalThis.__loadkit.modules['" + std::string(specifier) + "'];\n";
    for (auto& n : names) {
        if (n == "default") src += "export default m.default;\n";
        else src += "export const " + n + " = m." + n + ";\n";
    }
    return src;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail
