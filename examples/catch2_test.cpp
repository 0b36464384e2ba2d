// A load test inside test code: Catch2 test cases that run a scenario against
// the built-in target and pass or fail on its thresholds, and read any number
// of the run with typed access (result.metric, .check, .requests,
// .thresholds). CI builds and runs it (CTest: "example: catch2 load test").
//
// Build your own the same way: link loadkit::catch2 (loadkit and Catch2 v2),
// include <loadkit/catch2.hpp>, give Catch2 its main.
#define CATCH_CONFIG_MAIN
#include <loadkit.hpp>
#include <loadkit/catch2.hpp>
#include <loadkit/target.hpp>

using namespace std::chrono_literals;

struct Shop : loadkit::Scenario<Shop> {
    struct User : loadkit::VU<Shop> {
        loadkit::task<> iteration() {
            auto& login = co_await http.post("/auth/login", "{}", {.name = "login"});
            check(login, {{"login: status 200", [](auto& r) { return r.status == 200; }}});
            auto& items = co_await http.get("/items", {.name = "items"});
            check(items, {{"items: has 2", [](auto& r) { return r.json("items").size() == 2; }}});
            co_await sleep(5ms);
        }
    };
};

// Options for a short run against `target`: no console summary (the test
// prints what it asserts), no signal handlers (the test runner owns them).
static loadkit::options quiet_options(const loadkit::target_server& target) {
    loadkit::options o;
    o.name = "shop";
    o.target = target.url();
    o.print_summary = false;
    o.handle_signals = false;
    return o;
}

TEST_CASE("the shop holds its SLO under 5 VUs") {
    loadkit::target_server target;
    auto o = quiet_options(target);
    o.thresholds = {
        {"http_req_duration", {"p(95)<500"}}, {"http_req_failed", {"rate<0.01"}}, {"checks", {"rate>0.99"}}};
    auto r = loadkit::run<Shop>(loadkit::constant_vus{.vus = 5, .duration = 1s}, o);

    LOADKIT_REQUIRE_THRESHOLDS(r);  // fails with every threshold and its value when one fails
    // typed access: the same numbers the summary and the thresholds read
    CHECK(r.metric("http_reqs").count > 0);
    CHECK(r.metric("http_req_duration").p(95) < 500);
    CHECK(r.metric("http_req_duration{name:login}").max >= r.metric("http_req_duration{name:login}").avg);
    CHECK(r.check("login: status 200").rate() == 1.0);
    CHECK(r.requests("login").failed == 0);
    CHECK(r.requests("items").count == r.requests("login").count);
}

// What a failure looks like: a threshold no loopback run can hold. Catch2's
// [!shouldfail] turns this case's failure into a pass, so CI shows the
// message without failing.
TEST_CASE("a threshold that fails names itself and its value", "[!shouldfail]") {
    loadkit::target_server target;
    auto o = quiet_options(target);
    o.thresholds = {{"http_req_duration", {"max<0.001"}}, {"http_req_failed", {"rate<0.01"}}};
    auto r = loadkit::run<Shop>(loadkit::per_vu_iterations{.vus = 1, .iterations = 3}, o);
    LOADKIT_REQUIRE_THRESHOLDS(r);
}
