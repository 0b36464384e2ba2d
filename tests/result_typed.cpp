// Typed access to a run's results (run_result::metric, check, requests,
// thresholds) and the Catch2 matcher on thresholds (<loadkit/catch2.hpp>):
// every number read through them is the number the summary holds.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include <loadkit.hpp>
#include <loadkit/catch2.hpp>
#include <loadkit/target.hpp>
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

inline loadkit::counter typed_orders{"typed_orders"};

struct Typed : loadkit::Scenario<Typed> {
    struct User : loadkit::VU<Typed> {
        loadkit::task<> iteration() {
            auto& ok = co_await http.get("/items", {.name = "items"});
            check(ok, {{"items: status 200", [](auto& r) { return r.status == 200; }}});
            auto& bad = co_await http.get("/status/500", {.name = "broken"});
            check(bad, {{"broken: status 200", [](auto& r) { return r.status == 200; }}});
            typed_orders.add(2);
        }
    };
};

loadkit::run_result run_typed(const loadkit::target_server& target) {
    loadkit::options o;
    o.name = "typed";
    o.target = target.url();
    o.print_summary = false;
    o.handle_signals = false;
    o.thresholds = {{"http_req_duration", {"p(95)<5000", "max<0.000001"}},
                    {"http_req_failed", {"rate<0.9"}},
                    {"http_reqs{name:items}", {"count==12"}}};
    return loadkit::run<Typed>(loadkit::per_vu_iterations{.vus = 3, .iterations = 4}, o);
}

const nlohmann::json& agg(const loadkit::run_result& r, std::string_view name) {
    auto* a = loadkit::find_metric(r.summary, name);
    REQUIRE(a);
    return *a;
}

}  // namespace

TEST_CASE("run_result: typed metrics, checks, requests and thresholds read what the summary holds") {
    loadkit::target_server target;
    auto r = run_typed(target);

    // metrics: counts exact, trends the summary's own aggregates
    auto reqs = r.metric("http_reqs");
    CHECK(reqs.kind == loadkit::metric_kind::counter);
    CHECK(reqs.count == 24);
    CHECK(reqs.rate == Approx(agg(r, "http_reqs")["per_second"].get<double>()));
    auto d = r.metric("http_req_duration");
    CHECK(d.kind == loadkit::metric_kind::trend);
    CHECK(d.count == 24);
    CHECK(d.p(95) == agg(r, "http_req_duration")["p95"].get<double>());
    CHECK(d.p(90) == agg(r, "http_req_duration")["p90"].get<double>());
    CHECK(d.p(50) == agg(r, "http_req_duration")["med"].get<double>());
    CHECK(d.avg == agg(r, "http_req_duration")["avg"].get<double>());
    CHECK(d.max == agg(r, "http_req_duration")["max"].get<double>());
    CHECK(d.p(100) <= d.max);  // (a bucket's midpoint, clamped to the exact min and max)
    CHECK(d.p(99.9) >= d.p(95));
    auto failed = r.metric("http_req_failed");
    CHECK(failed.kind == loadkit::metric_kind::rate);
    CHECK(failed.rate == 0.5);
    CHECK(failed.count == 24);
    CHECK(failed.sum == 12);
    // a sub-metric by tag, as thresholds select it; a custom metric
    CHECK(r.metric("http_reqs{name:broken}").count == 12);
    CHECK(r.metric("http_req_duration{name:items}").count == 12);
    CHECK(r.metric("typed_orders").count == 24);
    CHECK(r.metric("iterations").count == 12);
    // a name no metric has is an error, not a zero
    CHECK_THROWS_AS(r.metric("htp_reqs"), std::out_of_range);
    CHECK_THROWS_AS(r.metric("http_reqs{name"), std::invalid_argument);

    // checks
    CHECK(r.check("items: status 200").passes == 12);
    CHECK(r.check("items: status 200").fails == 0);
    CHECK(r.check("items: status 200").rate() == 1.0);
    CHECK(r.check("broken: status 200").fails == 12);
    CHECK(r.check("broken: status 200").rate() == 0.0);
    CHECK(r.check("::broken: status 200").fails == 12);  // k6's path
    CHECK(r.check("no such check").passes + r.check("no such check").fails == 0);

    // requests by name
    auto items = r.requests("items"), broken = r.requests("broken");
    CHECK(items.count == 12);
    CHECK(items.failed == 0);
    CHECK(broken.count == 12);
    CHECK(broken.failed == 12);
    CHECK(items.p(95) >= items.min);
    CHECK(items.max >= items.avg);
    CHECK(r.requests("nothing").count == 0);

    // thresholds, in the summary's order, with their values
    auto ts = r.thresholds();
    REQUIRE(ts.size() == 4);
    REQUIRE(ts.size() == r.summary["thresholds"].size());
    for (std::size_t i = 0; i < ts.size(); ++i) {
        CHECK(ts[i].name == r.summary["thresholds"][i]["metric"].get<std::string>());
        CHECK(ts[i].expression == r.summary["thresholds"][i]["threshold"].get<std::string>());
        CHECK(ts[i].passed == r.summary["thresholds"][i]["ok"].get<bool>());
        CHECK(ts[i].value == r.summary["thresholds"][i]["value"].get<double>());
    }
    auto bad = r.failed_thresholds();
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].name == "http_req_duration");
    CHECK(bad[0].expression == "max<0.000001");
    CHECK(bad[0].value == d.max);
    CHECK_FALSE(r.thresholds_passed);
}

TEST_CASE("catch2 matcher: a run that fails a threshold says which, with its value") {
    loadkit::target_server target;
    auto r = run_typed(target);
    auto m = loadkit::catch2::passes_thresholds();
    CHECK_FALSE(m.match(r));
    auto text = Catch::StringMaker<loadkit::run_result>::convert(r);
    INFO(text);
    CHECK(text.find("run 'typed': ") == 0);
    CHECK(text.find("24 requests (12 failed), exit code 99") != std::string::npos);
    CHECK(text.find("FAIL http_req_duration  max<0.000001  (value ") != std::string::npos);
    CHECK(text.find("ok   http_req_failed  rate<0.9  (value 0.5)") != std::string::npos);
    CHECK(text.find("ok   http_reqs{name:items}  count==12  (value 12)") != std::string::npos);

    // and one that holds them passes
    loadkit::options o;
    o.target = target.url();
    o.print_summary = false;
    o.handle_signals = false;
    o.thresholds = {{"http_reqs", {"count==2"}}};
    auto ok = loadkit::run<Typed>(loadkit::per_vu_iterations{.vus = 1, .iterations = 1}, o);
    LOADKIT_REQUIRE_THRESHOLDS(ok);
    CHECK(m.match(ok));
}

}  // namespace LOADKIT_TEST_UNIT
