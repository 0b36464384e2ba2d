// A test split over machines: execution segments (exact, striped shares),
// exported state that merges exactly, and the runner's setup/run/teardown/
// merge commands, as separate processes against a server the test starts.
#include <catch2/catch.hpp>
#include <limits>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <loadkit.hpp>
#include <loadkit/yaml.hpp>
#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

std::vector<loadkit::execution_segment> segments_of(const std::string& sequence) {
    auto points = loadkit::parse_segment_sequence(sequence);
    std::vector<loadkit::execution_segment> out;
    for (std::size_t i = 0; i + 1 < points.size(); ++i) out.push_back({points[i], points[i + 1], points});
    return out;
}

}  // namespace

TEST_CASE("segments: shares of any count add up exactly and each index has one owner") {
    for (auto sequence : {"0,1/4,2/4,3/4,1", "0,1/3,1/2,1", "0,0.1,1", "0,25%,1"}) {
        INFO("sequence " << sequence);
        auto segs = segments_of(sequence);
        std::vector<loadkit::detail::stripe> stripes;
        for (auto& s : segs) stripes.push_back(loadkit::detail::make_stripe(s));
        for (std::int64_t n = 0; n <= 200; ++n) {
            std::int64_t sum = 0;
            for (auto& st : stripes) sum += st.scale(n);
            REQUIRE(sum == n);
        }
        std::multiset<std::uint64_t> owners;
        for (auto& st : stripes)
            for (std::int64_t j = 0; j < st.scale(120); ++j) owners.insert(st.global(static_cast<std::uint64_t>(j)));
        REQUIRE(owners.size() == 120);
        for (std::uint64_t g = 0; g < 120; ++g) REQUIRE(owners.count(g) == 1);
    }
    // striped, not blocks: instance 0 of 4 runs global indices 0, 4, 8, ...
    auto st = loadkit::detail::make_stripe(loadkit::instance_segment("0/4"));
    CHECK(st.global(0) == 0);
    CHECK(st.global(1) == 4);
    CHECK(st.global(2) == 8);
    auto third = loadkit::detail::make_stripe(loadkit::instance_segment("2/4"));
    CHECK(third.global(0) == 2);
    CHECK(third.global(1) == 6);
    // a segment without a sequence: 0, from, to, 1
    auto alone = loadkit::detail::make_stripe(loadkit::parse_execution_segment("1/2:1"));
    CHECK(alone.scale(10) == 5);
    CHECK(loadkit::detail::make_stripe(loadkit::parse_execution_segment("0:1")).whole());
    // many equal instances: no quadratic pattern to build
    auto many = loadkit::detail::make_stripe(loadkit::instance_segment("99998/100000"));
    CHECK(many.scale(200000) == 2);
    CHECK(many.global(1) == 199998);
}

TEST_CASE("segments: mistakes say what was expected") {
    auto says = [](auto f, const std::string& part) {
        try {
            f();
            FAIL("no error");
        } catch (const loadkit::config_error& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).find(part) != std::string::npos);
        }
    };
    says([] { loadkit::parse_execution_segment("1/4"); }, "expected FROM:TO");
    says([] { loadkit::parse_execution_segment("2/4:1/4"); }, "FROM must be less than TO");
    says([] { loadkit::parse_execution_segment("a:1"); }, "expected a fraction between 0 and 1");
    says([] { loadkit::parse_execution_segment("0:3/2"); }, "expected a fraction between 0 and 1");
    says([] { loadkit::parse_execution_segment("0:0.12345678901"); }, "expected a fraction between 0 and 1");
    says([] { loadkit::instance_segment("4/4"); }, "expected I/N with 0 <= I < N");
    says([] { loadkit::instance_segment("x"); }, "expected I/N");
    says([] { loadkit::parse_segment_sequence("0,1/2"); }, "from 0 to 1");
    says([] { loadkit::parse_segment_sequence("0,1/2,1/4,1"); }, "increasing");
    says(
        [] {
        auto s = loadkit::parse_execution_segment("0:1/3");
        s.sequence = loadkit::parse_segment_sequence("0,1/4,1");
        loadkit::detail::make_stripe(s);
        },
        "is not one of the sequence's segments");
}

