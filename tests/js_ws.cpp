// k6/ws and k6/experimental/websockets (js/modules/ws.hpp, websockets.hpp)
// against the built-in target's /ws/ routes and an independent server
// (Python's websockets, tests/ws_peer.hpp). The orders of callbacks the
// checks expect are what k6 v0.48 printed for the same scripts against the
// same servers. test_js runs every case twice: async VUs, and VUs on threads.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "ws_peer.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

loadkit::run_result run_ws(const std::string& source, const std::string& base, const std::string& refused = "") {
    scratch s;
    auto file = s.write("t.js", source);
    loadkit::js::script sc(file, {{{"B", base}, {"R", refused}}});
    auto plan = loadkit::js::make_plan(sc);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["B"] = base;
    o.env["R"] = refused;
    return loadkit::yaml::run(plan, o, &sc);
}
double ws_js_count(const nlohmann::json& summary, std::string_view metric) {
    auto* a = loadkit::find_metric(summary, metric);
    if (!a) FAIL("no metric " << metric);
    return (*a)["count"].get<double>();
}
void all_checks_pass(const nlohmann::json& summary, double n) {
    double passes = 0;
    for (auto& c : summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    CHECK(passes == n);
}
std::string ws_base(const loadkit::target_server& s) { return "ws://127.0.0.1:" + std::to_string(s.port()); }

}  // namespace

TEST_CASE("js ws: ws.connect echoes text and binary, calls handlers in k6's order, returns the response") {
    loadkit::target_server server;
    auto r = run_ws(R"(
import ws from 'k6/ws';
import { check } from 'k6';
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } },
                         thresholds: { 'ws_msgs_sent{t:x}': ['count==8'], 'ws_sessions{status:101}': ['count==8'] } };
export default function () {
  const log = [];
  const res = ws.connect(__ENV.B + '/ws/echo', { headers: { 'X-A': '1' }, tags: { t: 'x' } }, function (socket) {
    log.push('setup');
    socket.on('open', () => { log.push('open'); socket.send('hello'); socket.sendBinary(new Uint8Array([1, 2, 3]).buffer); });
    socket.on('message', (m) => { log.push('message:' + m); });
    socket.on('binaryMessage', (b) => { log.push('binary:' + new Uint8Array(b).join('.')); socket.close(); });
    socket.on('close', (code) => log.push('close:' + code));
  });
  let threw = '';
  try { ws.connect(__ENV.B + '/ws/echo', (s) => { s.on('open', () => s.sendBinary('text')); }); } catch (e) { threw = String(e); }
  check(res, {
    'status 101': (r) => r.status === 101,
    'headers': (r) => r.headers['Upgrade'] !== undefined || r.headers['upgrade'] !== undefined,
    'order': () => log.join(',') === 'setup,open,message:hello,binary:1.2.3,close:1001',
    'sendBinary wants an ArrayBuffer': () => threw.includes('expected ArrayBuffer as argument, received: String'),
  });
}
)",
                    ws_base(server));
    CHECK(r.exit_code() == 0);
    all_checks_pass(r.summary, 16);
    CHECK(ws_js_count(r.summary, "ws_sessions") == 8);
    CHECK(ws_js_count(r.summary, "ws_msgs_sent") == 8);
    CHECK(ws_js_count(r.summary, "ws_msgs_received") == 8);
    CHECK(ws_js_count(r.summary, "ws_session_duration") == 8);
    for (auto& th : r.summary["thresholds"]) {
        INFO(th.dump());
        CHECK(th["ok"] == true);
    }
}

TEST_CASE("js ws: ping and pong, socket.setTimeout and setInterval, close with a code") {
    loadkit::target_server server;
    auto r = run_ws(R"(
import ws from 'k6/ws';
import { check } from 'k6';
export const options = { iterations: 1 };
export default function () {
  let pongs = 0, ticks = 0;
  const log = [];
  ws.connect(__ENV.B + '/ws/echo', null, function (socket) {
    socket.on('open', () => {
      socket.setInterval(() => { ticks++; socket.ping(); }, 20);
      socket.setTimeout(() => { log.push('timeout'); socket.close(1000); }, 150);
    });
    socket.on('pong', () => { pongs++; });
    socket.on('close', (c) => log.push('close:' + c));
  });
  check(null, {
    'pongs': () => pongs >= 3 && pongs <= ticks,
    'timeout, then close': () => log.join(',') === 'timeout,close:1000',
  });
}
)",
                    ws_base(server));
    CHECK(r.exit_code() == 0);
    all_checks_pass(r.summary, 2);
    CHECK(ws_js_count(r.summary, "ws_ping") >= 3);
}

