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
#include <stdexcept>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include "body_scenario.hpp"
#include "raw_listener.hpp"
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

using test_support::raw_listener;

// Reads a request head on `s` (at most 5 s); false when the peer ended.
bool read_request(int s) {
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos) {
        pollfd q{s, POLLIN, 0};
        if (::poll(&q, 1, 5000) != 1) return false;
        auto n = ::read(s, buf, sizeof buf);
        if (n <= 0) return false;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

void write_all(int s, const std::string& bytes) {
    for (std::size_t at = 0; at < bytes.size();) {
        auto n = ::send(s, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
        if (n <= 0) return;
        at += static_cast<std::size_t>(n);
    }
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
    raw_listener ls;
    const std::string url = ls.url;
    // the server: accepts, reads the request, never answers, and times how
    // long until the client's end arrives (at most 5 s: bounded)
    std::atomic<long> closed_after_ms{-1};
    std::thread server([&] {
        int s = ls.accept_within(5000);
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
    CHECK(timed_out == 1);
    CHECK(closed_after_ms >= 0);
    CHECK(closed_after_ms < 1000);  // (the timeout is 100 ms; the VU sleeps until 1,600)
    CHECK(r.metric("http_reqs").count == 1);
}

// On io_uring a plain connection's receive stays armed between responses
// (connection::ms, a multishot receive), and a small request is posted, not
// awaited (connection::post_write): what the server does while the VU is not
// reading must come out as it does on epoll. A kept-alive connection the
// server ends during the VU's sleep, with a FIN or with a reset (on the
// ring the next request is posted, its read finds the end at once, and the
// posted write, failed or cancelled, is waited for before the retry): the
// next request goes on a new connection, nothing fails.
TEST_CASE("io backend: a kept-alive connection the server closes while the VU sleeps is replaced, nothing fails",
          "[http][io]") {
    for (bool reset : {false, true}) {
        INFO((reset ? "ended with a reset" : "ended with a FIN"));
        raw_listener ls;
        std::atomic<int> accepted{0};
        std::thread server([&] {
            for (int i = 0; i < 2; ++i) {
                int s = ls.accept_within(5000);
                if (s < 0) return;
                ++accepted;
                if (read_request(s)) write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                if (i == 0) {
                    std::this_thread::sleep_for(100ms);  // then the end, while the VU sleeps
                    if (reset) {
                        ::linger l{1, 0};  // close() sends a reset
                        ::setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                    }
                } else {
                    read_request(s);  // (until the client lets go)
                }
                ::close(s);
            }
        });
        std::atomic<int> ok{0};
        auto r = run_ringed(ls.url, 1, 1, [&](Ringed::User& vu) -> loadkit::task<> {
            if ((co_await vu.http.get(ls.url)).status == 200) ++ok;
            co_await vu.sleep(400ms);
            if ((co_await vu.http.get(ls.url)).status == 200) ++ok;
        });
        server.join();
        CHECK(ok == 2);
        CHECK(accepted == 2);
        CHECK(r.metric("http_req_failed").sum == 0);
    }
}

// Bytes a server sends unasked (here 2 MiB after its answer, more than the
// thread's 256 ring buffers of 4 KiB) wait for a reader in those buffers: a
// few at most, or the thread's other connections would find none free while
// that VU sleeps (their requests here time out after 200 ms).
TEST_CASE("io backend: bytes a server sends unasked do not starve the thread's other connections", "[http][io]") {
    raw_listener ls;
    loadkit::target_server good;
    std::thread server([&] {
        int s = ls.accept_within(5000);
        if (s < 0) return;
        if (read_request(s)) write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + std::string(2 * 1024 * 1024, 'x'));
        read_request(s);  // whatever comes, until the client lets go (at most 5 s)
        ::close(s);
    });
    std::atomic<int> first_ok{0}, others_ok{0};
    loadkit::options o;
    o.name = "io_backend";
    o.print_summary = false;
    o.handle_signals = false;
    o.threads = 1;  // one ring for all
    auto r = test_support::run_body(
        std::move(o),
        [&](Ringed::User& vu) -> loadkit::task<> {
            if (vu.id() == 1) {
                if ((co_await vu.http.get(ls.url)).status == 200) ++first_ok;
                co_await vu.sleep(1000ms);  // the unasked bytes arrive meanwhile
                co_await vu.http.get(ls.url, {.timeout = 1s});  // (what it gets is garbage: fails, never hangs)
                co_return;
            }
            for (int i = 0; i < 20; ++i) {
                if ((co_await vu.http.get(good.url() + "/bytes/6000", {.timeout = 200ms})).status == 200) ++others_ok;
                co_await vu.sleep(10ms);
            }
        },
        20, 1, 30s);
    server.join();
    CHECK(first_ok == 1);
    CHECK(others_ok == 19 * 20);
    CHECK(r.metric("iterations").count == 20);
}

}  // namespace LOADKIT_TEST_UNIT