TEST_CASE("segments: executors' counts scale exactly") {
    auto segs = segments_of("0,1/4,2/4,3/4,1");
    auto scaled = [&](loadkit::executor e) {
        std::vector<loadkit::executor> out;
        for (auto& s : segs) {
            auto x = e;
            loadkit::detail::scale_executor(x, loadkit::detail::make_stripe(s));
            out.push_back(x);
        }
        return out;
    };
    int vus = 0;
    for (auto& e : scaled(loadkit::constant_vus{.vus = 10})) vus += std::get<loadkit::constant_vus>(e).vus;
    CHECK(vus == 10);
    std::int64_t iterations = 0;
    for (auto& e : scaled(loadkit::shared_iterations{.vus = 2, .iterations = 101})) {
        auto& x = std::get<loadkit::shared_iterations>(e);
        iterations += x.iterations;
        CHECK(x.vus >= 1);  // iterations are the contract: each instance can run its own
    }
    CHECK(iterations == 101);
    int pre = 0, max = 0;
    for (auto& e : scaled(loadkit::constant_arrival_rate{.rate = 50, .pre_allocated_vus = 20, .max_vus = 40})) {
        auto& x = std::get<loadkit::constant_arrival_rate>(e);
        pre += x.pre_allocated_vus;
        max += x.max_vus;
    }
    CHECK(pre == 20);
    CHECK(max == 40);
}

TEST_CASE("segments: instances' arrivals together are the whole test's") {
    loadkit::executor constant = loadkit::constant_arrival_rate{.rate = 37, .duration = 1s, .pre_allocated_vus = 4};
    loadkit::executor ramping = loadkit::ramping_arrival_rate{
        .start_rate = 5, .stages = {{2s, 40}, {1s, 0}}, .pre_allocated_vus = 4};
    for (auto& e : {constant, ramping}) {
        INFO(loadkit::executor_name(e));
        auto offsets = [&](const loadkit::detail::stripe& st) {
            loadkit::detail::schedule plan(e, 0, st);
            std::vector<std::int64_t> out;
            for (std::uint64_t k = 0;; ++k) {
                auto off = plan.arrival_offset(k);
                if (off < 0) break;
                out.push_back(off);
            }
            return out;
        };
        auto whole = offsets({});
        REQUIRE(whole.size() > 30);
        std::vector<std::int64_t> joined;
        for (auto& s : segments_of("0,1/4,2/4,3/4,1")) {
            auto part = offsets(loadkit::detail::make_stripe(s));
            CHECK(std::is_sorted(part.begin(), part.end()));
            joined.insert(joined.end(), part.begin(), part.end());
        }
        std::sort(joined.begin(), joined.end());
        CHECK(joined == whole);
    }
}

TEST_CASE("segments: ramping-vus instances together follow the whole test's VU count") {
    loadkit::ramping_vus r{.start_vus = 0, .stages = {{10s, 10}, {10s, 3}, {5s, 7}}};
    auto segs = segments_of("0,1/3,1/2,1");
    std::vector<loadkit::detail::stripe> stripes;
    for (auto& s : segs) stripes.push_back(loadkit::detail::make_stripe(s));
    loadkit::detail::schedule whole(r, 0);
    for (std::int64_t t = 0; t < 25'000'000'000; t += 370'000'000) {
        int expected = 0;
        for (std::uint64_t i = 0; i < 10; ++i)
            expected += whole.next(i, 0, t).kind == loadkit::detail::decision::iterate;
        int sum = 0;
        for (auto& st : stripes) {
            loadkit::detail::schedule plan(r, 0, st);
            auto n = loadkit::detail::schedule::max_vus(r, st);
            for (int i = 0; i < n; ++i)
                sum += plan.next(static_cast<std::uint64_t>(i), 0, t).kind == loadkit::detail::decision::iterate;
        }
        INFO("at " << t / 1e9 << " s");
        CHECK(sum == expected);
    }
}

