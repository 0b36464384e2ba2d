#pragma once
// Load tests as Catch2 (v2) test cases: a matcher that passes when a run
// held its thresholds and was not aborted, and says otherwise which
// thresholds failed and with what value. Not part of <loadkit.hpp>: only a
// test that includes it (CMake target loadkit::catch2) needs Catch2.
//
//   #include <loadkit.hpp>
//   #include <loadkit/catch2.hpp>
//
//   TEST_CASE("the shop holds its SLO under 20 VUs") {
//       loadkit::options o;
//       o.target = "http://127.0.0.1:8080";
//       o.thresholds = {{"http_req_duration", {"p(95)<200"}}, {"http_req_failed", {"rate<0.01"}}};
//       auto r = loadkit::run<Shop>(loadkit::constant_vus{.vus = 20, .duration = 5s}, o);
//       LOADKIT_REQUIRE_THRESHOLDS(r);            // REQUIRE_THAT(r, loadkit::catch2::passes_thresholds())
//       CHECK(r.metric("http_req_duration").p(99) < 500);   // typed access to any number of the run
//   }
//
// A failure reads:
//
//   REQUIRE_THAT( r, loadkit::catch2::passes_thresholds() )
//   with expansion:
//     run 'shop': 2.00 s, 1208 requests (3 failed), exit code 99
//       FAIL http_req_duration  p(95)<1  (value 1.82)
//       ok   http_req_failed  rate<0.01  (value 0.0025)
//      passes its thresholds
//
// Catch2 is included here as the test's main includes it; this header does
// not define CATCH_CONFIG_MAIN.
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "../loadkit.hpp"

namespace loadkit::inline LOADKIT_ABI::catch2 {

// A run's outcome in a few lines: its name, length, requests, exit code, the
// abort reason if any, and every threshold with its value (failed ones
// marked FAIL).
inline std::string describe_run(const run_result& r) {
    char b[256];
    std::string name = r.summary.is_object() ? r.summary.value("name", std::string("loadkit")) : "loadkit";
    double reqs = 0, failed = 0;
    if (r.metrics) {
        auto m = r.metric("http_reqs");
        reqs = m.count;
        failed = r.metric("http_req_failed").sum;
    }
    std::snprintf(b, sizeof b, "run '%s': %.2f s, %.0f requests (%.0f failed), exit code %d", name.c_str(),
                  r.duration_secs(), reqs, failed, r.exit_code());
    std::string out = b;
    if (r.aborted) out += "\n  aborted: " + *r.aborted;
    for (auto& t : r.thresholds()) {
        std::snprintf(b, sizeof b, "  (value %g)", t.value);
        out += "\n  " + std::string(t.passed ? "ok   " : "FAIL ") + t.name + "  " + t.expression + b;
    }
    return out;
}

// Matches a run whose thresholds all held and that ran to its end (exit
// code 0): an aborted run (abortOnFail, abort_test, a setup timeout) fails
// it too, with the reason.
class passes_thresholds_matcher : public Catch::MatcherBase<run_result> {
  public:
    bool match(const run_result& r) const override { return r.thresholds_passed && r.exit_code() == 0; }
    std::string describe() const override { return "passes its thresholds"; }
};

inline passes_thresholds_matcher passes_thresholds() { return {}; }

}  // namespace loadkit::inline LOADKIT_ABI::catch2

namespace Catch {
template <>
struct StringMaker<loadkit::run_result> {
    // (a line break last: Catch2 appends the matcher's description after a space)
    static std::string convert(const loadkit::run_result& r) { return loadkit::catch2::describe_run(r) + "\n"; }
};
}  // namespace Catch

// The test's line in the failure message, and the expansion above.
#define LOADKIT_REQUIRE_THRESHOLDS(result) REQUIRE_THAT(result, ::loadkit::catch2::passes_thresholds())
#define LOADKIT_CHECK_THRESHOLDS(result) CHECK_THAT(result, ::loadkit::catch2::passes_thresholds())
