// k6's --local-ips (http/local_ips.hpp): its syntax (IPs, ranges, CIDRs),
// how VUs take the addresses, and the client binding each connection to its
// VU's address: the built-in target sees requests from each, on loopback
// (all of 127.0.0.0/8 is local on Linux); an address that is not local fails
// the connect as k6's does (error 1213), counted, never a crash.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>

#include <sys/resource.h>
#include <string>
#include <vector>

#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include "body_scenario.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

std::string at(const loadkit::local_ip_pool& p, std::uint64_t vu) { return p.at(vu).to_string(); }

// The reason a text is refused ("" when it is not).
std::string refusal(std::string_view text) {
    loadkit::local_ip_pool p;
    std::string why;
    return p.parse(text, why) ? std::string() : why;
}

using Sourced = test_support::body_scenario;

// `vus` VUs doing `iterations` GETs of `url` each, with these local IPs.
loadkit::run_result run_from(const std::string& url, const std::string& local_ips, int vus, int iterations,
                             std::function<loadkit::task<>(Sourced::User&)> body, int threads = 2) {
    loadkit::options o;
    o.name = "local_ips";
    o.print_summary = false;
    o.handle_signals = false;
    o.threads = threads;
    o.target = url;
    o.http.local_ips = loadkit::local_ip_pool(local_ips);
    return test_support::run_body(std::move(o), std::move(body), vus, iterations);
}

double metric(const nlohmann::json& summary, std::string_view name, const char* field) {
    auto* m = loadkit::find_metric(summary, name);
    REQUIRE(m != nullptr);
    return (*m).at(field).get<double>();
}

}  // namespace

TEST_CASE("local IPs: k6's syntax, IPs, ranges and CIDRs, taken in order by VU and wrapping", "[http][local_ips]") {
    SECTION("one IP, a list, a range and a CIDR (v4 and v6)") {
        loadkit::local_ip_pool one("192.168.0.101");
        CHECK(one.size() == 1);
        CHECK(at(one, 1) == "192.168.0.101");
        CHECK(at(one, 13) == "192.168.0.101");
        loadkit::local_ip_pool two("192.168.0.101,192.168.0.102");
        CHECK(at(two, 1) == "192.168.0.101");
        CHECK(at(two, 2) == "192.168.0.102");
        CHECK(at(two, 13) == "192.168.0.101");
        CHECK(at(two, 14) == "192.168.0.102");
        // k6's own example: 5 + 65536 addresses; VU n takes address n-1
        loadkit::local_ip_pool mixed("192.168.0.101-192.168.0.105,fd00::2/112");
        CHECK(mixed.size() == 65541);
        CHECK(at(mixed, 1) == "192.168.0.101");
        CHECK(at(mixed, 2) == "192.168.0.102");
        CHECK(at(mixed, 5) == "192.168.0.105");
        CHECK(at(mixed, 6) == "fd00::");
        CHECK(at(mixed, 7) == "fd00::1");
        CHECK(at(mixed, 65541) == "fd00::ffff");
        CHECK(at(mixed, 65542) == "192.168.0.101");
        CHECK(at(mixed, 0) == "192.168.0.101");  // setup's and teardown's: the first
        // a repeated address gets its share again: 1:2
        loadkit::local_ip_pool weighted("127.0.0.2,127.0.0.3,127.0.0.3");
        CHECK(at(weighted, 1) == "127.0.0.2");
        CHECK(at(weighted, 2) == "127.0.0.3");
        CHECK(at(weighted, 3) == "127.0.0.3");
        CHECK(at(weighted, 4) == "127.0.0.2");
    }
    SECTION("IPv4 CIDRs wider than /31 leave out the network and broadcast addresses; IPv6 ones do not") {
        loadkit::local_ip_pool wide("192.168.0.10/16");
        CHECK(wide.size() == 65534);
        CHECK(at(wide, 1) == "192.168.0.1");
        CHECK(at(wide, 65534) == "192.168.255.254");
        loadkit::local_ip_pool pair("192.168.0.10/31");
        CHECK(pair.size() == 2);
        CHECK(at(pair, 1) == "192.168.0.10");
        CHECK(at(pair, 2) == "192.168.0.11");
        CHECK(loadkit::local_ip_pool("192.168.0.10/32").size() == 1);
        loadkit::local_ip_pool loop("127.0.0.0/30");  // 127.0.0.1 and 127.0.0.2
        CHECK(loop.size() == 2);
        CHECK(at(loop, 1) == "127.0.0.1");
        CHECK(at(loop, 2) == "127.0.0.2");
        loadkit::local_ip_pool v6("fd00::3/120");
        CHECK(v6.size() == 256);
        CHECK(at(v6, 1) == "fd00::");
        CHECK(at(v6, 256) == "fd00::ff");
        CHECK(loadkit::local_ip_pool("::/0").size() == ~std::uint64_t{0});  // saturated, still usable
        CHECK(at(loadkit::local_ip_pool("::/0"), 3) == "::2");
    }
    SECTION("nothing is none; spaces around an item are allowed (k6 refuses them)") {
        CHECK(loadkit::local_ip_pool("").empty());
        CHECK(loadkit::local_ip_pool().empty());
        loadkit::local_ip_pool spaced(" 127.0.0.2 , 127.0.0.3-127.0.0.4 ");
        CHECK(spaced.size() == 3);
        CHECK(at(spaced, 3) == "127.0.0.4");
        CHECK(spaced.text() == " 127.0.0.2 , 127.0.0.3-127.0.0.4 ");
    }
}

