// handleSummary for the seed and for k6 (summary_data.hpp) and the jslib
// libraries loadkit serves without a network (js/jslib/): the seed's example
// as written, k6's data shape (metrics by name with k6's values, root_group,
// state, options), the return value rule (a string, k6's output map, the
// seed's JSON report), textSummary and jUnit, k6-utils, and the message for
// any other remote import.
//
// k6 v0.48.0, for the k6-shaped script of "js_summary: data reads k6's way"
// (run against `loadkit serve`, handleSummary writing JSON.stringify(data)):
// data's keys were metrics, options, root_group, setup_data, state;
// data.options = {summaryTrendStats: [avg,min,med,max,p(90),p(95)],
// summaryTimeUnit: "", noColor: false}; state = {isStdOutTTY, isStdErrTTY,
// testRunDurationMs}; every trend's values had exactly avg, min, med, max,
// p(90), p(95); http_req_failed (a rate) rate, passes, fails; http_reqs (a
// counter) count, rate; vus (a gauge) value, min, max; http_req_duration had
// contains "time", data_sent "data", http_reqs "default";
// root_group.groups = [{name: "setup", path: "::setup", groups: [], checks:
// []}, {name: "g", path: "::g", id: md5("::g"), checks: [{name: "in g",
// path: "::g::in g", passes: N, fails: 0, id}], groups: [inner]}]; k6 had
// no vus/vus_max for a run this short (loadkit has them).
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

loadkit::options summary_options(const std::string& target) {
    loadkit::options o;
    o.threads = 2;
    o.print_summary = false;  // the printed text is still in run_result::report
    o.handle_signals = false;
    o.env["TARGET"] = target;
    return o;
}

