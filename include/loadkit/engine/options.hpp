#pragma once
// What a run is asked to do and how it reports back while it goes: the
// engine's options, the progress it hands to options::on_progress, the
// per-scenario options beside an executor, and the exit codes a run ends with.
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../http/options.hpp"
#include "../runtime/events.hpp"
#include "tasks.hpp"
#include "segment.hpp"
#include "summary.hpp"
#include "summary_handler.hpp"
#include "thresholds.hpp"

namespace loadkit::inline LOADKIT_ABI {

// Exit codes, the same numbers as k6's so CI scripts keep working.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int thresholds_failed = 99;
inline constexpr int setup_timeout = 100;     // setup() ran past its setupTimeout (k6's code)
inline constexpr int teardown_timeout = 101;  // teardown() ran past its teardownTimeout (k6's code)
inline constexpr int stopped_from_api = 103;  // stopped or aborted through the run's control (k6's REST API code)
inline constexpr int invalid_config = 104;
inline constexpr int external_abort = 105;     // SIGINT/SIGTERM, or test::abort from outside
inline constexpr int script_error = 107;       // setup() failed, a script could not load
inline constexpr int aborted_by_script = 108;  // abort_test() from VU code
inline constexpr int internal_error =
    109;  // an unexpected exception in the engine (out of memory, ...): k6's code for a Go panic
}  // namespace exit_code

class run_control;  // engine/control.hpp

// Per-scenario settings beside the executor (k6's scenario `env` and `tags`).
struct scenario_options {
    // ({} initializers: `{.env = ...}` need not name every field, and -Wextra agrees)
    std::map<std::string, std::string> env{};   // over options::env, for this scenario's VUs
    std::map<std::string, std::string> tags{};  // added to every sample of the scenario
    // The wait after each iteration (Locust's wait_time, engine/tasks.hpp);
    // over the VU type's own `static constexpr loadkit::wait_time wait_time`.
    std::optional<loadkit::wait_time> wait{};
};

// What a run looks like while it goes, for progress displays and live
// outputs (options::on_progress): the scenarios' counts and a merged
// snapshot of every metric so far.
struct scenario_progress {
    std::string name;
    std::int64_t active_vus = 0;
    int max_vus = 0;
    std::uint64_t iterations = 0, requests = 0, failed_requests = 0, dropped_iterations = 0;
    double end_secs = 0;  // when the scenario's schedule ends (from the run's start)
};
struct progress {
    double elapsed_secs = 0;
    double total_secs = 0;  // the longest scenario's end (gracefulStop not included)
    bool final = false;     // the last call, after every VU has ended
    std::vector<scenario_progress> scenarios;
    const merged_metrics* metrics = nullptr;  // cumulative, merged across threads
};

struct options {
    std::string name = "loadkit";             // the summary's "name"
    std::map<std::string, std::string> env;   // k6's -e: what VU::env() sees before the process environment
    std::map<std::string, std::string> tags;  // added to every sample of the run
    std::string target;                       // base URL for relative request URLs
    int threads = 0;                          // worker threads; 0: one per core
    client_options http;                      // client defaults (http.base_url is set from target)
    std::string summary_export;               // write the summary JSON here
    bool print_summary = true;                // print the console report (or handle_summary's output)
    std::ostream* out = &std::cout;           // where the report goes
    // The summary's trend stats and time unit (k6's summaryTrendStats,
    // summaryTimeUnit), and whether there is one at all (--no-summary: no
    // console summary, handle_summary is not called).
    summary_options summary;
    // Receives the summary; returns a string (replaces the console report), an
    // object or array (printed as pretty JSON instead), or null, nullopt or
    // nothing (keeps the default): see summary_handler.hpp.
    summary_handler handle_summary;
    loadkit::events events;
    nanoseconds on_stop_grace = 30s;  // how long a VU's on_stop may run after the run was stopped
    // How long setup() and teardown() may run before they are cut (k6's
    // setupTimeout/teardownTimeout, 60 s by default): exit 100 or 101.
    nanoseconds setup_timeout = 60s, teardown_timeout = 60s;
    // Pass/fail criteria (k6's thresholds): {{"http_req_duration{name:login}", {"p(95)<200"}}, ...}
    loadkit::threshold_set thresholds;
    bool run_thresholds = true;         // false: report no thresholds, never fail on them (--no-thresholds)
    nanoseconds threshold_period = 2s;  // how often abortOnFail thresholds are checked during the run
    bool handle_signals = true;         // SIGINT/SIGTERM stop the run gracefully (twice: at once)
    // Called on the main thread every progress_period while VUs run, and once
    // more at the end (progress::final). Each call costs a merge of every
    // thread's shard, done on that thread: nothing changes on the hot path.
    std::function<void(const progress&)> on_progress;
    nanoseconds progress_period = 1s;
    // This instance's share of the test (k6's --execution-segment): VUs,
    // iterations and arrivals split exactly and striped; the default is all.
    execution_segment segment;
    // Phases to run: a test split over machines runs setup() once on one of
    // them (`loadkit setup`) and teardown() once on another (`loadkit teardown`).
    bool run_setup = true, run_vus = true, run_teardown = true;
    // Locust's --tags / --exclude-tags: of a scenario's tasks, run only those
    // with one of `include_tags` (all when empty) and none of `exclude_tags`.
    std::vector<std::string> include_tags, exclude_tags;
    // Seeds every VU's generator (task picks, between() waits): the same
    // seed picks the same tasks in the same order per VU. 0: random.
    std::uint64_t seed = 0;
    // Who steers the run while it goes (engine/control.hpp: pause, resume,
    // scale, stop, abort, status); null: the engine's own (engine::control()).
    // Must outlive run().
    run_control* control = nullptr;
    // Start paused (k6's --paused): setup() and the VUs wait for a resume.
    bool start_paused = false;
};

}  // namespace loadkit::inline LOADKIT_ABI
