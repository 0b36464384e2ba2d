// YAML flows and the runner, against servers the tests start on 127.0.0.1:
// every loader error with its FILE:LINE:COL message, templating and captures,
// checks, loops, groups, CSV feeders, the hook order around request steps,
// and the `loadkit` executable on YAML input (bad input, faults, signals, the
// progress display through a pseudo-terminal). Its command line (flags,
// subcommands, exit codes) is tested in runner_cli.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <loadkit.hpp>
#include <loadkit/yaml.hpp>
#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
using test_support::scratch;
#ifdef LOADKIT_RUNNER_PATH
using test_support::run_runner;
#endif

// The loader's message for `text`, or "" when it loads.
std::string load_error_of(const std::string& text, const scratch& s, const std::string& name = "t.yaml") {
    auto path = s.write(name, text);
    try {
        loadkit::yaml::load_file(path);
        return "";
    } catch (const loadkit::yaml::load_error& e) {
        return e.what();
    }
}

loadkit::options quiet_options(int threads = 2) {
    loadkit::options o;
    o.threads = threads;
    o.print_summary = false;
    o.handle_signals = false;
    return o;
}

using test_support::agg;
double check_passes(const nlohmann::json& summary, std::string_view name, bool fails = false) {
    for (auto& c : summary["checks"])
        if (c["name"] == name) return c[fails ? "fails" : "passes"].get<double>();
    FAIL("no check named " << name);
    return 0;
}

std::string with_target(std::string text, const std::string& url) {
    auto at = text.find("%TARGET%");
    if (at != std::string::npos) text.replace(at, 8, url);
    return text;
}

}  // namespace

// ------------------------------------------------------------ the loader: every mistake, where it is

