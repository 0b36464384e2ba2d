// loadkit: header-only C++20 load testing. https://example.invalid/loadkit (MIT)
#pragma once

#define LOADKIT_VERSION_MAJOR 0
#define LOADKIT_VERSION_MINOR 1
#define LOADKIT_VERSION_PATCH 0
#define LOADKIT_VERSION_STRING "0.1.0"

// Every name of loadkit is in an inline namespace named after the version
// (loadkit::v0_1::engine), as {fmt}'s `inline namespace v11`: two versions
// linked into one program are then different types, not a silent ODR
// violation. Code names them loadkit::engine as usual.
#define LOADKIT_ABI_NAME2(major, minor) v##major##_##minor
#define LOADKIT_ABI_NAME(major, minor) LOADKIT_ABI_NAME2(major, minor)
#define LOADKIT_ABI LOADKIT_ABI_NAME(LOADKIT_VERSION_MAJOR, LOADKIT_VERSION_MINOR)

#include <chrono>
#include <cstdint>
#include <string_view>

namespace loadkit::inline LOADKIT_ABI {

inline constexpr std::string_view version = LOADKIT_VERSION_STRING;

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using nanoseconds = std::chrono::nanoseconds;

}  // namespace loadkit::inline LOADKIT_ABI

// (every header that includes the configuration can read the clock)
#include "clock.hpp"
