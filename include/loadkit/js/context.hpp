#pragma once
// SpiderMonkey for the process and for each JSContext: JS_Init once, the
// JIT policy (process-wide), heap and stack limits, and a context's setup.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "../core/config.hpp"
#include "errors.hpp"
#include "spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

// JS_Init once per process; JS_ShutDown at exit, after every context is gone.
inline void init_process() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (!JS_Init()) throw script_error("SpiderMonkey failed to initialise (JS_Init)");
        std::atexit([] { JS_ShutDown(); });
    });
}

// SpiderMonkey's JIT switches are process-wide, so one choice for the run
// (set_jit, before VUs start): on when every scenario runs async VUs, off
// when any runs synchronous ones, whose runtimes would each compile and keep
// the same code (measured at 1000 synchronous VUs: 714 -> 585 MB of RSS
// without it, CPU per request within noise). LOADKIT_JS_JIT=1 or 0 overrides.
inline void set_jit(JSContext* cx, bool on) {
    if (const char* e = std::getenv("LOADKIT_JS_JIT"); e && (e == std::string_view("1") || e == std::string_view("0")))
        on = e == std::string_view("1");
    JS_SetGlobalJitCompilerOption(cx, JSJITCOMPILER_BASELINE_INTERPRETER_ENABLE, on);
    JS_SetGlobalJitCompilerOption(cx, JSJITCOMPILER_BASELINE_ENABLE, on);
    JS_SetGlobalJitCompilerOption(cx, JSJITCOMPILER_ION_ENABLE, on);
}

inline constexpr std::uint32_t heap_max_bytes = 1u << 30;  // the 32 MB default is too small for big data files
inline constexpr std::size_t vu_stack_bytes = 2u << 20;    // virtual; a VU touches a few pages of it
inline constexpr std::size_t stack_quota_bytes = vu_stack_bytes - (256u << 10);

// `nursery_bytes`: the young generation's limit. A VU thread's runtime keeps
// it small, so a thousand of them stay near their working set; a context
// shared by many async VUs keeps it large, as every minor GC traces the
// persistent roots of all its VUs (measured: 10% of the CPU with 256 KB).
inline void setup_context(JSContext* cx, std::size_t stack_quota, std::uint32_t nursery_bytes = 256u << 10) {
    JS_SetNativeStackQuota(cx, stack_quota);
    JS_SetGCParameter(cx, JSGC_MAX_NURSERY_BYTES, nursery_bytes);
    // Capturing an async stack on every promise cost 11k instructions per
    // asyncRequest (measured); error stacks still show the running frames.
    JS::ContextOptionsRef(cx).setAsyncStack(false);
    if (!::js::UseInternalJobQueues(cx)) throw script_error("SpiderMonkey: cannot set up the job queue");
    if (!JS::InitSelfHostedCode(cx)) throw script_error("SpiderMonkey: cannot initialise self-hosted code");
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