TEST_CASE("yaml loader: mistakes name FILE:LINE:COL, what was expected and what was found") {
    scratch s;
    struct mistake {
        std::string yaml, needle;
    };
    std::vector<mistake> mistakes = {
        {"scenarioz: {}\n", "t.yaml:1:1: unknown key 'scenarioz' at the top level; did you mean 'scenarios'?"},
        {"name: x\n", "t.yaml:1:1: expected 'scenarios'"},
        {"scenarios:\n  u:\n    executor: constant-vu\n    duration: 1s\n",
         "t.yaml:3:15: unknown executor 'constant-vu'; did you mean 'constant-vus'?"},
        {"scenarios:\n  u:\n    executor: constant-vus\n    duration: 5 minutes\n",
         "t.yaml:4:15: expected a duration for 'duration' (like 30s, 1m30s or 500ms), found '5 minutes'"},
        {"scenarios:\n  u:\n    executor: constant-vus\n    duraton: 1s\n",
         "t.yaml:4:5: unknown key 'duraton' in scenario 'u'; did you mean 'duration'?"},
        {"scenarios:\n  u:\n    executor: constant-vus\n",
         "t.yaml:2:3: expected 'duration' in scenario 'u' (constant-vus needs it)"},
        {"scenarios:\n  u:\n    executor: constant-vus\n    vus: many\n    duration: 1s\n",
         "t.yaml:4:10: expected a whole number for 'vus', found 'many'"},
        {"scenarios:\n  u:\n    executor: constant-vus\n    vus: 0\n    duration: 1s\n",
         "t.yaml:4:10: expected 'vus' to be at least 1, found 0"},
        {"scenarios:\n  u:\n    executor: ramping-vus\n    stages: [{duration: 1s, targit: 3}]\n",
         "t.yaml:4:29: unknown key 'targit' in a stage; did you mean 'target'?"},
        {"scenarios:\n  u:\n    executor: constant-arrival-rate\n    rate: 10\n    duration: 1s\n    preAllocatedVUs: 5\n    maxVUs: 2\n",
         "maxVUs (2) must not be less than preAllocatedVUs (5)"},
        {"thresholds:\n  http_req_duration: ['p(95)<<200']\nscenarios: {}\n",
         "t.yaml:2:23: threshold on 'http_req_duration': 'p(95)<<200': expected a number after the operator, found '<200'"},
        {"thresholds:\n  http_req_durations: ['p(95)<200']\nscenarios: {}\n", "no metric named 'http_req_durations'"},
        {"thresholds:\n  http_req_failed: [{threshold: 'rate<0.1', abortOnFail: maybe}]\nscenarios: {}\n",
         "expected true or false for 'abortOnFail', found 'maybe'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n",
         "t.yaml:2:3: scenario 'u' has nothing to do: give it a 'flow', an 'exec' function or 'tasks'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    exec: browse\n",
         "t.yaml:4:11: exec 'browse' names a script function, but the file has no 'script: FILE.js'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - requets: { url: / }\n",
         "t.yaml:5:9: expected a step (request, think, loop, group, ws_* or grpc), found 'requets'; did you mean 'request'?"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { name: a }\n",
         "t.yaml:5:18: expected 'url' in this request"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { url: '/a/{{ vars.x' }\n",
         "t.yaml:5:38: in template '/a/{{ vars.x': expected '}}' to close '{{' opened at offset 3, found end of input"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { url: /a, method: FETCH }\n",
         "t.yaml:5:37: expected a method (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS), found 'FETCH'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { url: / }\n        check: { statuz: 200 }\n",
         "t.yaml:6:18: expected what to check: status, body, proto, json.PATH or header.NAME, found 'statuz'; did you mean 'status...'?"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { url: / }\n        check: { status: ok }\n",
         "t.yaml:6:26: expected a status code for 'status', found 'ok'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { url: / }\n        capture: { t: jsn.token }\n",
         "t.yaml:6:23: expected where to capture from: status, body, proto, json.PATH or header.NAME, found 'jsn.token'; did you mean 'json...'?"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - request: { url: '/u/{{ data.email }}' }\n",
         "t.yaml:5:25: '{{ data.email }}' needs a 'data' file in scenario 'u'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - think: 1s-soon\n",
         "t.yaml:5:16: expected 'think' to be a duration (500ms) or a range (1s-3s), found '1s-soon'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - loop: { count: 2 }\n",
         "t.yaml:5:15: expected 'loop' to have 'count' and 'steps'"},
        // the message the DSL's group() and JavaScript's group() give too (runtime/groups.hpp)
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    flow:\n      - group: { name: 'a::b', steps: [] }\n",
         "t.yaml:5:24: a group name must not contain '::'"},
        {"scenarios:\n  u:\n    executor: per-vu-iterations\n    data: { file: missing.csv }\n    flow: []\n",
         "t.yaml:4:19: data file 'missing.csv': cannot open"},
        {"scenarios: [a, b\n", "t.yaml:2:1: invalid YAML: end of sequence flow not found"},  // not YAML at all
        {"target: ftp://x\nscenarios: {}\n",
         "t.yaml:1:9: expected an http:// or https:// URL (or 'builtin') for 'target', found 'ftp://x'"},
    };
    for (auto& m : mistakes) {
        INFO(m.yaml);
        auto err = load_error_of(m.yaml, s);
        CHECK_THAT(err, Catch::Contains(m.needle));
    }
}

// Issue 13 (runs 2): rate: 1e300 passed validation and the run never ended.
TEST_CASE("yaml loader: an arrival rate beyond 64-bit counts or not finite is refused at the option's own line") {
    scratch s;
    auto flow = "    preAllocatedVUs: 2\n    flow:\n      - request: { url: / }\n";
    auto car = [&](const std::string& rate) {
        return "scenarios:\n  flood:\n    executor: constant-arrival-rate\n    rate: " + rate + "\n    duration: 2s\n" +
               flow;
    };
    CHECK_THAT(
        load_error_of(car("1e300"), s),
        Catch::Contains(
            "t.yaml:4:11: scenario 'flood': rate 1e+300 per 1s for 2s starts 2e+300 iterations in all, more than a 64-bit counter holds"));
    CHECK_THAT(load_error_of(car(".inf"), s), Catch::Contains("t.yaml:4:11: expected a number for 'rate'"));
    CHECK_THAT(load_error_of(car("nan"), s), Catch::Contains("t.yaml:4:11: expected a number for 'rate'"));
    CHECK(load_error_of(car("5000000"), s).empty());
    auto rar =
        "scenarios:\n  flood:\n    executor: ramping-arrival-rate\n    startRate: 1e300\n    stages: [{duration: 2s, target: 1}]\n" +
        std::string(flow);
    CHECK_THAT(load_error_of(rar, s),
               Catch::Contains("t.yaml:4:16: scenario 'flood': startRate 1e+300 with these stages starts"));
}

