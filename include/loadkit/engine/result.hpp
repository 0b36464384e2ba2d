#pragma once
// What a run returns: the summary, the state that merges exactly, the
// metrics it was built from, the report, the verdict and the exit code.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "options.hpp"
#include "summary.hpp"

namespace loadkit::inline LOADKIT_ABI {

struct run_result {
    nlohmann::json summary;
    // The metrics as data that merges exactly (`loadkit merge`): also written
    // into options::summary_export's file as "state".
    nlohmann::json state;
    std::shared_ptr<const merged_metrics> metrics;  // what the summary was built from
    std::string report;                             // what was (or would have been) printed
    bool thresholds_passed = true;
    std::optional<std::string> aborted;
    int code = exit_code::ok;
    int exit_code() const noexcept { return code; }
};

}  // namespace loadkit::inline LOADKIT_ABI
