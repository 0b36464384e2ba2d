#pragma once
// loadkit: header-only C++20 load testing.
//
//   #include <loadkit.hpp>
//
// brings the engine, the HTTP client, the executors, the summary and the
// built-in target. It needs Boost (Asio, Beast), OpenSSL and nlohmann/json;
// the YAML loader and the JavaScript adapter have headers of their own.
#include "loadkit/config.hpp"
#include "loadkit/task.hpp"
#include "loadkit/metrics/histogram.hpp"
#include "loadkit/metrics/custom.hpp"
#include "loadkit/http/message.hpp"
#include "loadkit/http/client.hpp"
#include "loadkit/http/fetch.hpp"
#include "loadkit/exec/executors.hpp"
#include "loadkit/exec/segment.hpp"
#include "loadkit/exec/events.hpp"
#include "loadkit/exec/engine.hpp"
#include "loadkit/report/summary.hpp"
#include "loadkit/report/thresholds.hpp"
#include "loadkit/scenario.hpp"
#include "loadkit/target/server.hpp"
