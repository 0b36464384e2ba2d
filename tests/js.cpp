// The JavaScript adapter against servers the tests start on 127.0.0.1: the
// seed's lifecycle examples as written (counted by the server), a plain k6
// script, the k6/* modules, async functions, errors with their locations,
// interrupts of running JavaScript, and the runner with scripts.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/yaml.hpp>  // YAML flows that call into a script (load_file)
#include <loadkit/target.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

loadkit::options quiet_options(const std::string& target, int threads = 2) {
    loadkit::options o;
    o.threads = threads;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["TARGET"] = target;
    return o;
}

using test_support::agg;
bool all_checks_pass(const nlohmann::json& summary, double at_least = 1) {
    double passes = 0;
    for (auto& c : summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    return passes >= at_least;
}

// Loads `file` and runs it with its own options, in this process.
loadkit::run_result run_script(const std::string& file, const std::string& target, int threads = 2) {
    loadkit::js::script s(file, {{{"TARGET", target}}});
    auto plan = loadkit::js::make_plan(s);
    return loadkit::yaml::run(plan, quiet_options(target, threads), &s);
}

// Whether synchronous scripts are rewritten to await (see transform.hpp), or
// kept on threads by LOADKIT_JS_SYNC=threads (the second CTest run).
bool rewrites() {
    const char* e = std::getenv("LOADKIT_JS_SYNC");
    return !(e && std::string_view(e) == "threads");
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("js: crypto and encoding helpers") {
    using namespace loadkit::js::detail;
    CHECK(hex(digest("sha256", "abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(digest("md5", "")) == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(hex(digest("sha1", "abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex(hmac("sha256", "key", "The quick brown fox jumps over the lazy dog")) ==
          "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    CHECK(b64encode("hello?") == "aGVsbG8/");
    CHECK(b64encode("hello?", "url") == "aGVsbG8_");
    CHECK(b64encode("ab") == "YWI=");
    CHECK(b64encode("ab", "rawstd") == "YWI");
    CHECK(b64decode("YWI=").value() == "ab");
    CHECK(b64decode("aGVsbG8_").value() == "hello?");
    CHECK_FALSE(b64decode("a*b").has_value());
    CHECK(random_bytes(16).size() == 16);
    CHECK_THROWS(digest("sha3", "x"));
}

TEST_CASE("js: a plain k6 script runs unchanged") {
    loadkit::target_server server;
    auto r = [&] {
        loadkit::js::script s(LOADKIT_SOURCE_DIR "/examples/js/k6_script.js", {{{"BASE_URL", server.url()}}});
        auto plan = loadkit::js::make_plan(s);
        auto o = quiet_options(server.url());
        o.env["BASE_URL"] = server.url();
        loadkit::yaml::apply_shortcuts(plan, 3, std::chrono::milliseconds(600), std::nullopt);
        return loadkit::yaml::run(plan, o, &s);
    }();
    CHECK(r.code == 0);
    auto iterations = agg(r.summary, "iterations", "count");
    CHECK(iterations > 0);
    CHECK(agg(r.summary, "http_reqs", "count") == 3 * iterations);
    CHECK(server.count("/items") == iterations);
    CHECK(server.count("/feed") == iterations);
    CHECK(agg(r.summary, "feed_time", "count") == iterations);
    CHECK(agg(r.summary, "group_duration", "count") == iterations);
    CHECK(all_checks_pass(r.summary, 3 * iterations));
}

#ifdef LOADKIT_RUNNER_PATH
using test_support::run_runner;

// k6's randomSeed: the same seed, the same draws (k6 v0.48.0 printed the
// same number twice for this script, and numbers in [0, 1)).
TEST_CASE("js: randomSeed repeats Math.random's draws") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("seed.js", R"(
import { check, randomSeed } from 'k6';
export const options = { vus: 1, iterations: 2 };
export default function () {
  randomSeed(7);
  const a = [Math.random(), Math.random()];
  randomSeed(7);
  const b = [Math.random(), Math.random()];
  check(a, {
    'the same seed draws the same': () => a[0] === b[0] && a[1] === b[1],
    'draws are in [0, 1) and differ': () => a.every((x) => x >= 0 && x < 1) && a[0] !== a[1],
  });
}
)");
    auto r = run_runner({"run", f, "-q", "--summary-export", (s.dir / "out.json").string()});
    INFO(r.err);
    CHECK(r.code == 0);
    auto summary = nlohmann::json::parse(test_support::read_text(s.dir / "out.json"));
    CHECK(all_checks_pass(summary, 4));
}

// examples/js/every_module.js: every k6 module in one script, with k6's
// numbers (its header says what k6 v0.48.0 printed for it).
TEST_CASE("js: a script using every module gives k6's numbers") {
    loadkit::target_server server;
    scratch s;
    auto exported = (s.dir / "summary.json").string();
    auto r = run_runner({"run", LOADKIT_SOURCE_DIR "/examples/js/every_module.js", "-e", "BASE_URL=" + server.url(),
                         "--summary-export", exported});
    INFO(r.err);
    CHECK(r.code == 0);  // its thresholds: every check passed, every 404 expected
    CHECK(server.count("/json") == 1);
    CHECK(server.count("/echo") == 4);
    CHECK(server.count("/status/404") == 4);
    auto summary = nlohmann::json::parse(test_support::read_text(exported));
    CHECK(agg(summary, "http_reqs", "count") == 9);
    CHECK(agg(summary, "http_req_failed", "rate") == 0);
    CHECK(agg(summary, "not_found", "rate") == 1);
    CHECK(agg(summary, "last_status", "last") == 404);
    CHECK(all_checks_pass(summary, 48));
    CHECK_THAT(r.out, Catch::Contains("http_reqs"));  // k6-summary's textSummary went to stdout
}

TEST_CASE("js: the seed's lifecycle runs as written") {
    loadkit::target_server server;
    auto yaml = LOADKIT_SOURCE_DIR "/examples/js/lifecycle.yaml";
    auto r = run_runner({"run", yaml, "--target", server.url(), "-q"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(server.count("/auth/token") == 1);   // setup once
    CHECK(server.count("/auth/revoke") == 1);  // teardown once
    CHECK(server.count("/auth/login") == 5);   // on_start once per VU
    CHECK(server.count("/auth/logout") == 5);  // on_stop once per VU
    CHECK(server.count("/echo") == 15);        // the YAML step, 5 VUs x 3 iterations
    CHECK(server.count("/feed") == 15);        // browse, after the flow
    CHECK(server.count("/items") >= 2);        // buyFlow, 2 VUs, 1 s sleeps in 2 s
    // handleSummary's string replaces the console report
    CHECK_THAT(r.out, Catch::Contains("requests: " + std::to_string(server.total())));
    CHECK_THAT(r.out, Catch::Contains("thresholds passed: true"));
    CHECK_THAT(r.out, !Catch::Contains("http_req_duration...."));
}

TEST_CASE("js: teardown runs once even after SIGINT") {
    loadkit::target_server server;
    scratch s;
    s.write("t.js", R"(
export function setup() { return { token: http.post('/auth/token', '{}').json().token }; }
export default function (data) { http.get('/feed', { headers: { Authorization: `Bearer ${data.token}` } }); sleep(0.05); }
export function teardown(data) { http.post('/auth/revoke', JSON.stringify(data)); }
export const options = { vus: 3, duration: '60s' };
)");
    auto start = std::chrono::steady_clock::now();
    auto r = run_runner({"run", (s.dir / "t.js").string(), "--target", server.url(), "-q"}, 30s, [&](pid_t pid) {
        for (int i = 0; i < 500 && server.count("/feed") < 10; ++i) std::this_thread::sleep_for(10ms);
        ::kill(pid, SIGINT);
    });
    INFO(r.err);
    CHECK(r.code == 105);
    CHECK(std::chrono::steady_clock::now() - start < 20s);
    CHECK(server.count("/auth/token") == 1);
    CHECK(server.count("/auth/revoke") == 1);
    CHECK_THAT(r.err, Catch::Contains("SIGINT"));
}

TEST_CASE("js: hooks wrap YAML request steps only") {
    loadkit::target_server server;
    scratch s;
    s.write("hooks.js", R"(
import { Counter } from 'k6/metrics';
import crypto from 'k6/crypto';
const before = new Counter('before_calls');
const after = new Counter('after_calls');
export function beforeRequest(req) {
  before.add(1);
  req.headers['X-Signature'] = crypto.hmac('sha256', __ENV.SIGNING_KEY, req.body || '', 'hex');
  if (req.name === 'rewritten') { req.url = '/status/201'; return req; }
  // returning nothing keeps the (mutated) request
}
export function afterRequest(res) {
  after.add(1);
  if (res.name === 'signed') {
    const sig = res.json().headers['X-Signature'];
    check(sig, { 'signed with the hmac': (v) => v === crypto.hmac('sha256', __ENV.SIGNING_KEY, 'order=42', 'hex') });
  }
  if (res.name === 'rewritten') check(res, { 'rewritten to 201': (r) => r.status === 201 });
}
export function own(data) {
  const res = http.get('/echo');
  check(res, { 'own calls are not signed': (r) => r.json().headers['X-Signature'] === undefined });
}
)");
    auto yaml = s.write("hooks.yaml", R"(
name: hooks
target: )" + server.url() + R"(
script: hooks.js
env: { SIGNING_KEY: k3y }
scenarios:
  users:
    executor: per-vu-iterations
    vus: 2
    iterations: 3
    exec: own
    flow:
      - request: { name: signed, method: POST, url: /echo, body: 'order=42' }
      - request: { name: rewritten, url: /status/500 }
)");
    auto r = run_runner({"run", yaml, "-q", "--summary-export", (s.dir / "summary.json").string()});
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto summary = nlohmann::json::parse(std::ifstream(s.dir / "summary.json"));
    CHECK(agg(summary, "before_calls", "count") == 12);  // 2 YAML steps x 6 iterations
    CHECK(agg(summary, "after_calls", "count") == 12);
    CHECK(agg(summary, "http_reqs", "count") == 18);  // and one own request per iteration
    CHECK(server.count("/status/201") == 6);
    CHECK(server.count("/status/500") == 0);
    CHECK(all_checks_pass(summary, 18));
}

TEST_CASE("js: script errors") {
    loadkit::target_server server;
    scratch s;
    SECTION("a syntax error stops the run before any load, with its location") {
        auto f = s.write("bad.js", "export default function () {\n  http.get('/');\n  let x = ;\n}\n");
        auto before = server.total();
        auto r = run_runner({"run", f, "--target", server.url()});
        CHECK(r.code == 107);
        CHECK_THAT(r.err, Catch::Contains("bad.js:3:11") && Catch::Contains("SyntaxError"));
        CHECK(server.total() == before);
        CHECK(run_runner({"validate", f}).code == 107);
    }
    SECTION("an exception fails its iteration, counted, logged once with its stack") {
        auto f = s.write(
            "throws.js",
            "export const options = { vus: 2, iterations: 6 };\nfunction inner() {\n  throw new Error('boom');\n}\n"
            "export default function () {\n  http.get('/json');\n  inner();\n}\n");
        auto r = run_runner(
            {"run", f, "--target", server.url(), "-q", "--summary-export", (s.dir / "s.json").string()});
        CHECK(r.code == 0);
        auto summary = nlohmann::json::parse(std::ifstream(s.dir / "s.json"));
        CHECK(agg(summary, "iterations", "count") == 6);
        CHECK(agg(summary, "iterations_failed", "count") == 6);
        CHECK(server.count("/json") == 6);
        CHECK(occurrences(r.err, "Error: boom") == 1);
        CHECK_THAT(r.err, Catch::Contains("throws.js:3:9") && Catch::Contains("inner@"));
    }
    SECTION("setup data that is not JSON is a clear script error") {
        auto f = s.write("setup.js", "export function setup() { return { n: 10n }; }\nexport default function () {}\n");
        auto r = run_runner({"run", f, "--target", server.url(), "-q"});
        CHECK(r.code == 107);
        CHECK_THAT(r.err, Catch::Contains("JSON-serialisable"));
    }
    SECTION("imports: k6 modules and the script's own files, never the network") {
        auto f = s.write("remote.js", "import { x } from 'https://jslib.k6.io/x.js';\nexport default function () {}\n");
        auto r = run_runner({"run", f});
        CHECK(r.code == 107);
        CHECK_THAT(r.err, Catch::Contains("never downloads"));
        auto g = s.write("missing.js", "import { x } from './nowhere.js';\nexport default function () {}\n");
        CHECK(run_runner({"run", g}).code == 107);
    }
    SECTION("an exec function that does not exist") {
        auto f = s.write(
            "noexec.js",
            "export const options = { scenarios: { a: { executor: 'per-vu-iterations', exec: 'nope' } } };\n"
            "export default function () {}\n");
        auto r = run_runner({"run", f});
        CHECK(r.code == 104);
        CHECK_THAT(r.err, Catch::Contains("no exported function 'nope'"));
    }
    SECTION("a failing on_start is a warning, not an abort") {
        s.write("onstart.js", "export function login() { throw new Error('no login today'); }\n"
                              "export default function () { http.get('/json'); }\n");
        auto yaml = s.write("onstart.yaml",
                            "name: x\ntarget: " + server.url() +
                                "\nscript: onstart.js\nscenarios:\n  a:\n    executor: per-vu-iterations\n"
                                "    vus: 2\n    iterations: 2\n    on_start: login\n    exec: default\n");
        auto r = run_runner({"run", yaml, "-q"});
        CHECK(r.code == 0);
        CHECK(server.count("/json") == 4);
        CHECK_THAT(r.err, Catch::Contains("no login today"));
    }
}
#endif

TEST_CASE("js: k6 modules, globals and session vars") {
    loadkit::target_server server;
    scratch s;
    s.write("data.txt", "line one\nline two\n");
    std::filesystem::create_directories(s.dir / "lib");
    s.write("lib/util.js", "export const twice = (x) => 2 * x;\n");
    auto f = s.write("mods.js", R"(
import http from 'k6/http';
import { check, group, fail } from 'k6';
import crypto from 'k6/crypto';
import { sha256 } from 'k6/crypto';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { Rate, Gauge } from 'k6/metrics';
import { twice } from './lib/util.js';
const lines = new SharedArray('lines', () => open('./data.txt').split('\n').filter((l) => l));
const ok = new Rate('my_rate');
const g = new Gauge('my_gauge');
export const options = { vus: 2, iterations: 8 };
export function setup() { return { list: [1, 2, 3] }; }
export default function (data, ctx) {
  const res = http.post(`${__ENV.TARGET}/echo`, { a: '1', b: 'x y' });
  let frozen = false;
  try { data.list.push(4); } catch (e) { frozen = true; }
  session.vars.count = String((+session.vars.count || 0) + 1);
  g.add(twice(21));
  ok.add(res.status === 200);
  check(res, {
    'form body': (r) => r.json().body === 'a=1&b=x+y',  // k6 v0.48.0 (Go's url.Values): space as '+'
    'sha256 hex': () => sha256('abc', 'hex') === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    'hmac base64': () => crypto.hmac('sha256', 'key', 'msg', 'base64').length === 44,
    'b64 roundtrip': () => encoding.b64decode(encoding.b64encode('héllo'), 'std', 's') === 'héllo',
    'exec info': () => exec.vu.idInTest === __VU && exec.scenario.name === 'default' && ctx.vu === __VU,
    'iteration': () => ctx.iteration === __ITER,
    'shared array': () => lines.length === 2 && lines[1] === 'line two',
    'setup data is frozen': () => frozen && data.list.length === 3,
    'session vars survive iterations': () => +session.vars.count === __ITER + 1,
    'env': () => __ENV.TARGET.startsWith('http://127.0.0.1'),
    'random bytes': () => crypto.randomBytes(8).byteLength === 8,
    'json selector': () => http.get(`${__ENV.TARGET}/json`).json('items.0.id') === 1,
  });
  let inGroup = group('outer', () => group('inner', () => 7));
  check(inGroup, { 'group returns': (v) => v === 7 });
  try { fail('expected'); } catch (e) { check(e.message, { 'fail throws': (m) => m === 'expected' }); }
  try { open('./data.txt'); } catch (e) { check(e.message, { 'open only in init': (m) => m.includes('init context') }); }
}
)");
    auto r = run_script(f, server.url());
    CHECK(r.code == 0);
    CHECK(agg(r.summary, "iterations", "count") == 8);
    CHECK(agg(r.summary, "iterations_failed", "count") == 0);
    CHECK(agg(r.summary, "my_rate", "rate") == 1);
    CHECK(agg(r.summary, "my_gauge", "last") == 42);
    CHECK(agg(r.summary, "group_duration", "count") == 16);
    CHECK(all_checks_pass(r.summary, 8 * 15));
}

TEST_CASE("js: async functions and http.asyncRequest") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("async.js", R"(
export const options = { vus: 2, iterations: 6 };
export default async function () {
  const a = await http.asyncRequest('GET', `${__ENV.TARGET}/json`);
  await sleep(0.01);
  const [b, c] = await Promise.all([http.asyncRequest('GET', `${__ENV.TARGET}/items`), http.asyncRequest('GET', `${__ENV.TARGET}/json`)]);
  check(a, { 'async ok': (r) => r.status === 200 && b.status === 200 && c.status === 200 });
}
)");
    auto r = run_script(f, server.url());
    CHECK(r.code == 0);
    CHECK(server.count("/json") == 12);
    CHECK(server.count("/items") == 6);
    CHECK(all_checks_pass(r.summary, 6));
}

// A VU keeps one client: one cookie jar and one kept-alive connection for
// all its sequential requests, in async VUs (the default: the script is
// rewritten to await) as on threads (LOADKIT_JS_SYNC=threads). k6 v0.48.0,
// same script shape against a loopback server recording each request's
// Cookie header and its connections: the cookie on every request after the
// Set-Cookie ("a=1" x4), and 1 connection. loadkit before this test: the
// cookie every other request ("a=1", none, "a=1", none) and 2 connections.
// The same run checks params.cookies, form bodies and URL credentials as
// k6 v0.48.0 sent them:
//   {cookies: {b: '2', a: {value: 'x', replace: true}}}  -> Cookie "b=2; a=x"
//   {cookies: {a: 'y'}}                                  -> Cookie "a=y; a=1"
//   {headers: {Cookie: 'h=1'}}                           -> Cookie "h=1; a=1"
//   the form body below                                  -> FORM (keys sorted, arrays repeat the key, Go's %v)
//   http://user:p%40ss@host/                             -> Authorization "Basic dXNlcjpwQHNz"
TEST_CASE("js: a VU keeps one jar and one connection, params.cookies, form bodies, URL credentials as k6") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("jar.js", R"JS(
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 1, iterations: 1 };
const FORM = 'arr2=%5B1+2%5D&arr2=3&f=1.2345675e%2B06&g=1e-05&h=1e%2B21&i=123.25&j=true&n=%3Cnil%3E' +
  '&nested=map%5Ba%3A%5B1+x%5D+b%3A2%5D&topping=onion&topping=bacon&z=a+b%21%2A%28%29%27~';
export default function () {
  const B = __ENV.TARGET;
  http.get(`${B}/cookies/set?a=1`);
  const seen = [];
  for (let i = 0; i < 4; i++) seen.push(http.get(`${B}/echo`).json().headers.Cookie);
  check(seen, { 'the cookie on every request: a=1|a=1|a=1|a=1': (s) => s.join('|') === 'a=1|a=1|a=1|a=1' });
  const cookie = (params) => http.get(`${B}/echo`, params).json().headers.Cookie;
  check(cookie({ cookies: { b: '2', a: { value: 'x', replace: true } } }), { 'replace: b=2; a=x': (c) => c === 'b=2; a=x' });
  check(cookie({ cookies: { a: 'y' } }), { 'no replace: a=y; a=1': (c) => c === 'a=y; a=1' });
  check(cookie({ cookies: { c: 3, d: { value: 'v' }, e: null } }), { 'values: c=3; d=v; a=1': (c) => c === 'c=3; d=v; a=1' });
  check(cookie({ headers: { Cookie: 'h=1' } }), { 'one header: h=1; a=1': (c) => c === 'h=1; a=1' });
  const form = http.post(`${B}/echo`, { topping: ['onion', 'bacon'], z: "a b!*()'~", nested: { b: 2, a: [1, 'x'] }, n: null,
    f: 1234567.5, g: 0.00001, h: 1e21, i: 123.25, j: true, arr2: [[1, 2], 3], e: [] }).json();
  check(form, {
    'form body as k6': (r) => r.body === FORM,
    'form content type': (r) => r.headers['Content-Type'] === 'application/x-www-form-urlencoded',
  });
  const auth = http.get(B.replace('http://', 'http://user:p%40ss@') + '/echo');
  check(auth, { 'URL credentials as basic auth': (r) => r.status === 200 && r.json().headers.Authorization === 'Basic dXNlcjpwQHNz' });
}
)JS");
    auto r = run_script(f, server.url(), 1);
    CHECK(r.code == 0);
    CHECK(all_checks_pass(r.summary, 8));
    CHECK(agg(r.summary, "http_reqs", "count") == 11);
    CHECK(agg(r.summary, "http_req_failed", "sum") == 0);
    CHECK(server.connections() == 1);
}

// http.batch in async VUs runs its requests concurrently on the VU's idle
// connections first, at most batchPerHost (default 6) to one host. k6 v0.48.0,
// 1 VU, 2 iterations of: get; batch of 3 slow requests; batch of 8; get,
// against one loopback host: 6 connections in all (3 for the first batch,
// 3 more for the second, none in the second iteration), and the jar's cookie
// on every batched request. loadkit before: a connection for every batched
// request beyond the free ones, none kept for the next request. A VU on a
// thread (LOADKIT_JS_SYNC=threads) sends a batch one request after another,
// on its one connection.
TEST_CASE("js: http.batch reuses the VU's connections, batchPerHost at a time") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("batch.js", R"JS(
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 1, iterations: 2 };
export default function () {
  const B = __ENV.TARGET;
  http.get(`${B}/cookies/set?a=1`);
  const three = http.batch([`${B}/delay/30`, ['GET', `${B}/echo`], { method: 'GET', url: `${B}/delay/30` }]);
  check(three, { 'batch of 3 with the cookie': (rs) => rs.length === 3 && rs[1].json().headers.Cookie === 'a=1' && rs[2].status === 200 });
  const reqs = {};
  for (let i = 0; i < 8; i++) reqs['r' + i] = ['GET', `${B}/delay/30`];
  const eight = http.batch(reqs);
  check(eight, { 'batch of 8 by name': (rs) => Object.keys(rs).length === 8 && rs.r7.status === 200 });
  http.get(`${B}/echo`);
}
)JS");
    auto r = run_script(f, server.url(), 1);
    CHECK(r.code == 0);
    CHECK(all_checks_pass(r.summary, 4));
    CHECK(agg(r.summary, "http_reqs", "count") == 2 * 13);
    CHECK(server.connections() == (rewrites() ? 6 : 1));
}

// options.batchPerHost limits a batch's concurrency to one host (k6 v0.48.0
// with batchPerHost: 2 and a batch of 5 slow requests: 2 connections).
TEST_CASE("js: options.batchPerHost limits http.batch") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("batch2.js", R"JS(
import http from 'k6/http';
export const options = { vus: 1, iterations: 1, batchPerHost: 2 };
export default function () {
  http.batch([1, 2, 3, 4, 5].map(() => `${__ENV.TARGET}/delay/30`));
}
)JS");
    auto r = run_script(f, server.url(), 1);
    CHECK(r.code == 0);
    CHECK(agg(r.summary, "http_reqs", "count") == 5);
    CHECK(server.connections() == (rewrites() ? 2 : 1));
}