loadkit::run_result run_js(const std::string& file, const std::string& target) {
    loadkit::js::script s(file, {{{"TARGET", target}}});
    auto plan = loadkit::js::make_plan(s);
    return loadkit::yaml::run(plan, summary_options(target), &s);
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> keys(const nlohmann::json& o) {
    std::vector<std::string> k;
    for (auto& [name, v] : o.items()) k.push_back(name);
    std::sort(k.begin(), k.end());
    return k;
}
using names = std::vector<std::string>;

std::size_t occurrences_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("js_summary: the seed's handleSummary example runs as written") {
    loadkit::target_server server;
    scratch s;
    // the seed's example, as the seed writes it
    auto file = s.write("seed.js", R"(
export const options = { vus: 2, iterations: 6, thresholds: { http_req_duration: ['p(95)<5000'] } };
export default function () { http.get(`${__ENV.TARGET}/items`); }
export function handleSummary(data) {
  const reqs = data.metrics.find((m) => m.metric === 'http_reqs');
  const dur  = data.metrics.find((m) => m.metric === 'http_req_duration');
  return [
    `run ${data.run_id} — ${data.duration_secs.toFixed(1)}s`,
    `requests: ${reqs ? reqs.agg.sum : 0}`,
    `p95 latency: ${dur ? dur.agg.p95.toFixed(1) : 0} ms`,
    `thresholds passed: ${data.thresholds_passed}`,
  ].join('\n');
}
)");
    auto r = run_js(file, server.url());
    CHECK(r.code == 0);
    CHECK_THAT(r.report, Catch::StartsWith("run " + r.summary["run_id"].get<std::string>() + " — "));
    CHECK_THAT(r.report, Catch::Contains("\nrequests: 6\n"));
    CHECK_THAT(r.report, Catch::Contains("\np95 latency: "));
    CHECK_THAT(r.report, Catch::EndsWith("thresholds passed: true"));
}

TEST_CASE("js_summary: data.metrics is the seed's list too") {
    loadkit::target_server server;
    scratch s;
    auto file = s.write("list.js", R"(
export const options = { vus: 1, iterations: 3 };
export default function () { http.get(`${__ENV.TARGET}/items`); }
export function handleSummary(data) {
  const m = data.metrics;
  const out = {
    length: m.length === Object.keys(m).length + (m.length - Object.keys(m).length),
    first: m[0].metric === m.map((e) => e.metric)[0],
    iterated: [...m].length === m.length,
    filtered: m.filter((e) => e.kind === 'trend').every((e) => typeof e.agg.p95 === 'number'),
    some: m.some((e) => e.metric === 'iterations' && e.agg.count === 3),
    reduced: m.reduce((n, e) => n + (e.metric === 'http_reqs' ? e.agg.sum : 0), 0),
    names: Object.keys(m).includes('http_reqs') && !Object.keys(m).includes('0') && !Object.keys(m).includes('find'),
    forOf: (() => { let n = 0; for (const e of m) if (e.metric) n++; return n === m.length; })(),
    notArray: Array.isArray(m),
  };
  return JSON.stringify(out);
}
)");
    auto r = run_js(file, server.url());
    CHECK(r.code == 0);
    auto j = nlohmann::json::parse(r.report);
    CHECK(j["length"] == true);
    CHECK(j["first"] == true);
    CHECK(j["iterated"] == true);
    CHECK(j["filtered"] == true);
    CHECK(j["some"] == true);
    CHECK(j["reduced"] == 3);
    CHECK(j["names"] == true);
    CHECK(j["forOf"] == true);
    CHECK(j["notArray"] == false);  // differs from the seed's array: k6's object is what stringify prints
}

TEST_CASE("js_summary: data reads k6's way and JSON.stringify(data) prints k6's form") {
    loadkit::target_server server;
    scratch s;
    auto out = (s.dir / "out" / "summary.json").string();  // its folder does not exist yet
    auto file = s.write("k6.js", R"(
import { group } from 'k6';
export const options = {
  vus: 2, iterations: 4,
  thresholds: { http_req_duration: ['p(95)<5000'], 'http_req_duration{name:feed}': ['max>=0'], http_req_failed: ['rate<0.5'] },
};
export function setup() { return { token: 'abc' }; }
export default function () {
  http.get(`${__ENV.TARGET}/items`, { tags: { name: 'feed' } });
  check(1, { 'top': (v) => v === 1 });
  group('g', () => { check(1, { 'in g': () => true }); group('inner', () => check(1, { 'deep': () => true })); });
}
export function handleSummary(data) {
  return {
    stdout: `p95=${data.metrics.http_req_duration.values['p(95)'] >= 0} ms=${data.state.testRunDurationMs > 0}\n`,
    [__ENV.OUT]: JSON.stringify(data),
  };
}
)");
    loadkit::js::script js(file, {{{"TARGET", server.url()}, {"OUT", out}}});
    auto plan = loadkit::js::make_plan(js);
    auto r = loadkit::yaml::run(plan, summary_options(server.url()), &js);
    CHECK(r.code == 0);
    CHECK(r.report == "p95=true ms=true\n");  // the output map's stdout, and no default summary
    auto d = nlohmann::json::parse(slurp(out));
    // the seed's fields and k6's
    for (auto* k : {"name", "run_id", "duration_secs", "checks", "thresholds", "thresholds_passed", "metrics",
                    "root_group", "options", "state", "setup_data"})
        CHECK(d.contains(k));
    CHECK(d["setup_data"] == nlohmann::json{{"token", "abc"}});
    CHECK(keys(d["options"]) == names{"noColor", "summaryTimeUnit", "summaryTrendStats"});
    CHECK(d["options"]["summaryTrendStats"] == names{"avg", "min", "med", "max", "p(90)", "p(95)"});
    CHECK(d["options"]["summaryTimeUnit"] == "");
    CHECK(keys(d["state"]) == names{"isStdErrTTY", "isStdOutTTY", "testRunDurationMs"});
    auto& m = d["metrics"];
    REQUIRE(m.is_object());
    for (auto* t : {"http_req_duration", "http_req_waiting", "http_req_blocked", "iteration_duration",
                    "http_req_duration{expected_response:true}", "http_req_duration{name:feed}"}) {
        INFO(t);
        REQUIRE(m.contains(t));
        CHECK(m[t]["type"] == "trend");
        CHECK(m[t]["contains"] == "time");
        CHECK(keys(m[t]["values"]) == names{"avg", "max", "med", "min", "p(90)", "p(95)"});
    }
    CHECK(m["http_reqs"]["type"] == "counter");
    CHECK(m["http_reqs"]["contains"] == "default");
    CHECK(keys(m["http_reqs"]["values"]) == names{"count", "rate"});
    CHECK(m["http_reqs"]["values"]["count"] == 4);
    CHECK(m["iterations"]["values"]["count"] == 4);
    CHECK(m["data_sent"]["contains"] == "data");
    CHECK(m["http_req_failed"]["type"] == "rate");
    CHECK(keys(m["http_req_failed"]["values"]) == names{"fails", "passes", "rate"});
    CHECK(m["http_req_failed"]["values"]["fails"] == 4);
    CHECK(m["checks"]["values"]["passes"] == 12);
    CHECK(m["vus"]["type"] == "gauge");
    CHECK(keys(m["vus"]["values"]) == names{"max", "min", "value"});
    CHECK(m["http_req_duration"]["thresholds"] == nlohmann::json{{"p(95)<5000", {{"ok", true}}}});
    CHECK(m["http_req_duration{name:feed}"]["thresholds"]["max>=0"]["ok"] == true);
    CHECK_FALSE(m.contains("dropped_iterations"));  // no samples: left out, as in k6
    // root_group: groups and checks by path, ids the MD5 of the path (as k6's)
    auto& root = d["root_group"];
    CHECK(root["name"] == "");
    CHECK(root["path"] == "");
    CHECK(root["id"] == "d41d8cd98f00b204e9800998ecf8427e");
    REQUIRE(root["checks"].size() == 1);
    CHECK(root["checks"][0]["name"] == "top");
    CHECK(root["checks"][0]["path"] == "::top");
    CHECK(root["checks"][0]["passes"] == 4);
    CHECK(root["checks"][0]["fails"] == 0);
    REQUIRE(root["groups"].size() == 2);
    CHECK(root["groups"][0]["name"] == "setup");  // k6 has a group for setup() (it exports one), first
    CHECK(root["groups"][0]["path"] == "::setup");
    CHECK(root["groups"][0]["checks"].empty());
    auto& g = root["groups"][1];
    CHECK(g["name"] == "g");
    CHECK(g["path"] == "::g");
    CHECK(g["id"] == loadkit::js::detail::md5_hex("::g"));
    CHECK(g["checks"][0]["name"] == "in g");
    CHECK(g["checks"][0]["path"] == "::g::in g");
    CHECK(g["groups"][0]["path"] == "::g::inner");
    CHECK(g["groups"][0]["checks"][0]["name"] == "deep");
}

TEST_CASE("js_summary: a non-string return value is the seed's JSON report") {
    loadkit::target_server server;
    scratch s;
    auto file = s.write("report.js", R"(
export const options = { vus: 1, iterations: 2 };
export default function () { http.get(`${__ENV.TARGET}/items`); }
export function handleSummary(data) {
  return { run: data, metrics: data.metrics, count: data.metrics.find((m) => m.metric === 'http_reqs').agg.count };
}
)");
    auto r = run_js(file, server.url());
    CHECK(r.code == 0);
    auto j = nlohmann::json::parse(r.report);
    CHECK(j["count"] == 2);
    // data and data.metrics in the seed's shape: the summary as the JSON output writes it
    CHECK(j["run"] == r.summary);
    CHECK(j["metrics"] == r.summary["metrics"]);
    CHECK(j["metrics"].is_array());
    CHECK_FALSE(j["run"].contains("root_group"));
    CHECK_THAT(r.report, Catch::Contains("\n  \""));  // pretty-printed
}

#ifdef LOADKIT_RUNNER_PATH
using test_support::run_runner;

TEST_CASE("js_summary: k6's output map: files written, stdout and stderr printed, no default summary") {
    loadkit::target_server server;
    scratch s;
    auto file = s.write("map.js", R"(
export const options = { vus: 1, iterations: 2 };
export default function () { http.get(`${__ENV.TARGET}/items`); }
export function handleSummary(data) {
  return {
    'stdout': 'custom stdout\n',
    'stderr': 'custom stderr\n',
    [__ENV.DIR + '/text.txt']: `reqs=${data.metrics.http_reqs.values.count}`,
    [__ENV.DIR + '/bytes.bin']: new Uint8Array([0, 1, 2, 255]).buffer,
    [__ENV.DIR + '/view.bin']: new Uint8Array([9, 8, 7, 6]).subarray(1, 3),
  };
}
)");
    auto r = run_runner({"run", file, "-e", "TARGET=" + server.url(), "-e", "DIR=" + s.dir.string()});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("custom stdout"));
    CHECK_THAT(r.out, !Catch::Contains("http_req_duration...."));
    CHECK_THAT(r.err, Catch::Contains("custom stderr"));
    CHECK(slurp(s.dir / "text.txt") == "reqs=2");
    CHECK(slurp(s.dir / "bytes.bin") == std::string("\x00\x01\x02\xff", 4));
    CHECK(slurp(s.dir / "view.bin") == std::string("\x08\x07", 2));
}

