// The HTML report and the timeline it charts: a real run against the built-in
// target, fed to a timeline_recorder from on_progress, rendered to a page
// that must be self-contained and escaped; partial and nonsense summaries;
// and, when Chromium is installed, a headless render of the page (its
// render check must say "ok") and a screenshot.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <loadkit.hpp>
#include <loadkit/outputs/html.hpp>
#include <loadkit/engine/timeline.hpp>
#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;

namespace {

// Requests that succeed, fail (404) and take a little while, by name.
struct Site : loadkit::Scenario<Site> {
    struct User : loadkit::VU<Site> {
        loadkit::task<> iteration() {
            auto& items = co_await http.get("/items", {.name = "items"});
            loadkit::check(items, {{"items: status 200", [](const loadkit::response& r) { return r.status == 200; }}});
            co_await http.get("/status/404", {.name = "missing page"});
            auto& slow = co_await http.get("/delay/5", {.name = "slow <5ms> & co"});
            loadkit::check(slow, {{"slow: status 200", [](const loadkit::response& r) { return r.status == 200; }}});
            co_await sleep(20ms);
        }
    };
};

struct real_run {
    nlohmann::json summary;
    std::size_t points = 0;
};

// One short run, shared by the tests below (about 2.5 s).
const real_run& run_once() {
    static const real_run r = [] {
        loadkit::target_server server;
        loadkit::options o;
        o.name = "html report <smoke>";
        o.target = server.url();
        o.threads = 2;
        o.print_summary = false;
        o.thresholds = {{"http_req_duration", {"p(95)<2000"}}, {"http_req_failed", {"rate<0.01"}}};
        loadkit::timeline_recorder rec;
        nlohmann::json requests;
        o.progress_period = 200ms;
        o.on_progress = [&](const loadkit::progress& p) {
            rec.add(*p.metrics, p.elapsed_secs);
            if (p.final) requests = loadkit::requests_table(*p.metrics);
        };
        loadkit::test<Site> t(o);
        t.scenario("browse",
                   loadkit::ramping_vus{
                       .start_vus = 1, .stages = {{800ms, 4}, {1000ms, 4}, {500ms, 1}}, .graceful_ramp_down = 1s});
        auto result = t.run();
        real_run out;
        out.summary = result.summary;
        out.summary["timeline"] = rec.json();
        out.summary["requests"] = requests;
        out.points = rec.size();
        return out;
    }();
    return r;
}

std::size_t occurrences(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
    return n;
}

// Headless Chromium on a file, never for more than a minute; returns the exit status.
int chromium(const std::string& dir, const std::string& extra, const std::string& page,
             const std::string& stdout_file) {
    static int runs = 0;
    auto profile = dir + "/profile-" + std::to_string(++runs);  // a new, empty profile each time
    std::filesystem::create_directories(profile);
    std::string cmd =
        "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage "
        "--user-data-dir=" +
        profile + " --virtual-time-budget=2000 " + extra + " file://" + page + " > " + stdout_file + " 2> " + dir +
        "/chromium.log";
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A synthetic summary in build_summary's shape, for the tests that need no run.
nlohmann::json small_summary() {
    return {{"name", "synthetic"},
            {"run_id", "abc123"},
            {"started_ms", 1795600000000},
            {"ended_ms", 1795600010000},
            {"duration_secs", 10.0},
            {"scenarios", {"users"}},
            {"metrics",
             {{{"metric", "http_req_duration"},
               {"kind", "trend"},
               {"agg",
                {{"avg", 1.5},
                 {"min", 0.2},
                 {"med", 1.1},
                 {"max", 9.0},
                 {"p90", 2.0},
                 {"p95", 3.0},
                 {"p99", 5.0},
                 {"count", 100}}}},
              {{"metric", "http_reqs"}, {"kind", "counter"}, {"agg", {{"count", 100}, {"per_second", 10.0}}}},
              {{"metric", "http_req_failed"}, {"kind", "rate"}, {"agg", {{"rate", 0.1}, {"sum", 10}, {"count", 100}}}},
              {{"metric", "vus"}, {"kind", "gauge"}, {"agg", {{"last", 2}, {"min", 1}, {"max", 3}}}}}},
            {"checks", nlohmann::json::array()},
            {"thresholds", nlohmann::json::array()},
            {"thresholds_passed", true},
            {"aborted", nullptr}};
}

}  // namespace

TEST_CASE("html report: a real run renders every section and loads nothing") {
    auto& run = run_once();
    auto& s = run.summary;
    REQUIRE(run.points >= 5);  // 200 ms progress over about 2.5 s
    REQUIRE(s["timeline"].size() == run.points);
    REQUIRE(s["requests"].size() == 3);

    // the timeline adds up to the summary's totals
    double reqs = 0, failed = 0, secs = 0;
    for (auto& p : s["timeline"]) {
        reqs += p["reqs"].get<double>();
        failed += p["failed"].get<double>();
        secs += p["interval_secs"].get<double>();
        if (p["reqs"].get<double>() > 0) {
            CHECK(p["p50"].get<double>() <= p["p95"].get<double>());
            CHECK(p["p95"].get<double>() <= p["p99"].get<double>());
            CHECK(p["p99"].get<double>() <= p["max"].get<double>() * 1.01);
        }
    }
    CHECK(reqs == loadkit::find_metric(s, "http_reqs")->at("count").get<double>());
    CHECK(failed == loadkit::find_metric(s, "http_req_failed")->at("sum").get<double>());
    CHECK(secs == Approx(s["timeline"].back()["t"].get<double>()));
    CHECK(failed > 0);

    auto html = loadkit::html_report(s);
    // self-contained: nothing to fetch
    CHECK(html.find("src=\"http") == std::string::npos);
    CHECK(html.find("href=\"http") == std::string::npos);
    CHECK(html.find("<script src") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
    CHECK(occurrences(html, "<script") == 1);  // the render check
    // what it shows
    CHECK(occurrences(html, "<svg class=\"lk-chart\" data-series-points=\"" + std::to_string(run.points) + "\"") == 4);
    CHECK(html.find(">items<") != std::string::npos);
    CHECK(html.find(">missing page<") != std::string::npos);
    CHECK(html.find("slow &lt;5ms&gt; &amp; co") != std::string::npos);
    CHECK(html.find("slow <5ms>") == std::string::npos);
    CHECK(html.find("html report &lt;smoke&gt;") != std::string::npos);
    CHECK(html.find("p(95)&lt;2000") != std::string::npos);
    CHECK(html.find("rate&lt;0.01") != std::string::npos);  // failed: every third request is a 404
    CHECK(html.find("status fail\">FAILED") != std::string::npos);
    CHECK(html.find("items: status 200") != std::string::npos);
    CHECK(html.find("http_req_duration") != std::string::npos);
    CHECK(html.find("<polyline") != std::string::npos);
    CHECK(html.find(s["run_id"].get<std::string>()) != std::string::npos);
}

TEST_CASE("html report: every string from the input is escaped") {
    auto s = small_summary();
    s["name"] = "<script>alert(1)</script>";
    s["aborted"] = "stopped by <b>someone</b>";
    s["scenarios"] = {"a&b"};
    s["checks"] = {{{"name", "<img src=x onerror=alert(1)>"}, {"passes", 1}, {"fails", 2}}};
    s["requests"] = {{{"name", "\"quoted\" 'single'"}, {"method", "<GET>"}, {"count", 3}, {"failed", 0}, {"avg", 1.0}}};
    s["thresholds"] = {{{"metric", "http_req_duration{name:<x>}"},
                        {"threshold", "p(95)<200"},
                        {"ok", false},
                        {"value", 250.5},
                        {"abort_on_fail", true}}};
    s["thresholds_passed"] = false;
    auto html = loadkit::html_report(s);
    CHECK(occurrences(html, "<script") == 1);
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
    CHECK(html.find("stopped by &lt;b&gt;someone&lt;/b&gt;") != std::string::npos);
    CHECK(html.find("a&amp;b") != std::string::npos);
    CHECK(html.find("&quot;quoted&quot; &#39;single&#39;") != std::string::npos);
    CHECK(html.find("&lt;GET&gt;") != std::string::npos);
    CHECK(html.find("http_req_duration{name:&lt;x&gt;}") != std::string::npos);
    CHECK(html.find("status fail\">FAILED") != std::string::npos);
    CHECK(html.find("abortOnFail") != std::string::npos);
}

TEST_CASE("html report: partial summaries render and nonsense is refused with a message") {
    using nlohmann::json;
    // partial: what is there shows, the rest says so
    CHECK_NOTHROW(loadkit::html_report(json::object()));
    auto empty = loadkit::html_report(json::object());
    CHECK(occurrences(empty, "class=\"lk-chart\" data-series-points=\"0\"") == 4);
    CHECK(occurrences(empty, "no data") == 4);
    CHECK(empty.find("<polyline") == std::string::npos);

    auto no_timeline = small_summary();
    auto html = loadkit::html_report(no_timeline);
    CHECK(html.find("no data") != std::string::npos);
    CHECK(html.find("1.50 ms") != std::string::npos);  // the trend's avg
    CHECK(html.find("10.00%") != std::string::npos);   // the failure rate

    auto no_metrics = small_summary();
    no_metrics["metrics"] = json::array();
    no_metrics["started_ms"] = nullptr;
    no_metrics["aborted"] = nullptr;
    CHECK_NOTHROW(loadkit::html_report(no_metrics));

    // a single point: dots, no line (a line of one point has no width)
    auto one = small_summary();
    one["timeline"] = {{{"t", 1.0},
                        {"interval_secs", 1.0},
                        {"rps", 5},
                        {"vus", 1},
                        {"failed", 0},
                        {"p50", 1.0},
                        {"p95", 2.0},
                        {"p99", 3.0}}};
    html = loadkit::html_report(one);
    CHECK(occurrences(html, "data-series-points=\"1\"") == 4);
    CHECK(html.find("<polyline") == std::string::npos);
    CHECK(occurrences(html, "<circle") == 6);

    // gaps (no requests) break latency lines instead of dropping to zero
    auto gaps = small_summary();
    gaps["timeline"] = json::array();
    for (int i = 1; i <= 6; ++i)
        gaps["timeline"].push_back({{"t", i},
                                    {"rps", i == 3 ? 0 : 10},
                                    {"vus", 2},
                                    {"failed", 0},
                                    {"p50", i == 3 ? json() : json(1.0)},
                                    {"p95", i == 3 ? json() : json(2.0)},
                                    {"p99", nullptr}});
    html = loadkit::html_report(gaps);
    CHECK(occurrences(html, "<polyline") == 3 + 2 * 2);  // rps, VUs, failures; p50 and p95 in two pieces; no p99

    // wrong types anywhere: shown as they are, or left out
    json odd = {
        {"name", 42},
        {"run_id", {{"x", 1}}},
        {"started_ms", "yesterday"},
        {"duration_secs", "long"},
        {"scenarios", "s"},
        {"metrics",
         {1,
          "x",
          {{"metric", 5}, {"kind", "trend"}, {"agg", "q"}},
          {{"metric", "m"}, {"kind", "weird"}, {"agg", {1, 2}}}}},
        {"checks", {{{"name", nullptr}, {"passes", "many"}}}},
        {"thresholds", {{{"ok", "yes"}, {"value", "high"}}, 7}},
        {"timeline", {1, {{"t", "soon"}}, {{"t", 1e300}, {"rps", -1e300}, {"p50", 1e300}}, {{"t", -5}, {"vus", 1e20}}}},
        {"requests", {{{"name", json::array()}, {"count", -1}}}},
        {"aborted", false}};
    CHECK_NOTHROW(loadkit::html_report(odd));
    CHECK(occurrences(loadkit::html_report(odd), "data-series-points=\"2\"") == 4);  // the points that say when

    // not a summary at all
    CHECK_THROWS_AS(loadkit::html_report(json()), std::invalid_argument);
    CHECK_THROWS_AS(loadkit::html_report(json::array({1, 2})), std::invalid_argument);
    CHECK_THROWS_WITH(loadkit::html_report(json("report")), Catch::Contains("JSON object"));
}

TEST_CASE("timeline: points are the intervals between snapshots and coarsen past the cap") {
    loadkit::merged_metrics m;
    loadkit::merged_metrics::http_tags ok{"s", "a", "GET", 200, 0, true, "", ""};
    loadkit::merged_metrics::http_tags bad{"s", "b", "POST", 500, 0, false, "", ""};
    loadkit::timeline_recorder rec(4);

    // first second: 10 requests at 1 ms; second: 10 at 100 ms, 2 of them failed; third: nothing
    for (int i = 0; i < 10; ++i) m.http[ok].duration.record(1'000'000);
    m.http[ok].reqs = 10;
    m.scenarios["s"].iterations = 5;
    m.vus.last = 3;
    rec.add(m, 1.0);
    for (int i = 0; i < 8; ++i) m.http[ok].duration.record(100'000'000);
    for (int i = 0; i < 2; ++i) m.http[bad].duration.record(100'000'000);
    m.http[ok].reqs = 18;
    m.http[bad].reqs = 2;
    m.http[bad].failed = 2;
    m.scenarios["s"].iterations = 10;
    rec.add(m, 2.0);
    rec.add(m, 2.5);
    auto j = rec.json();
    REQUIRE(j.size() == 3);
    CHECK(j[0]["reqs"] == 10);
    CHECK(j[0]["rps"] == 10.0);
    CHECK(j[0]["vus"] == 3.0);
    CHECK(j[0]["p50"].get<double>() == Approx(1.0).epsilon(0.01));
    CHECK(j[1]["reqs"] == 10);
    CHECK(j[1]["failed"] == 2);
    CHECK(j[1]["iterations"] == 5);
    CHECK(j[1]["p50"].get<double>() == Approx(100.0).epsilon(0.01));  // this interval's, not the run's
    CHECK(j[1]["max"].get<double>() == 100.0);                        // exact: it was set in this interval
    CHECK(j[2]["reqs"] == 0);
    CHECK(j[2]["interval_secs"] == 0.5);
    CHECK(j[2]["p99"].is_null());
    CHECK(j[2]["time_ms"].get<std::int64_t>() > 1'600'000'000'000);

    // a sliver of an interval (the final snapshot) joins the point before it
    m.http[ok].reqs += 1;
    m.http[ok].duration.record(3'000'000);
    rec.add(m, 2.52);
    j = rec.json();
    REQUIRE(j.size() == 3);
    CHECK(j[2]["reqs"] == 1);
    CHECK(j[2]["interval_secs"].get<double>() == Approx(0.52));
    CHECK(j[2]["t"] == 2.52);
    CHECK(j[2]["p99"].get<double>() == Approx(3.0).epsilon(0.01));

    // many more snapshots: never more than the cap (plus the open point), totals kept
    for (int s = 3; s <= 40; ++s) {
        m.http[ok].reqs += 10;
        for (int i = 0; i < 10; ++i) m.http[ok].duration.record(s == 20 ? 900'000'000 : 2'000'000);
        rec.add(m, s);
        CHECK(rec.size() <= 5);
    }
    j = rec.json();
    double reqs = 0, secs = 0, worst = 0;
    for (auto& p : j) {
        reqs += p["reqs"].get<double>();
        secs += p["interval_secs"].get<double>();
        if (!p["max"].is_null()) worst = std::max(worst, p["max"].get<double>());
    }
    CHECK(reqs == 21 + 38 * 10);
    CHECK(secs == Approx(40.0));
    CHECK(j.back()["t"] == 40.0);
    CHECK(worst == 900.0);  // a spike survives coarsening

    auto table = loadkit::requests_table(m);
    REQUIRE(table.size() == 2);
    CHECK(table[0]["name"] == "a");
    CHECK(table[0]["method"] == "GET");
    CHECK(table[1]["failed"] == 2);
    CHECK(table[1]["p95"].get<double>() == Approx(100.0).epsilon(0.01));
}

TEST_CASE("html report: headless Chromium renders the charts") {
    if (!std::filesystem::exists("/usr/bin/chromium")) {
        WARN("/usr/bin/chromium is not installed: the report was not rendered (scripts/setup installs it)");
        return;
    }
    test_support::scratch scratch;  // removed at the end, whatever happens
    auto dir = scratch.dir.string();
    auto page = dir + "/report.html";
    std::ofstream(page) << loadkit::html_report(run_once().summary);

    int rc = chromium(dir, "--dump-dom", page, dir + "/dom.html");
    REQUIRE(rc != 124);  // timed out: no second try, so that a stuck browser costs one minute at most
    INFO("chromium exit status " << rc << "; log: " << test_support::read_text(dir + "/chromium.log").substr(0, 2000));
    auto dom = test_support::read_text(dir + "/dom.html");
    auto at = dom.find("data-rendered=\"");
    INFO("render check: " << (at == std::string::npos ? std::string("(no result)") : dom.substr(at, 200)));
    CHECK(dom.find("data-rendered=\"ok\"") != std::string::npos);

    auto png = dir + "/report.png";
    rc = chromium(dir, "--screenshot=" + png + " --window-size=1280,2400 --hide-scrollbars", page,
                  dir + "/screenshot.out");
    INFO("chromium exit status " << rc << "; log: " << test_support::read_text(dir + "/chromium.log").substr(0, 2000));
    REQUIRE(std::filesystem::exists(png));
    CHECK(std::filesystem::file_size(png) > 20'000);
    if (auto* keep = std::getenv("LOADKIT_KEEP_SCREENSHOT"); keep && *keep)
        std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace LOADKIT_TEST_UNIT