// k6 starts every iteration of a VU with an empty cookie jar unless the
// option noCookiesReset is true; loadkit's JS scripts do the same, keeping
// what a scenario's on_start (per-VU login, the seed) left as the baseline.
// The target server sets the cookie on /cookies/set (the login) and echoes
// each request's Cookie header on /echo. k6 v0.48.0, this script (2 VUs x 3
// iterations, per-vu-iterations) against `loadkit serve` on 127.0.0.1: the
// first request of every iteration had no Cookie (6 of 6, iterations 1 and 2
// too), the request after the login "session=<vu>" (6 of 6), checks 12/12;
// with noCookiesReset: true the first request of iterations 1 and 2 had
// "session=<vu>" (4 of 4). loadkit before this test: "session=<vu>" on the
// first request of iterations 1 and 2 without noCookiesReset (4 of 6 failed).
const char* const jar_reset_script = R"JS(
import http from 'k6/http';
import { check } from 'k6';
export const options = { scenarios: { users: { executor: 'per-vu-iterations', vus: 2, iterations: 3 } } };
export default function () {
  const B = __ENV.TARGET;
  const first = http.get(`${B}/echo`).json().headers.Cookie;
  check(first, { 'first request of every iteration: no cookie': (c) => c === undefined });
  http.get(`${B}/cookies/set?session=${__VU}`);
  check(http.get(`${B}/echo`).json().headers.Cookie, { 'after the login: session': (c) => c === `session=${__VU}` });
}
)JS";