TEST_CASE("yaml loader: a CSV mistake points into the CSV file, and a valid file loads whole") {
    scratch s;
    s.write("users.csv", "email,password\nann@x,1\nbob@x\n");
    auto err = load_error_of(
        "scenarios:\n  u:\n    executor: per-vu-iterations\n    data: { file: users.csv }\n    flow:\n      - request: { url: / }\n",
        s);
    CHECK_THAT(err, Catch::Contains("users.csv:3:1:"));
    s.write("ok.csv", "email,password\nann@x,1\nbob@x,2\n");
    auto path = s.write("ok.yaml", R"(
name: shop
target: http://127.0.0.1:1
env: { A: "1" }
tags: { team: web }
http: { timeout: 5s, maxRedirects: 2, discardResponseBodies: true }
thresholds:
  http_req_duration: ['p(95)<200', { threshold: 'avg<100', abortOnFail: true, delayAbortEval: 10s }]
  http_req_failed: 'rate<0.01'
scenarios:
  users:
    executor: ramping-arrival-rate
    startRate: 5
    timeUnit: 1s
    stages: [{ duration: 10s, target: 20 }]
    preAllocatedVUs: 5
    maxVUs: 50
    startTime: 2s
    gracefulStop: 3s
    env: { B: "2" }
    tags: { kind: api }
    data: { file: ok.csv, mode: unique }
    flow:
      - request:
          name: login
          method: post
          url: /login
          json: { email: '{{ data.email }}', n: 3 }
        check: { status: 200, 'json.ok': true, 'header.Content-Type': application/json, body: token }
        capture: { token: json.token, etag: header.ETag, code: status }
      - think: { min: 100ms, max: 200ms }
      - loop: { count: 2, steps: [ { request: { url: '/items?t={{ token }}' } } ] }
      - group: { name: checkout, steps: [ { think: 1s } ] }
)");
    auto p = loadkit::yaml::load_file(path);
    CHECK(p.name == "shop");
    CHECK(p.env.at("A") == "1");
    CHECK(p.tags.at("team") == "web");
    CHECK(p.http.timeout == 5s);
    CHECK(p.http.max_redirects == 2);
    CHECK(p.http.discard_response_bodies);
    REQUIRE(p.thresholds.size() == 2);
    CHECK(p.thresholds[0].second[1].abort_on_fail);
    CHECK(p.thresholds[0].second[1].delay_abort_eval == 10s);
    REQUIRE(p.scenarios.size() == 1);
    auto& sc = p.scenarios[0];
    auto& rar = std::get<loadkit::ramping_arrival_rate>(sc.exec);
    CHECK(rar.start_rate == 5);
    CHECK(rar.max_vus == 50);
    CHECK(rar.start_time == 2s);
    CHECK(rar.graceful_stop == 3s);
    CHECK(sc.data->mode == loadkit::yaml::feed_mode::unique);
    REQUIRE(sc.flow.size() == 4);
    auto& login = std::get<loadkit::yaml::request_step>(sc.flow[0].what);
    CHECK(login.method == "POST");
    CHECK(login.checks.size() == 4);
    CHECK(login.captures.size() == 3);
    CHECK(login.needs_json);
    CHECK(login.headers.back().first == "Content-Type");
    CHECK(login.checks[0].name == "login: status is 200");
    CHECK(sc.flow[0].where.line == 24);
}

// ------------------------------------------------------------ flows at run time