TEST_CASE("js ws: against Python's websockets: close codes, a drop, a refused upgrade, a refused connection, pings") {
    ws_peer::server py;
    auto refused = "ws://127.0.0.1:" + std::to_string(test_support::free_port()) + "/";
    auto r = run_ws(R"(
import ws from 'k6/ws';
import { check } from 'k6';
export const options = { iterations: 1, thresholds: { 'ws_sessions{status:404}': ['count==1'] } };
export default function () {
  const B = __ENV.B, log = [];
  ws.connect(B + '/close/4001', function (s) { s.on('close', (c) => log.push('c:' + c)); });
  ws.connect(B + '/drop', function (s) {
    s.on('open', () => s.send('x'));
    s.on('error', (e) => log.push('error:' + e));
    s.on('close', (c) => log.push('drop:' + c));
  });
  const missing = ws.connect(B + '/missing', function (s) { s.on('open', () => log.push('never')); });
  const down = ws.connect(__ENV.R, function (s) { log.push('never'); });
  ws.connect(B + '/ping', function (s) { s.on('ping', () => { log.push('ping'); s.close(); }); });
  const sub = ws.connect(B + '/echo', { headers: { 'Sec-WebSocket-Protocol': 'superchat' } }, function (s) {
    s.on('open', () => s.close());
  });
  check(null, {
    'log': () => log.join(',') === 'c:4001,error:websocket: close 1006 (abnormal closure): unexpected EOF,drop:1006,ping',
    '404': () => missing.status === 404,
    'refused': () => down.status === 0 && down.error !== '',
    'subprotocol': () => sub.headers['Sec-Websocket-Protocol'] === 'superchat',  // Go's canonical name, as k6
    '404 body': () => missing.body === 'no such socket\n' && missing.error === '',
  });
}
)",
                    py.url(), refused);
    CHECK(r.exit_code() == 0);
    all_checks_pass(r.summary, 5);
    CHECK(ws_js_count(r.summary, "ws_sessions") == 6);  // failed attempts count, as in k6
    for (auto& th : r.summary["thresholds"]) CHECK(th["ok"] == true);
}

TEST_CASE("js ws: k6/experimental/websockets: events, strings and ArrayBuffers, readyState, ping and pong") {
    loadkit::target_server server;
    auto r = run_ws(R"(
import { WebSocket } from 'k6/experimental/websockets';
import { check } from 'k6';
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } } };
export default function () {
  const log = [];
  const w = new WebSocket(__ENV.B + '/ws/echo');
  log.push('state:' + w.readyState);
  w.binaryType = 'arraybuffer';
  w.onopen = () => { log.push('open:' + w.readyState); w.ping(); };
  w.addEventListener('pong', () => { log.push('pong'); w.send('hi'); w.send(new Uint8Array([7, 8]).buffer); });
  let n = 0;
  w.onmessage = (e) => {
    log.push(typeof e.data === 'string' ? 'text:' + e.data : 'bin:' + new Uint8Array(e.data).join('.'));
    if (++n === 2) { w.close(); log.push('closing:' + w.readyState); }
  };
  w.onclose = (e) => {
    log.push('close:' + w.readyState);
    check(null, { 'events': () => log.join(',') === 'state:0,open:1,pong,text:hi,bin:7.8,closing:2,close:3' });
  };
  let threw = '';
  try { new WebSocket('http://x/'); } catch (e) { threw = String(e); }
  check(null, { 'ws or wss only': () => threw.includes('scheme ws or wss') });
}
)",
                    ws_base(server));
    CHECK(r.exit_code() == 0);
    all_checks_pass(r.summary, 8);
    CHECK(ws_js_count(r.summary, "ws_sessions") == 4);
    CHECK(ws_js_count(r.summary, "ws_msgs_received") == 8);
}

TEST_CASE("js ws: the end of a run closes a socket that never closes") {
    loadkit::target_server server;
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_ws(R"(
import ws from 'k6/ws';
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '500ms', gracefulStop: '200ms' } } };
export default function () { ws.connect(__ENV.B + '/ws/echo', function (s) { s.on('open', () => {}); }); }
)",
                    ws_base(server));
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(ws_js_count(r.summary, "iterations_interrupted") == 2);
    CHECK(ws_js_count(r.summary, "ws_sessions") == 2);
}

}  // namespace LOADKIT_TEST_UNIT