TEST_CASE("js: each iteration starts with an empty cookie jar, as in k6") {
    loadkit::target_server server;
    scratch s;
    auto r = run_script(s.write("reset.js", jar_reset_script), server.url(), 1);
    CHECK(r.code == 0);
    CHECK(all_checks_pass(r.summary, 12));
    CHECK(agg(r.summary, "iterations", "count") == 6);
}

TEST_CASE("js: noCookiesReset: true keeps the jar across iterations, as in k6") {
    loadkit::target_server server;
    scratch s;
    std::string text = jar_reset_script;
    auto at = text.find("} } };");
    REQUIRE(at != std::string::npos);
    text.replace(at, 6, "} }, noCookiesReset: true };");
    at = text.find("(c) => c === undefined");
    REQUIRE(at != std::string::npos);
    text.replace(at, 22, "(c) => c === (__ITER === 0 ? undefined : `session=${__VU}`)");
    auto r = run_script(s.write("noreset.js", text), server.url(), 1);
    CHECK(r.code == 0);
    CHECK(all_checks_pass(r.summary, 12));
    CHECK(agg(r.summary, "iterations", "count") == 6);
    // k6 refuses a value that is not a boolean; so does loadkit, before any load
    loadkit::js::script bad(
        s.write("bad.js", "export const options = { noCookiesReset: 'yes' };\nexport default function () {}\n"), {});
    CHECK_THROWS_AS(loadkit::js::make_plan(bad), loadkit::config_error);
}

