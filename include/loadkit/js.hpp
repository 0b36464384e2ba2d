#pragma once
// The optional JavaScript adapter (SpiderMonkey 102; CMake target loadkit::js):
// k6 scripts, unchanged, and the seed's hooks for YAML flows.
//
//   loadkit::js::script s("test.js");
//   auto plan = loadkit::js::make_plan(s);       // from its exported options
//   auto result = loadkit::yaml::run(plan, {}, &s);
#include "yaml.hpp"
#include "js/script.hpp"
#include "js/options.hpp"
