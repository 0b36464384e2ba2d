#pragma once
// The optional JavaScript adapter (SpiderMonkey 102; CMake target loadkit::js):
// k6 scripts, unchanged, and the seed's hooks for YAML flows.
//
//   loadkit::js::script s("test.js");
//   auto plan = loadkit::js::make_plan(s);       // from its exported options
//   auto result = loadkit::yaml::run(plan, {}, &s);
#include "loadkit/yaml.hpp"
#include "loadkit/js/script.hpp"
#include "loadkit/js/options.hpp"