TEST_CASE("segments: each instance fires test_start and test_stop once and runs only its VUs") {
    loadkit::target_server server;
    auto plan = loadkit::yaml::load_string(R"(
name: events
scenarios:
  users:
    executor: per-vu-iterations
    vus: 5
    iterations: 2
    flow:
      - request: { name: items, url: /items }
)");
    std::set<std::uint64_t> all_vus;
    double requests = 0;
    for (int i = 0; i < 2; ++i) {
        loadkit::options o;
        o.threads = 2;
        o.print_summary = false;
        o.handle_signals = false;
        o.target = server.url();
        o.segment = loadkit::instance_segment(std::to_string(i) + "/2");
        int starts = 0, stops = 0;
        std::mutex mu;
        std::set<std::uint64_t> vus;
        o.events.test_start.add_listener([&](const loadkit::test_info&) { ++starts; });
        o.events.test_stop.add_listener([&](const loadkit::test_info&) { ++stops; });
        o.events.user_start.add_listener([&](const loadkit::user_info& u) {
            std::lock_guard lock(mu);
            vus.insert(u.vu);
        });
        auto r = loadkit::yaml::run(plan, o);
        CHECK(starts == 1);  // seed 000: once per process, on every instance
        CHECK(stops == 1);
        CHECK(vus.size() == (i == 0 ? 3u : 2u));             // VUs 1, 3, 5 and 2, 4
        for (auto v : vus) CHECK(all_vus.insert(v).second);  // ids unique over the instances
        requests += loadkit::find_metric(r.summary, "http_reqs")->at("count").get<double>();
    }
    CHECK(all_vus == std::set<std::uint64_t>{1, 2, 3, 4, 5});
    CHECK(requests == 10);
}

TEST_CASE("state: an exported run merges back into the same summary") {
    loadkit::target_server server;
    auto plan = loadkit::yaml::load_string(R"(
name: state
scenarios:
  users:
    executor: per-vu-iterations
    vus: 4
    iterations: 25
    flow:
      - request: { name: items, url: /items }
        check: { status: 200 }
      - request: { name: missing, url: /nope }
thresholds:
  http_req_duration{name:items}: ['p(95)<5000']
)");
    loadkit::options o;
    o.threads = 2;
    o.print_summary = false;
    o.handle_signals = false;
    o.target = server.url();
    auto r = loadkit::yaml::run(plan, o);
    REQUIRE(r.state.value("format", "") == "loadkit-state/1");
    // through text, as files carry it
    auto text = loadkit::export_text(r.summary, r.state);
    auto back = nlohmann::json::parse(text);
    CHECK(back["metrics"] == r.summary["metrics"]);
    auto m = loadkit::merge_runs({{"run.json", back["state"]}});
    CHECK(m.summary["metrics"] == r.summary["metrics"]);
    CHECK(m.summary["checks"] == r.summary["checks"]);
    CHECK(m.summary["thresholds"] == r.summary["thresholds"]);
    // merged twice: counts double, percentiles stay
    auto twice = loadkit::merge_runs({{"a.json", back["state"]}, {"b.json", back["state"]}});
    CHECK(loadkit::find_metric(twice.summary, "http_reqs")->at("count") == 400);  // 4 VUs x 25 x 2 requests, twice
    CHECK(loadkit::find_metric(twice.summary, "http_req_duration")->at("p95") ==
          loadkit::find_metric(r.summary, "http_req_duration")->at("p95"));
    // malformed states are refused with the file's name
    auto broken = back["state"];
    broken["http"][0]["http_req_duration"]["n"] = 7;
    try {
        loadkit::merge_runs({{"broken.json", broken}});
        FAIL("no error");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("broken.json") != std::string::npos);
    }
}

