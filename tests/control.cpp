// The run's control end to end (runner/control_command.hpp, outputs/control_api.hpp):
// the runner with --address on a free port and the built-in target, steered
// by `loadkit status|pause|resume|scale|stop` as separate processes: a pause
// stops the iterations, resume restarts them, scale changes the
// externally-controlled scenario's VUs, stop ends the run gracefully (exit
// 103, k6's), the summary's control list has every action with who asked;
// a PATCH from a foreign Origin is refused (403) and bad bodies get k6's
// error shape; --paused waits for a resume. Every wait is bounded.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

#ifdef LOADKIT_RUNNER_PATH
namespace {

constexpr const char* steer_yaml = R"(name: steer
scenarios:
  steer:
    executor: externally-controlled
    vus: 2
    maxVUs: 4
    duration: 0
    flow:
      - request:
          url: /delay/20
)";

// `loadkit ARGS --address 127.0.0.1:PORT`, 20 s at most.
test_support::process_result ctl(std::vector<std::string> args, std::uint16_t port) {
    args.push_back("--address");
    args.push_back("127.0.0.1:" + std::to_string(port));
    return test_support::run_runner(std::move(args), 20s);
}

// "key: value" lines of `loadkit status` and the others, as JSON values.
nlohmann::json parse_status(const std::string& out) {
    nlohmann::json j = nlohmann::json::object();
    std::size_t at = 0;
    while (at < out.size()) {
        auto nl = out.find('\n', at);
        auto line = out.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? out.size() : nl + 1;
        auto colon = line.find(": ");
        if (colon != std::string::npos)
            j[line.substr(0, colon)] = nlohmann::json::parse(line.substr(colon + 2), nullptr, false);
    }
    return j;
}

bool wait_for(const std::function<bool()>& ok, std::chrono::milliseconds limit = 10s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (ok()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return ok();
}

// A raw request to 127.0.0.1:port, its status line's code and its body.
std::pair<int, std::string> raw(std::uint16_t port, const std::string& method, const std::string& headers,
                                const std::string& body) {
    namespace asio = boost::asio;
    asio::io_context ioc;
    boost::beast::tcp_stream s(ioc);
    s.expires_after(10s);
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string req = method + " /v1/status HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + headers +
                      "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    asio::write(s, asio::buffer(req));
    boost::beast::flat_buffer buf;
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::system::error_code ec;
    boost::beast::http::read(s, buf, res, ec);
    return {static_cast<int>(res.result_int()), res.body()};
}

}  // namespace

