#pragma once
// A scenario whose VUs' iteration runs a body the test gives (a
// std::function), for tests that need a VU around a few lines: its client,
// its hooks, the engine's threads. One definition for every test binary that
// wants one (a unity build compiles a binary's files as one unit).
#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>

#include <loadkit.hpp>

namespace test_support {

struct body_scenario : loadkit::Scenario<body_scenario> {
    struct User : loadkit::VU<body_scenario> {
        loadkit::task<> iteration();
    };
};
using body_fn = std::function<loadkit::task<>(body_scenario::User&)>;

// The body of the run in progress (runs are one at a time in a test binary).
inline body_fn*& current_body() {
    static body_fn* body = nullptr;
    return body;
}
inline loadkit::task<> body_scenario::User::iteration() { co_await (*current_body())(*this); }

// `vus` VUs each running `body` `iterations` times (per_vu_iterations, at
// most `max_duration`), with `opts`.
inline loadkit::run_result run_body(loadkit::options opts, body_fn body, int vus, std::int64_t iterations,
                                    loadkit::nanoseconds max_duration = std::chrono::seconds(20)) {
    current_body() = &body;
    struct reset {
        ~reset() { current_body() = nullptr; }
    } r;
    loadkit::test<body_scenario> t(std::move(opts));
    t.scenario("s", loadkit::per_vu_iterations{.vus = vus, .iterations = iterations, .max_duration = max_duration});
    return t.run();
}

}  // namespace test_support
