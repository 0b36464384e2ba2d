// The run's control at the engine (engine/control.hpp), against the built-in
// target on 127.0.0.1: pause and resume stop and restart iterations, scale
// changes an externally-controlled scenario's VUs (and maxVUs), stop ends
// gracefully with teardown and the summary, abort cuts at once, --paused
// waits before setup, and every action is in the summary's "control" list.
// Every wait is bounded (wait_for below).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {
using namespace std::chrono_literals;

namespace {

std::atomic<long> iterations{0}, teardowns{0}, setups{0};

struct Steered : loadkit::Scenario<Steered, int> {
    static loadkit::task<int> setup(loadkit::client&) {
        ++setups;
        co_return 1;
    }
    static loadkit::task<> teardown(loadkit::client&, const int&) {
        ++teardowns;
        co_return;
    }
    struct User : loadkit::VU<Steered> {
        loadkit::task<> iteration() {
            co_await http.get("/delay/20");
            ++iterations;
        }
    };
};

// Polls `ok` every 10 ms for at most `limit`.
bool wait_for(const std::function<bool()>& ok, std::chrono::milliseconds limit = 5000ms) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (ok()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return ok();
}

// Runs `t` on a thread; the caller steers through `ctl` and joins.
struct background_run {
    loadkit::run_result result;
    std::thread th;
    explicit background_run(loadkit::test<Steered>& t) : th([this, &t] { result = t.run(); }) {}
    ~background_run() {
        if (th.joinable()) th.join();
    }
    void join() { th.join(); }
};

loadkit::options quiet(const loadkit::target_server& server, loadkit::run_control& ctl) {
    loadkit::options o;
    o.target = server.url();
    o.threads = 2;
    o.print_summary = false;
    o.handle_signals = false;
    o.control = &ctl;
    return o;
}

std::vector<std::string> actions(const loadkit::run_result& r) {
    std::vector<std::string> out;
    if (r.summary.contains("control"))
        for (auto& a : r.summary["control"])
            out.push_back(a["action"].get<std::string>() + "/" + a["by"].get<std::string>());
    return out;
}

}  // namespace

TEST_CASE("control: pause stops new iterations, resume restarts them, stop ends gracefully with teardown") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    iterations = 0;
    teardowns = 0;
    loadkit::test<Steered> t(quiet(server, ctl));
    t.scenario("steady", loadkit::constant_vus{.vus = 4, .duration = 60s});
    background_run run(t);
    REQUIRE(wait_for([&] { return iterations.load() > 20; }));
    CHECK(ctl.status().running);
    CHECK(ctl.status().status == loadkit::run_status::running);
    REQUIRE(ctl.pause("test").ok);
    CHECK_FALSE(ctl.pause("test").ok);   // already paused
    std::this_thread::sleep_for(200ms);  // iterations in flight finish
    auto at_pause = iterations.load();
    std::this_thread::sleep_for(500ms);
    CHECK(iterations.load() == at_pause);
    CHECK(ctl.status().paused);
    REQUIRE(ctl.resume("test").ok);
    CHECK_FALSE(ctl.resume("test").ok);  // not paused
    CHECK(wait_for([&] { return iterations.load() > at_pause + 20; }));
    REQUIRE(ctl.stop("test").ok);
    run.join();
    CHECK(teardowns.load() == 1);
    CHECK(run.result.exit_code() == loadkit::exit_code::stopped_from_api);
    CHECK(run.result.summary["aborted"].get<std::string>().find("stopped") != std::string::npos);
    CHECK(actions(run.result) == std::vector<std::string>{"pause/test", "resume/test", "stop/test"});
    auto& rows = run.result.summary["control"];
    CHECK(rows[0]["t"].get<double>() > 0);
    CHECK(rows[0]["t"].get<double>() <= rows[2]["t"].get<double>());
    CHECK(rows[0]["time_ms"].get<std::int64_t>() > 0);
    CHECK(ctl.status().status == loadkit::run_status::interrupted);
    CHECK_FALSE(ctl.pause("test").ok);  // the run has ended
    CHECK(ctl.pause("test").http_status == 409);
}

