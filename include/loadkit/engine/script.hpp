#pragma once
// What a script (the JavaScript adapter) gives the engine: setup/teardown,
// named functions (exec, on_start, on_stop), beforeRequest/afterRequest for
// flow request steps, and handleSummary. The YAML flow runtime drives it, so
// a YAML file, a script, or both run through one mechanism.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../http/client.hpp"
#include "summary.hpp"
#include "../core/task.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A VU's session.vars: captures from flow steps, read and written by script
// functions, alive for the VU's lifetime.
using vars_map = std::unordered_map<std::string, std::string>;

// One VU's side of a script.
class script_vu {
  public:
    virtual ~script_vu() = default;
    // Calls an exported function by name with (data, ctx) (exec, on_start, on_stop).
    virtual task<> call(std::string_view function) = 0;
    virtual bool has_before_request() const noexcept { return false; }
    virtual bool has_after_request() const noexcept { return false; }
    // Around every flow request step (not around the script's own http calls).
    // Tasks, because a script may run on a thread of its own.
    virtual task<> before_request(request&) { co_return; }
    virtual task<> after_request(const response&) { co_return; }
};

class script {
  public:
    virtual ~script() = default;
    virtual bool has_function(std::string_view name) const = 0;
    virtual bool has_setup() const { return false; }
    virtual bool has_teardown() const { return false; }
    // setup() keeps its result (JSON, shared read-only with every VU).
    virtual task<> setup(client&) { co_return; }
    virtual task<> teardown(client&) { co_return; }
    // setup()'s result as JSON text ("null" before setup or without one), and
    // setting it instead of running setup(): a test split over machines runs
    // setup() once (`loadkit setup`) and hands its data to every instance.
    virtual std::string setup_data_json() const { return "null"; }
    virtual void set_setup_data_json(std::string) {}
    // Called on the VU's thread when the VU is created; `exec_function` is
    // what its scenario calls each iteration (empty: flow steps only).
    virtual std::unique_ptr<script_vu> create_vu(detail::vu_context& vu, client& http, vars_map& vars,
                                                 std::string_view exec_function) = 0;
    // handleSummary(data): a string, an object, or null (see options::handle_summary).
    virtual bool has_handle_summary() const { return false; }
    virtual nlohmann::json handle_summary(const nlohmann::json&) { return nullptr; }
    // The summary settings the run resolved (--summary-trend-stats, options,
    // k6's defaults), for a script whose handleSummary data describes them.
    virtual void use_summary_options(const summary_options&, bool /*no_color*/) {}
};

}  // namespace loadkit::inline LOADKIT_ABI
