// k6/timers (setTimeout, setInterval and their clear*, also as globals) on
// the VU's event loop, and k6/crypto's hashers and the web-crypto globals,
// against servers the tests start on 127.0.0.1. test_js runs twice (async
// VUs, and LOADKIT_JS_SYNC=threads): every script here runs both ways.
#include <catch2/catch.hpp>

#include <string>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"

using test_support::scratch;

namespace {

loadkit::options quiet(const std::string& target) {
    loadkit::options o;
    o.threads = 2;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["TARGET"] = target;
    return o;
}
double metric(const nlohmann::json& summary, std::string_view name, const char* field) {
    auto* a = loadkit::find_metric(summary, name);
    if (!a) FAIL("no metric " << name);
    return (*a)[field].get<double>();
}
// Every check passed, and at least `at_least` passes in all.
bool checks_pass(const nlohmann::json& summary, double at_least) {
    double passes = 0;
    for (auto& c : summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    return passes >= at_least;
}
loadkit::run_result run(const std::string& file, const std::string& target) {
    loadkit::js::script s(file, {{{"TARGET", target}}});
    auto plan = loadkit::js::make_plan(s);
    return loadkit::yaml::run(plan, quiet(target), &s);
}

}  // namespace

// --- timers ---------------------------------------------------------------

// k6 v0.48.0 (k6/experimental/timers, no globals there) on this script's
// first part: "ids 6 7", every iteration; its order of equal-ish deadlines
// varies from run to run (a goroutine per timer), e.g. "neg,nan,i1,i2,a,i3,
// b,c12"; loadkit's is by deadline, then in the order set:
// neg,nan,i1,a,i2,b,c12,i3 (the same script by hand).
TEST_CASE("js timers: order, arguments, ids and clear, as k6") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("order.js", R"(
import { setTimeout as st, clearTimeout as ct, setInterval as si, clearInterval as ci } from 'k6/experimental/timers';
import timers from 'k6/timers';
export const options = { vus: 2, iterations: 6 };
export default function () {
  const order = [];
  let self;
  setTimeout(() => order.push('b'), 20);
  st(() => order.push('a'), 10);
  setTimeout((x, y) => order.push('c' + x + y), 20, 1, 2);
  timers.setTimeout(() => order.push('neg'), -5);
  setTimeout(() => order.push('nan'), NaN);
  setTimeout(() => order.push('fifo1'), 0);
  setTimeout(() => order.push('fifo2'));
  const id = setTimeout(() => order.push('never'), 5);
  ct(id);
  clearTimeout(12345);  // not a timer: ignored
  clearTimeout('x');
  let n = 0;
  const iv = si(() => { n++; if (n === 3) ci(iv); }, 7);
  setTimeout(function () { self = this; }, 1);
  let threw = '';
  try { setTimeout('order.push(1)', 1); } catch (e) { threw = e.name; }
  setTimeout(() => {
    // the interval's ticks are left out: a late tick moves the next one
    check(order.join(','), { 'order': (o) => o === 'neg,nan,fifo1,fifo2,a,b,c12' });
    check(n, { 'cleared after 3 ticks': (x) => x === 3 });
    check(null, {
      'ids count from 1 per VU': () => id === 8 + 11 * __ITER && iv === 9 + 11 * __ITER,
      'this is the global': () => self === globalThis,
      'a string is no callback': () => threw === 'TypeError',
      'globals are the module': () => setTimeout === timers.setTimeout && st === setTimeout && clearInterval === ci,
    });
  }, 60);
}
)");
    auto r = run(f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations", "count") == 6);
    CHECK(metric(r.summary, "iterations_failed", "count") == 0);
    CHECK(checks_pass(r.summary, 6 * 6));
    // the iteration lasted until its last timer (60 ms), not its body's end
    CHECK(metric(r.summary, "iteration_duration", "min") >= 59);
}

// k6 v0.48.0, the same script with k6/experimental/timers imports: 10
// iterations, 30 requests, checks 100%.
TEST_CASE("js timers: an iteration waits for its timers and the requests they make") {
    loadkit::target_server server;
    scratch s;
    auto sync_f = s.write("sync.js", R"(
export const options = { vus: 2, iterations: 10 };
export default function () {
  let status = 0;
  setTimeout(() => { status = http.get(`${__ENV.TARGET}/items`).status; check(status, { 'from a timer': (x) => x === 200 }); }, 5);
  http.get(`${__ENV.TARGET}/json`);
}
)");
    auto async_f = s.write("async.js", R"(
export const options = { vus: 3, iterations: 10 };
export default async function () {
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 30));
  const waited = Date.now() - t0;
  let got = 0;
  await new Promise((resolve) => {
    const iv = setInterval(async () => {
      const res = await http.asyncRequest('GET', `${__ENV.TARGET}/json`);
      got += res.status === 200 ? 1 : 0;
      if (got >= 2) { clearInterval(iv); resolve(); }
    }, 5);
  });
  setTimeout(() => { http.asyncRequest('GET', `${__ENV.TARGET}/feed`); }, 1);
  check(waited, { 'awaited a timer': (w) => w >= 29, 'two requests from an interval': () => got === 2 });
}
)");
    auto r = run(sync_f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations_failed", "count") == 0);
    CHECK(server.count("/items") == 10);
    CHECK(server.count("/json") == 10);
    CHECK(checks_pass(r.summary, 10));

    r = run(async_f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations_failed", "count") == 0);
    CHECK(server.count("/json") == 10 + 20);
    CHECK(server.count("/feed") == 10);  // a request started by the last timer is awaited too
    CHECK(checks_pass(r.summary, 20));
}

// k6 v0.48.0: "Error: boom in callback 0" logged per iteration, "setTimeout
// 2 was stopped because the VU iteration was interrupted", 2 complete
// iterations; the second timer never ran. An async callback's rejection
// is an uncaught (in promise) error there, which fails the iteration too.
TEST_CASE("js timers: a callback that throws fails its iteration, whose other timers never run") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("throws.js", R"(
import { setTimeout } from 'k6/timers';
export const options = { vus: 1, iterations: 4 };
export default function () {
  if (__ITER % 2 === 0) setTimeout(() => { throw new Error('boom in callback ' + __ITER); }, 5);
  else setTimeout(async () => { await null; throw new Error('async boom'); }, 5);
  setTimeout(() => http.get(`${__ENV.TARGET}/items`), 40);
}
)");
    auto r = run(f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations", "count") == 4);
    CHECK(metric(r.summary, "iterations_failed", "count") == 4);
    CHECK(server.count("/items") == 0);
}

// k6 v0.48.0 on the same scenario (1 VU, duration 1s, gracefulStop 500ms,
// setInterval never cleared): "setInterval 2 was stopped because the VU
// iteration was interrupted", 0 complete and 1 interrupted iterations,
// after 1.5 s.
TEST_CASE("js timers: an interval never cleared keeps its iteration until gracefulStop") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("interval.js", R"(
import exec from 'k6/execution';
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '300ms', gracefulStop: '200ms' } } };
export default function () {
  setInterval(() => { http.get(`${__ENV.TARGET}/json`); }, 50);
}
)");
    auto r = run(f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations", "count") == 0);
    CHECK(metric(r.summary, "iterations_interrupted", "count") == 2);
    CHECK(server.count("/json") >= 2);

    // exec.test.abort() in a callback stops the run there
    auto g = s.write("abort.js", R"(
import exec from 'k6/execution';
export const options = { vus: 1, iterations: 5 };
export default function () {
  setTimeout(() => exec.test.abort('from a timer'), 5);
  setInterval(() => {}, 1000);
}
)");
    r = run(g, server.url());
    CHECK(r.code == loadkit::exit_code::aborted_by_script);
    REQUIRE(r.aborted);
    CHECK(*r.aborted == "from a timer");
}

// k6 v0.48.0: "init timer fired" before the VU's first iteration (once per
// VU and for the init contexts), "setup timer fired", "teardown timer fired".
TEST_CASE("js timers: init code, setup() and teardown() wait for their timers") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("lifecycle.js", R"(
let fired = false;
setTimeout(() => { fired = true; }, 20);
const early = fired;
export const options = { vus: 2, iterations: 4 };
export function setup() {
  let n = 0;
  setTimeout(() => { n = http.get(`${__ENV.TARGET}/items`).status; }, 10);
  return {};
}
export default function () {
  check(null, { 'the init timer ran before the first iteration': () => fired && !early });
}
export function teardown() {
  setTimeout(() => http.get(`${__ENV.TARGET}/feed`), 10);
}
)");
    auto r = run(f, server.url());
    CHECK(r.code == 0);
    CHECK(server.count("/items") == 1);
    CHECK(server.count("/feed") == 1);
    CHECK(checks_pass(r.summary, 4));
}
