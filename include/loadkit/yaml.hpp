// loadkit's YAML flows: load a file into a plan, run it on the engine.
// Needs yaml-cpp (CMake target loadkit::yaml); <loadkit.hpp> does not include it.
//
//   auto plan = loadkit::yaml::load_file("shop.yaml");   // throws load_error: FILE:LINE:COL: ...
//   auto result = loadkit::yaml::run(plan, options);
#pragma once

#include "../loadkit.hpp"
#ifdef LOADKIT_HAS_HTTP2  // loadkit::http2 is linked: flows speak HTTP/2 too
#include "http2.hpp"
#endif
#ifdef LOADKIT_WITH_GRPC  // loadkit::grpc is linked: flows' grpc steps run
#include "plan/grpc_run.hpp"
#endif
#include "plan/csv.hpp"
#include "plan/flow.hpp"
#include "yaml/loader.hpp"
#include "plan/template.hpp"