TEST_CASE("js_summary: k6-summary's textSummary and jUnit, served without a network") {
    loadkit::target_server server;
    scratch s;
    auto file = s.write("jslib.js", R"(
import { textSummary, jUnit } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';
import summary, { humanizeValue } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';
export const options = {
  vus: 1, iterations: 2,
  thresholds: { http_req_duration: ['p(95)<60000'], http_reqs: ['count>1000'] },
};
export default function () { const r = http.get(`${__ENV.TARGET}/items`); check(r, { 'status is 200': (x) => x.status === 200 }); }
export function handleSummary(data) {
  return {
    stdout: textSummary(data, { indent: ' ', enableColors: true }),
    [__ENV.DIR + '/plain.txt']: summary.textSummary(data),
    [__ENV.DIR + '/junit.xml']: jUnit(data, { name: 'my <suite>' }),
    [__ENV.DIR + '/human.txt']: [humanizeValue(0.5, { type: 'rate' }), humanizeValue(1500, { type: 'counter', contains: 'data' }),
      humanizeValue(12.5, { type: 'trend', contains: 'time' }), humanizeValue(1500, { type: 'trend', contains: 'time' }, 'ms'),
      humanizeValue(0.25, { type: 'trend', contains: 'time' }), humanizeValue(2, { type: 'counter', contains: 'default' })].join(' '),
  };
}
)");
    auto r = run_runner({"run", file, "-e", "TARGET=" + server.url(), "-e", "DIR=" + s.dir.string()});
    INFO(r.err);
    CHECK(r.code == 99);  // a threshold failed
    // loadkit's own console summary, each line after the indent
    CHECK_THAT(r.out, Catch::Contains("   http_req_duration...."));
    CHECK_THAT(r.out, Catch::Contains("ok   status is 200  2 passed, 0 failed"));
    CHECK_THAT(r.out, Catch::Contains("thresholds: FAILED"));
    CHECK(occurrences_of(r.out, "http_reqs....") == 1);  // the default summary is not printed too
    auto plain = slurp(s.dir / "plain.txt");
    CHECK_THAT(plain, Catch::Contains("\n    http_reqs....") && Catch::Contains(".: 2  "));  // no indent
    CHECK_THAT(plain, Catch::StartsWith("\n  loadkit "));
    CHECK(slurp(s.dir / "human.txt") == "50.00% 1.5 kB 12.50ms 1500.00ms 250.00us 2");
    auto xml = slurp(s.dir / "junit.xml");
    CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\"?>\n<testsuites tests=\"2\" failures=\"1\">"));
    CHECK_THAT(xml, Catch::Contains("<testsuite name=\"my &lt;suite&gt;\" tests=\"2\" failures=\"1\">"));
    CHECK_THAT(
        xml, Catch::Contains("<testcase name=\"http_req_duration - p(95)&lt;60000\" classname=\"Unnamed folder\" />"));
    CHECK_THAT(
        xml,
        Catch::Contains(
            "<testcase name=\"http_reqs - count&gt;1000\" classname=\"Unnamed folder\"><failure message=\"counter threshold failed: count value: 2, rate value: "));
}