TEST_CASE("control: loadkit pause, status, resume, scale and stop steer a run, and its summary lists them") {
    scratch dir;
    auto file = dir.write("steer.yaml", steer_yaml);
    auto summary = (dir.dir / "summary.json").string();
    auto port = test_support::free_port();
    loadkit::target_server target;  // counts the requests it sees
    auto requests = [&] { return target.count("/delay/20"); };
    auto run = test_support::start_runner({"run", file, "--target", target.url(), "-q", "--address",
                                           "127.0.0.1:" + std::to_string(port), "--summary-export", summary,
                                           "--report", (dir.dir / "report.html").string()},
                                          dir, "run");
    // up: the status answers, 2 VUs run
    REQUIRE(wait_for([&] {
        auto s = ctl({"status"}, port);
        return s.code == 0 && parse_status(s.out).value("vus", 0) == 2;
    }));
    auto s = parse_status(ctl({"status"}, port).out);
    CHECK(s["status"] == 7);
    CHECK(s["running"] == true);
    CHECK(s["paused"] == false);
    CHECK(s["vus-max"] == 4);

    // pause: the status says so, and requests stop growing
    auto p = ctl({"pause"}, port);
    REQUIRE(p.code == 0);
    CHECK(parse_status(p.out)["paused"] == true);
    auto again = ctl({"pause"}, port);  // k6: pausing a paused run is an error
    CHECK(again.code == 1);
    CHECK_THAT(again.err, Catch::Contains("already paused"));
    std::this_thread::sleep_for(300ms);  // in-flight iterations end
    auto paused_at = requests();
    std::this_thread::sleep_for(1000ms);
    CHECK(requests() == paused_at);

    // resume: they grow again
    REQUIRE(ctl({"resume"}, port).code == 0);
    CHECK(wait_for([&] { return requests() > paused_at + 10; }));

    // scale: 4 VUs, then maxVUs up to 6 with 5 VUs
    auto sc = ctl({"scale", "--vus", "4"}, port);
    REQUIRE(sc.code == 0);
    CHECK(wait_for([&] { return parse_status(ctl({"status"}, port).out).value("vus", 0) == 4; }));
    REQUIRE(ctl({"scale", "--vus", "5", "--max", "6"}, port).code == 0);
    CHECK(wait_for([&] { return parse_status(ctl({"status"}, port).out).value("vus", 0) == 5; }));
    CHECK(parse_status(ctl({"status"}, port).out)["vus-max"] == 6);
    auto over = ctl({"scale", "--vus", "9"}, port);
    CHECK(over.code == 1);
    CHECK_THAT(over.err, Catch::Contains("must not exceed maxVUs"));
    CHECK(ctl({"scale"}, port).code == 2);

    // a page from another site may not stop it; k6's error shape for a bad body
    auto foreign = raw(port, "PATCH", "Origin: http://evil.example\r\n",
                       R"({"data":{"type":"status","id":"default","attributes":{"stopped":true}}})");
    CHECK(foreign.first == 403);
    auto bad = raw(port, "PATCH", "", "{not json");
    CHECK(bad.first == 400);
    auto err = nlohmann::json::parse(bad.second, nullptr, false);
    REQUIRE(err.is_object());
    CHECK(err["errors"][0]["status"] == "400");
    CHECK(err["errors"][0]["title"] == "Invalid data");
    auto wrong_type = raw(port, "PATCH", "", R"({"data":{"attributes":{"paused":"yes"}}})");
    CHECK(wrong_type.first == 400);
    // the same origin (the dashboard's page) may
    auto same = raw(port, "PATCH", "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n",
                    R"({"data":{"type":"status","id":"default","attributes":{"paused":true}}})");
    CHECK(same.first == 200);
    CHECK(nlohmann::json::parse(same.second)["data"]["attributes"]["paused"] == true);
    REQUIRE(ctl({"resume"}, port).code == 0);
    CHECK(parse_status(ctl({"status"}, port).out)["stopped"] == false);

    // stop: graceful, exit 103 (k6's code for a stop through its API), summary written
    auto st = ctl({"stop"}, port);
    CHECK(st.code == 0);
    CHECK(parse_status(st.out)["stopped"] == true);
    CHECK(run->wait(30s) == 103);
    auto j = nlohmann::json::parse(test_support::read_text(summary), nullptr, false);
    REQUIRE(j.is_object());
    REQUIRE(j.contains("control"));
    std::vector<std::string> acts;
    for (auto& a : j["control"]) {
        acts.push_back(a["action"].get<std::string>() + "/" + a["by"].get<std::string>());
        CHECK(a["t"].get<double>() > 0);
    }
    CHECK(acts == std::vector<std::string>{"pause/cli", "resume/cli", "scale/cli", "scale/cli", "pause/dashboard",
                                           "resume/cli", "stop/cli"});
    CHECK(j["control"][3]["vus"] == 5);
    CHECK(j["control"][3]["vus-max"] == 6);
    CHECK_THAT(run->out(), Catch::Contains("control: pause at"));
    // the export's timeline holds them too, each on the point whose interval it fell in, in order
    std::vector<std::string> on_timeline;
    double last_t = 0;
    for (auto& point : j["timeline"])
        for (auto& a : point.value("control", nlohmann::json::array())) {
            on_timeline.push_back(a["action"].get<std::string>() + "/" + a["by"].get<std::string>());
            CHECK(a["t"].get<double>() <= point["t"].get<double>() + 1e-9);
            CHECK(a["t"].get<double>() >= last_t);
            last_t = a["t"].get<double>();
        }
    CHECK(on_timeline == acts);
    // and the report says them above its charts
    CHECK_THAT(test_support::read_text(dir.dir / "report.html"),
               Catch::Contains("Control: pause at") && Catch::Contains("scale to 5 VUs at"));
    // once it has ended nothing answers
    CHECK(ctl({"status"}, port).code == 1);
}

