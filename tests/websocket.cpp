// WebSocket sessions (ws/session.hpp) from the C++ DSL and from YAML flows
// (plan/ws_steps.hpp), against the built-in target's /ws/ routes and an
// independent server (Python's websockets, tests/ws_peer.hpp).
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <loadkit.hpp>
#include <loadkit/target.hpp>
#include <loadkit/websocket.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "ws_peer.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

loadkit::options quiet_ws(const std::string& target, int threads = 1) {
    loadkit::options o;
    o.target = target;
    o.threads = threads;
    o.print_summary = false;
    o.handle_signals = false;
    return o;
}
double ws_count(const nlohmann::json& summary, std::string_view metric, const char* field = "count") {
    auto* a = loadkit::find_metric(summary, metric);
    if (!a) FAIL("no metric " << metric);
    return (*a)[field].get<double>();
}

// ------------------------------------------------------------ echo on the built-in target

struct Echo : loadkit::Scenario<Echo> {
    struct User : loadkit::VU<Echo> {
        loadkit::task<> iteration() {
            loadkit::ws_params p;
            p.protocols = {"chat", "other"};
            p.headers = {{"X-Test", "1"}};
            auto ws = co_await loadkit::websocket(http, "/ws/echo", p);  // a path on the target
            check(ws, {{"101", [](auto& s) { return s.status() == 101 && s.ok(); }},
                       {"subprotocol", [](auto& s) { return s.protocol() == "chat"; }}});
            co_await ws.send("hello");
            auto& a = co_await ws.receive(5s);
            check(a, {{"text echoed", [](auto& e) { return e.kind == loadkit::ws_kind::text && e.data == "hello"; }}});
            std::string bytes("\x00\x01\xff", 3);
            co_await ws.send_binary(bytes);
            auto& b = co_await ws.receive(5s);
            check(b,
                  {{"binary echoed", [&](auto& e) { return e.kind == loadkit::ws_kind::binary && e.data == bytes; }}});
            co_await ws.ping("p");
            auto& c = co_await ws.receive(5s);
            check(c, {{"pong", [](auto& e) { return e.kind == loadkit::ws_kind::pong && e.data == "p"; }}});
            co_await ws.close(1000);
            check(ws, {{"closed", [](auto& s) { return !s.is_open(); }}});
        }
    };
};

}  // namespace

TEST_CASE("websocket: echo of text and binary, ping and pong, close, ws_* metrics with k6's kinds and tags") {
    loadkit::target_server server;
    auto o = quiet_ws(server.url(), 2);
    // the url tag is the URL as the script gave it, a path here (a request's url/name tags are too)
    o.thresholds = {{"ws_sessions{status:101}", {"count==6"}},
                    {"ws_msgs_sent{subproto:chat}", {"count==12"}},
                    {"ws_msgs_received{url:/ws/echo}", {"count==12"}},
                    {"ws_connecting", {"p(95)<5000"}}};
    loadkit::test<Echo> t(o);
    t.scenario("chat", loadkit::per_vu_iterations{.vus = 2, .iterations = 3});
    auto r = t.run();
    CHECK(r.exit_code() == 0);
    for (auto& c : r.summary["checks"]) {
        INFO(c["name"]);
        CHECK(c["fails"] == 0);
        CHECK(c["passes"] == 6);
    }
    CHECK(ws_count(r.summary, "ws_sessions") == 6);
    CHECK(ws_count(r.summary, "ws_msgs_sent") == 12);  // pings and closes are not messages (as in k6)
    CHECK(ws_count(r.summary, "ws_msgs_received") == 12);
    CHECK(ws_count(r.summary, "ws_ping") == 6);
    CHECK(ws_count(r.summary, "ws_connecting") == 6);
    CHECK(ws_count(r.summary, "ws_session_duration") == 6);
    for (auto& th : r.summary["thresholds"]) {
        INFO(th.dump());
        CHECK(th["ok"] == true);
    }
    // k6's kinds: counters and (time) trends
    std::map<std::string, std::string> kinds;
    for (auto& m : r.summary["metrics"]) kinds[m["metric"]] = m["kind"];
    CHECK(kinds["ws_sessions"] == "counter");
    CHECK(kinds["ws_msgs_sent"] == "counter");
    CHECK(kinds["ws_msgs_received"] == "counter");
    CHECK(kinds["ws_ping"] == "trend");
    CHECK(kinds["ws_connecting"] == "trend");
    CHECK(kinds["ws_session_duration"] == "trend");
}