TEST_CASE("yaml flows: templating, captures, checks, loops, groups and think times against the built-in target") {
    loadkit::target_server server;
    scratch s;
    auto path = s.write("flow.yaml", with_target(R"(
target: %TARGET%
env: { QUERY: apples }
scenarios:
  shoppers:
    executor: per-vu-iterations
    vus: 3
    iterations: 4
    env: { REGION: eu }
    flow:
      - request: { name: login, method: POST, url: /auth/login, json: { user: 'vu-{{ vu }}' } }
        check: { status: 200 }
        capture: { token: json.token, cookie: header.Set-Cookie }
      - request:
          name: echo
          method: POST
          url: '/echo?vu={{ vu }}&iter={{ iter }}&s={{ scenario }}&r={{ env.REGION }}'
          headers: { Authorization: 'Bearer {{ vars.token }}', X-Id: '{{ $uuid }}' }
          body: '{"q": "{{ env.QUERY }}", "t": "{{ token }}"}'
        check: { status: 200, 'json.method': POST, body: apples }
        capture: { auth: json.headers.authorization }
      - group:
          name: browse
          steps:
            - loop:
                count: 2
                steps:
                  - request: { name: items, url: /items }
                    check: { 'json.items.1.name': pear, 'json.items.0.price': 3 }
            - think: 1ms-3ms
      - request: { name: missing, url: /status/404 }
        check: { status: 200 }
)",
                                                 server.url()));
    auto plan = loadkit::yaml::load_file(path);
    auto r = loadkit::yaml::run(plan, quiet_options());
    INFO(r.report);
    CHECK(r.code == 0);
    CHECK(agg(r.summary, "iterations", "count") == 12);
    CHECK(agg(r.summary, "http_reqs", "count") == 12 * 5);
    CHECK(check_passes(r.summary, "login: status is 200") == 12);
    CHECK(check_passes(r.summary, "echo: status is 200") == 12);
    CHECK(check_passes(r.summary, "echo: json.method is POST") == 12);
    CHECK(check_passes(r.summary, "echo: body contains apples") == 12);
    CHECK(check_passes(r.summary, "items: json.items.1.name is pear") == 24);
    CHECK(check_passes(r.summary, "items: json.items.0.price is 3") == 24);
    CHECK(check_passes(r.summary, "missing: status is 200", true) == 12);
    CHECK(agg(r.summary, "group_duration", "count") == 12);
    CHECK(server.count("/auth/login") == 12);
    CHECK(server.count("/items") == 24);
}

namespace {
// A C++ stand-in for the JavaScript adapter: records what runs, in order.
struct recording_script : loadkit::script {
    std::mutex mu;
    std::vector<std::string> log;
    void add(std::string s) {
        std::lock_guard lock(mu);
        log.push_back(std::move(s));
    }
    bool has_function(std::string_view n) const override { return n == "browse" || n == "login" || n == "logout"; }
    bool has_setup() const override { return true; }
    bool has_teardown() const override { return true; }
    loadkit::task<> setup(loadkit::client& http) override {
        add("setup");
        co_await http.get("/");
    }
    loadkit::task<> teardown(loadkit::client&) override {
        add("teardown");
        co_return;
    }
    struct vu : loadkit::script_vu {
        recording_script& s;
        loadkit::client& http;
        loadkit::vars_map& vars;
        vu(recording_script& s_, loadkit::client& h, loadkit::vars_map& v) : s(s_), http(h), vars(v) {}
        loadkit::task<> call(std::string_view f) override {
            s.add(std::string(f));
            if (f == "login") vars["token"] = "from-on_start";
            if (f == "browse") {
                // a script's own request: not wrapped by beforeRequest/afterRequest
                auto& r = co_await http.get("/json", {.name = "script-call"});
                s.add("script got " + std::to_string(r.status));
            }
        }
        bool has_before_request() const noexcept override { return true; }
        bool has_after_request() const noexcept override { return true; }
        loadkit::task<> before_request(loadkit::request& r) override {
            s.add("before " + r.name + " " + r.method + " " + r.url);
            r.headers.emplace_back("X-Hooked", "yes");
            if (r.name == "rewritten") r.url = "/status/201";
            co_return;
        }
        loadkit::task<> after_request(const loadkit::response& r) override {
            s.add("after " + std::string(r.name) + " " + std::to_string(r.status));
            co_return;
        }
    };
    std::unique_ptr<loadkit::script_vu> create_vu(loadkit::detail::vu_context&, loadkit::client& http,
                                                  loadkit::vars_map& vars, std::string_view) override {
        return std::make_unique<vu>(*this, http, vars);
    }
};
}  // namespace