TEST_CASE("js_summary: any other remote import fails at load and says how to vendor the file") {
    scratch s;
    auto remote = s.write("remote.js", R"(
import { htmlReport } from 'https://raw.githubusercontent.com/benc-uk/k6-reporter/main/dist/bundle.js';
export default function () {}
)");
    auto broken = s.write(
        "broken.js", "export default function () { throw new Error('x'); }\nimport nothing from './missing.js';\n");
    try {
        loadkit::js::script js(remote);
        FAIL("loaded");
    } catch (const loadkit::js::script_error& e) {
        std::string what = e.what();
        CHECK_THAT(what, Catch::Contains("loadkit never downloads modules"));
        CHECK_THAT(
            what,
            Catch::Contains(
                "curl -fsSL -o bundle.js 'https://raw.githubusercontent.com/benc-uk/k6-reporter/main/dist/bundle.js'"));
        CHECK_THAT(what, Catch::Contains("'./bundle.js'"));
    }
    auto v = run_runner({"validate", remote});
    auto other = run_runner({"validate", broken});
    CHECK(v.code != 0);
    CHECK(v.code == other.code);  // as any other script error
    CHECK_THAT(v.err, Catch::Contains("Vendor the file"));
    auto run = run_runner({"run", remote});
    CHECK(run.code == other.code);
    // an unknown jslib version is not served either
    auto future = s.write(
        "future.js",
        "import { uuidv4 } from 'https://jslib.k6.io/k6-utils/2.0.0/index.js';\nexport default function () {}\n");
    CHECK(run_runner({"validate", future}).code == other.code);
}
#endif