namespace {

struct Broadcast : loadkit::Scenario<Broadcast> {
    struct User : loadkit::VU<Broadcast> {
        loadkit::task<> iteration() {
            auto a = co_await loadkit::websocket(http, "/ws/broadcast");
            auto b = co_await loadkit::websocket(http, "/ws/broadcast");
            co_await sleep(100ms);  // both joined
            co_await a.send("to all");
            auto& ea = co_await a.receive(5s);
            check(ea, {{"sender gets it", [](auto& e) { return e.data == "to all"; }}});
            auto& eb = co_await b.receive(5s);
            check(eb, {{"other gets it", [](auto& e) { return e.data == "to all"; }}});
            co_await a.close();
            co_await b.close();
        }
    };
};

// Each outcome against Python's websockets, into `seen`.
inline std::map<std::string, std::string> seen;

struct Peer : loadkit::Scenario<Peer> {
    static inline std::string base, refused;
    struct User : loadkit::VU<Peer> {
        static std::string str(const loadkit::ws_event& e) {
            return std::string(loadkit::ws_kind_name(e.kind)) + " " + std::to_string(e.code) + " " + e.data;
        }
        loadkit::task<> iteration() {
            {  // the server closes with its code and reason
                auto ws = co_await loadkit::websocket(http, base + "/close/4001");
                seen["close"] = str(co_await ws.receive(5s));
                seen["close again"] = str(co_await ws.receive(5s));  // the end stays the end
            }
            {  // the server drops the connection: an error, then close 1006
                auto ws = co_await loadkit::websocket(http, base + "/drop");
                co_await ws.send("bye");
                seen["drop 1"] = str(co_await ws.receive(5s));
                seen["drop 2"] = str(co_await ws.receive(5s));
            }
            {  // the upgrade refused
                auto ws = co_await loadkit::websocket(http, base + "/missing");
                seen["missing"] = std::to_string(ws.status()) + " " + (ws.ok() ? "ok" : "not ok");
            }
            {  // nothing listens
                auto ws = co_await loadkit::websocket(http, refused);
                seen["refused"] = std::to_string(ws.status()) + " " + std::string(ws.error().empty() ? "" : "error");
            }
            {  // a receive that times out leaves the session open
                auto ws = co_await loadkit::websocket(http, base + "/silent");
                auto t0 = std::chrono::steady_clock::now();
                seen["silent"] = str(co_await ws.receive(200ms));
                seen["silent ms"] = std::to_string(
                    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
                        .count());
                seen["silent open"] = ws.is_open() ? "open" : "closed";
            }
            {  // the server's ping comes as an event (and is answered); then an echo; subprotocol
                loadkit::ws_params p;
                p.protocols = {"superchat"};
                auto ws = co_await loadkit::websocket(http, base + "/ping", p);
                seen["ping"] = str(co_await ws.receive(5s));
                co_await ws.send("after ping");
                seen["echo"] = str(co_await ws.receive(5s));
                seen["proto"] = std::string(ws.protocol());
                co_await ws.close(4000);
            }
        }
    };
};

struct Stuck : loadkit::Scenario<Stuck> {
    static inline std::string url;
    struct User : loadkit::VU<Stuck> {
        loadkit::task<> iteration() {
            auto ws = co_await loadkit::websocket(http, url);
            co_await ws.receive(1h);  // never answered: the end of the run must cut it
        }
    };
};

}  // namespace

