#pragma once
// k6's group(): the one rule for group names and paths, and the one way a VU
// enters and leaves a group, for the C++ DSL, YAML flows and (through the
// same functions) JavaScript. A group's path is the names of the groups it is
// in and its own, each after "::" ("::outer::inner"; "" outside any group):
// the `group` tag of every sample made inside it, and the tag its
// group_duration is recorded under.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "context.hpp"
#include "custom_metrics.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

inline constexpr std::string_view group_separator = "::";

// Why `name` cannot name a group (the one message every front end gives:
// the DSL throws it, the YAML loader reports it at the name, JavaScript
// throws it as an Error), or nullptr when it can.
constexpr const char* group_name_error(std::string_view name) noexcept {
    return name.find(group_separator) != std::string_view::npos ? "a group name must not contain '::'" : nullptr;
}

// `path` (a group path, "" outside any group) becomes the path of its group `name`.
inline void append_group(std::string& path, std::string_view name) {
    path += group_separator;
    path += name;
}

// The VU's group tag becomes `path` (interned in its thread's shard; "" is
// no group). For a front end that keeps the path itself (JavaScript).
inline void set_group(vu_context& v, std::string_view path) {
    v.group = path.empty() ? 0 : v.thread->shard.strings.intern(path);
}

// group_duration's value for a group entered at `started_ns` (now_ns()), in ms.
inline double group_duration_ms(std::int64_t started_ns) noexcept {
    return static_cast<double>(now_ns() - started_ns) / 1e6;
}

// Entering sets the VU's group tag to "<outer>::name" (interned in its
// thread's shard) and returns the outer group to go back to; leaving after a
// normal exit records group_duration under the group's own tag.
inline std::uint32_t enter_group(vu_context& v, std::string_view name) {
    auto& shard = v.thread->shard;
    auto outer = v.group;
    thread_local std::string path;
    path.assign(shard.strings.name(outer));
    append_group(path, name);
    v.group = shard.strings.intern(path);
    return outer;
}
inline void leave_group(vu_context& v, std::uint32_t outer, std::int64_t started_ns, bool completed) {
    if (completed) {
        current_vu = &v;
        record_sample(v.thread->shard, v.scenario_id, v.group, metric_registry::get().group_duration_id(),
                      metric_kind::trend, true, group_duration_ms(started_ns), {});
    }
    v.group = outer;
}

// Runs `body` (a callable returning task<>) in group `name` of VU `v`: the
// DSL's VU::group and a YAML flow's group step. A name with "::" throws
// std::invalid_argument when awaited, before the group is entered, unless
// the caller has checked it already (`name_checked`: a loaded flow, whose
// names the loader checked where they were written).
template <class F>
task<> in_group(vu_context& v, std::string_view name, F body, bool name_checked = false) {
    if (!name_checked)
        if (auto why = group_name_error(name)) throw std::invalid_argument(why);
    auto outer = enter_group(v, name);
    auto t0 = now_ns();
    try {
        co_await body();
    } catch (...) {
        leave_group(v, outer, t0, false);
        throw;
    }
    leave_group(v, outer, t0, true);
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