TEST_CASE(
    "yaml flows: beforeRequest/afterRequest wrap every request step, not the script's own calls, in the seed's order") {
    loadkit::target_server server;
    scratch s;
    s.write("hooks.js", "// stands in for the JavaScript module\n");
    auto path = s.write("hooks.yaml", with_target(R"(
target: %TARGET%
script: hooks.js
scenarios:
  users:
    executor: per-vu-iterations
    vus: 1
    iterations: 2
    on_start: login
    on_stop: logout
    exec: browse
    flow:
      - request: { name: first, url: '/echo?t={{ vars.token }}' }
        check: { 'json.headers.X-Hooked': 'yes' }
      - request: { name: rewritten, url: /status/500 }
        check: { status: 201 }
)",
                                                  server.url()));
    auto plan = loadkit::yaml::load_file(path);
    recording_script script;
    loadkit::yaml::check_script_functions(plan, script);
    auto r = loadkit::yaml::run(plan, quiet_options(1), &script);
    INFO(r.report);
    CHECK(r.code == 0);
    auto url = server.url();
    std::vector<std::string> expected = {"setup", "login"};
    for (int i = 0; i < 2; ++i) {
        expected.push_back("before first GET /echo?t=from-on_start");
        expected.push_back("after first 200");
        expected.push_back("before rewritten GET /status/500");
        expected.push_back("after rewritten 201");
        expected.push_back("browse");
        expected.push_back("script got 200");
    }
    expected.push_back("logout");
    expected.push_back("teardown");
    CHECK(script.log == expected);
    CHECK(check_passes(r.summary, "first: json.headers.X-Hooked is yes") == 2);
    CHECK(check_passes(r.summary, "rewritten: status is 201") == 2);
}

TEST_CASE("yaml flows: CSV feeders hand out rows sequentially, at random, or once each") {
    loadkit::target_server server;
    scratch s;
    std::string csv = "user,n\n";
    for (int i = 0; i < 10; ++i) csv += "u" + std::to_string(i) + "," + std::to_string(i) + "\n";
    s.write("users.csv", csv);
    auto flow = [&](const char* mode, int iterations) {
        return with_target(std::string(R"(
target: %TARGET%
scenarios:
  s:
    executor: shared-iterations
    vus: 4
    iterations: )") + std::to_string(iterations) +
                               R"(
    data: { file: users.csv, mode: )" +
                               mode + R"( }
    flow:
      - request: { name: row, url: '/echo?user={{ data.user }}&n={{ n }}' }
        check: { 'json.query': 'user={{ data.user }}' }
)",
                           server.url());
    };
    SECTION("sequential wraps around") {
        std::map<std::string, int> seen;
        auto o = quiet_options();
        o.events.request.add_listener(
            [&](const loadkit::request_info& i) { ++seen[std::string(i.url.substr(i.url.find("user=")))]; });
        auto r = loadkit::yaml::run(loadkit::yaml::load_file(s.write("seq.yaml", flow("sequential", 30))), o);
        CHECK(r.code == 0);
        REQUIRE(seen.size() == 10);
        for (auto& [k, n] : seen) CHECK(n == 3);
    }
    SECTION("unique: each row once, then iterations fail") {
        std::set<std::string> seen;
        auto o = quiet_options();
        o.events.request.add_listener(
            [&](const loadkit::request_info& i) { CHECK(seen.insert(std::string(i.url)).second); });
        auto r = loadkit::yaml::run(loadkit::yaml::load_file(s.write("uniq.yaml", flow("unique", 14))), o);
        CHECK(seen.size() == 10);
        CHECK(agg(r.summary, "http_reqs", "count") == 10);
        CHECK(agg(r.summary, "iterations_failed", "count") == 4);
    }
    SECTION("random") {
        auto r = loadkit::yaml::run(loadkit::yaml::load_file(s.write("rand.yaml", flow("random", 50))),
                                    quiet_options());
        CHECK(r.code == 0);
        CHECK(agg(r.summary, "http_reqs", "count") == 50);
    }
}

#ifdef LOADKIT_RUNNER_PATH
// ------------------------------------------------------------ the runner on YAML input: bad input (issue 13), faults, signals

namespace {
// A scenario with `body` (its executor's keys) against `url`.
std::string scenario_file(const std::string& url, const std::string& body) {
    return "name: counts\ntarget: " + url + "\nscenarios:\n  users:\n" + body +
           "    flow:\n      - request: { url: / }\n";
}
}  // namespace