TEST_CASE(
    "state: a malformed state is refused with std::invalid_argument, never a crash or another exception (fuzz_merge)") {
    // a state as loadkit writes it (tests/fuzz/corpus/merge/minimal.json)
    auto good = nlohmann::json::parse(R"({"format":"loadkit-state/1","name":"t","run_id":"abcdef12","segment":"0:1/2",
      "started_ms":1000,"ended_ms":3000,"aborted":null,"scenarios_run":["users"],"thresholds":[],"declared":[],
      "http":[{"scenario":"users","name":"/","method":"GET","status":200,"error":0,"expected":true,"group":"","tags":"",
               "reqs":1,"failed":0,"http_req_duration":{"n":1,"sum":1000,"min":1000,"max":1000,"b":[1000,1]},"http_req_blocked":{"n":0},
               "http_req_connecting":{"n":0},"http_req_tls_handshaking":{"n":0},"http_req_sending":{"n":0},"http_req_waiting":{"n":0},"http_req_receiving":{"n":0},
               "http_req_duration_intended":{"n":0}}],
      "scenarios":[],"checks":[],"custom":[],"vus":{},"vus_max":{},"scenario_tags":{},"run_tags":{}})");
    REQUIRE(loadkit::find_metric(loadkit::merge_runs({{"good.json", good}}).summary, "http_reqs")->at("count") == 1);
    SECTION("a merged state merges again, in memory as through a file (an empty histogram's count was a signed 0)") {
        auto once = loadkit::merge_runs({{"a.json", good}, {"b.json", good}});
        auto again = loadkit::merge_runs({{"ab.json", once.state}, {"c.json", good}});
        CHECK(loadkit::find_metric(again.summary, "http_reqs")->at("count") == 3);
    }
    SECTION("no \"aborted\" at all: merged as not aborted (it was a read past the end of the object)") {
        auto st = good;
        st.erase("aborted");
        auto m = loadkit::merge_runs({{"a.json", st}, {"b.json", st}});
        CHECK(m.summary["aborted"].is_null());
        CHECK(loadkit::find_metric(m.summary, "http_reqs")->at("count") == 2);
    }
    SECTION("a \"segment\" or \"run_id\" that is not a string is ignored (it was a json type_error)") {
        auto st = good;
        st["segment"] = 5;
        st["run_id"] = nlohmann::json::array();
        auto m = loadkit::merge_runs({{"a.json", st}});
        CHECK(loadkit::find_metric(m.summary, "http_reqs")->at("count") == 1);
    }
    SECTION("a \"format\" that is not a string is refused as not a state (it was a json type_error)") {
        auto st = good;
        st["format"] = 1000;
        CHECK_THROWS_AS(loadkit::merge_runs({{"a.json", st}}), std::invalid_argument);
    }
    SECTION("times whose difference overflows are refused, naming the file (it was signed overflow)") {
        auto st = good;
        st["started_ms"] = std::numeric_limits<std::int64_t>::min();
        st["ended_ms"] = std::numeric_limits<std::int64_t>::max();
        try {
            loadkit::merge_runs({{"times.json", st}});
            FAIL("no error");
        } catch (const std::invalid_argument& e) {
            CHECK_THAT(e.what(), Catch::Contains("times.json: \"started_ms\": expected milliseconds since 1970"));
        }
    }
}

#if defined(LOADKIT_RUNNER_PATH)
namespace {

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}
using test_support::agg;
// nearest rank, as the histogram reports
double exact_quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

