#pragma once
// The realm and the module loader: a global with every k6 module's natives
// (the table, modules.hpp) and the prelude, `import` resolved to the k6/*
// modules, the jslib.k6.io libraries loadkit serves (jslib/) and the
// script's own files, and a VU's boot: its instance of the
// main module, whose init code runs in that global.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "errors.hpp"
#include "instance.hpp"
#include "jslib/jslib.hpp"
#include "module.hpp"
#include "modules.hpp"
#include "program.hpp"
#include "realm.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

// --- modules ---
inline JSObject* load_module(instance& self, const std::string& key) {
    JSContext* cx = self.cx;
    program& prog = self.prog;
    auto* realm = self.realm;
    auto& modules = self.modules;
    if (auto it = modules.find(key); it != modules.end()) return *it->second;
    // One instance per realm of k6/* (re-exports of the prelude); of the
    // user's modules when the program lets VUs share them.
    std::string shared_key;
    auto* names = builtin_module(key);
    if (names) shared_key = key;
    else if (prog.shared_modules && realm->async_mode)
        shared_key = std::to_string(reinterpret_cast<std::uintptr_t>(self.vu() ? self.vu()->env : nullptr)) + "|" + key;
    if (!shared_key.empty())
        if (auto it = realm->modules.find(shared_key); it != realm->modules.end())
            return *(modules[key] = it->second.get());
    JS::Stencil* st = prog.module(cx, key, names);
    if (!st) return nullptr;
    JS::InstantiateOptions iopts;
    JS::RootedObject m(cx, JS::InstantiateModuleStencil(cx, iopts, st));
    if (!m) return nullptr;
    JS::SetModulePrivate(m, JS::StringValue(new_string(cx, key)));
    auto root = std::make_unique<JS::PersistentRootedObject>(cx, m);
    modules[key] = root.get();
    if (shared_key.empty()) self.module_roots.push_back(std::move(root));
    else realm->modules.emplace(std::move(shared_key), std::move(root));
    return m;
}
inline JSObject* resolve_hook(JSContext* cx, JS::HandleValue referrer, JS::HandleObject request) {
    auto& self = instance::of(cx);
    JS::RootedString spec_s(cx, JS::GetModuleRequestSpecifier(cx, request));
    if (!spec_s) return nullptr;
    std::string spec = to_utf8(cx, spec_s);
    if (builtin_module(spec)) return load_module(self, spec);
    if (auto key = jslib::module_key(spec)) return load_module(self, *key);  // served here, never downloaded
    if (jslib::is_remote(spec)) {
        throw_error(cx, jslib::remote_import_message(spec));
        return nullptr;
    }
    std::filesystem::path base = self.prog.dir;
    if (referrer.isString()) base = std::filesystem::path(to_utf8(cx, referrer.toString())).parent_path();
    if (auto path = user_module_path(base, spec)) return load_module(self, *path);
    throw_error(
        cx,
        "cannot import '" + spec +
            "': loadkit imports k6/* modules and the script's own files (a path starting with ./ or ../), and never downloads anything");
    return nullptr;
}

// --- natives (the __lk object the prelude wraps) ---
// Every module's, from the table (modules.hpp), then what the prelude reads
// of the realm.
inline bool define_natives(JSContext* cx, JS::HandleObject global, bool async_mode, bool transformed,
                           const nlohmann::json& options) {
    JS::RootedObject lk(cx, JS_NewPlainObject(cx));
    if (!lk) return false;
    install_args args{async_mode, options};
    for (auto& m : module_table())
        if (m.install && !m.install(cx, lk, args)) return false;
    JS::RootedValue mode(cx, JS::BooleanValue(async_mode));
    JS::RootedValue rewritten(cx, JS::BooleanValue(transformed));
    if (!JS_SetProperty(cx, lk, "asyncMode", mode) || !JS_SetProperty(cx, lk, "transformed", rewritten)) return false;
    JS::RootedValue v(cx, JS::ObjectValue(*lk));
    return JS_DefineProperty(cx, global, "__lk", v, 0);
}

