#pragma once
// The engine: the one mechanism that the C++ DSL, the YAML loader and the
// JavaScript adapter all drive. It owns the worker threads (one io_context
// each, no cross-thread posting on the hot path), runs setup once, spreads
// VUs over threads, runs the seed's lifecycle for every VU, runs teardown
// once even on abort, and merges the per-thread shards into the summary.
//
//   loadkit::options o;                        // threads, target, thresholds, outputs...
//   std::vector<loadkit::scenario_spec> specs; // a name, an executor and a vu_factory each
//   loadkit::engine e(o);
//   loadkit::run_result r = e.run(specs, setup, teardown);  // setup/teardown may be empty
//   return r.exit_code();
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "control.hpp"
#include "engine_impl.hpp"
#include "options.hpp"
#include "result.hpp"
#include "vu.hpp"

namespace loadkit::inline LOADKIT_ABI {

class engine {
  public:
    // setup() and teardown(): run once, on the engine's control thread, with a client of their own.
    using hook_fn = std::function<task<>(client&)>;

    // `o` must outlive the engine (run() reads it, on_progress and the events are called from it).
    explicit engine(options& o) : impl_(o) {}
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // Runs the scenarios: validates them (config_error before any load),
    // runs setup() once, the VUs, teardown() once even on abort, and returns
    // the summary, the state, the metrics and the exit code.
    run_result run(std::vector<scenario_spec>& specs, hook_fn setup, hook_fn teardown) {
        return impl_.run(specs, std::move(setup), std::move(teardown));
    }

    // Stops the run from outside (another thread, a signal handler's thread,
    // an event listener): iterations in flight get their gracefulStop;
    // `immediate` cuts them at once.
    void abort(std::string reason, bool immediate = false) { impl_.abort(std::move(reason), immediate); }

    // Pause, resume, scale, stop, abort and status, from any thread
    // (engine/control.hpp): options::control when given, else the engine's own.
    run_control& control() noexcept { return impl_.control(); }

  private:
    detail::engine_impl impl_;
};

}  // namespace loadkit::inline LOADKIT_ABI