#if defined(LOADKIT_RUNNER_JS)
TEST_CASE("merge: four instances as processes add up to one whole run") {
    loadkit::target_server server;
    scratch dir;
    // Each iteration adds a value that names its VU and iteration to a trend:
    // the raw samples of the whole test are known, so merged percentiles can
    // be checked against them. handleSummary runs once, on the merged data.
    auto test = dir.write("split.js", R"JS(
import http from 'k6/http';
import { check } from 'k6';
import { Trend } from 'k6/metrics';
import exec from 'k6/execution';

const marks = new Trend('marks');
export const options = {
  scenarios: { users: { executor: 'per-vu-iterations', vus: 8, iterations: 5 } },
  thresholds: { http_reqs: ['count>=40'], marks: ['p(99)<100000'] },
};
export function setup() {
  const res = http.post(`${__ENV.TARGET}/auth/token`, JSON.stringify({ id: 'split' }));
  return { token: res.json('token') };
}
export default function (data) {
  const res = http.get(`${__ENV.TARGET}/items`, { headers: { Authorization: `Bearer ${data.token}` } });
  check(res, { 'status 200': (r) => r.status === 200 });
  // ids in the test are unique over instances; ids in an instance count from 1
  check(null, { 'idInInstance is 1 or 2': () => [1, 2].includes(exec.vu.idInInstance) });
  marks.add(exec.vu.idInTest * 1000 + exec.vu.iterationInScenario);
}
export function teardown(data) {
  http.post(`${__ENV.TARGET}/auth/revoke`, JSON.stringify({ token: data.token }));
}
export function handleSummary(data) {
  const reqs = data.metrics.find((m) => m.metric === 'http_reqs');
  return `HANDLED http_reqs=${reqs.agg.count}`;
}
)JS");
    auto env = "TARGET=" + server.url();
    auto setup_file = (dir.dir / "setup.json").string();
    auto setup = test_support::run_runner({"setup", test, "-o", setup_file, "-e", env});
    INFO(setup.err);
    REQUIRE(setup.code == 0);
    CHECK(server.count("/auth/token") == 1);
    CHECK(read_json(setup_file).contains("token"));

    // four instances at once; one of them by the --instance shorthand
    std::vector<std::string> exports;
    std::vector<std::unique_ptr<test_support::child>> procs;
    const char* segments[] = {"0:1/4", "1/4:2/4", "2/4:3/4", "3/4:1"};
    const char* reduced[] = {"0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"};
    for (int i = 0; i < 4; ++i) {
        exports.push_back((dir.dir / ("part" + std::to_string(i) + ".json")).string());
        std::vector<std::string> args{
            "run", test, "-q", "-e", env, "--setup-data", setup_file, "--summary-export", exports.back()};
        if (i == 3) {
            args.insert(args.end(), {"--instance", "3/4"});
        } else {
            args.insert(args.end(),
                        {"--execution-segment", segments[i], "--execution-segment-sequence", "0,1/4,2/4,3/4,1"});
        }
        procs.push_back(test_support::start_runner(args, dir, "part" + std::to_string(i)));
    }
    std::set<double> vu_ids;
    for (int i = 0; i < 4; ++i) {
        int code = procs[i]->wait();
        INFO("instance " << i << ": " << procs[i]->err());
        CHECK(code == 99);  // its own share fails `count>=40`: only the merged run can pass it
        auto part = read_json(exports[i]);
        CHECK(agg(part, "http_reqs", "count") == 10);  // 2 of the 8 VUs, 5 iterations each
        CHECK(part["state"]["segment"] == reduced[i]);
    }
    CHECK(server.count("/auth/token") == 1);  // setup() ran once, in `loadkit setup`
    CHECK(server.count("/auth/revoke") == 0);

    auto teardown = test_support::run_runner({"teardown", test, "--setup-data", setup_file, "-e", env});
    INFO(teardown.err);
    CHECK(teardown.code == 0);
    CHECK(server.count("/auth/revoke") == 1);
    CHECK(server.count("/auth/token") == 1);

    auto merged_file = (dir.dir / "merged.json").string();
    std::vector<std::string> args{"merge", "-o", merged_file};
    args.insert(args.end(), exports.begin(), exports.end());
    auto merged = test_support::run_runner(args);
    INFO(merged.out << merged.err);
    CHECK(merged.code == 0);                                              // the merged thresholds hold
    CHECK(merged.out.find("HANDLED http_reqs=40") != std::string::npos);  // handleSummary, once
    CHECK(merged.err.find("warning") == std::string::npos);
    auto m = read_json(merged_file);

    // the same test in one process, with the same setup data (so that setup()
    // and teardown() send nothing here either)
    auto whole_file = (dir.dir / "whole.json").string();
    auto whole = test_support::run_runner(
        {"run", test, "-q", "-e", env, "--setup-data", setup_file, "--summary-export", whole_file});
    CHECK(whole.code == 0);
    auto w = read_json(whole_file);
    for (auto metric : {"http_reqs", "iterations", "marks", "checks", "data_sent"}) {
        INFO(metric);
        CHECK(agg(m, metric, "count") == agg(w, metric, "count"));
    }
    CHECK(agg(m, "http_reqs", "count") == 40);
    CHECK(server.count("/auth/token") == 1);
    for (auto& c : m["checks"]) {
        INFO(c["name"]);
        CHECK(c["passes"] == 40);
        CHECK(c["fails"] == 0);
    }
    CHECK(m["checks"].size() == 2);

    // merged percentiles against the raw samples: VU ids 1..8 (unique across
    // instances), iterations 0..4
    std::vector<double> raw;
    for (int vu = 1; vu <= 8; ++vu)
        for (int it = 0; it < 5; ++it) raw.push_back(vu * 1000 + it);
    CHECK(agg(m, "marks", "min") == 1000);
    CHECK(agg(m, "marks", "max") == 8004);
    for (auto [field, q] :
         {std::pair{"med", 0.5}, std::pair{"p90", 0.9}, std::pair{"p95", 0.95}, std::pair{"p99", 0.99}}) {
        INFO(field);
        CHECK(agg(m, "marks", field) == Approx(exact_quantile(raw, q)).epsilon(0.01));
        CHECK(agg(m, "marks", field) == agg(w, "marks", field));
    }
    CHECK(agg(m, "marks", "avg") == Approx(4502.0));

    // three of four: the merged threshold fails (exit 99), and the gap is named
    args = {"merge", exports[0], exports[1], exports[2]};
    auto partial = test_support::run_runner(args);
    CHECK(partial.code == 99);
    CHECK(partial.err.find("do not cover the test exactly once") != std::string::npos);
    // the merged file merges again
    auto again = test_support::run_runner({"merge", "-q", merged_file});
    CHECK(again.code == 0);
}
#endif

