// Locust's user model in the C++ DSL (engine/tasks.hpp, dsl/tasks.hpp):
// weighted tasks, sequences, tags, wait times (each measured against the
// clock: what the VU did, never how fast), handle_summary's accepted returns,
// and seed 000's example against the built-in target's /admin/config.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include "support.hpp"

#define LOADKIT_EXAMPLE_NO_MAIN
#include "../examples/locust_seed.cpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

loadkit::options quiet(const loadkit::target_server& server, int threads = 2) {
    loadkit::options o;
    o.target = server.url();
    o.threads = threads;
    o.print_summary = false;
    return o;
}

// What the VUs did, across threads.
struct log_t {
    std::mutex mu;
    std::string picks;                       // one letter per task run (1 VU: in order)
    std::vector<std::int64_t> starts, ends;  // iteration start/end, ns (1 VU)
    void clear() {
        picks.clear();
        starts.clear();
        ends.clear();
    }
    void pick(char c) {
        std::lock_guard l(mu);
        picks += c;
    }
};
log_t journal;

std::int64_t now() { return loadkit::detail::now_ns(); }

struct Weighted : loadkit::Scenario<Weighted> {
    struct User : loadkit::VU<Weighted> {
        loadkit::task<> a() {
            journal.pick('a');
            co_return;
        }
        loadkit::task<> b(const std::monostate&) {
            journal.pick('b');
            co_return;
        }
        loadkit::task<> c() {
            journal.pick('c');
            co_return;
        }
        static auto tasks() {
            return loadkit::task_set<User>{
                {&User::a, 3, {"read"}}, {&User::b, 1, {"write"}}, {&User::c, 1, {"write", "slow"}}};
        }
    };
};

struct InOrder : loadkit::Scenario<InOrder> {
    struct User : loadkit::VU<InOrder> {
        loadkit::task<> a() {
            journal.pick('a');
            co_return;
        }
        loadkit::task<> b() {
            journal.pick('b');
            co_await http.get("/");
        }
        loadkit::task<> c() {
            journal.pick('c');
            co_return;
        }
        static auto tasks() { return loadkit::sequence<User>{&User::a, &User::b, &User::c}; }
    };
};

// A task that records when it ran and takes `work` ms (sleep).
template <int WorkMs>
struct Timed : loadkit::Scenario<Timed<WorkMs>> {
    struct User : loadkit::VU<Timed> {
        loadkit::task<> iteration() {
            auto t = now();
            if (WorkMs > 0) co_await this->sleep(std::chrono::milliseconds(WorkMs));
            std::lock_guard l(journal.mu);
            journal.starts.push_back(t);
            journal.ends.push_back(now());
        }
    };
};

// The wait time as a VU type's own member (Locust's class attribute).
struct Between : loadkit::Scenario<Between> {
    struct User : loadkit::VU<Between> {
        loadkit::task<> iteration() {
            std::lock_guard l(journal.mu);
            journal.starts.push_back(now());
            journal.ends.push_back(now());
            co_return;
        }
        static constexpr loadkit::wait_time wait_time = loadkit::between(10ms, 50ms);
    };
};

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Runs `n` iterations of Timed<work> on one VU with wait `w`; the gaps
// between one iteration's end and the next one's start, and between starts.
template <int Work>
std::pair<std::vector<double>, std::vector<double>> gaps(loadkit::wait_time w, int n = 6) {
    loadkit::target_server server;
    journal.clear();
    loadkit::test<Timed<Work>> t(quiet(server, 1));
    t.scenario("s", loadkit::per_vu_iterations{.vus = 1, .iterations = n}, {.wait = w});
    auto r = t.run();
    REQUIRE(r.exit_code() == 0);
    REQUIRE(journal.starts.size() == static_cast<std::size_t>(n));
    std::vector<double> idle, period;
    for (std::size_t i = 1; i < journal.starts.size(); ++i) {
        idle.push_back(ms(journal.starts[i] - journal.ends[i - 1]));
        period.push_back(ms(journal.starts[i] - journal.starts[i - 1]));
    }
    return {idle, period};
}

using test_support::agg;

}  // namespace

TEST_CASE("locust tasks: weights 3:1:1 hold within 2% over 10,000 iterations") {
    loadkit::target_server server;
    journal.clear();
    loadkit::test<Weighted> t(quiet(server));
    t.scenario("w", loadkit::per_vu_iterations{.vus = 4, .iterations = 2500});
    auto r = t.run();
    REQUIRE(r.exit_code() == 0);
    REQUIRE(journal.picks.size() == 10000);
    auto share = [&](char c) { return std::count(journal.picks.begin(), journal.picks.end(), c) / 10000.0; };
    CHECK(std::abs(share('a') - 0.6) < 0.02);
    CHECK(std::abs(share('b') - 0.2) < 0.02);
    CHECK(std::abs(share('c') - 0.2) < 0.02);
}

