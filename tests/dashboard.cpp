// dashboard: the live server (outputs/live_server.hpp) every live page and
// control route sits on, and the live dashboard (outputs/dashboard.hpp):
//   - live_server: routes, 404/405, the origin rule (a foreign Origin and a
//     DNS-rebinding Host are refused), bounded bodies, server-sent events
//     with the last event of each name replayed to a new stream;
//   - the dashboard's events and page, and the runner's --dashboard in
//     headless Chromium (tests/dashboard_browser.py), compiled into test_report.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <loadkit.hpp>
#include <loadkit/engine/timeline.hpp>
#include <loadkit/outputs/dashboard.hpp>
#include <loadkit/outputs/live_server.hpp>
#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

// A raw HTTP/1.1 exchange on 127.0.0.1:port: sends `request` as written and
// reads until `until` and the blank line after it have come back, the peer
// closes, or `limit`.
std::string raw_http(unsigned short port, const std::string& request, std::string_view until = {},
                     std::chrono::milliseconds limit = 5s) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        FAIL("cannot connect to 127.0.0.1:" << port);
    }
    for (std::size_t sent = 0; sent < request.size();) {
        auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + limit;
    // (an event is whole at its blank line: `until` counts once that has come too)
    auto done = [&] {
        auto at = until.empty() ? std::string::npos : got.find(until);
        return at != std::string::npos && got.find("\n\n", at) != std::string::npos;
    };
    while (!done()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[4096];
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return got;
}

std::string get(unsigned short port, const std::string& path, const std::string& extra_headers = {},
                const std::string& host = {}) {
    return raw_http(port, "GET " + path +
                              " HTTP/1.1\r\nHost: " + (host.empty() ? "127.0.0.1:" + std::to_string(port) : host) +
                              "\r\n" + extra_headers + "Connection: close\r\n\r\n");
}

int status_of(const std::string& response) {
    if (response.size() < 12 || !response.starts_with("HTTP/1.1 ")) return -1;
    return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
    auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : response.substr(at + 4);
}

}  // namespace

TEST_CASE("live server: routes, 404, 405, bodies bounded, a throwing handler is a 500") {
    loadkit::live_server s("127.0.0.1:0");
    s.route("GET", "/hello", [](const loadkit::live_request& r) {
        return loadkit::live_response{200, "text/plain", "hello " + std::string(r.query), {{"X-Test", "1"}}};
    });
    s.route("PATCH", "/echo", [](const loadkit::live_request& r) {
        return loadkit::live_response{200, "application/json", std::string(r.body), {}};
    });
    s.route("GET", "/boom",
            [](const loadkit::live_request&) -> loadkit::live_response { throw std::runtime_error("kaboom"); });
    s.start();
    REQUIRE(s.port() != 0);
    CHECK(s.address() == "127.0.0.1");
    auto port = s.port();

    auto hello = get(port, "/hello?x=1");
    CHECK(status_of(hello) == 200);
    CHECK(body_of(hello) == "hello x=1");
    CHECK(hello.find("X-Test: 1") != std::string::npos);
    CHECK(status_of(get(port, "/nope")) == 404);
    auto wrong = get(port, "/echo");
    CHECK(status_of(wrong) == 405);
    CHECK(wrong.find("Allow: PATCH") != std::string::npos);
    auto boom = get(port, "/boom");
    CHECK(status_of(boom) == 500);
    CHECK(body_of(boom).find("kaboom") != std::string::npos);

    std::string body = R"({"a":1})";
    auto echo = raw_http(port, "PATCH /echo HTTP/1.1\r\nHost: localhost:" + std::to_string(port) +
                                   "\r\nContent-Type: application/json\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    CHECK(status_of(echo) == 200);
    CHECK(body_of(echo) == body);
    auto big = raw_http(port, "PATCH /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n");
    CHECK(status_of(big) == 413);

    CHECK_THROWS_WITH(loadkit::live_server("127.0.0.1:http"), Catch::Contains("127.0.0.1:http"));
    CHECK_THROWS_WITH(loadkit::live_server("[::1"), Catch::Contains("']'"));
    // a port in use: the message names the spec
    CHECK_THROWS_WITH(loadkit::live_server("127.0.0.1:" + std::to_string(port)),
                      Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(port)));
    loadkit::live_server only_port(":0"), bare("0");
    CHECK(only_port.address() == "127.0.0.1");
    CHECK(bare.address() == "127.0.0.1");
}