namespace {
double sum_series(const std::string& text, const std::string& family) {
    double sum = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(family + "{", 0) == 0 || line.rfind(family + " ", 0) == 0)
            sum += std::stod(line.substr(line.rfind(' ') + 1));
    return sum;
}
}  // namespace

TEST_CASE("runner: --report, --out csv json and prometheus, and loadkit report agree with the summary") {
    loadkit::target_server server;
    scratch dir;
    auto test = dir.write("t.yaml", R"(
name: outputs
scenarios:
  users:
    executor: constant-vus
    vus: 3
    duration: 2s
    flow:
      - request: { name: items, url: /items }
        check: { status: 200 }
      - request: { name: missing, url: /nope }
      - think: 5ms
)");
    auto port = test_support::free_port();
    auto out = [&](const char* f) {
        return (dir.dir / "out" / f).string();
    };  // out/ does not exist: the runner makes it
    auto run = test_support::start_runner(
        {"run", test, "-q", "--target", server.url(), "--summary-export", out("s.json"), "--report", out("r.html"),
         "--out", "csv=" + out("c.csv"), "--out", "json=" + out("j.json"), "--out",
         "prometheus=127.0.0.1:" + std::to_string(port)},
        dir, "outputs");
    // scrape while it runs, and after its final update (it lingers for that)
    std::string last;
    int code = -2;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            if (auto r = test_support::fetch(port, "/metrics"); r.status == 200) last = r.body;
        } catch (const std::runtime_error&) {  // not listening yet, or gone
        }
        if (!run->running()) {
            code = run->code;
            break;
        }
        std::this_thread::sleep_for(150ms);
    }
    INFO(run->err());
    REQUIRE(code == 0);
    auto s = read_json(out("s.json"));
    double reqs = agg(s, "http_reqs", "count");
    REQUIRE(reqs > 0);
    CHECK(sum_series(last, "http_reqs_total") == reqs);  // the final scrape: the whole run
    CHECK(last.find("# TYPE http_req_duration_seconds histogram") != std::string::npos);

    // the export carries the charts' data and the requests table
    REQUIRE(s["timeline"].is_array());
    double timeline_reqs = 0;
    for (auto& p : s["timeline"]) timeline_reqs += p["reqs"].get<double>();
    CHECK(timeline_reqs == reqs);
    CHECK(s["requests"].size() == 2);

    // CSV and JSON points add up to the summary's counts
    std::ifstream csv(out("c.csv"));
    std::string header;
    std::getline(csv, header);
    CHECK(header.rfind("metric_name,timestamp,metric_value,", 0) == 0);
    double csv_reqs = 0;
    for (std::string line; std::getline(csv, line);)
        if (line.rfind("http_reqs,", 0) == 0) {
            auto a = line.find(',', 10);
            csv_reqs += std::stod(line.substr(a + 1, line.find(',', a + 1) - a - 1));
        }
    CHECK(csv_reqs == reqs);
    std::ifstream jl(out("j.json"));
    double json_reqs = 0;
    for (std::string line; std::getline(jl, line);) {
        auto p = nlohmann::json::parse(line);
        if (p["metric"] == "http_reqs") json_reqs += p["value"].get<double>();
    }
    CHECK(json_reqs == reqs);

    // the report, and the same report from the export
    auto html = test_support::read_text(out("r.html"));
    CHECK(html.find("lk-chart") != std::string::npos);
    CHECK(html.find("missing") != std::string::npos);
    auto again = test_support::run_runner({"report", out("s.json"), "-o", out("r2.html")});
    CHECK(again.code == 0);
    CHECK(test_support::read_text(out("r2.html")).find("lk-chart") != std::string::npos);
    auto bad = test_support::run_runner({"run", test, "--out", "prometheus=nonsense"});
    CHECK(bad.code == 104);
    CHECK(bad.err.find("expected HOST:PORT") != std::string::npos);
}