// A malformed data file named in a script's scenario is reported where the
// mistake is, in that file (as for a YAML file). Before issue 14's follow-up
// its line was looked up as a line of the script's options, pointing at an
// unrelated key of the script and not naming the file.
TEST_CASE("js: a mistake in a scenario's data file is reported at its line in that file") {
    scratch s;
    auto csv = s.write("users.csv", "email,password\na@x,1\nb@x,2,extra\n");
    loadkit::js::script bad(s.write("data.js", "export const options = { scenarios: { users: {\n"
                                               "  executor: 'shared-iterations', iterations: 1,\n"
                                               "  data: { file: 'users.csv' } } } };\n"
                                               "export default function () {}\n"),
                            {});
    try {
        loadkit::js::make_plan(bad);
        FAIL("no error");
    } catch (const loadkit::yaml::load_error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).rfind(csv + ":3:1: row has 3 fields", 0) == 0);
    }
}

// on_start (a loadkit scenario key, the seed's per-VU login) runs before the
// VU's first iteration: the cookies it gets are the jar every iteration
// starts from (k6 has no on_start). A cookie an iteration adds is gone in
// the next one; the login's cookie, replaced in an iteration, is back.
TEST_CASE("js: cookies set by on_start are in every iteration's jar") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("login.js", R"JS(
import http from 'k6/http';
import { check } from 'k6';
export const options = { scenarios: { users: { executor: 'per-vu-iterations', vus: 2, iterations: 3, on_start: 'login' } } };
export function login() {
  http.get(`${__ENV.TARGET}/cookies/set?session=${__VU}`);
}
export default function () {
  const B = __ENV.TARGET;
  check(http.get(`${B}/echo`).json().headers.Cookie, { 'first request: the login cookie only': (c) => c === `session=${__VU}` });
  http.get(`${B}/cookies/set?cart=${__ITER}`);
  http.get(`${B}/cookies/set?session=changed`);
  check(http.get(`${B}/echo`).json().headers.Cookie, { 'then the iteration\'s cookies': (c) => c === `session=changed; cart=${__ITER}` });
}
)JS");
    auto r = run_script(f, server.url(), 1);
    CHECK(r.code == 0);
    CHECK(all_checks_pass(r.summary, 12));
    CHECK(agg(r.summary, "iterations", "count") == 6);
}

// A YAML flow, even with a script, keeps the VU's jar across iterations (a
// Locust HttpUser session, logged in once): only scripts run as scripts get
// k6's reset (README, "Cookies per iteration").
TEST_CASE("js: a YAML scenario with a script keeps the VU's jar across iterations") {
    loadkit::target_server server;
    scratch s;
    s.write("keep.js", R"JS(
import http from 'k6/http';
import { check } from 'k6';
export function browse() {
  check(http.get('/echo').json().headers.Cookie, { 'kept from the previous iteration': (c) => c === (__ITER === 0 ? undefined : `session=${__VU}`) });
  http.get(`/cookies/set?session=${__VU}`);
}
)JS");
    auto yaml = s.write("keep.yaml", "name: keep\ntarget: " + server.url() + R"Y(
script: keep.js
scenarios:
  users:
    executor: per-vu-iterations
    vus: 2
    iterations: 3
    exec: browse
)Y");
    auto plan = loadkit::yaml::load_file(yaml);
    loadkit::js::script js(plan.script);
    auto r = loadkit::yaml::run(plan, quiet_options(server.url(), 1), &js);
    CHECK(r.code == 0);
    CHECK(all_checks_pass(r.summary, 6));
    CHECK(agg(r.summary, "iterations", "count") == 6);
}

TEST_CASE("js: async VUs share a context per thread") {
    loadkit::target_server server;
    scratch s;
    SECTION("hooks, session vars, groups, errors and sleeps in async VUs") {
        s.write("a.js", R"JS(
import { Counter } from 'k6/metrics';
const hooks = new Counter('hooks');
export async function login() { const r = await http.asyncRequest('POST', '/auth/login'); session.vars.token = r.json().token; }
export async function logout() { await http.asyncRequest('POST', '/auth/logout'); }
export function beforeRequest(req) { hooks.add(1); req.headers['X-Async'] = 'yes'; }
export async function afterRequest(res) { check(res, { 'hooked header': (r) => r.json().headers['X-Async'] === 'yes' }); }
export async function browse(data, ctx) {
  const t0 = Date.now();
  await sleep(0.02);
  check(Date.now() - t0, { 'sleep waits': (ms) => ms >= 15 });
  const r = await http.asyncRequest('GET', '/feed', null, { headers: { Authorization: `Bearer ${session.vars.token}` } });
  check(r, { 'token from on_start': (x) => x.json().authenticated === true });
  if (ctx.iteration === 1) throw new Error('async boom');
}
)JS");
        auto yaml = s.write("a.yaml", "name: a\ntarget: " + server.url() + R"JS(
script: a.js
scenarios:
  users:
    executor: per-vu-iterations
    vus: 3
    iterations: 3
    on_start: login
    on_stop: logout
    exec: browse
    flow:
      - request: { name: echo, url: /echo }
)JS");
        auto plan = loadkit::yaml::load_file(yaml);
        loadkit::js::script js(plan.script);
        auto r = loadkit::yaml::run(plan, quiet_options(server.url(), 1), &js);
        CHECK(r.code == 0);
        CHECK(server.count("/auth/login") == 3);
        CHECK(server.count("/auth/logout") == 3);
        CHECK(server.count("/feed") == 9);
        CHECK(agg(r.summary, "hooks", "count") == 9);
        CHECK(agg(r.summary, "iterations_failed", "count") == 3);
        CHECK(all_checks_pass(r.summary, 9 * 3));
    }
    SECTION("a stalled request is cut at gracefulStop") {
        auto f = s.write("stall.js", R"JS(
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 4, duration: '300ms', gracefulStop: '0s' } } };
export default async function () { await http.asyncRequest('GET', `${__ENV.TARGET}/hang`); }
)JS");
        auto start = std::chrono::steady_clock::now();
        auto r = run_script(f, server.url(), 1);
        CHECK(std::chrono::steady_clock::now() - start < 10s);
        CHECK(agg(r.summary, "iterations_interrupted", "count") == 4);
    }
    SECTION("blocking calls in an async function are awaited when the script is rewritten, else say what to use") {
        auto f = s.write("mixed.js", "export const options = { iterations: 1 };\n"
                                     "export default async function () { const r = http.get(`${__ENV.TARGET}/json`);\n"
                                     "  check(r, { 'a response': (x) => x.status === 200 }); }\n");
        auto r = run_script(f, server.url(), 1);
        CHECK(agg(r.summary, "iterations_failed", "count") == (rewrites() ? 0 : 1));
        CHECK(server.count("/json") == (rewrites() ? 1 : 0));
        // a blocking function used as a value: not rewritten, so the async
        // function's http.get is refused with what to use instead
        auto g = s.write(
            "escape.js",
            "export const options = { iterations: 1 };\nconst get = (u) => http.get(u);\nexport const use = [get];\n"
            "export default async function () { http.get(`${__ENV.TARGET}/json2`); }\n");
        r = run_script(g, server.url(), 1);
        CHECK(agg(r.summary, "iterations_failed", "count") == 1);
        CHECK(server.count("/json2") == 0);
    }
}

