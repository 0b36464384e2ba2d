#pragma once
// What one JavaScript global (a realm) keeps for the VUs that run in it.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "../core/config.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

struct instance;

// What a realm's private points to. A realm is one global with the prelude:
// a sync VU's thread and the init context have one of their own, with one
// instance in it; a worker thread's async VUs share one realm, each with its
// own module instances, and the VU whose code is about to run makes itself
// `current` (a promise job only ever runs right after its own VU's promise
// was settled, so the VU that settles is the VU that runs). Sharing the
// realm shares the prelude's objects, shapes, ICs and JIT code, which at a
// thousand VUs decided the CPU per request: one realm per VU did not stay
// in cache (see the README's JavaScript numbers).
struct realm_state {
    instance* current = nullptr;
    bool async_mode = false;
    repeated_string method, status_text, proto;  // of responses
    repeated_string scenario;             // the exec function's ctx.scenario
    // the prelude's makeResponse and callExec, looked up once
    std::unique_ptr<JS::PersistentRootedValue> make_response, call_exec;
    // Module instances the realm's VUs share: k6/* always; the user's when
    // the program allows it, by scenario environment and path.
    std::map<std::string, std::unique_ptr<JS::PersistentRootedObject>, std::less<>> modules;
    std::string header_block;  // a response's headers, as makeResponse takes them
    // __ENV objects by the scenario's env (null: none), and setup()'s data,
    // parsed and deeply frozen once per realm: both read-only in VUs.
    std::map<const void*, std::unique_ptr<JS::PersistentRootedObject>> envs;
    std::unique_ptr<JS::PersistentRootedValue> data;
    void release() {  // before the context goes
        envs.clear();
        data.reset();
        method.str.reset();
        status_text.str.reset();
        proto.str.reset();
        scenario.str.reset();
        make_response.reset();
        call_exec.reset();
        modules.clear();
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