TEST_CASE("runner: --start-at starts instances together") {
    loadkit::target_server server;
    scratch dir;
    auto test = dir.write("t.yaml", R"(
name: together
scenarios:
  users:
    executor: per-vu-iterations
    vus: 2
    iterations: 3
    flow:
      - request: { name: items, url: /items }
)");
    auto start = std::chrono::system_clock::now() + 1500ms;
    auto secs = std::chrono::system_clock::to_time_t(start);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch()).count() % 1000;
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char at[64];
    std::snprintf(at, sizeof at, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    auto start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch()).count();
    std::vector<std::unique_ptr<test_support::child>> procs;
    for (int i = 0; i < 2; ++i)
        procs.push_back(test_support::start_runner(
            {"run", test, "-q", "--target", server.url(), "--instance", std::to_string(i) + "/2", "--start-at", at,
             "--summary-export", (dir.dir / ("s" + std::to_string(i) + ".json")).string()},
            dir, "s" + std::to_string(i)));
    std::vector<std::int64_t> started;
    for (int i = 0; i < 2; ++i) {
        INFO(procs[i]->err());
        REQUIRE(procs[i]->wait() == 0);
        started.push_back(read_json((dir.dir / ("s" + std::to_string(i) + ".json")).string())["started_ms"]);
        CHECK(started.back() >= start_ms);
        CHECK(started.back() < start_ms + 1000);
    }
    CHECK(server.count("/items") == 6);
}
#endif

