#pragma once
// console (a global, as in k6): its methods log through loadkit's logger,
// prefixed with the VU.
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../../core/log.hpp"
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

namespace loadkit::inline LOADKIT_ABI::js::detail::console_module {

namespace ld = loadkit::detail;

inline bool n_log(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    int level = args.get(0).isInt32() ? args.get(0).toInt32() : 1;
    auto text = to_utf8(cx, args.get(1));
    auto* v = instance::of(cx).vu();
    std::string prefix = v ? "[VU " + std::to_string(v->id) + "] " : std::string();
    ld::log_console(level <= 0   ? log_level::debug
                    : level == 1 ? log_level::info
                    : level == 2 ? log_level::warn
                                 : log_level::error,
                    prefix + text);
    args.rval().setUndefined();
    return true;
}

// log: console.log/info/debug/warn/error (its JavaScript, below) at a level 0-3.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("log", &n_log, 2, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// console in JavaScript over the native above, statements in the
// prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
const show = v => typeof v === 'string' ? v : (v instanceof Error ? String(v) : (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)));
const say = level => (...args) => lk.log(level, args.map(show).join(' '));
const console = { log: say(1), info: say(1), debug: say(0), warn: say(2), error: say(3) };
hide('console', console);
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::console_module

#pragma GCC diagnostic pop
