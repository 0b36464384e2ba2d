// dashboard: the live server (outputs/live_server.hpp) every live page and
// control route sits on, and the live dashboard (outputs/dashboard.hpp):
//   - live_server: routes, 404/405, the origin rule (a foreign Origin and a
//     DNS-rebinding Host are refused), bounded bodies, server-sent events
//     with the last event of each name replayed to a new stream;
//   - the dashboard's events and page, and the runner's --dashboard in
//     headless Chromium (tests/dashboard_browser.py), compiled into test_report.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <loadkit/outputs/live_server.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

// A raw HTTP/1.1 exchange on 127.0.0.1:port: sends `request` as written and
// reads until `until` appears in what came back, the peer closes, or `limit`.
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
    while (until.empty() || got.find(until) == std::string::npos) {
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

}  // namespace LOADKIT_TEST_UNIT