TEST_CASE("local IPs: mistakes say what was expected and k6's reason, and change nothing", "[http][local_ips]") {
    const std::string expected = "expected IPs, ranges (FIRST-LAST) or CIDRs (ADDRESS/PREFIX) separated by commas";
    struct bad {
        const char* text;
        const char* found;
        const char* reason;  // k6's words
    };
    for (auto b :
         std::vector<bad>{{"whatever", "whatever", "not a valid IP, IP range or CIDR"},
                          {"192.168.0.1012", "192.168.0.1012", "not a valid IP, IP range or CIDR"},
                          {"192.168.0.10/244", "192.168.0.10/244", "invalid CIDR address"},
                          {"fd00::0/244", "fd00::0/244", "invalid CIDR address"},
                          {"10.0.0.0/", "10.0.0.0/", "invalid CIDR address"},
                          {"10.0.0.0/x", "10.0.0.0/x", "invalid CIDR address"},
                          {"192.168.0.101-192.168.0.102/32", "192.168.0.101-192.168.0.102/32", "wrong IP range format"},
                          {"192.168.0.101-fd00::1", "192.168.0.101-fd00::1", "mixed IP range format"},
                          {"fd00::1-192.168.0.101", "fd00::1-192.168.0.101", "mixed IP range format"},
                          {"192.168.0.100-192.168.0.2", "192.168.0.100-192.168.0.2", "negative IP range"},
                          {"fd00:1:1:0::0-fd00:1:0:ff::3ff", "fd00:1:1:0::0-fd00:1:0:ff::3ff", "negative IP range"},
                          {"127.0.0.2,", "", "not a valid IP, IP range or CIDR"},
                          {"127.0.0.2,,127.0.0.3", "", "not a valid IP, IP range or CIDR"},
                          {"fe80::1%lo", "fe80::1%lo", "not a valid IP, IP range or CIDR"},
                          {"localhost", "localhost", "not a valid IP, IP range or CIDR"}}) {
        INFO(b.text);
        auto why = refusal(b.text);
        CHECK_THAT(why, Catch::StartsWith(expected));
        CHECK_THAT(why, Catch::Contains("found '" + std::string(b.found) + "' (" + b.reason + ")"));
    }
    loadkit::local_ip_pool kept("127.0.0.2");
    std::string why;
    CHECK_FALSE(kept.parse("127.0.0.3,nope", why));
    CHECK(kept.size() == 1);
    CHECK(at(kept, 1) == "127.0.0.2");
    CHECK_THROWS_AS(loadkit::local_ip_pool("nope"), loadkit::config_error);
}

