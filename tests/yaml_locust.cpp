// Locust's user model in YAML (plan/build.hpp, plan/flow.hpp): a scenario's
// weighted or sequential `tasks` (each a flow), `waitTime`, --tags through
// options, and the loader's messages for mistakes in them.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <loadkit.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

namespace {

loadkit::options quiet_yaml(const loadkit::target_server& server) {
    loadkit::options o;
    o.threads = 2;
    o.print_summary = false;
    o.handle_signals = false;
    o.target = server.url();
    return o;
}

double metric(const nlohmann::json& summary, std::string_view name, const char* field) {
    auto* a = loadkit::find_metric(summary, name);
    REQUIRE(a);
    return (*a)[field].get<double>();
}

std::string error_of(const std::string& text) {
    try {
        loadkit::yaml::load_string(text, "t.yaml");
    } catch (const loadkit::config_error& e) {
        return e.what();
    }
    return "";
}

const char* shop = R"(
scenarios:
  shop:
    executor: per-vu-iterations
    vus: 2
    iterations: 5000
    tasks:
      - name: browse
        weight: 3
        tags: [read]
        flow:
          - request: { url: /items }
      - name: buy
        weight: 1
        tags: write
        flow:
          - request: { method: POST, url: /echo, body: 'buy' }
)";

}  // namespace

TEST_CASE("yaml tasks: weighted flows 3:1 hold within 2% over 10,000 iterations") {
    loadkit::target_server server;
    auto p = loadkit::yaml::load_string(shop);
    REQUIRE(p.scenarios[0].tasks.size() == 2);
    auto r = loadkit::yaml::run(p, quiet_yaml(server));
    REQUIRE(r.exit_code() == 0);
    CHECK(metric(r.summary, "iterations", "count") == 10000);
    double browse = static_cast<double>(server.count("/items")) / 10000.0;
    CHECK(std::abs(browse - 0.75) < 0.02);
    CHECK(server.count("/items") + server.count("/echo") == 10000);
}

TEST_CASE("yaml tasks: --tags and --exclude-tags (options) choose the flows") {
    loadkit::target_server server;
    auto p = loadkit::yaml::load_string(shop);
    p.scenarios[0].exec = loadkit::per_vu_iterations{.vus = 1, .iterations = 50};
    auto o = quiet_yaml(server);
    o.exclude_tags = {"read"};
    loadkit::yaml::run(p, o);
    CHECK(server.count("/items") == 0);
    CHECK(server.count("/echo") == 50);
    o.exclude_tags.clear();
    o.include_tags = {"nothing"};
    CHECK_THROWS_WITH(loadkit::yaml::run(p, o), Catch::Contains("no task is left"));
}

TEST_CASE("yaml tasks: taskOrder sequential runs the flows in turn, and waitTime waits outside the iteration") {
    loadkit::target_server server;
    auto p = loadkit::yaml::load_string(R"(
scenarios:
  seq:
    executor: per-vu-iterations
    vus: 1
    iterations: 6
    taskOrder: sequential
    waitTime: constant(40ms)
    tasks:
      - flow: [ { request: { url: /json } } ]
      - flow: [ { request: { url: /items } } ]
      - flow: [ { request: { url: /feed } } ]
)");
    REQUIRE(p.scenarios[0].task_weights.sequential);
    REQUIRE(p.scenarios[0].wait == loadkit::constant(std::chrono::milliseconds(40)));
    auto t0 = std::chrono::steady_clock::now();
    auto r = loadkit::yaml::run(p, quiet_yaml(server));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(server.count("/json") == 2);
    CHECK(server.count("/items") == 2);
    CHECK(server.count("/feed") == 2);
    CHECK(took >= std::chrono::milliseconds(5 * 40));                  // five waits between six iterations
    CHECK(metric(r.summary, "iteration_duration", "max") < 40.0 - 1);  // none of them inside an iteration
}

TEST_CASE("yaml tasks: mistakes in tasks and waitTime are load errors at their line") {
    auto head = std::string(R"(
scenarios:
  s:
    executor: constant-vus
    duration: 1s
)");
    CHECK_THAT(error_of(head + "    waitTime: between(5)\n    flow: [ { request: { url: / } } ]\n"),
               Catch::Contains("t.yaml:6:") && Catch::Contains("between takes 2 argument"));
    CHECK_THAT(error_of(head + "    waitTime: sometimes(1)\n    flow: [ { request: { url: / } } ]\n"),
               Catch::Contains("unknown function 'sometimes'"));
    CHECK_THAT(error_of(head + "    tasks:\n      - wieght: 2\n        flow: [ { request: { url: / } } ]\n"),
               Catch::Contains("t.yaml:7:") && Catch::Contains("did you mean 'weight'?"));
    CHECK_THAT(error_of(head + "    tasks:\n      - weight: 2\n"), Catch::Contains("a 'flow' or an 'exec' function"));
    CHECK_THAT(
        error_of(head +
                 "    flow: [ { request: { url: / } } ]\n    tasks: [ { flow: [ { request: { url: / } } ] } ]\n"),
        Catch::Contains("has 'tasks' and also 'flow'"));
    CHECK_THAT(error_of(head + "    tasks: { browse: 3 }\n"), Catch::Contains("names a script function"));
    CHECK_THAT(error_of(head + "    taskOrder: random\n    flow: [ { request: { url: / } } ]\n"),
               Catch::Contains("weighted or sequential"));
    CHECK_THAT(error_of(R"(
scenarios:
  s:
    executor: constant-arrival-rate
    rate: 1
    duration: 1s
    preAllocatedVUs: 1
    waitTime: constant(1)
    flow: [ { request: { url: / } } ]
)"),
               Catch::Contains("t.yaml:8:") && Catch::Contains("arrival-rate executor"));
}

#ifdef LOADKIT_RUNNER_PATH
TEST_CASE("yaml tasks: the runner's --tags, --exclude-tags and --seed") {
    loadkit::target_server server;
    test_support::scratch dir;
    auto file = dir.write("shop.yaml", shop);
    auto r = test_support::run_runner(
        {"run", file, "-q", "--no-summary", "--target", server.url(), "--tags", "write,other", "--seed", "7"});
    CHECK(r.code == 0);
    CHECK(server.count("/items") == 0);
    CHECK(server.count("/echo") == 10000);
    server.reset_stats();
    r = test_support::run_runner(
        {"run", file, "-q", "--no-summary", "--target", server.url(), "--exclude-tags", "write"});
    CHECK(r.code == 0);
    CHECK(server.count("/items") == 10000);
    CHECK(server.count("/echo") == 0);
    r = test_support::run_runner({"run", file, "-q", "--target", server.url(), "--tags", "nothing"});
    CHECK(r.code == loadkit::exit_code::invalid_config);
    CHECK_THAT(r.err + r.out, Catch::Contains("no task is left after --tags/--exclude-tags"));
}
#endif

}  // namespace LOADKIT_TEST_UNIT