TEST_CASE("js_summary: k6-utils from jslib.k6.io, same results as documented") {
    loadkit::target_server server;
    scratch s;
    auto file = s.write("utils.js", R"(
import { randomIntBetween, randomItem, randomString, uuidv4, findBetween, normalDistributionStages,
         getCurrentStageIndex, tagWithCurrentStageIndex, tagWithCurrentStageProfile, check as asyncCheck }
  from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import utils from 'https://jslib.k6.io/k6-utils/1.2.0/index.js';
export const options = {
  scenarios: { ramp: { executor: 'ramping-vus', startVUs: 1, stages: [{ duration: '30s', target: 1 }], gracefulRampDown: '0s' } },
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
export default async function () {
  const ints = Array.from({ length: 200 }, () => randomIntBetween(3, 5));
  check(null, {
    'randomIntBetween: both bounds, integers': () => ints.every((n) => Number.isInteger(n) && n >= 3 && n <= 5) && ints.includes(3) && ints.includes(5),
    'randomItem': () => [1, 2, 3].includes(randomItem([1, 2, 3])) && randomItem([]) === undefined,
    'randomString: lowercase letters by default': () => /^[a-z]{12}$/.test(randomString(12)),
    'randomString: charset': () => /^[ab]{40}$/.test(randomString(40, 'ab')) && randomString(0) === '',
    'uuidv4': () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuidv4()),
    'uuidv4(secure)': () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuidv4(true)) && uuidv4(true) !== uuidv4(true),
    'findBetween: first': () => findBetween('<a>1</a><a>2</a>', '<a>', '</a>') === '1',
    'findBetween: repeat': () => same(findBetween('<a>1</a><a>2</a>', '<a>', '</a>', true), ['1', '2']),
    'findBetween: none': () => findBetween('abc', '<', '>') === null && findBetween('abc', '<', '>', true) === null,
    'findBetween: unclosed': () => findBetween('x[1]y[2', '[', ']', true).length === 1,
    // k6-utils 1.4.0 gives these (its documented example: 10 VUs over 20 s in 5 stages)
    'normalDistributionStages(10, 20, 5)': () => same(normalDistributionStages(10, 20, 5), [
      { duration: '4s', target: 1 }, { duration: '3s', target: 5 }, { duration: '3s', target: 10 }, { duration: '3s', target: 10 },
      { duration: '3s', target: 5 }, { duration: '3s', target: 1 }, { duration: '4s', target: 0 }]),
    'normalDistributionStages: 10 stages by default': () => normalDistributionStages(100, 600).length === 12 &&
      normalDistributionStages(100, 600)[5].target === 100 && normalDistributionStages(100, 600)[0].duration === '100s',
    'getCurrentStageIndex': () => getCurrentStageIndex() === 0,
    'default export': () => typeof utils.uuidv4 === 'function' && typeof utils.randomIntBetween === 'function',
  });
  tagWithCurrentStageIndex();
  tagWithCurrentStageProfile();
  check(null, { 'stage tags': () => String(exec.vu.tags.stage) === '0' && exec.vu.tags.stage_profile === 'ramp-up' });
  await http.asyncRequest('GET', `${__ENV.TARGET}/items`, null, { tags: { name: 'tagged' } });  // an async function cannot block (threads mode)
  const sync = asyncCheck(2, { 'async check: plain value': (v) => v === 2 });
  const later = await asyncCheck(Promise.resolve(5), { 'async check: awaited value': (v) => v === 5, 'async check: async checker': async (v) => v > 1 });
  check(null, { 'async check results': () => sync === true && later === true });
  exec.test.abort('done');
}
import exec from 'k6/execution';
)");
    loadkit::js::script js(file, {{{"TARGET", server.url()}}});
    auto plan = loadkit::js::make_plan(js);
    auto r = loadkit::yaml::run(plan, summary_options(server.url()), &js);
    CHECK(r.summary["checks"].size() == 19);
    for (auto& c : r.summary["checks"]) {
        INFO(c["name"]);
        CHECK(c["fails"] == 0);
        CHECK(c["passes"].get<double>() >= 1);
    }
}

}  // namespace LOADKIT_TEST_UNIT
