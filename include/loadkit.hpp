#pragma once
// loadkit: header-only C++20 load testing.
//
//   #include <loadkit.hpp>
//
// brings the engine, the HTTP client, the executors and the summary. It needs
// Boost (Asio), OpenSSL and nlohmann/json. The YAML loader, the JavaScript
// adapter and the built-in target server have headers of their own:
// <loadkit/yaml.hpp>, <loadkit/js.hpp>, <loadkit/target.hpp>.
#include "loadkit/core/config.hpp"
#include "loadkit/core/task.hpp"
#include "loadkit/metrics/histogram.hpp"
#include "loadkit/runtime/custom_metrics.hpp"
#include "loadkit/http/message.hpp"
#include "loadkit/http/client.hpp"
#include "loadkit/http/fetch.hpp"
#include "loadkit/engine/executors.hpp"
#include "loadkit/engine/segment.hpp"
#include "loadkit/runtime/events.hpp"
#include "loadkit/engine/engine.hpp"
#include "loadkit/engine/summary.hpp"
#include "loadkit/engine/thresholds.hpp"
#include "loadkit/dsl/scenario.hpp"