TEST_CASE("locust tasks: the same seed picks the same tasks, another seed others") {
    loadkit::target_server server;
    auto picks = [&](std::uint64_t seed) {
        journal.clear();
        auto o = quiet(server, 1);
        o.seed = seed;
        loadkit::test<Weighted> t(o);
        t.scenario("w", loadkit::per_vu_iterations{.vus = 1, .iterations = 200});
        t.run();
        return journal.picks;
    };
    auto first = picks(42);
    CHECK(first.size() == 200);
    CHECK(picks(42) == first);
    CHECK(picks(43) != first);
}

TEST_CASE("locust tasks: --tags and --exclude-tags choose the tasks") {
    loadkit::target_server server;
    auto run = [&](std::vector<std::string> inc, std::vector<std::string> exc) {
        journal.clear();
        auto o = quiet(server);
        o.include_tags = std::move(inc);
        o.exclude_tags = std::move(exc);
        loadkit::test<Weighted> t(o);
        t.scenario("w", loadkit::per_vu_iterations{.vus = 2, .iterations = 100});
        t.run();
        std::string kinds = journal.picks;
        std::sort(kinds.begin(), kinds.end());
        kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
        return kinds;
    };
    CHECK(run({"write"}, {}) == "bc");
    CHECK(run({}, {"write"}) == "a");
    CHECK(run({"write"}, {"slow"}) == "b");
    CHECK(run({"read", "slow"}, {}) == "ac");
    // nothing left to run: an error before any load
    auto o = quiet(server);
    o.include_tags = {"nope"};
    loadkit::test<Weighted> t(o);
    t.scenario("w", loadkit::per_vu_iterations{.vus = 1, .iterations = 1});
    CHECK_THROWS_WITH(t.run(), Catch::Contains("no task is left after --tags/--exclude-tags"));
}

TEST_CASE("locust tasks: a sequence runs its tasks in order, one per iteration") {
    loadkit::target_server server;
    journal.clear();
    loadkit::test<InOrder> t(quiet(server, 1));
    t.scenario("seq", loadkit::per_vu_iterations{.vus = 1, .iterations = 8});
    auto r = t.run();
    CHECK(journal.picks == "abcabcab");
    CHECK(agg(r.summary, "http_reqs", "count") == 3);
    CHECK(agg(r.summary, "iterations", "count") == 8);
}

TEST_CASE("locust wait times: constant waits after each iteration, outside iteration_duration") {
    auto [idle, period] = gaps<0>(loadkit::constant(40ms));
    for (double g : idle) {
        CHECK(g >= 39.0);
        CHECK(g < 40.0 + 500.0);  // generous: a loaded machine
    }
    // iteration_duration is the task alone: the 40 ms wait is not in it
    loadkit::target_server server;
    loadkit::test<Timed<0>> t(quiet(server, 1));
    t.scenario("s", loadkit::per_vu_iterations{.vus = 1, .iterations = 4}, {.wait = loadkit::constant(100ms)});
    auto r = t.run();
    CHECK(agg(r.summary, "iteration_duration", "max") < 50.0);
}

TEST_CASE("locust wait times: between(10ms, 50ms) waits within its bounds, and varies") {
    loadkit::target_server server;
    journal.clear();
    loadkit::test<Between> t(quiet(server, 1));
    t.scenario("s", loadkit::per_vu_iterations{.vus = 1, .iterations = 12});
    REQUIRE(t.run().exit_code() == 0);
    REQUIRE(journal.starts.size() == 12);
    double lo = 1e9, hi = 0;
    for (std::size_t i = 1; i < 12; ++i) {
        double g = ms(journal.starts[i] - journal.ends[i - 1]);
        lo = std::min(lo, g);
        hi = std::max(hi, g);
        CHECK(g >= 9.9);
        CHECK(g < 50.0 + 500.0);
    }
    CHECK(hi - lo > 1.0);  // eleven uniform draws over 40 ms are not all equal
}

TEST_CASE("locust wait times: constant_pacing starts iterations every N whatever they took") {
    auto [idle, period] = gaps<20>(loadkit::constant_pacing(60ms));
    for (double p : period) {
        CHECK(p >= 59.0);
        CHECK(p < 60.0 + 500.0);
    }
    // an iteration longer than the pacing: the next one starts at once
    auto [idle2, period2] = gaps<50>(loadkit::constant_pacing(20ms), 4);
    for (double g : idle2) CHECK(g < 40.0);  // no wait at all but the loop's own turn
}

TEST_CASE("locust wait times: constant_throughput(20) starts an iteration every 50 ms per VU") {
    auto [idle, period] = gaps<10>(loadkit::constant_throughput(20));
    for (double p : period) {
        CHECK(p >= 49.0);
        CHECK(p < 50.0 + 500.0);
    }
}

TEST_CASE("locust wait times: shared-iterations loses no iteration to a wait") {
    loadkit::target_server server;
    loadkit::test<Timed<0>> t(quiet(server, 2));
    t.scenario("s", loadkit::shared_iterations{.vus = 3, .iterations = 10}, {.wait = loadkit::constant(10ms)});
    auto r = t.run();
    CHECK(agg(r.summary, "iterations", "count") == 10);
}