// k6's synchronous API on async VUs: the script's modules are rewritten to
// await (transform.hpp). LOADKIT_JS_SYNC=threads (CTest runs this binary a
// second time with it) keeps them on threads, with the same results.
TEST_CASE("js: synchronous scripts are rewritten to await with the same results") {
    loadkit::target_server server;
    scratch s;
    SECTION("imports, module state per VU, groups, batch, sleep, session vars") {
        s.write("lib.js", R"JS(
import http from 'k6/http';
import { sleep } from 'k6';
export function login(base) {
  const r = http.post(`${base}/auth/login`);
  return r.json().token;
}
export const pause = () => sleep(0.01);
)JS");
        auto f = s.write("main.js", R"JS(
import http from 'k6/http';
import { check, group } from 'k6';
import { login } from './lib.js';
import * as lib from './lib.js';
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 4, iterations: 3 } } };
let token = null;  // module state: each VU has its own, as in k6
let mine = 0;
function feed(base) {
  return http.get(`${base}/feed`, { headers: { Authorization: `Bearer ${token}` } });
}
export default function () {
  const base = __ENV.TARGET;
  if (!token) token = login(base);
  mine++;
  check(mine, { 'module state is per VU': (n) => n === __ITER + 1 });
  const inGroup = group('browse', () => {
    const r = feed(base);
    check(r, { 'authenticated': (x) => x.json().authenticated === true });
    lib.pause();
    return r.status;
  });
  check(inGroup, { 'group returns its value': (v) => v === 200 });
  const [a, b] = http.batch([['GET', `${base}/json`], ['GET', `${base}/items`]]);
  [1, 2].forEach((n) => { http.get(`${base}/status/20${n}`); });  // awaited in turn
  check([a, b], { 'batch': (rs) => rs[0].status === 200 && rs[1].status === 200 });
  check(session.vars.n, { 'session vars survive iterations': (n) => __ITER === 0 || n === String(mine - 1) });
  session.vars.n = String(mine);
}
)JS");
        auto r = run_script(f, server.url());
        CHECK(r.code == 0);
        CHECK(server.count("/auth/login") == 4);
        CHECK(server.count("/feed") == 12);
        CHECK(server.count("/json") == 12);
        CHECK(server.count("/items") == 12);
        CHECK(server.count("/status/201") == 12);
        CHECK(server.count("/status/202") == 12);
        CHECK(agg(r.summary, "iterations_failed", "count") == 0);
        CHECK(all_checks_pass(r.summary, 12 * 5));
        auto v = run_runner({"validate", f});
        CHECK(v.code == 0);
        CHECK_THAT(v.out, Catch::Contains(rewrites() ? "JavaScript VUs: async"
                                                     : "a thread each, because LOADKIT_JS_SYNC=threads"));
    }
    SECTION("VUs of a thread share a module that keeps no state of its own, and still see their own __VU") {
        s.write("users.json", R"([{"name": "ann"}, {"name": "bob"}, {"name": "cid"}])");
        s.write("helpers.js", "import http from 'k6/http';\nexport function fetch(base, vu) {\n"
                              "  return http.get(`${base}/echo`, { headers: { 'X-Vu': String(vu) } });\n}\n");
        auto f = s.write("stateless.js", R"JS(
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';
import { fetch } from './helpers.js';
const BASE = __ENV.TARGET;
const loads = new Counter('shared_array_loads');
const users = new SharedArray('users', () => { loads.add(1); return JSON.parse(open('./users.json')); });
const seen = new Trend('vu_seen');
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 6, iterations: 4 } } };
export default function () {
  const user = users[__VU % users.length];
  const res = fetch(BASE, __VU);
  // after the await inside fetch: still this VU's __VU and __ITER
  check(res, { 'own VU after awaiting': (r) => r.json().headers['X-Vu'] === String(__VU),
               'user picked by VU': () => user.name === users[__VU % 3].name });
  seen.add(__VU);
}
)JS");
        auto r = run_script(f, server.url());
        CHECK(r.code == 0);
        CHECK(server.count("/echo") == 24);
        CHECK(all_checks_pass(r.summary, 48));
        CHECK(agg(r.summary, "vu_seen", "count") == 24);
        CHECK(agg(r.summary, "vu_seen", "min") == 1);
        CHECK(agg(r.summary, "vu_seen", "max") == 6);
        // SharedArray's callback: once per realm (two worker threads), not once per VU
        if (rewrites()) CHECK(agg(r.summary, "shared_array_loads", "count") <= 3);
        auto v = run_runner({"validate", f});
        if (rewrites()) CHECK_THAT(v.out, Catch::Contains("sharing the script's module instances"));
        // a module with state of its own: each VU gets its instance, and says why
        auto g = s.write("stateful.js", "let n = 0;\nexport default function () { n++; }\n");
        if (rewrites())
            CHECK_THAT(run_runner({"validate", g}).out, Catch::Contains("stateful.js:2:30: changes module state (n)"));
    }
    SECTION("a blocking function used as a value keeps the script on threads, with a reason") {
        auto f = s.write("map.js", "export const options = { vus: 2, iterations: 4 };\nexport default function () {\n"
                                   "  ['/json', '/items'].map((p) => http.get(`${__ENV.TARGET}${p}`));\n}\n");
        auto r = run_script(f, server.url());
        CHECK(r.code == 0);
        CHECK(server.count("/json") == 4);
        CHECK(server.count("/items") == 4);
        auto v = run_runner({"validate", f});
        CHECK_THAT(v.out, Catch::Contains("a thread each, because"));
        if (rewrites())
            CHECK_THAT(v.out, Catch::Contains("map.js:3:27: a function that makes requests is passed as a value"));
        // a request in a default parameter value cannot be awaited there
        auto g = s.write(
            "param.js",
            "function fetch(r = http.get('/json')) { return r; }\nexport default function () { fetch(); }\n");
        if (rewrites())
            CHECK_THAT(run_runner({"validate", g}).out,
                       Catch::Contains("param.js:1:20: a request in a default parameter value"));
    }
    SECTION("errors in rewritten code keep their line and stack") {
        // (columns are the original file's; the stack ends at the first
        // await: async stacks are not captured)
        auto f = s.write(
            "late.js",
            "export const options = { iterations: 1 };\nfunction step() {\n"
            "  http.get('/json'); throw new Error('after the request');\n}\nexport default function () { step(); }\n");
        auto r = run_runner({"run", f, "--target", server.url(), "-q"});
        CHECK(r.code == 0);
        CHECK(server.count("/json") == 1);
        CHECK_THAT(r.err, Catch::Contains("late.js:3:28: Error: after the request") && Catch::Contains("step@") &&
                              Catch::Contains("late.js:3:28\n"));
    }
}

