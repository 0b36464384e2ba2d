#pragma once
// The built-in target: a small HTTP/HTTPS server (Beast) that tests, examples,
// `loadkit serve` and the benchmarks load. Not part of <loadkit.hpp>: a load
// test does not need a server compiled into it.
//
//   loadkit::target_server srv;           // 127.0.0.1, a free port
//   auto url = srv.url();
#include "target/server.hpp"