#ifdef LOADKIT_RUNNER_PATH
TEST_CASE(
    "merge: an export whose state is not an object, and exports of different tests, are refused (issue 13, 4 and 7)") {
    loadkit::target_server server;
    scratch dir;
    auto yaml = [&](const std::string& file, const std::string& name) {
        return dir.write(file,
                         "name: " + name + "\ntarget: " + server.url() +
                             "\nscenarios:\n  users:\n    executor: shared-iterations\n    vus: 2\n    iterations: 4\n"
                             "    flow:\n      - request: { url: / }\n");
    };
    auto run = [&](const std::string& test, const std::string& instance, const std::string& out) {
        auto r = test_support::run_runner({"run", test, "-q", "--instance", instance, "--summary-export", out});
        INFO(r.err);
        REQUIRE(r.code == 0);
        return out;
    };
    auto a = yaml("a.yaml", "shop"), b = yaml("b.yaml", "shop"), c = yaml("a2.yaml", "other");
    auto a0 = run(a, "0/2", (dir.dir / "a0.json").string()), a1 = run(a, "1/2", (dir.dir / "a1.json").string());
    SECTION("\"state\": null ends with 104 and a message, not SIGABRT") {
        auto text = test_support::read_text(a1);
        auto at = text.find("\"state\": ");
        REQUIRE(at != std::string::npos);
        auto null_state = dir.write("null.json", text.substr(0, at) + "\"state\": null\n}\n");
        auto r = test_support::run_runner({"merge", a0, null_state});
        CHECK(r.code == 104);  // was: nlohmann::json type_error, SIGABRT (134)
        CHECK_THAT(
            r.err,
            Catch::Contains(
                "merge: " + null_state +
                ": expected a summary written by `loadkit run --summary-export` (its \"state\" is not an object)"));
        auto number_format = dir.write("format.json",
                                       text.substr(0, at) + "\"state\": {\"format\": 7, \"name\": \"shop\"}\n}\n");
        r = test_support::run_runner({"merge", a0, number_format});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("expected a summary exported by loadkit"));
    }
    SECTION("the same test's instances merge") {
        auto r = test_support::run_runner({"merge", a0, a1, "-q"});
        INFO(r.err);
        CHECK(r.code == 0);
    }
    SECTION("another test file, or another name, is refused unless --allow-different-tests") {
        auto b1 = run(b, "1/2", (dir.dir / "b1.json").string());
        auto r = test_support::run_runner({"merge", a0, b1, "-q"});
        CHECK(r.code == 104);  // was: merged silently, exit 0
        CHECK_THAT(
            r.err,
            Catch::Contains(
                "merge: " + b1 + " is an export of another test than " + a0 +
                " (test 'b.yaml', not 'a.yaml'): merging them would mix unrelated numbers; give --allow-different-tests"));
        auto c1 = run(c, "1/2", (dir.dir / "c1.json").string());
        // the same file name in another directory with another name: what differs is the name
        std::filesystem::create_directories(dir.dir / "elsewhere");
        auto moved = yaml("elsewhere/a.yaml", "other");
        auto m1 = run(moved, "1/2", (dir.dir / "m1.json").string());
        r = test_support::run_runner({"merge", a0, m1, "-q"});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("(name 'other', not 'shop')"));
        r = test_support::run_runner({"merge", a0, c1, "-q", "--allow-different-tests"});
        INFO(r.err);
        CHECK(r.code == 0);
    }
    SECTION("an unwritable -o or --report is said before merging") {
        auto file = dir.write("a-file", "x");
        auto r = test_support::run_runner({"merge", a0, a1, "-q", "-o", file + "/m.json"});
        CHECK(r.code == 1);
        CHECK_THAT(r.err, Catch::Contains("merge: -o/--output: cannot write '" + file + "/m.json': Not a directory"));
    }
}
#endif

}  // namespace LOADKIT_TEST_UNIT