TEST_CASE("control: scale changes an externally-controlled scenario's VUs and raises maxVUs") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    iterations = 0;
    loadkit::test<Steered> t(quiet(server, ctl));
    t.scenario("ext", loadkit::externally_controlled{.vus = 2, .max_vus = 4, .duration = 0s});
    background_run run(t);
    REQUIRE(wait_for([&] { return ctl.status().vus == 2; }));
    CHECK(ctl.status().vus_max == 4);
    REQUIRE(ctl.scale(4, std::nullopt, "test").ok);
    CHECK(wait_for([&] { return ctl.status().vus == 4; }));
    REQUIRE(ctl.scale(1, std::nullopt, "test").ok);
    CHECK(wait_for([&] { return ctl.status().vus == 1; }));
    // errors as k6's: over maxVUs, maxVUs below the start, negative
    CHECK(ctl.scale(5, std::nullopt, "test").http_status == 400);
    CHECK(ctl.scale(std::nullopt, 3, "test").http_status == 400);
    CHECK(ctl.scale(-1, std::nullopt, "test").http_status == 400);
    // maxVUs may rise: new VUs are made while the run goes
    REQUIRE(ctl.scale(7, 8, "test").ok);
    CHECK(wait_for([&] { return ctl.status().vus == 7; }));
    CHECK(ctl.status().vus_max == 8);
    REQUIRE(ctl.scale(0, std::nullopt, "test").ok);
    CHECK(wait_for([&] { return ctl.status().vus == 0; }));
    auto idle = iterations.load();
    std::this_thread::sleep_for(300ms);
    CHECK(iterations.load() == idle);
    REQUIRE(ctl.stop("test").ok);
    run.join();
    auto a = actions(run.result);
    CHECK(std::count(a.begin(), a.end(), "scale/test") == 4);
    CHECK(run.result.summary["control"][2]["vus"] == 7);
    CHECK(run.result.summary["control"][2]["vus-max"] == 8);
    CHECK(run.result.metric("vus_max").max == 8);
}

TEST_CASE("control: scale needs an externally-controlled scenario, as in k6") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    loadkit::test<Steered> t(quiet(server, ctl));
    t.scenario("steady", loadkit::constant_vus{.vus = 1, .duration = 30s});
    background_run run(t);
    REQUIRE(wait_for([&] { return ctl.status().running; }));
    auto r = ctl.scale(3, std::nullopt, "test");
    CHECK_FALSE(r.ok);
    CHECK(r.http_status == 500);
    CHECK_THAT(r.detail, Catch::Contains("externally-controlled"));
    ctl.stop("test");
}

TEST_CASE("control: externally-controlled ends at its duration, and a pause stops its clock") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    loadkit::test<Steered> t(quiet(server, ctl));
    t.scenario("ext", loadkit::externally_controlled{.vus = 1, .duration = 1s});
    auto t0 = std::chrono::steady_clock::now();
    background_run run(t);
    REQUIRE(wait_for([&] { return ctl.status().vus == 1; }));
    REQUIRE(ctl.pause("test").ok);
    std::this_thread::sleep_for(1500ms);
    CHECK(ctl.status().running);  // the clock stood still: not ended
    REQUIRE(ctl.resume("test").ok);
    run.join();
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(secs > 2.3);   // 1 s of schedule + 1.5 s paused
    CHECK(secs < 20.0);  // (bounded: it did end by itself)
    CHECK(run.result.exit_code() == 0);
}

TEST_CASE("control: abort cuts iterations at once, as a second SIGINT") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    iterations = 0;
    teardowns = 0;
    struct Slow : loadkit::Scenario<Slow> {
        struct User : loadkit::VU<Slow> {
            loadkit::task<> iteration() { co_await http.get("/delay/5000"); }
        };
    };
    loadkit::options o = quiet(server, ctl);
    loadkit::test<Slow> t(o);
    t.scenario("slow", loadkit::constant_vus{.vus = 2, .duration = 30s, .graceful_stop = 30s});
    loadkit::run_result r;
    std::thread th([&] { r = t.run(); });
    REQUIRE(wait_for([&] { return ctl.status().vus == 2; }));
    std::this_thread::sleep_for(200ms);
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(ctl.abort("test").ok);
    th.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);  // not the 5 s requests, nor the 30 s gracefulStop
    CHECK(ctl.status().aborted);
    CHECK(r.exit_code() == loadkit::exit_code::stopped_from_api);
    CHECK(actions(r) == std::vector<std::string>{"abort/test"});
}