TEST_CASE("runner: counts are read in 64 bits and refused as written, at their own FILE:LINE:COL (issue 13, 3)") {
    loadkit::target_server server;
    scratch s;
    auto url = server.url();
    SECTION("vus, preAllocatedVUs, maxVUs, stage targets and iterations in YAML") {
        struct bad_count {
            std::string body, where, message;
        };
        std::vector<bad_count> cases{
            // 4294967297 was cut to 1 VU; 1000000000000 said "got -727379968" at the scenario's line
            {"    executor: shared-iterations\n    vus: 4294967297\n    iterations: 1\n",
             ":6:10:", "expected 'vus' to be at most 2147483647, found 4294967297"},
            {"    executor: shared-iterations\n    vus: 1000000000000\n    iterations: 1\n",
             ":6:10:", "expected 'vus' to be at most 2147483647, found 1000000000000"},
            {"    executor: constant-arrival-rate\n    rate: 1\n    duration: 1s\n    preAllocatedVUs: 4294967297\n",
             ":8:22:", "expected 'preAllocatedVUs' to be at most 2147483647, found 4294967297"},
            {"    executor: ramping-arrival-rate\n    stages: [{duration: 1s, target: 1}]\n    preAllocatedVUs: 1\n    maxVUs: 4294967296\n",
             ":8:13:", "expected 'maxVUs' to be at most 2147483647, found 4294967296"},
            {"    executor: ramping-vus\n    stages:\n      - duration: 1s\n        target: 4294967297\n",
             ":8:17:", "expected 'target' to be at most 2147483647, found 4294967297"},
            {"    executor: shared-iterations\n    iterations: 99999999999999999999\n",
             ":6:17:", "expected 'iterations' to be at most 9223372036854775807, found 99999999999999999999"},
            {"    executor: shared-iterations\n    vus: -4294967297\n",
             ":6:10:", "expected 'vus' to be at least 1, found -4294967297"},
        };
        for (auto& c : cases) {
            auto f = s.write("count.yaml", scenario_file(url, c.body));
            auto r = run_runner({"run", f, "-q"});
            INFO(c.body << r.err);
            CHECK(r.code == 104);
            CHECK_THAT(r.err, Catch::Contains(f + c.where + " " + c.message));
        }
        CHECK(server.total() == 0);
    }
    SECTION("-u, -i and --threads") {
        auto f = s.write("ok.yaml",
                         scenario_file(url, "    executor: shared-iterations\n    vus: 1\n    iterations: 1\n"));
        auto r = run_runner({"run", f, "-q", "-u", "4294967297", "-d", "1s"});
        CHECK(r.code == 2);
        CHECK_THAT(r.err,
                   Catch::Contains("-u/--vus: expected a whole number from 1 to 2147483647, found '4294967297'"));
        r = run_runner({"run", f, "-q", "-i", "99999999999999999999"});
        CHECK(r.code == 2);
        CHECK_THAT(
            r.err,
            Catch::Contains(
                "-i/--iterations: expected a whole number from 1 to 9223372036854775807, found '99999999999999999999'"));
        r = run_runner({"run", f, "-q", "--threads", "4294967298"});
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Catch::Contains("--threads: at most"));
        CHECK_THAT(r.err, Catch::Contains("found '4294967298'"));
        CHECK(server.total() == 0);
    }
#ifdef LOADKIT_TEST_RUNNER_JS
    SECTION("vus in a script's options, as k6 writes them") {
        // k6 v0.48.0 refuses both too (its options are 64-bit; it does not cut them)
        auto js = s.write(
            "big.js", "export const options = { vus: 4294967297, iterations: 1 };\nexport default function () {}\n");
        auto r = run_runner({"validate", js});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("expected 'vus' to be at most 2147483647, found 4294967297"));
        js = s.write(
            "big2.js",
            "export const options = { scenarios: { a: { executor: 'constant-arrival-rate', rate: 1, duration: '1s',\n"
            "  preAllocatedVUs: 1000000000000 } } };\nexport default function () {}\n");
        r = run_runner({"validate", js});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("expected 'preAllocatedVUs' to be at most 2147483647, found 1000000000000"));
    }
#endif
}

