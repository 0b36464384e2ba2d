// YAML's grpc step (plan/grpc_steps.hpp, run by plan/grpc_run.hpp) against
// tests/grpc_server.py (python3-grpcio) on 127.0.0.1: load-time errors at
// their file and line, a flow of calls with templates, metadata, checks and
// captures by the request step's rules, TLS from files, failures counted as
// grpc_req_duration{status}, and the runner on a YAML file with a grpc step.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <fstream>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/grpc.hpp>
#include <loadkit/target/cert.hpp>
#include <loadkit/yaml.hpp>

#include "grpc_peer.hpp"
#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

const std::string source_dir = LOADKIT_SOURCE_DIR;

using server = test_support::grpc_peer;  // tests/grpc_server.py

// A scratch folder with the test's .proto beside the YAML files.
struct folder {
    scratch s;
    folder() { std::filesystem::copy_file(source_dir + "/tests/grpc_test.proto", s.dir / "grpc_test.proto"); }
    std::string write(const std::string& name, const std::string& text) { return s.write(name, text); }
};

std::string load_error_of(const std::string& file) {
    try {
        loadkit::yaml::load_file(file);
    } catch (const loadkit::config_error& e) {
        return e.what();
    }
    return "(loaded)";
}

const char* head = R"(scenarios:
  s:
    executor: per-vu-iterations
    iterations: 1
    flow:
)";

}  // namespace

TEST_CASE("grpc yaml: mistakes in a grpc step are load errors at their file and line") {
    folder f;
    auto err = [&](const std::string& step) { return load_error_of(f.write("t.yaml", head + step)); };
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Nope, protos: [grpc_test.proto]}\n"),
               Catch::Contains("t.yaml:6:") && Catch::Contains("method \"loadkit.test.Echo/Nope\" not found") &&
                   Catch::Contains("loadkit.test.Echo/Say"));
    CHECK_THAT(err("      - grpc:\n          address: h:1\n          method: loadkit.test.Echo/Say\n"
                   "          protos: [grpc_test.proto]\n          message:\n            name: x\n"
                   "            nmae: y\n"),
               Catch::Contains("t.yaml:12:13:") && Catch::Contains("unknown field 'nmae'"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto], "
                   "message: {count: lots}}\n"),
               Catch::Contains("t.yaml:6:") && Catch::Contains("unable to serialise request object"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [missing.proto]}\n"),
               Catch::Contains("t.yaml:6:") && Catch::Contains("missing.proto"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: Say, protos: [grpc_test.proto]}\n"),
               Catch::Contains("expected 'method' to be package.Service/Method"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say}\n"),
               Catch::Contains("expected 'protos: [FILE.proto]'"));
    CHECK_THAT(
        err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto], adress: x}\n"),
        Catch::Contains("unknown key 'adress'"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto], "
                   "plaintext: true, tls: {cacerts: ca.pem}}\n"),
               Catch::Contains("either 'plaintext: true' or 'tls'"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto], "
                   "tls: {cacerts: nothere.pem}}\n"),
               Catch::Contains("cacerts: cannot read 'nothere.pem'"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto]}\n"
                   "        check: {proto: HTTP/2.0}\n"),
               Catch::Contains("t.yaml:7:17:") && Catch::Contains("no proto"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto]}\n"
                   "        check: {status: OK}\n"),
               Catch::Contains("expected a gRPC status code"));
    CHECK_THAT(err("      - grpc: {address: 'h:1', method: loadkit.test.Echo/Say, protos: [grpc_test.proto], "
                   "message: {name: '{{ vars.nope }}'}}\n"),
               Catch::Contains("unknown variable 'nope'"));
}