TEST_CASE("locust wait times: a VU waiting is woken by the end of its scenario and by an abort") {
    loadkit::target_server server;
    {
        loadkit::test<Timed<0>> t(quiet(server, 1));
        t.scenario("s", loadkit::constant_vus{.vus = 2, .duration = 300ms}, {.wait = loadkit::constant(20s)});
        auto t0 = std::chrono::steady_clock::now();
        auto r = t.run();
        CHECK(r.exit_code() == 0);
        CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // not the 20 s wait (no hang)
        CHECK(agg(r.summary, "iterations", "count") == 2);
    }
    {
        loadkit::test<Timed<0>> t(quiet(server, 1));
        t.scenario("s", loadkit::constant_vus{.vus = 2, .duration = 60s}, {.wait = loadkit::between(20s, 30s)});
        std::thread stopper([&] {
            std::this_thread::sleep_for(300ms);
            t.abort("enough");
        });
        auto t0 = std::chrono::steady_clock::now();
        auto r = t.run();
        stopper.join();
        CHECK(r.exit_code() == loadkit::exit_code::external_abort);
        CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    }
}

TEST_CASE("locust wait times: bad wait times are errors before any load") {
    loadkit::target_server server;
    auto error = [&](loadkit::executor e, loadkit::wait_time w) {
        loadkit::test<Timed<0>> t(quiet(server, 1));
        t.scenario("s", std::move(e), {.wait = w});
        try {
            t.run();
        } catch (const loadkit::config_error& x) {
            return std::string(x.what());
        }
        return std::string();
    };
    CHECK_THAT(error(loadkit::constant_arrival_rate{.rate = 1, .duration = 1s}, loadkit::constant(1s)),
               Catch::Contains("arrival-rate executor"));
    CHECK_THAT(error(loadkit::per_vu_iterations{}, loadkit::between(2s, 1s)), Catch::Contains("min <= max"));
    CHECK_THAT(error(loadkit::per_vu_iterations{}, loadkit::constant_throughput(0)), Catch::Contains("above 0"));
    using loadkit::detail::parse_wait_time;
    CHECK(parse_wait_time("between(1, 5)") == loadkit::between(1s, 5s));
    CHECK(parse_wait_time(" constant(250ms) ") == loadkit::constant(250ms));
    CHECK(parse_wait_time("constantPacing(2)") == loadkit::constant_pacing(2s));
    CHECK(parse_wait_time("constant_throughput(0.5)") == loadkit::constant_throughput(0.5));
    CHECK_THROWS_WITH(parse_wait_time("between(5)"), Catch::Contains("takes 2 argument"));
    CHECK_THROWS_WITH(parse_wait_time("sometimes(1)"), Catch::Contains("unknown function 'sometimes'"));
    CHECK_THROWS_WITH(parse_wait_time("between(x, 2)"), Catch::Contains("'x' is not a duration"));
}

TEST_CASE("handle_summary accepts std::string, json, std::optional and void returns") {
    loadkit::target_server server;
    auto printed = [&](loadkit::summary_handler h) {
        auto o = quiet(server, 1);
        std::ostringstream out;
        o.out = &out;
        o.print_summary = true;
        o.handle_summary = std::move(h);
        loadkit::test<Timed<0>> t(o);
        t.scenario("s", loadkit::per_vu_iterations{.vus = 1, .iterations = 1});
        t.run();
        return out.str();
    };
    CHECK(printed([](const nlohmann::json&) { return std::string("mine"); }) == "mine\n");
    CHECK(printed([](const nlohmann::json&) { return std::optional<std::string>("opt"); }) == "opt\n");
    CHECK_THAT(printed([](const nlohmann::json&) { return std::optional<std::string>(); }),
               Catch::Contains("iteration_duration"));
    bool called = false;
    CHECK_THAT(printed([&](const nlohmann::json&) { called = true; }), Catch::Contains("iteration_duration"));
    CHECK(called);
    CHECK(printed([](const nlohmann::json&) { return "literal"; }) == "literal\n");
}

TEST_CASE("seed 000 in C++: test_start applies /admin/config, test_stop removes it, users are counted") {
    loadkit::target_server server;
    locust_seed::shared_state_t state;
    std::optional<std::string> during;
    // between(1, 5) as in the seed: 2 s gives each user its first task and a wait
    int code = locust_seed::run(server.url(), 2s, 3, state);
    CHECK(code == 0);
    CHECK(state.users_started == 3);
    CHECK(state.peak_users == 3);
    CHECK(state.user_count == 0);
    CHECK_FALSE(state.config_applied);
    CHECK(server.count("/admin/config") == 2);  // POST at test_start, DELETE at test_stop
    CHECK_FALSE(server.config());               // removed
    CHECK(server.count("/") >= 3);
}

}  // namespace LOADKIT_TEST_UNIT