TEST_CASE("live server: a foreign Origin and a DNS-rebinding Host are refused with 403") {
    loadkit::live_server s("0");
    int calls = 0;
    s.route("PATCH", "/v1/status", [&](const loadkit::live_request&) {
        ++calls;
        return loadkit::live_response{200, "application/json", "{}", {}};
    });
    s.route("GET", "/", [](const loadkit::live_request&) {
        return loadkit::live_response{200, "text/html", "ok", {}};
    });
    s.start();
    auto port = s.port();
    auto own = "127.0.0.1:" + std::to_string(port);
    auto patch = [&](const std::string& headers) {
        return raw_http(port,
                        "PATCH /v1/status HTTP/1.1\r\n" + headers + "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
    };
    // no Origin (curl, the CLI), or the page's own: allowed
    CHECK(status_of(patch("Host: " + own + "\r\n")) == 200);
    CHECK(status_of(patch("Host: " + own + "\r\nOrigin: http://" + own + "\r\n")) == 200);
    auto local = "localhost:" + std::to_string(port);
    CHECK(status_of(patch("Host: " + local + "\r\nOrigin: http://" + local + "\r\n")) == 200);
    CHECK(calls == 3);
    // another site's page: refused before the handler runs
    auto foreign = patch("Host: " + own + "\r\nOrigin: http://evil.example\r\n");
    CHECK(status_of(foreign) == 403);
    CHECK(body_of(foreign).find("evil.example") != std::string::npos);
    CHECK(nlohmann::json::parse(body_of(foreign))["errors"][0]["status"] == "403");
    CHECK(status_of(patch("Host: " + own + "\r\nOrigin: null\r\n")) == 403);  // a file:// or sandboxed page
    CHECK(status_of(patch("Host: " + own + "\r\nOrigin: http://127.0.0.1:1\r\n")) == 403);
    // DNS rebinding: evil.example resolves to 127.0.0.1, so its page is "same origin" with itself
    auto rebinding = "evil.example:" + std::to_string(port);
    CHECK(status_of(patch("Host: " + rebinding + "\r\nOrigin: http://" + rebinding + "\r\n")) == 403);
    CHECK(status_of(get(port, "/", {}, rebinding)) == 403);
    CHECK(calls == 3);
    CHECK(status_of(get(port, "/")) == 200);
}

TEST_CASE("live server: an event stream receives every publish, and a new one first the last of each name") {
    loadkit::live_server s("127.0.0.1:0");
    s.event_stream("/events");
    s.publish("snapshot", "one");
    s.publish("final", "{\"done\":false}");
    s.publish("snapshot", "two\nlines");  // replaces "one" as the last snapshot
    s.start();
    auto port = s.port();
    auto request = "GET /events HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";

    // a stream opened now gets the replay (the names in first-published order), then what is published
    std::string got;
    std::thread reader([&] { got = raw_http(port, request, "data: three", 10s); });
    std::this_thread::sleep_for(300ms);
    s.publish("snapshot", "three");
    reader.join();
    INFO(got);
    CHECK(status_of(got) == 200);
    CHECK(got.find("Content-Type: text/event-stream") != std::string::npos);
    auto two = got.find("event: snapshot\ndata: two\ndata: lines\n\n");
    auto fin = got.find("event: final\ndata: {\"done\":false}\n\n");
    auto three = got.find("event: snapshot\ndata: three\n\n");
    CHECK(got.find("data: one") == std::string::npos);
    REQUIRE(two != std::string::npos);
    REQUIRE(fin != std::string::npos);
    REQUIRE(three != std::string::npos);
    CHECK(two < fin);
    CHECK(fin < three);

    // a later stream starts from the last of each: three, not two
    auto again = raw_http(port, request, "data: {\"done\":false}", 5s);
    CHECK(again.find("data: three") != std::string::npos);
    CHECK(again.find("data: two") == std::string::npos);
    // the origin rule holds for streams too
    CHECK(status_of(get(port, "/events", "Origin: http://evil.example\r\n")) == 403);
    s.stop();  // with no stream open now; and again by the destructor
}

namespace {

// Requests that pass, fail (404) and take a little while, with checks.
struct Shop : loadkit::Scenario<Shop> {
    struct User : loadkit::VU<Shop> {
        loadkit::task<> iteration() {
            auto& items = co_await http.get("/items", {.name = "items"});
            loadkit::check(items, {{"items: status 200", [](const loadkit::response& r) { return r.status == 200; }}});
            co_await http.get("/status/404", {.name = "missing <page>"});
            co_await http.get("/delay/2", {.name = "slow"});
            co_await sleep(10ms);
        }
    };
};

// The events of an event stream, read on a thread of its own until `final`
// arrives or the stream ends (bounded).
struct sse_reader {
    std::vector<std::pair<std::string, nlohmann::json>> events;  // (name, data)
    std::string raw;
    std::thread t;
    explicit sse_reader(unsigned short port) {
        t = std::thread([this, port] {
            raw = raw_http(port, "GET /events HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n",
                           "event: final\n", 60s);
        });
    }
    void join() {
        t.join();
        for (std::size_t at = raw.find("\r\n\r\n"); at != std::string::npos;) {
            auto e = raw.find("event: ", at);
            if (e == std::string::npos) break;
            auto nl = raw.find('\n', e);
            auto d = raw.find("data: ", nl);
            auto end = raw.find("\n\n", d);
            if (nl == std::string::npos || d == std::string::npos || end == std::string::npos) break;
            auto data = nlohmann::json::parse(raw.substr(d + 6, end - d - 6), nullptr, false);
            events.emplace_back(raw.substr(e + 7, nl - e - 7), data);
            at = end;
        }
    }
};

}  // namespace

TEST_CASE("dashboard: a run's snapshots as events rendered by the report's template, then the report itself") {
    loadkit::target_server target;
    loadkit::live_server server("127.0.0.1:0");
    loadkit::options o;
    o.name = "dashboard <smoke>";
    o.target = target.url();
    o.threads = 2;
    o.print_summary = false;
    o.progress_period = 200ms;
    o.thresholds = {{"http_req_duration", {"p(95)<2000"}}, {"http_req_failed", {"rate<0.01"}}};
    loadkit::dashboard dash(server, {.name = o.name, .thresholds = o.thresholds, .max_points = 600, .trend_stats = {}});
    server.start();
    auto port = server.port();

    // the page before any snapshot: the shell, its controls, and nothing loaded from elsewhere
    auto page = get(port, "/");
    CHECK(status_of(page) == 200);
    CHECK(page.find("Content-Type: text/html") != std::string::npos);
    auto html = body_of(page);
    CHECK(html.find("id=\"lk-controls\"") != std::string::npos);
    CHECK(html.find("new EventSource('events')") != std::string::npos);
    CHECK(html.find("dashboard &lt;smoke&gt;") != std::string::npos);
    for (auto* net : {"src=\"http", "href=\"http", "<script src", "<link", "@import", "url("})
        CHECK(html.find(net) == std::string::npos);

    loadkit::timeline_recorder rec;
    nlohmann::json requests;
    o.on_progress = [&](const loadkit::progress& p) {
        dash.update(p);
        rec.add(*p.metrics, p.elapsed_secs);
        if (p.final) requests = loadkit::requests_table(*p.metrics);
    };
    sse_reader reader(port);
    std::this_thread::sleep_for(100ms);  // the stream is open before the run starts
    loadkit::test<Shop> t(o);
    t.scenario("shop", loadkit::constant_vus{.vus = 3, .duration = 1500ms});
    auto result = t.run();
    auto results = result.summary;
    results["timeline"] = rec.json();
    results["requests"] = requests;
    dash.finish(results);
    CHECK(server.drain(5s));
    reader.join();
    std::string names;
    for (auto& [name, d] : reader.events) names += name + (d.is_discarded() ? "(not JSON) " : " ");
    INFO("events: " << names << "\nthe stream (" << reader.raw.size() << " bytes) ends with:\n"
                    << reader.raw.substr(reader.raw.size() - std::min<std::size_t>(reader.raw.size(), 600)));

    REQUIRE(reader.events.size() >= 4);
    double reqs_before = -1, elapsed_before = -1;
    int snapshots = 0;
    for (auto& [name, d] : reader.events) {
        REQUIRE_FALSE(d.is_discarded());
        if (name != "snapshot") continue;
        ++snapshots;
        CHECK_FALSE(d["final"].get<bool>());
        CHECK(d["reqs"].get<double>() >= reqs_before);
        CHECK(d["elapsed"].get<double>() >= elapsed_before);
        reqs_before = d["reqs"].get<double>();
        elapsed_before = d["elapsed"].get<double>();
        for (auto* k :
             {"lk-header", "lk-cards", "lk-thresholds", "lk-charts", "lk-requests", "lk-checks", "lk-metrics"})
            CHECK(d["html"].contains(k));
        auto header = d["html"]["lk-header"].get<std::string>();
        CHECK((header.find("RUNNING") != std::string::npos || header.find("FAILING") != std::string::npos));
    }
    CHECK(snapshots >= 3);
    auto& last = reader.events.back();
    REQUIRE(last.first == "final");
    auto& fin = last.second;
    CHECK(fin["final"] == true);
    CHECK(fin["state"] == "finished");
    double reqs = loadkit::find_metric(result.summary, "http_reqs")->at("count").get<double>();
    double failed = loadkit::find_metric(result.summary, "http_req_failed")->at("sum").get<double>();
    CHECK(fin["reqs"].get<double>() == reqs);
    CHECK(fin["failed"].get<double>() == failed);
    CHECK(failed > 0);
    CHECK(fin["thresholds_passed"] == false);  // every third request is a 404
    CHECK(fin["requests"].size() == 3);
    // one template: each part of the final event is the report's own part, character for character
    auto report = loadkit::html_report(results);
    for (auto& [id, part] : fin["html"].items()) {
        INFO(id);
        CHECK(report.find("<div id=\"" + id + "\">" + part.get<std::string>() + "</div>") != std::string::npos);
    }
    CHECK(fin["html"]["lk-requests"].get<std::string>().find("missing &lt;page&gt;") != std::string::npos);
    // a page opened now shows the end, and a new stream replays the last snapshot and the final event
    CHECK(body_of(get(port, "/")).find(fin["html"]["lk-cards"].get<std::string>()) != std::string::npos);
    auto replay = raw_http(port, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "event: final\n", 5s);
    CHECK(replay.find("event: snapshot\n") < replay.find("event: final\n"));
    CHECK(dash.events() == static_cast<std::size_t>(snapshots) + 1);
}

#ifdef LOADKIT_RUNNER_PATH
// The issue's browser test: `loadkit run --dashboard` watched by headless
// Chromium (DevTools protocol over --remote-debugging-pipe, driven by
// tests/dashboard_browser.py): the page's numbers change while the run goes
// on and end equal to the summary export's.
TEST_CASE("dashboard: headless Chromium watches loadkit run --dashboard, live and at the end") {
    if (!std::filesystem::exists("/usr/bin/chromium")) {
        WARN("/usr/bin/chromium is not installed: the dashboard was not watched in a browser (scripts/setup "
             "installs it)");
        return;
    }
    test_support::scratch dir;
    auto test = dir.write("live.yaml", R"(name: live dashboard
target: builtin
thresholds:
  http_req_duration: ['p(95)<2000']
  http_req_failed: ['rate<0.01']
scenarios:
  shoppers:
    executor: constant-vus
    vus: 3
    duration: 8s
    flow:
      - request: { name: items, url: /items }
        check: { status: 200 }
      - request: { name: missing, url: /status/404 }
      - think: 20ms
)");
    auto port = test_support::free_port();
    auto url = "http://127.0.0.1:" + std::to_string(port) + "/";
    auto summary = (dir.dir / "summary.json").string();
    auto run = test_support::start_runner(
        {"run", test, "-q", "--dashboard=127.0.0.1:" + std::to_string(port), "--summary-export", summary}, dir, "run");
    auto err = [&] { return test_support::read_text(dir.dir / "run.err"); };
    bool up = false;
    for (int i = 0; i < 400 && !up && run->running(); ++i) {
        up = err().find("dashboard on " + url) != std::string::npos;
        if (!up) std::this_thread::sleep_for(25ms);
    }
    INFO(err());
    REQUIRE(up);

    test_support::child browser({"/usr/bin/python3", std::string(LOADKIT_SOURCE_DIR) + "/tests/dashboard_browser.py",
                                 url, dir.dir.string(), "--gap", "2.5", "--limit", "60"},
                                (dir.dir / "browser.out").string(), (dir.dir / "browser.err").string());
    int browser_code = browser.wait(75s);
    int run_code = run->wait(30s);
    auto out = browser.out();
    INFO("browser: exit " << browser_code << "\n" << out << "\n" << browser.err().substr(0, 2000));
    CHECK(run_code == 99);  // the failure-rate threshold fails: every other request is a 404
    REQUIRE(browser_code == 0);
    auto j = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
    REQUIRE(j.is_object());
    auto &first = j["first"], &second = j["second"], &fin = j["final"];
    // live: numbers that change
    CHECK(first["updates"].get<int>() >= 1);
    CHECK(second["updates"].get<int>() > first["updates"].get<int>());
    CHECK(second["reqs"].get<double>() > first["reqs"].get<double>());
    CHECK(second["elapsed"].get<double>() > first["elapsed"].get<double>());
    CHECK(second["vus"].get<double>() == 3);
    CHECK(first["status"] == "FAILING");  // the failure rate is over 1% from the first second
    CHECK(second["charts"] == 4);
    // the end: the summary export's numbers, and the report's page
    auto s = nlohmann::json::parse(test_support::read_text(summary), nullptr, false);
    REQUIRE(s.is_object());
    double reqs = loadkit::find_metric(s, "http_reqs")->at("count").get<double>();
    double failed = loadkit::find_metric(s, "http_req_failed")->at("sum").get<double>();
    CHECK(fin["state"] == "finished");
    CHECK(fin["reqs"].get<double>() == reqs);
    CHECK(fin["failed"].get<double>() == failed);
    CHECK(fin["reqs_text"].get<std::string>().find(',') != std::string::npos);  // shown as 1,234
    CHECK(fin["status"] == "FAILED");
    auto badges = fin["thresholds"].get<std::vector<std::string>>();
    std::sort(badges.begin(), badges.end());
    CHECK(badges == std::vector<std::string>{"FAIL", "PASS"});  // duration green, failure rate red
    CHECK(fin["rendered"] == "ok");
    CHECK(fin["conn"] == "run over");
    // the buttons' first call (GET /v1/status): answered, or 404 while the control routes are not on this server
    CHECK((fin["control"] == "" || fin["control"] == "the control API is not served here"));
    REQUIRE(fin["requests"].size() == 2);
    auto png = j["screenshot"].get<std::string>();
    REQUIRE(std::filesystem::exists(png));
    CHECK(std::filesystem::file_size(png) > 20'000);
    if (auto* keep = std::getenv("LOADKIT_KEEP_SCREENSHOT"); keep && *keep)
        std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
}
#endif

}  // namespace LOADKIT_TEST_UNIT