TEST_CASE("websocket: the built-in target's broadcast route sends a message to every client") {
    loadkit::target_server server({.threads = 2});
    loadkit::test<Broadcast> t(quiet_ws(server.url()));
    t.scenario("b", loadkit::per_vu_iterations{.vus = 1, .iterations = 1});
    auto r = t.run();
    CHECK(r.exit_code() == 0);
    for (auto& c : r.summary["checks"]) {
        INFO(c["name"]);
        CHECK(c["passes"] == 1);
    }
}

TEST_CASE("websocket: against Python's websockets: close codes, a dropped connection, refusals, timeouts, pings") {
    ws_peer::server py;
    Peer::base = py.url();
    Peer::refused = "ws://127.0.0.1:" + std::to_string(test_support::free_port()) + "/";
    seen.clear();
    auto o = quiet_ws("http://127.0.0.1:1");
    o.thresholds = {{"ws_sessions{status:404}", {"count==1"}}, {"ws_sessions{status:101}", {"count==4"}}};
    loadkit::test<Peer> t(o);
    t.scenario("peer", loadkit::per_vu_iterations{.vus = 1, .iterations = 1});
    auto r = t.run();
    CHECK(r.exit_code() == 0);
    CHECK(seen["close"] == "close 4001 bye");
    CHECK(seen["close again"] == "close 4001 bye");
    CHECK(seen["drop 1"].starts_with("error "));
    CHECK(seen["drop 2"].starts_with("close 1006"));
    CHECK(seen["missing"] == "404 not ok");
    CHECK(seen["refused"] == "0 error");
    CHECK(seen["silent"].starts_with("timeout"));
    CHECK(std::stoi(seen["silent ms"]) >= 150);
    CHECK(std::stoi(seen["silent ms"]) < 3000);
    CHECK(seen["silent open"] == "open");
    CHECK(seen["ping"] == "ping 0 srv");
    CHECK(seen["echo"] == "text 0 after ping");
    CHECK(seen["proto"] == "superchat");
    // every attempt is a session, the failed ones too (as in k6)
    CHECK(ws_count(r.summary, "ws_sessions") == 6);
    CHECK(ws_count(r.summary, "ws_connecting") == 6);
    CHECK(ws_count(r.summary, "ws_session_duration") == 6);
    CHECK(ws_count(r.summary, "ws_msgs_sent") == 2);
    CHECK(ws_count(r.summary, "ws_msgs_received") == 1);
    for (auto& th : r.summary["thresholds"]) {
        INFO(th.dump());
        CHECK(th["ok"] == true);
    }
}

TEST_CASE("websocket: the end of a run cuts a VU waiting on an open socket") {
    loadkit::target_server server;
    Stuck::url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws/echo";
    loadkit::test<Stuck> t(quiet_ws(server.url()));
    t.scenario("stuck", loadkit::constant_vus{.vus = 2, .duration = 500ms, .graceful_stop = 200ms});
    auto t0 = std::chrono::steady_clock::now();
    auto r = t.run();
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < 10s);
    CHECK(ws_count(r.summary, "iterations_interrupted") == 2);
    CHECK(ws_count(r.summary, "ws_sessions") == 2);
    CHECK(ws_count(r.summary, "ws_session_duration") == 2);  // each session ended, and was counted
}

namespace {

// A host name rather than an IP literal: looked up (http/resolve.hpp), then
// found in the thread's DNS cache; a name that does not resolve says so.
struct ByName : loadkit::Scenario<ByName> {
    static inline std::string url;
    static inline std::vector<std::string> seen;
    struct User : loadkit::VU<ByName> {
        loadkit::task<> iteration() {
            std::vector<std::string> urls{url, url, "ws://nosuch.invalid:1/"};
            for (auto& u : urls) {
                auto ws = co_await loadkit::websocket(http, u);
                seen.push_back(std::to_string(ws.status()) + " " + std::string(ws.error()));
                if (ws.is_open()) co_await ws.close();
            }
        }
    };
};

}  // namespace