TEST_CASE("control: start paused waits before setup until resumed, and a stop then skips the run") {
    loadkit::target_server server;
    {
        loadkit::run_control ctl;
        setups = 0;
        iterations = 0;
        auto o = quiet(server, ctl);
        o.start_paused = true;
        loadkit::test<Steered> t(o);
        t.scenario("steady", loadkit::constant_vus{.vus = 2, .duration = 500ms});
        background_run run(t);
        REQUIRE(wait_for([&] { return ctl.status().status == loadkit::run_status::paused_before_run; }));
        std::this_thread::sleep_for(300ms);
        CHECK(setups.load() == 0);
        CHECK(iterations.load() == 0);
        CHECK(ctl.status().paused);
        CHECK_FALSE(ctl.status().running);
        REQUIRE(ctl.resume("test").ok);
        run.join();
        CHECK(setups.load() == 1);
        CHECK(iterations.load() > 0);
        CHECK(run.result.exit_code() == 0);
        CHECK(actions(run.result) == std::vector<std::string>{"pause/option", "resume/test"});
    }
    {
        loadkit::run_control ctl;
        setups = 0;
        teardowns = 0;
        auto o = quiet(server, ctl);
        o.start_paused = true;
        loadkit::test<Steered> t(o);
        t.scenario("steady", loadkit::constant_vus{.vus = 2, .duration = 500ms});
        background_run run(t);
        REQUIRE(wait_for([&] { return ctl.status().status == loadkit::run_status::paused_before_run; }));
        REQUIRE(ctl.stop("test").ok);
        run.join();
        CHECK(setups.load() == 0);
        CHECK(teardowns.load() == 0);
        CHECK(run.result.exit_code() == loadkit::exit_code::stopped_from_api);
    }
}

TEST_CASE("control: a paused constant-vus still ends at its duration (its clock runs on)") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    loadkit::test<Steered> t(quiet(server, ctl));
    t.scenario("steady", loadkit::constant_vus{.vus = 2, .duration = 1s});
    auto t0 = std::chrono::steady_clock::now();
    background_run run(t);
    REQUIRE(wait_for([&] { return ctl.status().vus == 2; }));
    REQUIRE(ctl.pause("test").ok);
    run.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(run.result.exit_code() == 0);
}

TEST_CASE("control: arrival-rate scenarios start nothing while paused, and nothing counts as dropped") {
    loadkit::target_server server;
    loadkit::run_control ctl;
    iterations = 0;
    loadkit::test<Steered> t(quiet(server, ctl));
    t.scenario("open", loadkit::constant_arrival_rate{
                           .rate = 50, .time_unit = 1s, .duration = 3s, .pre_allocated_vus = 4, .max_vus = 10});
    background_run run(t);
    REQUIRE(wait_for([&] { return iterations.load() > 5; }));
    REQUIRE(ctl.pause("test").ok);
    std::this_thread::sleep_for(200ms);
    auto at_pause = iterations.load();
    std::this_thread::sleep_for(600ms);
    CHECK(iterations.load() == at_pause);
    REQUIRE(ctl.resume("test").ok);
    run.join();
    CHECK(iterations.load() > at_pause);
    CHECK(iterations.load() < 150);  // what came due while paused was not started
    auto* dropped = loadkit::find_metric(run.result.summary, "dropped_iterations");
    CHECK((dropped == nullptr || (*dropped)["count"].get<double>() == 0));
}

TEST_CASE("control: the engine's own control, and engine::control()") {
    loadkit::target_server server;
    loadkit::options o;
    o.target = server.url();
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    loadkit::engine e(o);
    CHECK(e.control().status().status == loadkit::run_status::created);
    CHECK_FALSE(e.control().status().running);
}

}  // namespace LOADKIT_TEST_UNIT
