// The runner's --local-ips (and K6_LOCAL_IPS, and a YAML file's
// http.localIPs): VUs spread over source addresses on 127.0.0.0/8, which the
// test's own target sees; mistakes are exit 104 before any load; the file
// descriptor limit raised at start, and said when it still binds. The
// parsing and the client's binding are tested in local_ips.cpp.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

#ifdef LOADKIT_RUNNER_PATH

using namespace std::chrono_literals;

namespace {
using test_support::process_result;
using test_support::run_runner;
using test_support::scratch;

// `vus` VUs, `iterations` GETs of / each, against `url`; `http` is the file's http: section ("" for none).
std::string flow_file(const std::string& url, int vus, int iterations, const std::string& http = "") {
    return "name: sources\ntarget: " + url + "\n" + (http.empty() ? "" : "http:\n" + http) +
           "scenarios:\n  users:\n    executor: per-vu-iterations\n    vus: " + std::to_string(vus) +
           "\n    iterations: " + std::to_string(iterations) + "\n    flow:\n      - request: { url: / }\n";
}

// The runner under /bin/sh after `prefix` (e.g. "ulimit -n 100 &&", "export K6_LOCAL_IPS=x &&"): a limit or a
// variable for this run only.
process_result run_runner_sh(const std::string& prefix, std::vector<std::string> args, const scratch& s,
                             std::chrono::milliseconds limit = 60s) {
    std::vector<std::string> argv{"/bin/sh", "-c", prefix + " exec \"$@\"", "sh", LOADKIT_RUNNER_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    static std::atomic<int> n{0};
    auto name = "sh" + std::to_string(n++);
    test_support::child c(argv, (s.dir / (name + ".out")).string(), (s.dir / (name + ".err")).string());
    process_result r;
    r.code = c.wait(limit);
    r.out = c.out();
    r.err = c.err();
    return r;
}

double failed(const scratch& s, const std::string& export_file) {
    std::ifstream f(s.dir / export_file);
    auto j = nlohmann::json::parse(f);
    return test_support::agg(j, "http_req_failed", "sum");
}

}  // namespace

TEST_CASE("runner: --local-ips spreads the VUs over source addresses, the target sees each (also K6_LOCAL_IPS, "
          "http.localIPs)") {
    loadkit::target_server server;  // on 127.0.0.1
    scratch s;
    SECTION("--local-ips: a range of 4, 8 VUs, 2 requests each: 4 from each address") {
        auto f = s.write("range.yaml", flow_file(server.url(), 8, 2));
        auto r = run_runner(
            {"run", f, "-q", "--local-ips", "127.0.0.2-127.0.0.5", "--summary-export", (s.dir / "sum.json").string()});
        INFO(r.err);
        CHECK(r.code == 0);
        for (auto a : {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}) {
            INFO(a);
            CHECK(server.requests_from(a) == 4);
        }
        CHECK(failed(s, "sum.json") == 0);
    }
    SECTION("K6_LOCAL_IPS, a list and a CIDR") {
        auto f = s.write("env.yaml", flow_file(server.url(), 4, 1));
        auto r = run_runner_sh("export K6_LOCAL_IPS=127.0.0.6,127.0.0.12/30 &&", {"run", f, "-q"}, s);
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK(server.requests_from("127.0.0.6") == 2);  // VUs 1 and 4
        CHECK(server.requests_from("127.0.0.13") == 1);
        CHECK(server.requests_from("127.0.0.14") == 1);
    }
    SECTION("the file's http.localIPs, and the flag over it") {
        auto f = s.write("file.yaml", flow_file(server.url(), 2, 1, "  localIPs: 127.0.0.7-127.0.0.8\n"));
        auto r = run_runner({"run", f, "-q"});
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK(server.requests_from("127.0.0.7") == 1);
        CHECK(server.requests_from("127.0.0.8") == 1);
        server.reset_stats();
        r = run_runner({"run", f, "-q", "--local-ips", "127.0.0.9"});
        CHECK(r.code == 0);
        CHECK(server.requests_from("127.0.0.9") == 2);
        CHECK(server.requests_from("127.0.0.7") == 0);
    }
    SECTION("WebSocket sessions connect from the VU's address too") {
        auto f = s.write("ws.yaml", "name: ws\ntarget: " + server.url() +
                                        "\nscenarios:\n  chat:\n    executor: per-vu-iterations\n    vus: 2\n"
                                        "    iterations: 1\n    flow:\n      - ws_connect: { url: /ws/echo }\n"
                                        "      - ws_send: hi\n      - ws_receive: { timeout: 2s }\n"
                                        "      - ws_close: 1000\n");
        auto r = run_runner({"run", f, "-q", "--local-ips", "127.0.0.10,127.0.0.11"});
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK(server.requests_from("127.0.0.10") == 1);  // the upgrade request
        CHECK(server.requests_from("127.0.0.11") == 1);
    }
}

TEST_CASE("runner: --local-ips mistakes are exit 104 before any load, and an address not local fails requests") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("t.yaml", flow_file(server.url(), 2, 2));
    SECTION("the flag: what was expected, what was found, k6's reason") {
        auto r = run_runner({"run", f, "-q", "--local-ips", "127.0.0.2,nope"});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("--local-ips: expected IPs, ranges (FIRST-LAST) or CIDRs (ADDRESS/PREFIX) "
                                          "separated by commas"));
        CHECK_THAT(r.err, Catch::Contains("found 'nope' (not a valid IP, IP range or CIDR)"));
        r = run_runner({"run", f, "-q", "--local-ips", "127.0.0.9-127.0.0.2"});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("(negative IP range)"));
        CHECK(server.total() == 0);
    }
    SECTION("K6_LOCAL_IPS is named as the variable") {
        auto r = run_runner_sh("export K6_LOCAL_IPS=10.0.0.0/33 &&", {"run", f, "-q"}, s);
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("K6_LOCAL_IPS: expected IPs"));
        CHECK_THAT(r.err, Catch::Contains("(invalid CIDR address)"));
        CHECK(server.total() == 0);
    }
    SECTION("the file's http.localIPs: with its line") {
        auto bad = s.write("bad.yaml", flow_file(server.url(), 1, 1, "  localIPs: 127.0.0.2-fd00::1\n"));
        auto r = run_runner({"run", bad, "-q"});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("bad.yaml:4"));
        CHECK_THAT(r.err, Catch::Contains("localIPs: expected IPs"));
        CHECK_THAT(r.err, Catch::Contains("(mixed IP range format)"));
        CHECK(server.total() == 0);
    }
    SECTION("192.0.2.123 is not this machine's: every request fails (1213), the run ends normally") {
        auto r = run_runner(
            {"run", f, "-q", "--local-ips", "192.0.2.123", "--summary-export", (s.dir / "sum.json").string()});
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK(failed(s, "sum.json") == 4);
        CHECK(server.total() == 0);
    }
}

TEST_CASE("runner: the file-descriptor limit is raised at start, and said before any load when it binds") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("many.yaml", flow_file(server.url(), 150, 1));
    SECTION("a soft limit under the VUs is raised to the hard one: every request passes, nothing said") {
        auto r = run_runner_sh("ulimit -Sn 100 &&",
                               {"run", f, "-q", "--threads", "1", "--summary-export", (s.dir / "sum.json").string()},
                               s);
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK(failed(s, "sum.json") == 0);
        CHECK_THAT(r.err, !Catch::Contains("file descriptors"));
    }
    SECTION("a hard limit under the VUs is said once, with the numbers") {
        auto r = run_runner_sh("ulimit -n 100 &&", {"run", f, "-q", "--threads", "1"}, s);
        INFO(r.err);
        auto said = std::string("loadkit: up to 150 VUs need about ");
        CHECK_THAT(r.err, Catch::Contains(said));
        CHECK_THAT(r.err, Catch::Contains("but this process may open 100 (ulimit -n; hard limit 100)"));
        CHECK(r.err.find(said) == r.err.rfind(said));
    }
}

#endif

}  // namespace LOADKIT_TEST_UNIT
