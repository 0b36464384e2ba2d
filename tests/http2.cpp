// HTTP/2 (loadkit::http2) against servers the tests start on 127.0.0.1:
// nginx with h2 over TLS (ALPN), h2c and a TLS listener without h2, and a
// hand-written HTTP/2 server for the failures nginx does not make on demand.
// The client's requests run inside a tiny scenario, as in http.cpp; what a
// test checks is copied out of the responses and REQUIREd after the run.
#include <catch2/catch.hpp>
#include <loadkit.hpp>
#include <loadkit/http2.hpp>

#include <functional>
#include <string>
#include <vector>

#include "h2_servers.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using loadkit::error_code;

namespace {

struct seen {
    int status = 0;
    int error = 0;
    std::string error_text, body, url, proto, status_text, content_type;
    std::size_t redirects = 0;
    loadkit::timings timings;
    bool tls = false;
};
seen snap(const loadkit::response& r) {
    return {r.status,
            static_cast<int>(r.error_code),
            r.error,
            r.body,
            r.url,
            std::string(r.proto),
            std::string(r.status_text),
            std::string(r.header("content-type")),
            r.redirects,
            r.timings,
            r.tls() != nullptr};
}

struct Generic : loadkit::Scenario<Generic> {
    struct User : loadkit::VU<Generic> {
        loadkit::task<> iteration();
    };
};
using body_fn = std::function<loadkit::task<>(Generic::User&)>;
body_fn* g_body = nullptr;
loadkit::task<> Generic::User::iteration() { co_await (*g_body)(*this); }

loadkit::options base_options(loadkit::http2_mode mode = loadkit::http2_mode::alpn) {
    loadkit::options o;
    o.name = "test_http2";
    o.print_summary = false;
    o.threads = 1;
    o.http.insecure_skip_tls_verify = true;  // nginx's certificate is self-signed
    o.http.http2 = mode;
    return o;
}
loadkit::run_result run_vu(loadkit::options opts, body_fn body) {
    g_body = &body;
    struct reset {
        ~reset() { g_body = nullptr; }
    } r;
    loadkit::test<Generic> t(std::move(opts));
    t.scenario("s", loadkit::per_vu_iterations{.vus = 1, .iterations = 1, .max_duration = 20s});
    return t.run();
}
double metric(const loadkit::run_result& r, std::string_view name, const char* field) {
    auto* m = loadkit::find_metric(r.summary, name);
    REQUIRE(m != nullptr);
    return (*m).at(field).get<double>();
}

}  // namespace

TEST_CASE("http2: ALPN chooses h2 over TLS, timings fall in the right phases", "[http2]") {
    auto& ng = h2_test::nginx();
    std::vector<seen> got;
    auto r = run_vu(base_options(), [&](Generic::User& u) -> loadkit::task<> {
        got.push_back(snap(co_await u.http.get(ng.https() + "/info")));
        got.push_back(snap(co_await u.http.get(ng.https() + "/info")));
        got.push_back(snap(co_await u.http.get(ng.https() + "/missing")));
    });
    REQUIRE(got.size() == 3);
    auto& a = got[0];
    CHECK(a.status == 200);
    CHECK(a.proto == "HTTP/2.0");
    CHECK(a.status_text == "OK");
    CHECK(a.body.starts_with("HTTP/2.0 GET conn="));
    CHECK(a.content_type == "text/plain");
    CHECK(a.tls);
    // the request that opened the connection: connecting and TLS; then each stream
    CHECK(a.timings.connecting > 0);
    CHECK(a.timings.tls_handshaking > 0);
    CHECK(a.timings.blocked >= a.timings.connecting + a.timings.tls_handshaking);  // k6's GetConn to GotConn
    CHECK(a.timings.waiting > 0);
    CHECK(a.timings.duration == a.timings.sending + a.timings.waiting + a.timings.receiving);
    auto& b = got[1];
    CHECK(b.proto == "HTTP/2.0");
    CHECK(b.timings.connecting == 0);
    CHECK(b.timings.tls_handshaking == 0);
    CHECK(b.timings.waiting > 0);
    CHECK(b.body == a.body);  // the same connection (nginx's $connection)
    CHECK(got[2].status == 404);
    CHECK(got[2].error == 1404);
    CHECK(metric(r, "http_reqs", "count") == 3);
    CHECK(metric(r, "http_req_failed", "sum") == 1);
}

