#pragma once
// k6's check(): each named check is counted as a pass or a fail under the
// VU's scenario and group (the `checks` rate and the summary's per-check
// rows; the same name in two groups is two checks). The one way every front
// end records one: the DSL's check(), a YAML request step's `check:`, and
// JavaScript's check().
#include <initializer_list>
#include <string_view>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "context.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// Counts one check of the VU `ctx` (none: not counted); returns `ok`.
inline bool record_check(vu_context* ctx, std::string_view name, bool ok) {
    if (ctx && ctx->thread) {
        auto& c = ctx->thread->shard.check(ctx->scenario_id, name, ctx->group);
        ok ? ++c.passes : ++c.fails;
    }
    return ok;
}

template <class T>
struct named_check {
    std::string_view name;
    function_ref<bool(const T&)> predicate;
};

// Runs and counts each named predicate on `value`; true if all passed.
template <class T>
bool run_checks(vu_context* ctx, const T& value, std::initializer_list<named_check<T>> checks) {
    bool all = true;
    for (auto& c : checks) {
        bool ok;
        try {
            ok = c.predicate(value);
        } catch (...) {
            ok = false;  // a throwing predicate is a failed check, as in k6
        }
        all &= record_check(ctx, c.name, ok);
    }
    return all;
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
