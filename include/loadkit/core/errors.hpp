#pragma once
// The exceptions loadkit throws across layers: a configuration mistake found
// before any load, and the two ways a VU's code is cut short.
#include <stdexcept>
#include <string>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A configuration mistake found before any load starts.
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
    config_error(const std::string& what, std::string option) : std::runtime_error(what), key(std::move(option)) {}
    // The option the mistake is in ("rate"), when one is: a loader that knows
    // where each option was written points there rather than at its scenario.
    std::string key;
};

// Thrown inside a VU whose iteration is cut (gracefulStop, abort); the engine
// catches it. VU code that catches everything should rethrow it.
struct interrupted_error {};

namespace detail {

// Thrown by abort_test() in VU code, after the abort is recorded.
struct script_abort {};

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
