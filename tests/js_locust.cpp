// Locust's user model in k6-style scripts (js/options.hpp through
// plan/build.hpp): a scenario's `tasks` (exported functions with weights,
// or names in order), `waitTime`, --tags through options, and the errors.
// test_js runs every case twice: async VUs, and LOADKIT_JS_SYNC=threads.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

loadkit::options js_options(const std::string& target) {
    loadkit::options o;
    o.threads = 2;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["TARGET"] = target;
    return o;
}

loadkit::run_result run_js(const std::string& file, const std::string& target, loadkit::options o) {
    loadkit::js::script s(file, {{{"TARGET", target}}});
    auto plan = loadkit::js::make_plan(s);
    return loadkit::yaml::run(plan, std::move(o), &s);
}

double count_of(const nlohmann::json& summary, std::string_view metric) {
    auto* a = loadkit::find_metric(summary, metric);
    return a ? (*a)["count"].get<double>() : 0.0;
}

// browse 3 : buy 1, counted in custom counters (no request: 10,000 iterations stay quick)
const char* weighted = R"(
import { Counter } from 'k6/metrics';
const browsed = new Counter('browsed');
const bought = new Counter('bought');
export const options = {
  scenarios: {
    shop: { executor: 'per-vu-iterations', vus: 2, iterations: 5000,
            tasks: { browse: { weight: 3, tags: ['read'] }, buy: 1 } },
  },
};
export function browse() { browsed.add(1); }
export function buy() { bought.add(1); }
)";

}  // namespace

TEST_CASE("js_locust: tasks {browse: 3, buy: 1} hold within 2% over 10,000 iterations") {
    loadkit::target_server server;
    scratch s;
    auto r = run_js(s.write("w.js", weighted), server.url(), js_options(server.url()));
    REQUIRE(r.code == 0);
    double browse = count_of(r.summary, "browsed"), buy = count_of(r.summary, "bought");
    CHECK(browse + buy == 10000);
    CHECK(std::abs(browse / 10000.0 - 0.75) < 0.02);
}

TEST_CASE("js_locust: --exclude-tags (options) leaves the untagged task") {
    loadkit::target_server server;
    scratch s;
    auto o = js_options(server.url());
    o.exclude_tags = {"read"};
    auto r = run_js(s.write("w.js", weighted), server.url(), o);
    CHECK(count_of(r.summary, "browsed") == 0);
    CHECK(count_of(r.summary, "bought") == 10000);
}

TEST_CASE("js_locust: tasks in order with waitTime: requests in turn, waits outside iteration_duration") {
    loadkit::target_server server;
    scratch s;
    auto file = s.write("seq.js", R"(
import http from 'k6/http';
export const options = {
  scenarios: {
    seq: { executor: 'per-vu-iterations', vus: 1, iterations: 4, taskOrder: 'sequential',
           waitTime: 'constant(250ms)', tasks: ['login', 'browse'] },
  },
};
export function login() { http.post(`${__ENV.TARGET}/auth/login`); }
export function browse() { http.get(`${__ENV.TARGET}/items`); }
)");
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_js(file, server.url(), js_options(server.url()));
    auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE(r.code == 0);
    CHECK(server.count("/auth/login") == 2);
    CHECK(server.count("/items") == 2);
    CHECK(took >= 3 * 250ms);  // three waits between four iterations
    auto* d = loadkit::find_metric(r.summary, "iteration_duration");
    REQUIRE(d);
    CHECK((*d)["max"].get<double>() < 250.0);  // the wait is not part of an iteration
}

TEST_CASE("js_locust: a task naming no exported function, and a bad waitTime, are errors before any load") {
    loadkit::target_server server;
    scratch s;
    auto missing = s.write("m.js", R"(
export const options = { scenarios: { s: { executor: 'per-vu-iterations', tasks: { browse: 1, nope: 2 } } } };
export function browse() {}
)");
    CHECK_THROWS_WITH(run_js(missing, server.url(), js_options(server.url())),
                      Catch::Contains("no exported function 'nope'"));
    auto bad_wait = s.write("b.js", R"(
export const options = { scenarios: { s: { executor: 'per-vu-iterations', waitTime: 'between(2, 1)', exec: 'f' } } };
export function f() {}
)");
    CHECK_THROWS_WITH(run_js(bad_wait, server.url(), js_options(server.url())), Catch::Contains("min <= max"));
}

}  // namespace LOADKIT_TEST_UNIT