TEST_CASE("runner: only regular files of a bounded size are read: /dev/zero is refused (issue 13, 6)") {
    loadkit::target_server server;
    scratch s;
    auto zero = (s.dir / "zero.yaml").string();
    fs::create_symlink("/dev/zero", zero);
    SECTION("a test file") {
        for (auto& f : {std::string("/dev/zero"), zero}) {
            auto r = run_runner({"run", f, "-q"}, 20s);  // was: read without end, gigabytes in seconds
            INFO(r.err);
            CHECK(r.code == 104);
            CHECK_THAT(r.err,
                       Catch::Contains("is not a regular file (a character device): only regular files are read"));
        }
        auto r = run_runner({"validate", zero}, 20s);
        CHECK(r.code == 104);
    }
    SECTION("a CSV data file") {
        fs::create_symlink("/dev/zero", s.dir / "users.csv");
        auto f = s.write("data.yaml",
                         "name: d\ntarget: " + server.url() +
                             "\nscenarios:\n  users:\n    executor: shared-iterations\n    data: { file: users.csv }\n"
                             "    flow:\n      - request: { url: / }\n");
        auto r = run_runner({"run", f, "-q"}, 20s);
        INFO(r.err);
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains(f + ":6:19: data file 'users.csv': '"));
        CHECK_THAT(r.err, Catch::Contains("users.csv' is not a regular file (a character device)"));
    }
    SECTION("a file over the size limit") {
        auto big = (s.dir / "big.yaml").string();
        { std::ofstream(big) << "name: x\n"; }
        fs::resize_file(big, (std::uint64_t{64} << 20) + 1);  // sparse: no disk used
        auto r = run_runner({"validate", big}, 20s);
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("big.yaml' is larger than the limit of 64 MiB for such a file"));
    }
#ifdef LOADKIT_TEST_RUNNER_JS
    SECTION("a script, its script: in YAML, and open() in a script") {
        auto js = (s.dir / "zero.js").string();
        fs::create_symlink("/dev/zero", js);
        auto r = run_runner({"run", js, "-q"}, 20s);
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("zero.js' is not a regular file (a character device)"));
        auto f = s.write("script.yaml", "name: d\ntarget: " + server.url() +
                                            "\nscript: zero.js\nscenarios:\n  users:\n"
                                            "    executor: shared-iterations\n    exec: default\n");
        r = run_runner({"run", f, "-q"}, 20s);
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains(f + ":3:9: script: '"));
        auto opener = s.write("open.js", "const data = open('/dev/zero');\nexport default function () {}\n");
        r = run_runner({"run", opener, "-q"}, 20s);
        CHECK(r.code == 107);
        CHECK_THAT(r.err, Catch::Contains("open(): '/dev/zero' is not a regular file (a character device)"));
        auto shared = s.write("shared.js", "import { SharedArray } from 'k6/data';\n"
                                           "const rows = new SharedArray('rows', () => open('zero.js').split('\\n'));\n"
                                           "export default function () {}\n");
        r = run_runner({"run", shared, "-q"}, 20s);
        CHECK(r.code == 107);
        CHECK_THAT(r.err, Catch::Contains("zero.js' is not a regular file (a character device)"));
    }
#endif
    CHECK(server.total() == 0);
}

TEST_CASE("runner: a misspelled required key is reported at its own line with the nearest key (issue 13, 13)") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("typo.yaml",
                     scenario_file(server.url(), "    executer: constant-vus\n    vus: 1\n    duration: 1s\n"));
    auto r = run_runner({"run", f});
    CHECK(r.code == 104);
    // was: ":4:3: expected 'executor' in scenario 'users'", at the scenario's line
    CHECK_THAT(r.err,
               Catch::Contains(f + ":5:5: unknown key 'executer' in scenario 'users'; did you mean 'executor'?"));
#ifdef LOADKIT_TEST_RUNNER_JS
    auto js = s.write(
        "typo.js",
        "export const options = { scenarios: { users: { executer: 'constant-vus', vus: 1, duration: '1s' } } };\n"
        "export default function () {}\n");
    r = run_runner({"validate", js});
    CHECK(r.code == 104);
    CHECK_THAT(r.err, Catch::Contains("unknown key 'executer' in scenario 'users'; did you mean 'executor'?"));
#endif
    CHECK(server.total() == 0);
}