// Once per realm: the natives, the prelude, and the globals that read the
// running VU (__VU, __ITER, __ENV, session).
inline bool init_global(JSContext* cx, program& prog, JS::HandleObject g, bool async_mode) {
    // No JS::InitRealmStandardClasses: the default global class resolves
    // standard classes on first use, and a VU touches few of them
    // (measured at 1000 VUs: 210 -> 143 KiB per async VU, 566 -> 444 per
    // sync VU, and start-up 2.4 -> 1.4 s of CPU).
    JS::SetModuleResolveHook(JS_GetRuntime(cx), &resolve_hook);
    if (!define_natives(cx, g, async_mode, prog.transformed, prog.options)) return false;
    JS::Stencil* pre = prog.prelude_stencil(cx, prelude_source());
    if (!pre) return false;
    JS::InstantiateOptions iopts;
    JS::RootedScript script(cx, JS::InstantiateGlobalStencil(cx, iopts, pre));
    JS::RootedValue rv(cx);
    if (!script || !JS_ExecuteScript(cx, script, &rv)) return false;
    for (auto& m : module_table())
        if (m.define_globals && !m.define_globals(cx, g)) return false;
    return true;
}

// A global with the natives and the prelude, its private `state`. On
// failure null, with the exception pending in the new realm's context
// (taken by the caller inside that realm) or reported in `error`.
inline JSObject* new_global(JSContext* cx, program& prog, realm_state& state, std::string& error) {
    static JSClass global_class = {"global", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps, nullptr, nullptr,
                                   nullptr};
    JS::RealmOptions options;
    JS::RootedObject g(cx, JS_NewGlobalObject(cx, &global_class, nullptr, JS::FireOnNewGlobalHook, options));
    if (!g) {
        error = take_exception(cx);
        return nullptr;
    }
    JS::SetRealmPrivate(JS::GetObjectRealmOrNull(g), &state);
    JSAutoRealm ar(cx, g);
    if (!init_global(cx, prog, g, state.async_mode)) {
        error = take_exception(cx);  // inside the realm: the exception lives there
        return nullptr;
    }
    return g;
}

// This VU's part: its session object, then its own instance of the main
// module (and of the modules that imports), whose init code runs now.
inline bool boot_in_realm(instance& self) {
    JSContext* cx = self.cx;
    JS::RootedObject so(cx, JS_NewPlainObject(cx)), vo(cx, JS_NewPlainObject(cx));
    if (!so || !vo) return false;
    JS::RootedValue vv(cx, JS::ObjectValue(*vo));
    if (!JS_DefineProperty(cx, so, "vars", vv, JSPROP_ENUMERATE)) return false;
    self.session = so;
    self.session_vars = vo;

    // the main module: link, then run its init code
    JS::RootedObject mod(cx, load_module(self, self.prog.main.string()));
    if (!mod) return false;
    if (!JS::ModuleInstantiate(cx, mod)) return false;
    JS::RootedValue result(cx);
    if (!JS::ModuleEvaluate(cx, mod, &result)) return false;
    ::js::RunJobs(cx);
    JS::RootedObject tla(cx, result.isObject() ? &result.toObject() : nullptr);  // top-level await: a promise
    if (tla && !JS::IsPromiseObject(tla)) tla = nullptr;
    // k6 runs the init code's timers (k6/timers) before the init context ends
    if (!self.run_timers(tla)) return false;
    if (result.isObject()) {
        JS::RootedObject p(cx, &result.toObject());
        if (JS::IsPromiseObject(p) && JS::GetPromiseState(p) == JS::PromiseState::Rejected) {
            JS::RootedValue reason(cx, JS::GetPromiseResult(p));
            JS_SetPendingException(cx, reason);
            return false;
        }
    }
    self.ns = JS::GetModuleNamespace(cx, mod);
    self.in_init = false;
    return self.ns != nullptr;
}

// Joins a realm made by new_global (the async VUs of a worker thread) and
// runs this VU's own instance of the main module there.
inline bool boot_in(instance& self, realm_state& r, JS::HandleObject g) {
    self.realm = &r;
    self.global = g;
    self.make_current();
    JSAutoRealm ar(self.cx, self.global);
    if (boot_in_realm(self)) return true;
    self.error = take_exception(self.cx);
    return false;
}
// Creates a global of its own, runs the prelude, then the main module's
// init code. On failure: false, with the exception's text in `error`.
inline bool boot(instance& self) {
    self.own_realm.current = &self;
    self.own_realm.async_mode = self.host != nullptr;
    self.global = new_global(self.cx, self.prog, self.own_realm, self.error);
    if (!self.global) return false;
    return boot_in(self, self.own_realm, self.global);
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
