// Seed 000, a Locust test, in C++: a user with one task and
// wait_time = between(1, 5), and event listeners keeping shared state.
// test_start applies a configuration on the target (POST /admin/config),
// test_stop removes it (DELETE /admin/config), and user_start/user_stop keep
// a live user count. Listeners are never called concurrently, so plain
// shared state is safe (Locust's module-level dict).
//
//   locust_seed [URL|builtin] [SECONDS]   (default: a built-in target, 10 s)
//
// As in Locust, the wait after a task is not part of the task: here it is
// not in iteration_duration (it would be in k6, where sleep() sits inside
// the iteration).
#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;

namespace locust_seed {

struct WebsiteUser : loadkit::Scenario<WebsiteUser> {
    struct User : loadkit::VU<WebsiteUser> {
        loadkit::task<> index() { co_await http.get("/"); }  // @task

        static auto tasks() { return loadkit::task_set<User>{{&User::index}}; }
        static constexpr loadkit::wait_time wait_time = loadkit::between(1s, 5s);
    };
};

struct shared_state_t {
    bool config_applied = false;
    int user_count = 0;
    int peak_users = 0;
    int users_started = 0;
};

// The seed's test against `host` for `duration` with `users` users; returns
// the run's exit code, and the shared state as the listeners left it.
inline int run(const std::string& host, std::chrono::nanoseconds duration, int users, shared_state_t& shared_state) {
    loadkit::options opts;
    opts.name = "locust-seed";
    opts.target = host;
    opts.events.test_start.add_listener([&](const loadkit::test_info&) {
        std::puts("--- Test starting ---");
        auto res = loadkit::fetch("POST", host + "/admin/config", R"({"setting":"new_value"})");
        if (res.status == 200) {
            shared_state.config_applied = true;
            std::puts("Global configuration applied successfully.");
        } else if (res.status == 0) {
            std::puts("Could not connect to host for config application.");
        } else {
            std::printf("Failed to apply global configuration: %d\n", res.status);
        }
    });
    opts.events.test_stop.add_listener([&](const loadkit::test_info&) {
        std::puts("--- Test stopping ---");
        if (!shared_state.config_applied) {
            std::puts("No global configuration was applied, skipping cleanup.");
            return;
        }
        auto res = loadkit::fetch("DELETE", host + "/admin/config");
        if (res.status == 200) {
            std::puts("Global configuration cleaned up successfully.");
            shared_state.config_applied = false;
        } else {
            std::printf("Failed to clean up global configuration: %d\n", res.status);
        }
    });
    opts.events.user_start.add_listener([&](const loadkit::user_info& u) {
        shared_state.peak_users = std::max(shared_state.peak_users, ++shared_state.user_count);
        ++shared_state.users_started;
        std::printf("User %llu started. Total users: %d\n", static_cast<unsigned long long>(u.vu),
                    shared_state.user_count);
    });
    opts.events.user_stop.add_listener([&](const loadkit::user_info& u) {
        --shared_state.user_count;
        std::printf("User %llu stopped. Total users: %d\n", static_cast<unsigned long long>(u.vu),
                    shared_state.user_count);
    });

    loadkit::test<WebsiteUser> t(opts);
    t.scenario("website", loadkit::constant_vus{.vus = users, .duration = duration});
    return t.run().exit_code();
}

}  // namespace locust_seed

#ifndef LOADKIT_EXAMPLE_NO_MAIN  // (tests/locust.cpp includes this file and calls run())
int main(int argc, char** argv) {
    loadkit::target_server target;
    std::string host = argc > 1 && std::string(argv[1]) != "builtin" ? argv[1] : target.url();
    double secs = argc > 2 ? std::atof(argv[2]) : 10.0;
    locust_seed::shared_state_t state;
    int code = locust_seed::run(host, std::chrono::nanoseconds(static_cast<std::int64_t>(secs * 1e9)), 5, state);
    return code == 0 && state.user_count == 0 && !state.config_applied ? 0 : 1;
}
#endif