TEST_CASE("websocket: a URL with a host name connects (looked up, then from the thread's cache), an unknown name fails") {
    loadkit::target_server server;
    ByName::url = "ws://localhost:" + std::to_string(server.port()) + "/ws/echo";
    ByName::seen.clear();
    loadkit::test<ByName> t(quiet_ws(server.url()));
    t.scenario("by name", loadkit::per_vu_iterations{.vus = 1, .iterations = 1});
    auto r = t.run();
    REQUIRE(ByName::seen.size() == 3);
    CHECK(ByName::seen[0] == "101 ");
    CHECK(ByName::seen[1] == "101 ");
    CHECK(ByName::seen[2].starts_with("0 lookup nosuch.invalid: "));
    CHECK(ws_count(r.summary, "ws_sessions") == 3);
}

TEST_CASE("websocket: YAML flows connect, send, receive with checks and captures, and close") {
    loadkit::target_server server;
    test_support::scratch s;
    auto file = s.write("ws.yaml", R"(
name: ws
scenarios:
  chat:
    executor: per-vu-iterations
    vus: 2
    iterations: 2
    flow:
      - ws_connect: { url: /ws/echo, name: chat, protocols: [chat] }
      - ws_send: '{"hello": "vu {{ vu }}", "n": 1}'
      - ws_receive: { timeout: 2s, check: { 'json.n': 1, body: hello }, capture: { said: json.hello } }
      - ws_send: 'again {{ said }}'
      - ws_receive: { check: { body: again vu } }
      - ws_close: 1000
)");
    auto p = loadkit::yaml::load_file(file);
    auto o = quiet_ws(server.url());
    o.thresholds = {{"ws_sessions{name:chat}", {"count==4"}}};
    auto r = loadkit::yaml::run(p, o);
    CHECK(r.exit_code() == 0);
    std::map<std::string, std::pair<int, int>> got;
    for (auto& c : r.summary["checks"]) got[c["name"]] = {c["passes"].get<int>(), c["fails"].get<int>()};
    CHECK(got["ws_receive: json.n is 1"] == std::pair{4, 0});
    CHECK(got["ws_receive: body contains hello"] == std::pair{4, 0});
    CHECK(got["ws_receive: body contains again vu"] == std::pair{4, 0});
    CHECK(ws_count(r.summary, "ws_msgs_sent") == 8);
    CHECK(ws_count(r.summary, "ws_msgs_received") == 8);
    for (auto& th : r.summary["thresholds"]) {
        INFO(th.dump());
        CHECK(th["ok"] == true);
    }
}

TEST_CASE("websocket: YAML steps are validated with the file and line of the mistake") {
    test_support::scratch s;
    auto bad = [&](const std::string& flow) -> std::string {
        auto file = s.write("bad.yaml", "scenarios:\n  s:\n    executor: shared-iterations\n    flow:\n" + flow);
        try {
            loadkit::yaml::load_file(file);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "loaded";
    };
    auto e1 = bad("      - ws_sned: hi\n");
    CHECK(e1.find("bad.yaml:5") != std::string::npos);
    CHECK(e1.find("did you mean 'ws_send'") != std::string::npos);
    auto e2 = bad("      - ws_receive: { check: { status: 200 } }\n");
    CHECK(e2.find("bad.yaml:5") != std::string::npos);
    CHECK(e2.find("a message has no status") != std::string::npos);
    auto e3 = bad("      - ws_connect: ftp://x/\n");
    CHECK(e3.find("expected a ws:// or wss:// URL") != std::string::npos);
    auto e4 = bad("      - ws_close: 99\n");
    CHECK(e4.find("close code") != std::string::npos);
    auto e5 = bad("      - ws_connect: { url: /ws/echo, protocol: chat }\n");
    CHECK(e5.find("protocol") != std::string::npos);
}

}  // namespace LOADKIT_TEST_UNIT
