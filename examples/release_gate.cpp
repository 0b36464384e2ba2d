// A release gate: open-model load with thresholds that decide the exit code.
//
// Two scenarios run at once against the built-in target:
//   - "shoppers": 200 iterations/s whatever the target does (constant arrival
//     rate), each buying in a `checkout` group, with a custom counter and trend;
//   - "browsers": 5 looping VUs on another exec function, tagged team=web.
// Thresholds gate the run: p(95) latency, the failure rate, a sub-metric per
// request name and one per scenario tag, and an abortOnFail guard that stops
// the run early if more than 10% of requests fail. Exit code 0 when every
// threshold holds, 99 when one fails; Ctrl-C stops gracefully (105).
//
//   release_gate [TARGET_URL] [SUMMARY.json]
#include <loadkit.hpp>
#include <loadkit/target.hpp>

using namespace std::chrono_literals;

inline loadkit::counter orders{"orders_placed"};
inline loadkit::trend checkout_time{"checkout_time", loadkit::time_values};

struct Store : loadkit::Scenario<Store> {
    struct User : loadkit::VU<Store> {
        // the "shoppers" exec function: k6's default function
        loadkit::task<> iteration() {
            auto& items = co_await http.get("/items", {.name = "items"});
            check(items, {{"items: status 200", [](auto& r) { return r.status == 200; }}});
            co_await group("checkout", [&]() -> loadkit::task<> {
                auto& paid = co_await http.post("/echo", R"({"sku":1})",
                                                {.name = "pay", .tags = {{"payment", "card"}}});
                check(paid, {{"pay: status 200", [](auto& r) { return r.status == 200; }}});
                orders.add(1, {{"region", std::string_view(env("REGION", "eu"))}});
                checkout_time.add(paid.timings.duration / 1e6);
            });
        }
        // the "browsers" exec function (k6's `exec: browse`)
        loadkit::task<> browse() {
            co_await http.get("/json", {.name = "catalog"});
            co_await sleep(50ms);
        }
    };
};

int main(int argc, char** argv) {
    loadkit::target_server target;
    loadkit::options opts;
    opts.name = "release-gate";
    opts.target = argc > 1 ? argv[1] : target.url();
    if (argc > 2) opts.summary_export = argv[2];
    opts.env = {{"REGION", "eu"}};
    opts.thresholds = {
        {"http_req_duration", {"p(95)<250", "avg<100"}},
        {"http_req_failed", {"rate<0.01", {"rate<0.1", /*abort_on_fail=*/true, /*delay_abort_eval=*/1s}}},
        {"http_req_duration{name:pay}", {"p(99)<500"}},
        {"http_reqs{team:web}", {"count>10"}},
        {"checks", {"rate>0.99"}},
        {"orders_placed", {"count>=390"}},
        {"checkout_time", {"med<100"}},
        {"dropped_iterations", {"count<10"}},
    };
    loadkit::test<Store> t(opts);
    t.scenario("shoppers", loadkit::constant_arrival_rate{
                               .rate = 200, .time_unit = 1s, .duration = 2s, .pre_allocated_vus = 10, .max_vus = 100});
    t.scenario("browsers", loadkit::constant_vus{.vus = 5, .duration = 2s}, &Store::User::browse,
               {.env = {{"REGION", "us"}}, .tags = {{"team", "web"}}});
    return t.run().exit_code();
}