TEST_CASE("control: --paused waits for loadkit resume before setup and load, and stop --abort ends it (103)") {
    scratch dir;
    auto file = dir.write("steer.yaml", steer_yaml);
    auto port = test_support::free_port();
    auto run = test_support::start_runner(
        {"run", file, "--target", "builtin", "--paused", "--address", "127.0.0.1:" + std::to_string(port)}, dir, "run");
    REQUIRE(wait_for([&] { return ctl({"status"}, port).code == 0; }));
    std::this_thread::sleep_for(500ms);
    auto s = parse_status(ctl({"status"}, port).out);
    CHECK(s["status"] == 4);  // k6's "paused before the run"
    CHECK(s["paused"] == true);
    CHECK(s["running"] == false);
    CHECK(s["vus"] == 0);
    CHECK(run->running());
    CHECK_THAT(run->err(), Catch::Contains("loadkit resume --address"));
    REQUIRE(ctl({"resume"}, port).code == 0);
    CHECK(wait_for([&] { return parse_status(ctl({"status"}, port).out).value("vus", 0) == 2; }));
    auto a = ctl({"stop", "--abort"}, port);
    CHECK(a.code == 0);
    CHECK(parse_status(a.out)["aborted"] == true);
    CHECK(run->wait(30s) == 103);
    CHECK_THAT(run->out(), Catch::Contains("pause at 0.0s (option)"));
    CHECK_THAT(run->out(), Catch::Contains("abort at"));
}

TEST_CASE("control: a run serves no API unless asked, and an --address in use ends it before any load (106)") {
    scratch dir;
    auto file = dir.write("short.yaml", R"(name: short
scenarios:
  s:
    executor: constant-vus
    vus: 1
    duration: 300ms
    flow:
      - request:
          url: /
)");
    // no --address: nothing listens on k6's 6565 for this run, and a second run at the same time is no problem
    auto r = test_support::run_runner({"run", file, "--target", "builtin", "-q"}, 30s);
    CHECK(r.code == 0);
    // an address already taken
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor taken(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto port = taken.local_endpoint().port();
    auto busy = test_support::run_runner(
        {"run", file, "--target", "builtin", "--address", "127.0.0.1:" + std::to_string(port)}, 30s);
    CHECK(busy.code == 106);
    CHECK_THAT(busy.err, Catch::Contains("--address"));
    CHECK_THAT(busy.out, !Catch::Contains("http_reqs"));
    // nothing there: the subcommands say so (exit 1)
    auto none = ctl({"status"}, test_support::free_port());
    CHECK(none.code == 1);
    CHECK_THAT(none.err, Catch::Contains("cannot reach"));
}

TEST_CASE("control: externally-controlled in YAML is checked before any load, as k6 checks it") {
    scratch dir;
    auto bad = [&](const std::string& body) {
        auto file = dir.write("bad.yaml", "name: bad\nscenarios:\n  s:\n    executor: externally-controlled\n" + body +
                                              "    flow:\n      - request:\n          url: /\n");
        return test_support::run_runner({"validate", file}, 30s);
    };
    auto over = bad("    vus: 5\n    maxVUs: 3\n    duration: 1s\n");
    CHECK(over.code == 104);
    CHECK_THAT(over.err, Catch::Contains("maxVUs (3) must not be less than vus (5)"));
    auto no_duration = bad("    vus: 1\n");
    CHECK(no_duration.code == 104);
    CHECK_THAT(no_duration.err, Catch::Contains("expected 'duration'"));
    auto unknown = bad("    vus: 1\n    duration: 0\n    rate: 3\n");
    CHECK(unknown.code == 104);
    auto ok = bad("    vus: 0\n    maxVUs: 2\n    duration: 0\n");
    CHECK(ok.code == 0);
    CHECK_THAT(ok.out, Catch::Contains("0 VUs (maxVUs: 2) under external control, until stopped"));
}

TEST_CASE("control: k6's externally-controlled from JavaScript options, steered by loadkit scale") {
#ifdef LOADKIT_RUNNER_JS
    scratch dir;
    auto file = dir.write("steer.js", R"(import http from 'k6/http';
export const options = { scenarios: { steer: { executor: 'externally-controlled', vus: 1, maxVUs: 3, duration: '0' } } };
export default function () { http.get('/delay/20'); }
)");
    auto port = test_support::free_port();
    auto run = test_support::start_runner(
        {"run", file, "--target", "builtin", "-q", "--address", "127.0.0.1:" + std::to_string(port)}, dir, "run");
    REQUIRE(wait_for([&] { return parse_status(ctl({"status"}, port).out).value("vus", 0) == 1; }));
    CHECK(parse_status(ctl({"status"}, port).out)["vus-max"] == 3);
    REQUIRE(ctl({"scale", "-u", "3"}, port).code == 0);
    CHECK(wait_for([&] { return parse_status(ctl({"status"}, port).out).value("vus", 0) == 3; }));
    REQUIRE(ctl({"stop"}, port).code == 0);
    CHECK(run->wait(30s) == 103);
    CHECK_THAT(run->out(), Catch::Contains("scale to 3/3 VUs"));
#else
    SUCCEED("the runner has no JavaScript in this build");
#endif
}
#endif

}  // namespace LOADKIT_TEST_UNIT