TEST_CASE("local IPs: VUs connect from their addresses, and the target sees requests from each", "[http][local_ips]") {
    loadkit::target_server server;  // on 127.0.0.1
    std::atomic<int> ok{0};
    auto body = [&](Sourced::User& u) -> loadkit::task<> {
        auto& r = co_await u.http.get("/");
        if (r.status == 200) ++ok;
    };
    SECTION("8 VUs over a range of 4, on two threads: 2 VUs, 6 requests from each address") {
        auto r = run_from(server.url(), "127.0.0.2-127.0.0.5", 8, 3, body);
        CHECK(ok == 24);
        CHECK(metric(r.summary, "http_req_failed", "sum") == 0);
        for (auto a : {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}) {
            INFO(a);
            CHECK(server.requests_from(a) == 6);
        }
        CHECK(server.requests_from("127.0.0.1") == 0);
        CHECK(server.connections() == 8);  // kept alive: one connection per VU, bound once
        CHECK(server.peers().size() == 4);
    }
    SECTION("a list with a repeated address, and a CIDR") {
        auto r = run_from(server.url(), "127.0.0.2,127.0.0.3,127.0.0.3", 6, 2, body);
        CHECK(ok == 12);
        CHECK(server.requests_from("127.0.0.2") == 4);
        CHECK(server.requests_from("127.0.0.3") == 8);
        server.reset_stats();
        ok = 0;
        run_from(server.url(), "127.0.0.8/30", 4, 1, body);  // 127.0.0.9 and 127.0.0.10
        CHECK(ok == 4);
        CHECK(server.requests_from("127.0.0.9") == 2);
        CHECK(server.requests_from("127.0.0.10") == 2);
        CHECK(server.requests_from("127.0.0.8") == 0);
    }
}

TEST_CASE("local IPs: an address that is not local fails the connect (1213, as k6), counted", "[http][local_ips]") {
    loadkit::target_server server;
    std::mutex mu;
    std::vector<std::pair<loadkit::error_code, std::string>> seen;
    auto body = [&](Sourced::User& u) -> loadkit::task<> {
        auto& r = co_await u.http.get("/");
        std::lock_guard lock(mu);
        seen.emplace_back(r.error_code, r.error);
    };
    SECTION("192.0.2.123 (TEST-NET-1) is not this machine's: bind fails, every request is failed") {
        auto r = run_from(server.url(), "192.0.2.123", 2, 2, body);
        CHECK(r.exit_code() == 0);
        CHECK(metric(r.summary, "http_reqs", "count") == 4);
        CHECK(metric(r.summary, "http_req_failed", "sum") == 4);
        REQUIRE(seen.size() == 4);
        for (auto& [code, text] : seen) {
            CHECK(code == loadkit::error_code::dial_os_error);
            CHECK(static_cast<int>(code) == 1213);
            CHECK_THAT(text, Catch::Contains("bind 192.0.2.123"));
        }
        CHECK(server.total() == 0);
    }
    SECTION("half the VUs on a good address, half on a bad one: only the bad ones fail") {
        auto r = run_from(server.url(), "127.0.0.2,192.0.2.123", 4, 2, body);
        CHECK(metric(r.summary, "http_reqs", "count") == 8);
        CHECK(metric(r.summary, "http_req_failed", "sum") == 4);
        CHECK(server.requests_from("127.0.0.2") == 4);
    }
    SECTION("an IPv6 source for an IPv4 target: no suitable address (1210, Go's words)") {
        auto r = run_from(server.url(), "::1", 1, 1, body, 1);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].first == loadkit::error_code::dial_failed);
        CHECK_THAT(seen[0].second, Catch::Contains("no suitable address found"));
        CHECK(metric(r.summary, "http_req_failed", "sum") == 1);
    }
}

TEST_CASE("local IPs: the soft file-descriptor limit is raised to the hard one, and a binding limit is said",
          "[http][local_ips]") {
    rlimit before{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
    auto now = loadkit::raise_fd_limit();
    rlimit after{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
    CHECK(after.rlim_cur == after.rlim_max);  // (a hard limit is never lowered)
    CHECK(after.rlim_max == before.rlim_max);
    if (after.rlim_cur != RLIM_INFINITY) CHECK(now == after.rlim_cur);
    // (the message itself: runner_cli.cpp, under `ulimit -n`)
    CHECK_FALSE(loadkit::detail::warn_if_fd_limit_binds(UINT64_MAX, 1'000'000'000));
    CHECK_FALSE(loadkit::detail::warn_if_fd_limit_binds(1'000'000, 10));
    CHECK(loadkit::detail::warn_if_fd_limit_binds(64, 1000));
}

}  // namespace LOADKIT_TEST_UNIT
