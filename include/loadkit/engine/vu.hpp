#pragma once
// What a front end gives the engine: a scenario (its name, executor and
// options) and a factory of VUs, each VU an object with an iteration. The
// templated C++ DSL, the flow runtime (YAML, JavaScript plans) and the
// JavaScript adapter each implement vu_instance and vu_factory.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "executors.hpp"
#include "tasks.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {
struct vu_context;  // the VU's place in its thread (runtime/context.hpp): handed through to what the VU runs
}  // namespace detail

// A VU as the engine sees it: the templated DSL, YAML and JS each provide one.
struct vu_instance {
    virtual ~vu_instance() = default;
    virtual task<> on_start() { co_return; }
    virtual task<> iteration() = 0;
    virtual task<> on_stop() { co_return; }
    bool has_on_start = false;
    bool has_on_stop = false;
};
struct vu_factory {
    virtual ~vu_factory() = default;
    // Called on the VU's thread, when the VU first iterates.
    virtual std::unique_ptr<vu_instance> create(detail::vu_context& ctx) = 0;
};

struct scenario_spec {
    std::string name;
    executor exec;
    std::shared_ptr<vu_factory> factory;
    std::map<std::string, std::string, std::less<>> env;   // over options::env, for this scenario's VUs
    std::map<std::string, std::string, std::less<>> tags;  // on every sample of this scenario
    // Locust's user model (tasks.hpp): the VU's tasks, of which each
    // iteration runs one (the engine picks; vu_context::task says which),
    // and the wait after each iteration.
    task_list tasks{};
    loadkit::wait_time wait{};
};

}  // namespace loadkit::inline LOADKIT_ABI
