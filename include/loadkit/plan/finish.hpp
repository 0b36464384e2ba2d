#pragma once
// What happens to a plan once it is built: the script's functions it names
// are checked against the loaded script, and k6's execution shortcuts
// (-u, -d, -i) rewrite its scenarios. Apart from build.hpp, which is only
// about turning a document into a plan.
#include <optional>
#include <string>
#include <variant>

#include "build.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

// After the script is loaded: every function the file names must exist.
inline void check_script_functions(const plan& p, const script& s) {
    for (auto& sc : p.scenarios)
        for (auto [name, pos] :
             {std::pair{&sc.exec_function, &sc.exec_where}, std::pair{&sc.on_start, &sc.on_start_where},
              std::pair{&sc.on_stop, &sc.on_stop_where}})
            if (!name->empty() && !s.has_function(*name))
                throw load_error(p.file, pos->line, pos->column, "the script has no exported function '" + *name + "'");
    for (auto& sc : p.scenarios)
        for (auto& t : sc.tasks)
            if (!t.exec.empty() && !s.has_function(t.exec))
                throw load_error(p.file, t.where.line, t.where.column,
                                 "the script has no exported function '" + t.exec + "'");
}

// k6's execution shortcuts (-u, -d, -i) applied to every scenario of a plan,
// keeping each scenario's flow, exec, env and tags: -d (with -u) makes
// constant-vus; -i (with -u, and -d as maxDuration) makes shared-iterations;
// -u alone sets the VU count of executors that have one.
inline void apply_shortcuts(plan& p, std::optional<int> vus, std::optional<nanoseconds> duration,
                            std::optional<std::int64_t> iterations) {
    for (auto& s : p.scenarios) {
        int current = std::visit(
            [](auto& x) -> int {
                if constexpr (requires { x.vus; }) return x.vus;
                else return 1;
            },
            s.exec);
        int v = vus.value_or(current);
        if (iterations) {
            shared_iterations x{.vus = v, .iterations = *iterations};
            if (duration) x.max_duration = *duration;
            s.exec = x;
        } else if (duration) {
            s.exec = constant_vus{.vus = v, .duration = *duration};
        } else if (vus) {
            bool has_vus = std::visit(
                [&](auto& x) {
                if constexpr (requires { x.vus; }) {
                    x.vus = *vus;
                    return true;
                } else return false;
                },
                s.exec);
            if (!has_vus)
                throw config_error("--vus: scenario '" + s.name + "' uses " + std::string(executor_name(s.exec)) +
                                   ", which has no fixed VU count; give --duration or --iterations too");
        }
        loadkit::detail::schedule::validate(s.name, s.exec);
    }
}

}  // namespace loadkit::inline LOADKIT_ABI::yaml
