#pragma once
// k6's globals that are no module's: open() (the init context's file
// reader), __VU, __ITER, __ENV and loadkit's session.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../../core/file.hpp"
#include "../../runtime/context.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"
#include "crypto.hpp"

extern char** environ;

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::globals_module {

inline bool n_open(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.in_init)
        return throw_error(cx, "open() can only be called in the init context (top-level code), as in k6");
    std::filesystem::path p(to_utf8(cx, args.get(0)));
    if (p.is_relative()) p = self.prog.dir / p;
    std::string text, why;  // a regular file within the limit (not /dev/zero)
    if (!loadkit::detail::read_input_file(p.string(), loadkit::detail::max_data_file_bytes, text, why))
        return throw_error(cx, "open(): " + why);
    if (to_utf8(cx, args.get(1)) == "b") return crypto_module::encode_out(cx, text, "binary", args.rval());
    args.rval().setString(new_string(cx, text));
    return true;
}
inline bool g_vu(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto* v = instance::of(cx).vu();
    JS::CallArgsFromVp(argc, vp).rval().setNumber(v ? static_cast<double>(v->id) : 0.0);
    return true;
}
inline bool g_iter(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto& self = instance::of(cx);
    auto* v = self.vu();
    JS::CallArgsFromVp(argc, vp).rval().setNumber(v && !self.in_init ? static_cast<double>(v->iteration) : 0.0);
    return true;
}
inline bool g_session(JSContext* cx, unsigned argc, JS::Value* vp) {
    JS::CallArgsFromVp(argc, vp).rval().setObject(*instance::of(cx).session);
    return true;
}
// __ENV: the process's environment, then the run's, then the scenario's.
inline bool g_env(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto& self = instance::of(cx);
    auto* v = self.vu();
    const void* key = v ? static_cast<const void*>(v->env) : nullptr;
    auto& slot = self.realm->envs[key];
    if (!slot) {
        JS::RootedObject envobj(cx, JS_NewPlainObject(cx));
        if (!envobj) return false;
        for (char** e = environ; e && *e; ++e) {
            std::string_view kv(*e);
            auto eq = kv.find('=');
            if (eq == std::string_view::npos) continue;
            std::string k(kv.substr(0, eq));
            if (!set_string(cx, envobj, k.c_str(), kv.substr(eq + 1))) return false;
        }
        for (auto& [k, val] : (v && v->thread) ? v->thread->engine->env : self.prog.env)
            if (!set_string(cx, envobj, k.c_str(), val)) return false;
        if (v && v->env)
            for (auto& [k, val] : *v->env)
                if (!set_string(cx, envobj, k.c_str(), val)) return false;
        slot = std::make_unique<JS::PersistentRootedObject>(cx, envobj);
    }
    JS::CallArgsFromVp(argc, vp).rval().setObject(**slot);
    return true;
}

// open, before the prelude; after it, the globals that read the running VU.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("open", &n_open, 2, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}
inline bool define_globals(JSContext* cx, JS::HandleObject g) {
    return JS_DefineProperty(cx, g, "__VU", &g_vu, nullptr, JSPROP_ENUMERATE) &&
           JS_DefineProperty(cx, g, "__ITER", &g_iter, nullptr, JSPROP_ENUMERATE) &&
           JS_DefineProperty(cx, g, "__ENV", &g_env, nullptr, JSPROP_ENUMERATE) &&
           JS_DefineProperty(cx, g, "session", &g_session, nullptr, 0);
}

// open() in JavaScript over the native above, statements in the prelude's
// scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
const open = (path, mode) => lk.open(String(path), mode === 'b' ? 'b' : 't');
hide('open', open);
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::globals_module

#pragma GCC diagnostic pop