TEST_CASE("http2: h2c by prior knowledge, HTTP/1.1 without h2 or when turned off", "[http2]") {
    auto& ng = h2_test::nginx();
    std::vector<seen> got;
    run_vu(base_options(loadkit::http2_mode::prior_knowledge), [&](Generic::User& u) -> loadkit::task<> {
        got.push_back(snap(co_await u.http.get(ng.h2c_url() + "/info")));
        got.push_back(snap(co_await u.http.post(ng.h2c_url() + "/info", "abc")));
        got.push_back(snap(co_await u.http.get(ng.https_h1() + "/info")));  // ALPN: the server has no h2
    });
    REQUIRE(got.size() == 3);
    CHECK(got[0].proto == "HTTP/2.0");
    CHECK(got[0].body.starts_with("HTTP/2.0 GET"));
    CHECK_FALSE(got[0].tls);
    CHECK(got[1].body.starts_with("HTTP/2.0 POST"));
    CHECK(got[1].body.find("len=3") != std::string::npos);
    CHECK(got[2].status == 200);
    CHECK(got[2].proto == "HTTP/1.1");
    CHECK(got[2].body.starts_with("HTTP/1.1 GET"));
    got.clear();
    run_vu(base_options(loadkit::http2_mode::http1), [&](Generic::User& u) -> loadkit::task<> {
        got.push_back(snap(co_await u.http.get(ng.https() + "/info")));
    });
    REQUIRE(got.size() == 1);
    CHECK(got[0].proto == "HTTP/1.1");
    CHECK(got[0].body.starts_with("HTTP/1.1 GET"));
}

TEST_CASE("http2: redirects, cookies and basic auth as on HTTP/1.1", "[http2]") {
    auto& ng = h2_test::nginx();
    std::vector<seen> got;
    auto r = run_vu(base_options(), [&](Generic::User& u) -> loadkit::task<> {
        got.push_back(snap(co_await u.http.get(ng.https() + "/redirect")));
        got.push_back(snap(co_await u.http.get(ng.https() + "/info")));
        got.push_back(snap(co_await u.http.get("https://user:pass@127.0.0.1:" + std::to_string(ng.tls_h2) + "/basic")));
        got.push_back(snap(co_await u.http.get("https://user:nope@127.0.0.1:" + std::to_string(ng.tls_h2) + "/basic")));
    });
    REQUIRE(got.size() == 4);
    CHECK(got[0].status == 200);
    CHECK(got[0].redirects == 2);
    CHECK(got[0].url == ng.https() + "/info");
    CHECK(got[0].body.find("cookie=sess=abc") != std::string::npos);  // set on the way, sent on the last hop
    CHECK(got[1].body.find("cookie=sess=abc") != std::string::npos);
    CHECK(got[2].status == 200);
    CHECK(got[2].body == "authed\n");
    CHECK(got[3].status == 401);
    CHECK(metric(r, "http_reqs", "count") == 6);  // every hop counts
}

namespace {
struct hook_log {
    std::vector<std::string> before, after;
};
hook_log* g_hooks = nullptr;
struct Hooked : loadkit::Scenario<Hooked> {
    struct User : loadkit::VU<Hooked> {
        std::string base;
        void before_request(loadkit::request& r) {
            g_hooks->before.push_back(r.method + " " + r.url);
            r.headers.emplace_back("X-Hooked", "yes");
        }
        void after_request(const loadkit::response& r) {
            g_hooks->after.push_back(std::string(r.proto) + " " + std::to_string(r.status) + " " + r.body);
        }
        loadkit::task<> iteration() {
            co_await http.get(h2_test::nginx().https() + "/info");
            co_await http.post(h2_test::nginx().https() + "/info", "12345");
        }
    };
};
}  // namespace

