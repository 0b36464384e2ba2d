// The event mechanism of the engine's threads (core/uring.hpp): io_uring
// where the kernel gives a ring, else epoll; LOADKIT_IO=epoll forces epoll.
// The run's header names the one used, and what goes through the ring
// behaves as through epoll: a body larger than the socket's buffers (partial
// sends go on), a reset mid-response, a timeout that must cancel a pending
// receive, many connections on two threads. (scripts/test runs every test
// binary on both mechanisms: this file checks the ring's own edges.)
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include "body_scenario.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

using Ringed = test_support::body_scenario;

loadkit::run_result run_ringed(const std::string& url, int vus, int iterations,
                               std::function<loadkit::task<>(Ringed::User&)> body) {
    loadkit::options o;
    o.name = "io_backend";
    o.print_summary = false;
    o.handle_signals = false;
    o.threads = 2;
    o.target = url;
    return test_support::run_body(std::move(o), std::move(body), vus, iterations, 30s);
}

}  // namespace

TEST_CASE("io backend: the run's header names the event mechanism, and LOADKIT_IO=epoll is honoured",
          "[http][io]") {
    loadkit::target_server server;
    auto r = run_ringed(server.url(), 2, 2, [](Ringed::User& vu) -> loadkit::task<> { co_await vu.http.get("/"); });
    auto name = std::string(loadkit::io_mechanism());
    CHECK(r.report.find("2 threads, " + name) != std::string::npos);
    const char* forced = std::getenv("LOADKIT_IO");
    if (forced && std::string(forced) == "epoll") CHECK(name == "epoll");
    CHECK(r.metric("http_reqs").count == 4);
    CHECK(r.metric("http_req_failed").sum == 0);
    // sending ends when the kernel took the request, not when the loop next
    // looked: a small request on loopback takes microseconds either way
    CHECK(r.metric("http_req_sending").max < 50);  // ms
}

TEST_CASE("io backend: big bodies, resets, truncation and timeouts behave on the ring as on epoll", "[http][io]") {
    loadkit::target_server server;
    const std::string big(3 * 1024 * 1024 + 17, 'x');  // more than loopback's socket buffers: partial sends
    std::atomic<int> echoed_ok{0}, reset{0}, truncated{0}, timed_out{0}, fine{0};
    auto r = run_ringed(server.url(), 6, 3, [&](Ringed::User& vu) -> loadkit::task<> {
        auto& a = co_await vu.http.post("/echo", big);
        if (a.status == 200 && a.json()["body"].get<std::string>().size() == big.size()) ++echoed_ok;
        auto& b = co_await vu.http.get("/fault/reset");
        if (b.error_code != loadkit::error_code::none) ++reset;
        auto& c = co_await vu.http.get("/fault/truncate");
        if (c.error_code != loadkit::error_code::none) ++truncated;
        auto& d = co_await vu.http.get("/hang", {.timeout = 150ms});  // a receive pending in the ring, cancelled
        if (d.error_code == loadkit::error_code::request_timeout) ++timed_out;
        auto& e = co_await vu.http.get("/bytes/100000");
        if (e.status == 200 && e.body.size() == 100000) ++fine;
    });
    CHECK(echoed_ok == 18);
    CHECK(reset == 18);
    CHECK(truncated == 18);
    CHECK(timed_out == 18);
    CHECK(fine == 18);
    CHECK(r.metric("http_reqs").count == 90);
    CHECK(r.metric("iterations").count == 18);
}

// On io_uring a receive takes a buffer from the thread's ring only when its
// bytes arrive (connection::read_borrowed): more VUs than the ring has
// buffers (256) wait at once, heads longer than one buffer (4 KiB) are
// gathered, chunked bodies decode from the borrowed bytes.
TEST_CASE("io backend: receives into the ring's buffers: more VUs than buffers, heads longer than one",
          "[http][io]") {
    loadkit::target_server server;
    const std::string far = "/" + std::string(6000, 'a');
    std::atomic<int> ok{0}, long_head{0}, chunked{0};
    auto r = run_ringed(server.url(), 600, 2, [&](Ringed::User& vu) -> loadkit::task<> {
        auto& a = co_await vu.http.get("/");
        if (a.status == 200 && !a.body.empty()) ++ok;
        auto& b = co_await vu.http.get("/redirect-to?url=" + far, {.redirects = 0});
        if (b.status == 302 && b.header("location") == far) ++long_head;
        auto& c = co_await vu.http.get("/chunked");
        if (c.status == 200 && !c.body.empty()) ++chunked;
    });
    CHECK(ok == 1200);
    CHECK(long_head == 1200);
    CHECK(chunked == 1200);
    CHECK(r.metric("http_req_failed").sum == 0);
}

// On io_uring a connected socket is also held by the ring's registered-file
// table (uring::register_file): closing the descriptor alone would leave the
// connection open on the wire until the slot is let go. A request that
// times out closes its connection: the server must see the end at once,
// while the VU (and its client) live on.
TEST_CASE("io backend: a connection the client closes ends on the wire at once, the VU still running",
          "[http][io]") {
    int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(ls >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(ls, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
    const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
    // the server: accepts, reads the request, never answers, and times how
    // long until the client's end arrives (at most 5 s: bounded)
    std::atomic<long> closed_after_ms{-1};
    std::thread server([&] {
        pollfd p{ls, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) return;
        int s = ::accept(ls, nullptr, nullptr);
        if (s < 0) return;
        auto t0 = std::chrono::steady_clock::now();
        char buf[4096];
        for (;;) {
            pollfd q{s, POLLIN, 0};
            if (::poll(&q, 1, 5000) != 1) break;
            auto n = ::read(s, buf, sizeof buf);
            if (n <= 0) {
                closed_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - t0)
                                      .count();
                break;
            }
        }
        ::close(s);
    });
    std::atomic<int> timed_out{0};
    auto r = run_ringed(url, 1, 1, [&](Ringed::User& vu) -> loadkit::task<> {
        auto& res = co_await vu.http.get(url, {.timeout = 100ms});
        if (res.error_code == loadkit::error_code::request_timeout) ++timed_out;
        co_await vu.sleep(1500ms);  // the client lives on: its connection must be gone already
    });
    server.join();
    ::close(ls);
    CHECK(timed_out == 1);
    CHECK(closed_after_ms >= 0);
    CHECK(closed_after_ms < 1000);  // (the timeout is 100 ms; the VU sleeps until 1,600)
    CHECK(r.metric("http_reqs").count == 1);
}

}  // namespace LOADKIT_TEST_UNIT