TEST_CASE("js: running JavaScript is cut at gracefulStop") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("spin.js", R"JS(
export const options = { scenarios: { spin: { executor: 'constant-vus', vus: 2, duration: '300ms', gracefulStop: '0s' } } };
export default function () { http.get(`${__ENV.TARGET}/json`); for (;;) {} }
)JS");
    auto start = std::chrono::steady_clock::now();
    auto r = run_script(f, server.url());
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    CHECK(agg(r.summary, "iterations_interrupted", "count") == 2);
    CHECK(server.count("/json") == 2);
}

TEST_CASE("js: options become scenarios and thresholds") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("opts.js", R"JS(
export const options = {
  scenarios: {
    readers: { executor: 'per-vu-iterations', vus: 2, iterations: 3, exec: 'read', tags: { team: 'a' } },
    writers: { executor: 'shared-iterations', vus: 1, iterations: 4, exec: 'write', env: { WHAT: 'w' } },
  },
  thresholds: { 'http_reqs{scenario:writers}': ['count==4'], http_req_failed: ['rate<0.01'], 'checks{scenario:writers}': ['rate==1'] },
  summaryTrendStats: ['avg'],
};
export function read() { http.get(`${__ENV.TARGET}/json`); }
export function write() { const r = http.post(`${__ENV.TARGET}/status/500`); check(__ENV.WHAT, { 'scenario env': (v) => v === 'w' }); }
)JS");
    auto r = run_script(f, server.url());
    CHECK(server.count("/json") == 6);
    CHECK(server.count("/status/500") == 4);
    CHECK(r.code == loadkit::exit_code::thresholds_failed);  // every write failed
    bool failed_rate = false;
    for (auto& t : r.summary["thresholds"])
        if (t["metric"] == "http_req_failed") failed_rate = !t["ok"].get<bool>();
    CHECK(failed_rate);
}

// Issue 13 (numbers 6): an abortOnFail threshold let the iterations in flight
// run to their end. k6 v0.48.0 with this script (the first variant): ends at
// 2.0 s, 0 complete and 2 interrupted iterations, exit 99. Here in async VUs
// and (the LOADKIT_JS_SYNC=threads run) on threads, while sleeping and while
// spinning in JavaScript (an async VU that spins holds its thread's event
// loop: the threshold's snapshot of that thread is then taken from the
// script's interrupt check, or the abort came only at gracefulStop, 40 s).
TEST_CASE("js: an abortOnFail threshold interrupts the iterations in flight at once, as k6") {
    loadkit::target_server server;
    scratch s;
    for (const char* wait : {"sleep(5);", "for (;;) {}"}) {
        INFO(wait);
        auto f = s.write(
            std::string("abort-on-fail-") + (wait[0] == 's' ? "sleep" : "spin") + ".js",
            std::string("export const options = { vus: 2, duration: '10s',\n"
                        "  thresholds: { http_req_failed: [{ threshold: 'rate<0.5', abortOnFail: true }] } };\n"
                        "export default function () { http.get(`${__ENV.TARGET}/status/500`); ") +
                wait + " }\n");
        auto r = run_script(f, server.url());
        CHECK(r.code == loadkit::exit_code::thresholds_failed);
        CHECK(agg(r.summary, "iterations_interrupted", "count") == 2);
        CHECK(r.summary["duration_secs"].get<double>() < 5);  // not after the 5 s sleep
    }
}

TEST_CASE("js: exec.test.abort() stops the run in sync and async VUs") {
    loadkit::target_server server;
    scratch s;
    for (const char* kind : {"function", "async function"}) {
        INFO(kind);
        auto f = s.write(
            std::string("abort-") + (kind[0] == 'a' ? "async" : "sync") + ".js",
            std::string(
                "import exec from 'k6/execution';\n"
                "export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 50 } } };\n"
                "export default ") +
                kind +
                " () {\n"
                "  if (__ITER === 3) exec.test.abort('enough at ' + __ITER);\n" +
                (kind[0] == 'a' ? "  await http.asyncRequest('GET', `${__ENV.TARGET}/json`);\n}\n"
                                : "  http.get(`${__ENV.TARGET}/json`);\n}\n") +
                "export function teardown() { http.get(`${__ENV.TARGET}/items`); }\n");
        auto before = server.count("/json");
        auto r = run_script(f, server.url(), 1);
        CHECK(r.code == loadkit::exit_code::aborted_by_script);
        REQUIRE(r.aborted);
        CHECK(*r.aborted == "enough at 3");
        CHECK(server.count("/json") - before == 3);
    }
    CHECK(server.count("/items") == 2);  // teardown still runs after the abort
}

namespace {
// The summary's check rows as "group|name" -> passes/fails.
std::map<std::string, std::pair<double, double>> check_table(const nlohmann::json& summary) {
    std::map<std::string, std::pair<double, double>> out;
    for (auto& c : summary["checks"])
        out[c.value("group", std::string("?")) + "|" + c["name"].get<std::string>()] = {c["passes"].get<double>(),
                                                                                        c["fails"].get<double>()};
    return out;
}
}  // namespace

// Issue 13 (numbers 2). k6 v0.48.0 records checks made in setup() and
// teardown() like any other, in groups "setup" and "teardown". Observed with
// k6 v0.48.0 on this script: checks 3 passed, 1 failed (75.00%);
// root_group.checks "in default" (path "::in default"), groups setup
// ("in setup", and group g "in setup group", path "::setup::g::in setup
// group") and teardown ("in teardown", 0 passes 1 fail). Before: only
// "in default" was counted.
TEST_CASE("js: check() in setup() and teardown() is recorded") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("hooks_check.js", R"JS(
export const options = { vus: 1, iterations: 1 };
export function setup() { check(1, { 'in setup': (v) => v === 1 }); group('g', () => { check(1, { 'in setup group': () => true }); }); }
export default function () { check(1, { 'in default': () => true }); }
export function teardown() { check(1, { 'in teardown': () => false }); }
)JS");
    auto r = run_script(f, server.url());
    auto t = check_table(r.summary);
    CHECK(t["::setup|in setup"] == std::pair{1.0, 0.0});  // k6 runs setup in a group "setup" (js/runner.go)
    CHECK(t["::setup::g|in setup group"] == std::pair{1.0, 0.0});
    CHECK(t["|in default"] == std::pair{1.0, 0.0});
    CHECK(t["::teardown|in teardown"] == std::pair{0.0, 1.0});
    CHECK(agg(r.summary, "checks", "count") == 4);
    CHECK(agg(r.summary, "checks", "sum") == 3);
}

// Issue 13 (numbers 9). k6 v0.48.0 keeps a check per group path
// (root_group.groups[].checks) and shows each group under "█ name", its
// checks indented below (observed). Before: one row "same", 3 passed 3
// failed, whatever the group.
TEST_CASE("js: checks with the same name in different groups stay apart, the console shows their groups") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("group_checks.js", R"JS(
export const options = { vus: 1, iterations: 2 };
export default function () {
  check(1, { 'same': () => true });
  group('a', () => { check(1, { 'same': () => __ITER === 0 }); group('inner', () => { check(1, { 'same': () => true }); }); });
  group('b', () => { check(1, { 'same': () => false }); });
}
)JS");
    auto r = run_script(f, server.url());
    auto t = check_table(r.summary);
    CHECK(t.size() == 4);
    CHECK(t["|same"] == std::pair{2.0, 0.0});
    CHECK(t["::a|same"] == std::pair{1.0, 1.0});
    CHECK(t["::a::inner|same"] == std::pair{2.0, 0.0});
    CHECK(t["::b|same"] == std::pair{0.0, 2.0});
    for (auto& c : r.summary["checks"])
        if (c["group"] == "::a::inner") CHECK(c["path"] == "::a::inner::same");
    INFO(r.report);
    CHECK_THAT(
        r.report,
        Catch::Contains(
            "    ok   same  2 passed, 0 failed\n\n    \xe2\x96\x88 a\n\n"
            "      FAIL same  1 passed, 1 failed\n\n      \xe2\x96\x88 inner\n\n"
            "        ok   same  2 passed, 0 failed\n\n    \xe2\x96\x88 b\n\n      FAIL same  0 passed, 2 failed\n"));
}