TEST_CASE("http2: before_request and after_request run around each request", "[http2]") {
    h2_test::nginx();
    hook_log log;
    g_hooks = &log;
    loadkit::test<Hooked> t(base_options());
    t.scenario("hooks", loadkit::per_vu_iterations{.vus = 1, .iterations = 1, .max_duration = 20s});
    t.run();
    g_hooks = nullptr;
    REQUIRE(log.before.size() == 2);
    REQUIRE(log.after.size() == 2);
    CHECK(log.before[1].starts_with("POST https://"));
    CHECK(log.after[0].starts_with("HTTP/2.0 200 HTTP/2.0 GET"));
    CHECK(log.after[0].find("hooked=yes") != std::string::npos);
    CHECK(log.after[1].find("POST") != std::string::npos);
    CHECK(log.after[1].find("len=5") != std::string::npos);
}

TEST_CASE("http2: the stream API runs concurrent streams on one connection", "[http2]") {
    auto& ng = h2_test::nginx();
    std::vector<std::string> bodies;
    std::vector<int> statuses;
    std::string connect_error;
    run_vu(base_options(), [&](Generic::User& u) -> loadkit::task<> {
        auto s = co_await loadkit::h2_connect(u.http, ng.https());
        if (!s) {
            connect_error = u.http.last().error;
            co_return;
        }
        std::vector<std::unique_ptr<loadkit::detail::h2_stream>> streams;
        std::pair<std::string_view, std::string_view> hs[] = {{"X-Hooked", "stream"}};
        for (int i = 0; i < 8; ++i) {
            streams.push_back(std::make_unique<loadkit::detail::h2_stream>());
            streams.back()->open(*s, "POST", "https", "127.0.0.1", "/info", hs, false);
        }
        for (auto& st : streams) st->write("0123456789", true);
        for (auto& st : streams) {
            while (!st->done()) co_await st->wait();
            statuses.push_back(st->status());
            bodies.push_back(st->data());
        }
    });
    REQUIRE(connect_error.empty());
    REQUIRE(bodies.size() == 8);
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        CHECK(statuses[i] == 200);
        CHECK(bodies[i] == bodies[0]);  // one connection: one $connection
        CHECK(bodies[i].starts_with("HTTP/2.0 POST"));
        CHECK(bodies[i].find("hooked=stream") != std::string::npos);  // (no content-length: the stream API adds none)
    }
}

TEST_CASE("http2: a reset stream, GOAWAY, a close mid-response and a silent server are counted failures", "[http2]") {
    using mode = h2_test::h2_raw_server::mode;
    struct expectation {
        mode m;
        int code;
    };
    // k6's numbers: 1630 + 1 + INTERNAL_ERROR (2); 1610 + 1 + ENHANCE_YOUR_CALM (11)
    for (auto [m, code] : {expectation{mode::reset, 1633}, expectation{mode::goaway, 1622},
                           expectation{mode::close_mid_response, 1230}, expectation{mode::silent, 1050}}) {
        h2_test::h2_raw_server server(m);
        auto o = base_options(loadkit::http2_mode::prior_knowledge);
        o.http.timeout = 300ms;
        std::vector<seen> got;
        auto r = run_vu(o, [&](Generic::User& u) -> loadkit::task<> {
            got.push_back(snap(co_await u.http.get(server.url() + "/a")));
            got.push_back(snap(co_await u.http.get(server.url() + "/b")));
        });
        INFO("mode " << static_cast<int>(m));
        REQUIRE(got.size() == 2);
        for (auto& g : got) {
            CHECK(g.status == 0);
            CHECK(g.error == code);
            CHECK_FALSE(g.error_text.empty());
        }
        CHECK(metric(r, "http_reqs", "count") == 2);
        CHECK(metric(r, "http_req_failed", "sum") == 2);
    }
    // and a well-behaved hand-written server works with the same client
    h2_test::h2_raw_server ok(mode::ok);
    std::vector<seen> got;
    run_vu(base_options(loadkit::http2_mode::prior_knowledge), [&](Generic::User& u) -> loadkit::task<> {
        got.push_back(snap(co_await u.http.get(ok.url() + "/")));
        got.push_back(snap(co_await u.http.get(ok.url() + "/")));
    });
    REQUIRE(got.size() == 2);
    CHECK(got[1].status == 200);
    CHECK(got[1].body == "ok");
    CHECK(ok.connections() == 1);
}

}  // namespace LOADKIT_TEST_UNIT