TEST_CASE(
    "runner: a run against the faulty target counts every failed request, exits on its threshold and ends on time") {
    loadkit::target_options to;
    to.faults = true;
    loadkit::target_server server(to);
    scratch s;
    auto f = s.write("faults.yaml", with_target(R"(
name: faults
target: %TARGET%
http: { timeout: 500ms }
scenarios:
  users:
    executor: constant-vus
    vus: 2
    duration: 2s
    flow:
      - request: { name: reset, url: /fault/reset }
      - request: { name: garbage, url: /fault/garbage }
      - request: { name: truncate, url: /fault/truncate }
      - request: { name: hang, url: /fault/hang }
      - request: { name: refused, url: "REFUSED/" }
      - request: { name: ok, url: / }
thresholds:
  http_req_failed: ['rate<0.5']
)",
                                                server.url()));
    {
        auto text = test_support::read_text(f);
        text.replace(text.find("REFUSED"), 7, server.refused_url());
        s.write("faults.yaml", text);
    }
    auto summary = (s.dir / "s.json").string();
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_runner({"run", f, "-q", "--summary-export", summary}, 30s);
    auto took = std::chrono::steady_clock::now() - t0;
    INFO(r.err);
    CHECK(r.code == 99);  // the threshold on http_req_failed failed: not a crash, not a hang
    CHECK(took < 10s);    // 2 s, then the last iterations (about 0.6 s each): nothing waits for a fault
    std::ifstream sf(summary);
    auto j = nlohmann::json::parse(sf);
    auto reqs = agg(j, "http_reqs", "count");
    CHECK(reqs >= 12);
    CHECK(std::fmod(reqs, 6) == 0);                           // whole iterations: a fault never ends one early
    CHECK(agg(j, "http_req_failed", "sum") == reqs * 5 / 6);  // every fault is a failed request, the last step is not
    CHECK(agg(j, "iterations", "count") == reqs / 6);
}

TEST_CASE("runner: target builtin, SIGINT stops gracefully with exit 105 and the summary") {
    scratch s;
    auto f = s.write("long.yaml", R"(
target: builtin
scenarios:
  users:
    executor: constant-vus
    vus: 3
    duration: 1m
    flow:
      - request: { url: /delay/20 }
)");
    auto summary = (s.dir / "s.json").string();
    auto r = run_runner({"run", f, "-q", "--summary-export", summary}, 30s, [](pid_t pid) {
        std::this_thread::sleep_for(700ms);
        ::kill(pid, SIGINT);
    });
    CHECK(r.code == 105);
    std::ifstream sf(summary);
    auto j = nlohmann::json::parse(sf);
    CHECK(j["aborted"] == "interrupted by SIGINT");
    CHECK(agg(j, "http_reqs", "count") > 0);
    CHECK(agg(j, "http_req_failed", "rate") == 0);
}

TEST_CASE("runner: the progress display redraws one line on a terminal and prints plain lines otherwise") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("p.yaml", with_target(R"(
target: %TARGET%
scenarios:
  users:
    executor: constant-vus
    vus: 2
    duration: 2500ms
    flow:
      - request: { url: /delay/5 }
)",
                                           server.url()));
    SECTION("through a pseudo-terminal") {
        int master = -1;
        pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::execl(LOADKIT_RUNNER_PATH, LOADKIT_RUNNER_PATH, "run", f.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        std::string seen;
        char buf[4096];
        auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{master, POLLIN, 0};
            if (::poll(&p, 1, 200) <= 0) continue;
            auto n = ::read(master, buf, sizeof buf);
            if (n <= 0) break;  // EIO once the child has exited
            seen.append(buf, static_cast<std::size_t>(n));
        }
        ::close(master);
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        // redrawn in place: carriage return + erase line, at least twice, then the final line
        std::size_t redraws = 0;
        for (auto at = seen.find("\r\x1b[2Krunning ["); at != std::string::npos;
             at = seen.find("\r\x1b[2Krunning [", at + 1))
            ++redraws;
        CHECK(redraws >= 2);
        CHECK_THAT(seen, Catch::Contains("\r\x1b[2Kdone    ["));
        CHECK_THAT(seen, Catch::Contains("users: "));
        CHECK_THAT(seen, Catch::Contains("/2 VUs"));
        CHECK_THAT(seen, Catch::Contains("req/s"));
        CHECK_THAT(seen, Catch::Contains("http_reqs"));  // the summary follows
    }
    SECTION("through a pipe") {
        auto r = run_runner({"run", f});
        CHECK(r.code == 0);
        CHECK(r.err.find('\r') == std::string::npos);
        CHECK(r.err.find("\x1b[") == std::string::npos);
        std::size_t lines = 0;
        for (auto at = r.err.find("running ["); at != std::string::npos; at = r.err.find("running [", at + 1)) ++lines;
        CHECK(lines >= 2);
        CHECK_THAT(r.err, Catch::Contains("done    ["));
    }
}
#endif  // LOADKIT_RUNNER_PATH

}  // namespace LOADKIT_TEST_UNIT
