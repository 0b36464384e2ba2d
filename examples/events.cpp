// Seed 000 in C++: Locust-style events keeping shared state.
//
// test_start applies a configuration on the target once per process (here a
// POST to the built-in target's /echo stands in for /admin/config), test_stop
// cleans it up, and user_start/user_stop keep a live user count. Listeners are
// never called concurrently, so plain shared state is safe. handle_summary
// then replaces the console report with a few lines of its own (seed 003).
#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include <cstdio>

using namespace std::chrono_literals;

struct Website : loadkit::Scenario<Website> {
    struct User : loadkit::VU<Website> {
        loadkit::task<> iteration() {
            co_await http.get("/");
            co_await sleep(50ms);
        }
    };
};

int main(int argc, char** argv) {
    loadkit::target_server target;
    std::string host = argc > 1 ? argv[1] : target.url();

    struct {
        bool config_applied = false;
        int user_count = 0;
        int peak_users = 0;
    } shared_state;

    loadkit::options opts;
    opts.name = "events";
    opts.target = host;
    opts.events.test_start.add_listener([&](const loadkit::test_info&) {
        std::puts("--- Test starting ---");
        auto res = loadkit::fetch("POST", host + "/echo", R"({"setting":"new_value"})");
        if (res.status == 200) {
            shared_state.config_applied = true;
            std::puts("Global configuration applied successfully.");
        } else {
            std::printf("Failed to apply global configuration: %d %s\n", res.status, res.error.c_str());
        }
    });
    opts.events.test_stop.add_listener([&](const loadkit::test_info&) {
        std::puts("--- Test stopping ---");
        if (!shared_state.config_applied)
            return std::puts("No global configuration was applied, skipping cleanup."), void();
        auto res = loadkit::fetch("DELETE", host + "/echo");
        std::puts(res.status == 200 ? "Global configuration cleaned up successfully."
                                    : "Failed to clean up global configuration.");
        shared_state.config_applied = false;
    });
    opts.events.user_start.add_listener([&](const loadkit::user_info& u) {
        shared_state.peak_users = std::max(shared_state.peak_users, ++shared_state.user_count);
        std::printf("User %llu started. Total users: %d\n", static_cast<unsigned long long>(u.vu),
                    shared_state.user_count);
    });
    opts.events.user_stop.add_listener([&](const loadkit::user_info& u) {
        --shared_state.user_count;
        std::printf("User %llu stopped. Total users: %d\n", static_cast<unsigned long long>(u.vu),
                    shared_state.user_count);
    });
    opts.handle_summary = [&](const nlohmann::json& data) -> nlohmann::json {
        auto* reqs = loadkit::find_metric(data, "http_reqs");
        auto* dur = loadkit::find_metric(data, "http_req_duration");
        char line[256];
        std::snprintf(line, sizeof line, "run %s: %.1fs, %.0f requests, p95 %.2f ms, peak users %d",
                      data["run_id"].get<std::string>().c_str(), data["duration_secs"].get<double>(),
                      (*reqs)["count"].get<double>(), (*dur)["p95"].get<double>(), shared_state.peak_users);
        return std::string(line);  // a string replaces the default console report
    };

    loadkit::test<Website> t(opts);
    t.scenario("users", loadkit::ramping_vus{
                            .start_vus = 0, .stages = {{1s, 5}, {1s, 5}, {500ms, 0}}, .graceful_ramp_down = 1s});
    auto result = t.run();
    return result.exit_code() == 0 && shared_state.user_count == 0 && !shared_state.config_applied ? 0 : 1;
}