// Issue 13 (numbers 4): every field of k6 v0.48.0's k6/execution
// (js/modules/k6/execution/execution.go). iterationInTest is the scenario's
// iteration number over the whole test, each once; before, it was the
// VU's (0,0,1,1,...) and executor/startTime were undefined. Observed with
// k6 v0.48.0 (per-vu-iterations, 2 VUs x 2): iterationInTest 0,1,2,3 in
// start order, iterationInInstance the same, executor 'per-vu-iterations',
// progress 0, 0.25, 0.5, 0.75, vu.tags {scenario: 's', group: ''} ('::g' in
// group g, {group: '::setup'} in setup), exec.scenario in setup throws
// "getting scenario information outside of the VU context is not
// supported", an object tag value throws a TypeError, exec.test.options is
// frozen. (k6 initializes every VU before setup, so its vusInitialized is
// 2 there; loadkit creates VUs when they first run.)
TEST_CASE("js: k6/execution has k6's fields, iterationInTest is unique in the test") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("exec_fields.js", R"JS(
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
const tagged = new Counter('tagged');
export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: 3, iterations: 4 } },
  thresholds: { 'http_reqs{mytag:v}': ['count==12'], 'tagged{mytag:v}': ['count==12'] },
};
export function setup() {
  let threw = '';
  try { exec.scenario.name; } catch (e) { threw = String(e); }
  check(threw, { 'exec.scenario throws in setup': (t) => t.includes('outside of the VU context') });
  check(exec.instance, { 'exec.instance in setup': (i) => i.vusActive === 0 && i.currentTestRunDuration >= 0 });
}
export default function () {
  const sc = exec.scenario, vu = exec.vu, inst = exec.instance;
  check(null, { ['iit ' + sc.iterationInTest]: () => true });
  check(sc, {
    'scenario name and executor': (x) => x.name === 's' && x.executor === 'per-vu-iterations',
    'scenario startTime': (x) => typeof x.startTime === 'number' && Math.abs(x.startTime - Date.now()) < 60000,
    'scenario progress': (x) => x.progress >= 0 && x.progress <= 1,
    'iterationInInstance': (x) => x.iterationInInstance === x.iterationInTest && x.iterationInTest >= 0 && x.iterationInTest < 12,
  });
  check(vu, {
    'vu ids': (v) => v.idInTest === __VU && v.idInInstance === __VU,
    'vu iterations': (v) => v.iterationInScenario === __ITER && v.iterationInInstance === __ITER,
    'vu tags': (v) => v.tags.scenario === 's' && v.tags.group === '' && v.metrics.tags === v.tags,
  });
  check(inst, {
    'instance': (i) => i.vusActive >= 1 && i.vusActive <= 3 && i.vusInitialized >= 1 && i.vusInitialized <= 3 &&
                       i.iterationsCompleted >= 0 && i.iterationsCompleted < 12 && i.iterationsInterrupted === 0 &&
                       i.currentTestRunDuration > 0,
  });
  check(exec.test.options, { 'test options': (o) => o.scenarios.s.executor === 'per-vu-iterations' && Object.isFrozen(o) });
  group('g', () => { check(exec.vu.tags.group, { 'group tag': (g) => g === '::g' }); });
  exec.vu.tags.mytag = 'v';
  exec.vu.metrics.metadata.trace = 'abc';
  let bad = '';
  try { exec.vu.tags.obj = {}; } catch (e) { bad = String(e); }
  check(bad, { 'tag values are strings, numbers or booleans': (b) => b.includes('TypeError') });
  check(exec.vu.metrics.metadata.trace, { 'metadata': (m) => m === 'abc' });
  http.get(`${__ENV.TARGET}/json`);
  tagged.add(1);
}
)JS");
    auto r = run_script(f, server.url());
    CHECK(r.code == 0);
    CHECK(r.thresholds_passed);
    auto t = check_table(r.summary);
    for (int i = 0; i < 12; ++i) {
        INFO("iteration " << i);
        CHECK(t["|iit " + std::to_string(i)] == std::pair{1.0, 0.0});
    }
    for (auto& c : r.summary["checks"]) {
        INFO(c.dump());
        CHECK(c["fails"].get<double>() == 0);
    }
    CHECK(t.count("::setup|exec.scenario throws in setup"));
    CHECK(t.count("::g|group tag"));
}

#ifdef LOADKIT_RUNNER_PATH
// iterationInTest over a test split in two (--instance, k6's execution
// segments): each instance numbers its iterations through its stripe, so
// the two together number 0..9 once each. k6 v0.48.0 with
// --execution-segment 0:1/2 / 1/2:1 (sequence 0,1/2,1) on this script:
// 0,2,4,6,8 and 1,3,5,7,9, as here.
TEST_CASE("js: exec.scenario.iterationInTest is unique across instances of a split test") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("split.js", R"JS(
import exec from 'k6/execution';
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 2, iterations: 10 } } };
export default function () { check(null, { ['iit ' + exec.scenario.iterationInTest]: () => true }); }
)JS");
    std::map<std::string, double> seen;
    for (const char* instance : {"0/2", "1/2"}) {
        auto out = (s.dir / (std::string("s") + instance[0] + ".json")).string();
        auto r = run_runner({"run", f, "--instance", instance, "-q", "--summary-export", out});
        INFO(r.err);
        REQUIRE(r.code == 0);
        auto summary = nlohmann::json::parse(std::ifstream(out));
        for (auto& c : summary["checks"]) seen[c["name"].get<std::string>()] += c["passes"].get<double>();
    }
    CHECK(seen.size() == 10);
    for (int i = 0; i < 10; ++i) CHECK(seen["iit " + std::to_string(i)] == 1);
}

// Issue 13 (numbers 9): k6 v0.48.0 prints console.debug only with
// -v/--verbose (observed: 0 lines without, one "level=debug" line with).
// Before: printed as INFO always.
TEST_CASE("js: console.debug shows only with --verbose") {
    scratch s;
    auto f = s.write("debug.js",
                     "export default function () { console.debug('debug-marker'); console.log('log-marker'); }\n");
    auto quiet = run_runner({"run", f, "-q"});
    CHECK(quiet.code == 0);
    CHECK_THAT(quiet.err, Catch::Contains("log-marker") && !Catch::Contains("debug-marker"));
    auto verbose = run_runner({"run", f, "-q", "-v"});
    CHECK(verbose.code == 0);
    CHECK_THAT(verbose.err, Catch::Contains("log-marker") && Catch::Contains("debug-marker"));
    CHECK_THAT(run_runner({"run", "--verbose", f, "-q"}).err, Catch::Contains("debug-marker"));
}