TEST_CASE("grpc yaml: a flow of calls with templates, metadata, checks, captures, TLS, failures counted") {
    auto cert = loadkit::make_self_signed_certificate();
    server plain, tls(&cert);
    folder f;
    std::ofstream(f.s.dir / "ca.pem") << cert.cert_pem;
    auto file = f.write("flow.yaml", std::string(R"(thresholds:
  'grpc_req_duration{status:0}': ['max>=0']
  'grpc_req_duration{status:5}': ['max>=0']
  'grpc_req_duration{status:14}': ['max>=0']
scenarios:
  s:
    executor: per-vu-iterations
    vus: 2
    iterations: 2
    flow:
      - grpc:
          address: '{{ env.ADDR }}'
          plaintext: true
          protos: [grpc_test.proto]
          method: loadkit.test.Echo/Say
          message: {name: 'vu{{ vu }}', bigNum: 7, tags: [a, b]}
          metadata: {X-Echo: 'v{{ vu }}', x-echo-bin: bytes}
          name: say
        check: {status: 0, body: hello vu, 'json.echo.bigNum': '7', 'header.x-echo-hex': 6279746573}
        capture: {greeting: json.message, echoed: header.x-echo}
      - grpc:
          address: '{{ env.ADDR }}'
          plaintext: true
          protos: [grpc_test.proto]
          method: /loadkit.test.Echo/Say
          message: {name: '{{ vars.greeting }}'}
          timeout: 5s
        check: {status: 0, body: hello hello vu}
      - grpc: {address: '{{ env.ADDR }}', plaintext: true, protos: [grpc_test.proto], method: loadkit.test.Echo/Say, message: {name: notfound}, name: nf}
        check: {status: 5}
      - grpc:
          address: )") + tls.address + R"(
          tls: {cacerts: [ca.pem]}
          reflect: true
          method: loadkit.test.Echo/Say
          message: {name: tls}
          name: over tls
        check: {status: 0, json.message: hello tls}
      - grpc: {address: )" + tls.address +
                                         R"(, method: loadkit.test.Echo/Say, protos: [grpc_test.proto], name: untrusted}
        check: {status: 14}
)");
    auto plan = loadkit::yaml::load_file(file);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["ADDR"] = plain.address;
    auto r = loadkit::yaml::run(plan, o);
    INFO(r.report);
    std::map<std::string, std::pair<double, double>> checks;  // name -> passes, fails
    for (auto& c : r.summary["checks"])
        checks[c["name"].get<std::string>()] = {c["passes"].get<double>(), c["fails"].get<double>()};
    auto passes = [&](const std::string& name) {
        INFO(name);
        REQUIRE(checks.count(name));
        CHECK(checks[name].second == 0);
        return checks[name].first;
    };
    CHECK(passes("say: status is 0") == 4);
    CHECK(passes("say: json.echo.bigNum is 7") == 4);
    CHECK(passes("say: header.x-echo-hex is 6279746573") == 4);  // "bytes" arrived as bytes (-bin)
    CHECK(passes("say: body contains hello vu") == 4);
    CHECK(passes("say: captured greeting") == 4);
    CHECK(passes("say: captured echoed") == 4);
    CHECK(passes("/loadkit.test.Echo/Say: status is 0") == 4);
    CHECK(passes("/loadkit.test.Echo/Say: body contains hello hello vu") == 4);  // the captured greeting sent
    CHECK(passes("nf: status is 5") == 4);
    CHECK(passes("over tls: status is 0") == 4);
    CHECK(passes("over tls: json.message is hello tls") == 4);
    CHECK(passes("untrusted: status is 14") == 4);
    auto count = [&](const char* name) {
        auto* m = loadkit::find_metric(r.summary, name);
        return m ? (*m)["count"].get<double>() : -1;
    };
    // 5 calls an iteration, and each VU's reflection stream (timed as k6 times it)
    CHECK(count("grpc_req_duration") == 22);
    CHECK(count("grpc_req_duration{status:0}") == 14);
    CHECK(count("grpc_req_duration{status:5}") == 4);
    CHECK(count("grpc_req_duration{status:14}") == 4);
}

// What only the run can tell: a method the server's reflection lacks, a
// templated value protobuf refuses. Each fails its iteration (k6's invoke
// throws for both), counted in iterations_failed, and logged once.
TEST_CASE("grpc yaml: run-time mistakes fail the iteration, counted") {
    server plain;
    folder f;
    auto file = f.write("late.yaml", std::string(R"(scenarios:
  reflected:
    executor: per-vu-iterations
    flow:
      - grpc: {address: )") + plain.address +
                                         R"(, plaintext: true, reflect: true, method: loadkit.test.Echo/Nope}
  templated:
    executor: per-vu-iterations
    flow:
      - grpc:
          address: )" + plain.address + R"(
          plaintext: true
          protos: [grpc_test.proto]
          method: loadkit.test.Echo/Say
          message: {count: '{{ vu }}x'}
)");
    auto plan = loadkit::yaml::load_file(file);  // field names are right: it loads
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    auto r = loadkit::yaml::run(plan, o);
    INFO(r.report);
    auto* failed = loadkit::find_metric(r.summary, "iterations_failed");
    REQUIRE(failed);
    CHECK((*failed)["count"].get<double>() == 2);
}

#if defined(LOADKIT_RUNNER_PATH)
TEST_CASE("grpc yaml: the runner runs a YAML file with a grpc step") {
    server plain;
    folder f;
    auto file = f.write("run.yaml", std::string(head) + R"(      - grpc:
          address: )" + plain.address + R"(
          plaintext: true
          protos: [grpc_test.proto]
          method: loadkit.test.Echo/Say
          message: {name: runner}
        check: {status: 0, json.message: hello runner}
)");
    auto r = test_support::run_runner({"run", file});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("grpc_req_duration") != std::string::npos);
    CHECK(r.out.find("json.message is hello runner") != std::string::npos);
}
#endif

}  // namespace LOADKIT_TEST_UNIT
