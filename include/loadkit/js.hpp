#pragma once
// The optional JavaScript adapter (SpiderMonkey 102; CMake target loadkit::js):
// k6 scripts, unchanged, and the seed's hooks for YAML flows. It needs no
// yaml-cpp: a script's options are built into a plan by plan/build.hpp
// directly. To run YAML files too, include <loadkit/yaml.hpp> (loadkit::yaml).
//
//   loadkit::js::script s("test.js");
//   auto plan = loadkit::js::make_plan(s);       // from its exported options
//   auto result = loadkit::yaml::run(plan, {}, &s);
#include "engine/engine.hpp"
#ifdef LOADKIT_HAS_HTTP2  // loadkit::http2 is linked: scripts speak HTTP/2 too
#include "http2.hpp"
#endif
#ifdef LOADKIT_WITH_GRPC  // loadkit::grpc is linked: flows' grpc steps run
#include "plan/grpc_run.hpp"
#endif
#include "plan/finish.hpp"
#include "plan/flow.hpp"
#include "js/script.hpp"
#include "js/options.hpp"