// Issue 13 (runs 1). Observed with k6 v0.48.0: a busy setup with
// setupTimeout '1s' logs "setup() execution timed out after 1 seconds" and
// exits 100, a busy teardown with teardownTimeout '1s' "teardown() execution
// timed out after 1 seconds", exit 101, both writing the summary; SIGTERM
// during a busy setup stops it at once, exit 105, summary written. (k6 lets
// a busy teardown run on after a first SIGINT and exits 105 without a
// summary on the second; loadkit cuts teardown at the first signal it gets
// during teardown, as its README says, and writes the summary.)
// Before: the options were ignored with a warning, and a busy setup or
// teardown ignored SIGINT and SIGTERM (only SIGKILL ended it, no summary).
TEST_CASE("js: setupTimeout/teardownTimeout and signals stop a busy or sleeping setup() or teardown()") {
    loadkit::target_server server;
    scratch s;
    auto summary = (s.dir / "summary.json").string();
    auto run = [&](const std::string& file, std::function<void(pid_t)> on_start = {}) {
        std::remove(summary.c_str());
        auto r = run_runner({"run", file, "--target", server.url(), "-q", "--summary-export", summary}, 30s,
                            std::move(on_start));
        INFO(r.err);
        return r;
    };
    auto aborted = [&] { return nlohmann::json::parse(std::ifstream(summary))["aborted"]; };
    SECTION("a busy setup() past setupTimeout: exit 100") {
        auto f = s.write(
            "busy_setup.js",
            "export const options = { setupTimeout: '1s', vus: 1, iterations: 1 };\n"
            "export function setup() { for (;;) {} }\nexport default function () { http.get('/json'); }\n");
        auto start = std::chrono::steady_clock::now();
        auto r = run(f);
        CHECK(std::chrono::steady_clock::now() - start < 15s);
        CHECK(r.code == 100);
        CHECK_THAT(r.err, Catch::Contains("setup() execution timed out after 1 seconds"));
        CHECK(aborted() == "setup() execution timed out after 1 seconds");
        CHECK(server.count("/json") == 0);
    }
    SECTION("a sleeping setup() past setupTimeout, set in YAML: exit 100") {
        s.write("sleepy.js",
                "export function setup() { sleep(100); }\nexport default function () { http.get('/json'); }\n");
        auto y = s.write(
            "sleepy.yaml",
            "name: sleepy\nscript: sleepy.js\nsetupTimeout: 1s\nscenarios:\n  a:\n    executor: per-vu-iterations\n"
            "    exec: default\n");
        auto start = std::chrono::steady_clock::now();
        auto r = run(y);
        CHECK(std::chrono::steady_clock::now() - start < 15s);
        CHECK(r.code == 100);
        CHECK(aborted() == "setup() execution timed out after 1 seconds");
    }
    SECTION("a busy teardown() past teardownTimeout: exit 101") {
        // a number is milliseconds, as in k6
        auto f = s.write("busy_teardown.js",
                         "export const options = { teardownTimeout: 1000, vus: 1, iterations: 1 };\n"
                         "export default function () {}\nexport function teardown() { for (;;) {} }\n");
        auto r = run(f);
        CHECK(r.code == 101);
        CHECK(aborted() == "teardown() execution timed out after 1 seconds");
    }
    SECTION("SIGTERM during a busy setup(): stopped at once, exit 105") {
        auto f = s.write("spin_setup.js", "export function setup() { http.get('/items'); for (;;) {} }\n"
                                          "export default function () { http.get('/json'); }\n");
        auto before = server.count("/items");
        std::chrono::steady_clock::time_point signalled;
        auto r = run(f, [&](pid_t pid) {
            for (int i = 0; i < 1000 && server.count("/items") == before; ++i) std::this_thread::sleep_for(10ms);
            std::this_thread::sleep_for(100ms);
            signalled = std::chrono::steady_clock::now();
            ::kill(pid, SIGTERM);
        });
        CHECK(std::chrono::steady_clock::now() - signalled < 5s);
        CHECK(r.code == 105);
        CHECK(aborted() == "interrupted by SIGTERM");
        CHECK(server.count("/json") == 0);
    }
    SECTION("SIGINT during a busy teardown(): stopped at once, exit 105") {
        auto f = s.write("spin_teardown.js", "export default function () {}\n"
                                             "export function teardown() { http.get('/feed'); for (;;) {} }\n");
        auto before = server.count("/feed");
        std::chrono::steady_clock::time_point signalled;
        auto r = run(f, [&](pid_t pid) {
            for (int i = 0; i < 1000 && server.count("/feed") == before; ++i) std::this_thread::sleep_for(10ms);
            std::this_thread::sleep_for(100ms);
            signalled = std::chrono::steady_clock::now();
            ::kill(pid, SIGINT);
        });
        CHECK(std::chrono::steady_clock::now() - signalled < 5s);
        CHECK(r.code == 105);
        CHECK(aborted() == "interrupted by SIGINT during teardown");
    }
}

// Issue 13 (runs 11): messages point at the user's file, line and column,
// not at the options as loadkit rewrote them ("(options):8:14", a line 5 of
// a one-line file) nor inside loadkit's prelude ("loadkit:prelude:206:65").
TEST_CASE("js: mistakes are reported at the script's own line") {
    scratch s;
    auto err = [&](const std::string& name, const std::string& text, int code) {
        auto f = s.write(name, text);
        auto r = run_runner({"run", f, "-q"});
        INFO(r.err);
        CHECK(r.code == code);
        return r.err;
    };
    CHECK_THAT(err("nodefault.js", "export function f() {}\n", 104),
               Catch::Contains("nodefault.js:1:1: the script has no exported function 'default'"));
    CHECK_THAT(
        err("vus.js", "export const options = { vus: 'x', duration: '1s' };\nexport default function () {}\n", 104),
        Catch::Contains("vus.js:1:31: expected a whole number for 'vus', found 'x'"));
    CHECK_THAT(err("executor.js",
                   "export const options = {\n  scenarios: {\n    s: { executor: 'nope', vus: 1 },\n  },\n};\n"
                   "export default function () {}\n",
                   104),
               Catch::Contains("executor.js:3:20: unknown executor 'nope'"));
    CHECK_THAT(err("duration.js",
                   "export const options = {\n  vus: 1,\n  duration: 'abc',\n};\nexport default function () {}\n", 104),
               Catch::Contains("duration.js:3:13: expected a duration for 'duration'"));
    CHECK_THAT(err("threshold.js",
                   "export const options = {\n  thresholds: {\n    http_req_duration: ['p(95)<'],\n  },\n};\n"
                   "export default function () {}\n",
                   104),
               Catch::Contains("threshold.js:3:24: threshold on 'http_req_duration'"));
    CHECK_THAT(
        err("exec.js",
            "export const options = {\n  scenarios: {\n    s: { executor: 'per-vu-iterations', exec: 'nope' },\n  },\n};\n"
            "export default function () {}\n",
            104),
        Catch::Contains("exec.js:3:47: the script has no exported function 'nope'"));
    // k6 API calls that are wrong: the error is at the caller's line, with no prelude frames
    auto group = err("group.js",
                     "export const options = { iterations: 1 };\nexport default function () {\n  group('g');\n}\n", 0);
    CHECK_THAT(group, Catch::Contains("group.js:3:") && Catch::Contains("group() needs a function") &&
                          !Catch::Contains("loadkit:prelude"));
    auto check = err("check.js", "export default function () {\n  check(1);\n}\n", 0);
    CHECK_THAT(check, Catch::Contains("check.js:2:") && Catch::Contains("check() expects an object") &&
                          !Catch::Contains("loadkit:prelude"));
    auto shared = err(
        "shared.js",
        "import { SharedArray } from 'k6/data';\nconst a = new SharedArray('x', 5);\nexport default function () {}\n",
        107);
    CHECK_THAT(shared, Catch::Contains("shared.js:2:") && Catch::Contains("a function is expected") &&
                           !Catch::Contains("loadkit:prelude"));
}
#endif

// Issue 13 (runs 12): a teardown whose first line logs was skipped 3 times
// in 40 runs under CPU load ("teardown() failed: did not complete", exit 0).
// The cause was in the engine (tests/engine.cpp has the engine-level test);
// here the same with JavaScript's teardown, 40 short runs beside CPU hogs.
TEST_CASE("js: teardown runs every time, 40 short runs under CPU load") {
    scratch s;
    auto f = s.write(
        "teardown_load.js",
        "export const options = { vus: 1, iterations: 1 };\nexport default function () {}\n"
        "export function teardown() { console.log('teardown'); check(1, { 'teardown ran': () => true }); }\n");
    std::atomic<bool> hogging{true};
    std::vector<std::thread> hogs;
    for (int i = 0; i < 3; ++i)
        hogs.emplace_back([&] {
            std::uint64_t x = 0;
            while (hogging.load(std::memory_order_relaxed)) asm volatile("" : "+r"(x));
        });
    auto& log = loadkit::detail::logger::instance();
    log.reset();
    log.quiet = true;
    int ran = 0;
    for (int i = 0; i < 40; ++i) {
        auto r = run_script(f, "http://127.0.0.1:9");
        ran += check_table(r.summary)["::teardown|teardown ran"] == std::pair{1.0, 0.0};
    }
    log.quiet = false;
    hogging = false;
    for (auto& h : hogs) h.join();
    CHECK(ran == 40);
    CHECK(log.count(loadkit::log_level::error) == 0);
}

}  // namespace LOADKIT_TEST_UNIT
