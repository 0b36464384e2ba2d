// k6/net/grpc against tests/grpc_server.py (python3-grpcio) started on
// 127.0.0.1: a script's client, its invoke() answers as k6 v0.48 gives them
// (compared by hand with the same script and server), streams with their
// events, reflection, deadlines and errors; TLS (k6's default) with its
// tls params, and -bin metadata. test_js runs twice (async VUs,
// and LOADKIT_JS_SYNC=threads): every script here runs both ways.
#include <catch2/catch.hpp>

#if defined(LOADKIT_WITH_GRPC)
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/target/cert.hpp>
#include <loadkit/yaml.hpp>

#include "grpc_peer.hpp"
#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

using grpc_server = test_support::grpc_peer;  // tests/grpc_server.py

loadkit::run_result run_script(const std::string& file, const std::string& address) {
    loadkit::js::script s(file, {{{"ADDR", address}, {"PROTOS", std::string(LOADKIT_SOURCE_DIR) + "/tests"}}});
    auto plan = loadkit::js::make_plan(s);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["ADDR"] = address;  // __ENV in VU code (the script's load options are the init context's)
    o.env["PROTOS"] = std::string(LOADKIT_SOURCE_DIR) + "/tests";
    return loadkit::yaml::run(plan, o, &s);
}
double count_of(const nlohmann::json& summary, std::string_view name) {
    auto* m = loadkit::find_metric(summary, name);
    return m ? (*m)["count"].get<double>() : -1;
}
void all_checks_pass(const nlohmann::json& summary, double at_least) {
    double passes = 0;
    for (auto& c : summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    CHECK(passes >= at_least);
}

}  // namespace

// k6 v0.48.0 printed for the same calls on the same server (JSON.stringify):
//   {"message":{"message":"hello bob","index":0,"bigNum":"7","tags":["a"],
//    "echo":{"name":"bob","count":0,"bigNum":"7","sleepMs":0,"tags":["a"]}},
//    "error":null,"headers":{"content-type":["application/grpc"],
//    "grpc-accept-encoding":["identity, deflate, gzip"],"x-echo":["v1"]},
//    "trailers":{"x-echo-trailer":["v1"]},"status":0}
//   {"message":{"message":"","index":0,"bigNum":"0","tags":[],"echo":null},
//    "error":{"code":5,"message":"no such name: notfound","details":[]},
//    "headers":{},"trailers":{"content-type":["application/grpc"]},"status":5}
// loadkit differs in one place: an unset message field (echo) is absent
// where k6 prints null.
TEST_CASE("js grpc: invoke() answers, statuses, deadlines and errors as k6") {
    grpc_server server;
    scratch s;
    auto file = s.write("grpc.js", R"(
import grpc from 'k6/net/grpc';
import { check } from 'k6';
const client = new grpc.Client();
client.load([__ENV.PROTOS], 'grpc_test.proto');
export const options = { iterations: 2, vus: 1 };
export default function () {
  client.connect(__ENV.ADDR, { plaintext: true, timeout: '5s' });
  const r = client.invoke('loadkit.test.Echo/Say', { name: 'bob', bigNum: 7, tags: ['a'] }, { metadata: { 'x-echo': 'v1' } });
  check(r, {
    'ok': (r) => r.status === grpc.StatusOK && r.error === null,
    'message': (r) => JSON.stringify(r.message) === '{"message":"hello bob","index":0,"bigNum":"7","tags":["a"],"echo":{"name":"bob","count":0,"bigNum":"7","sleepMs":0,"tags":["a"]}}',
    'headers': (r) => r.headers['x-echo'][0] === 'v1' && r.headers['content-type'][0] === 'application/grpc',
    'trailers': (r) => JSON.stringify(r.trailers) === '{"x-echo-trailer":["v1"]}',
  });
  const nf = client.invoke('loadkit.test.Echo/Say', { name: 'notfound' });
  check(nf, {
    'not found': (r) => r.status === grpc.StatusNotFound && r.status === 5,
    'error object': (r) => JSON.stringify(r.error) === '{"code":5,"message":"no such name: notfound","details":[]}',
    'zero values': (r) => r.message.message === '' && r.message.bigNum === '0',
    'trailers-only': (r) => JSON.stringify(r.headers) === '{}' && r.trailers['content-type'][0] === 'application/grpc',
  });
  const dl = client.invoke('/loadkit.test.Echo/Say', { name: 'x', sleep_ms: 2000 }, { timeout: '150ms' });
  check(dl, { 'deadline': (r) => r.status === grpc.StatusDeadlineExceeded });
  const errors = [];
  try { client.invoke('loadkit.test.Echo/Nope', {}); } catch (e) { errors.push(String(e)); }
  try { client.invoke('loadkit.test.Echo/Say', { nope: 1 }); } catch (e) { errors.push(String(e)); }
  try { client.invoke('loadkit.test.Echo/Say', {}, { headers: {} }); } catch (e) { errors.push(String(e)); }
  check(errors, {
    'unknown method': (e) => e[0].includes('method "/loadkit.test.Echo/Nope" not found in file descriptors'),
    'unknown field': (e) => e[1].includes('unable to serialise request object to protocol buffer') && e[1].includes('nope'),
    'headers param': (e) => e[2].includes('headers param is not supported anymore'),
  });
  client.close();
}
)");
    auto r = run_script(file, server.address);
    INFO(r.report);
    all_checks_pass(r.summary, 2 * 12);
    CHECK(count_of(r.summary, "grpc_req_duration") == 6);  // 3 calls an iteration (the errors never left)
}

TEST_CASE("js grpc: streams (server and bidi) with their events, reflection, init-context rules") {
    grpc_server server;
    scratch s;
    auto file = s.write("stream.js", R"(
import grpc from 'k6/net/grpc';
import { check } from 'k6';
const client = new grpc.Client();
let loadError = '';
export const options = { iterations: 1, vus: 1 };
export default function () {
  try { client.load([], 'grpc_test.proto'); } catch (e) { loadError = String(e); }
  client.connect(__ENV.ADDR, { plaintext: true, reflect: true });
  const seen = [];
  const s = new grpc.Stream(client, 'loadkit.test.Echo/Chat');
  let n = 0;
  s.on('data', (m) => { seen.push('bidi ' + m.message + ' ' + (m.index || 0)); if (++n === 3) s.end(); });
  s.on('error', (e) => seen.push('bidi error ' + e.code));
  s.on('end', () => {
    seen.push('bidi end');
    check(seen, {
      'bidi': (x) => x.filter(l => l.startsWith('bidi hi')).length === 3 && x.includes('bidi end') && !x.includes('bidi error 13'),
    });
  });
  s.write({ name: 'a' }); s.write({ name: 'b' }); s.write({ name: 'c' });
  const f = new grpc.Stream(client, 'loadkit.test.Echo/List', { timeout: '5s' });
  const got = [];
  f.on('data', (m) => got.push(JSON.stringify(m)));
  f.on('error', (e) => got.push('error ' + JSON.stringify(e)));
  f.on('end', () => {
    got.push('end');
    check(got, {
      // k6 v0.48 (k6/experimental/grpc) printed these for the same stream
      'server stream': (g) => g.join('|') === '{"message":"fail"}|{"message":"fail","index":1}|error {"code":13,"message":"failed after the messages","details":[]}|end',
      'load in init only': () => loadError.includes('load must be called in the init context'),
    });
  });
  f.write({ name: 'fail', count: 2 });
  f.end();
}
)");
    auto r = run_script(file, server.address);
    INFO(r.report);
    all_checks_pass(r.summary, 3);
    CHECK(count_of(r.summary, "grpc_streams") == 2);
    CHECK(count_of(r.summary, "grpc_streams_msgs_sent") == 4);
    CHECK(count_of(r.summary, "grpc_streams_msgs_received") == 5);
}

TEST_CASE("js grpc: connect errors are thrown as k6's, in the init context too") {
    scratch s;
    auto file = s.write("refused.js", R"(
import grpc from 'k6/net/grpc';
import { check } from 'k6';
const client = new grpc.Client();
let initError = '';
try { client.connect('127.0.0.1:1'); } catch (e) { initError = String(e); }
export const options = { iterations: 1, vus: 1 };
export default function () {
  let err = '';
  try { client.connect('127.0.0.1:1', { plaintext: true, timeout: '2s' }); } catch (e) { err = String(e); }
  let bad = '';
  try { client.connect('127.0.0.1:1', { plaintext: 'yes' }); } catch (e) { bad = String(e); }
  let noconn = '';
  try { client.invoke('x.Y/Z', {}); } catch (e) { noconn = String(e); }
  check(null, {
    'refused': () => err.length > 0,
    'bad param': () => bad.includes('invalid plaintext value'),
    'init': () => initError.includes('connecting to a gRPC server in the init context is not supported'),
    'no connection': () => noconn.includes('no gRPC connection, you must call connect first'),
  });
}
)");
    auto r = run_script(file, "127.0.0.1:1");
    INFO(r.report);
    all_checks_pass(r.summary, 4);
}
namespace {
// The server over TLS with a certificate made here (PEM files for Python).
struct tls_grpc_server {
    loadkit::certificate cert = loadkit::make_self_signed_certificate();
    test_support::grpc_peer peer{&cert};
    std::string address = peer.address;
};
loadkit::run_result run_with_env(const std::string& file, const std::map<std::string, std::string>& env) {
    loadkit::js::script s(file, loadkit::js::load_options(loadkit::js::load_options::env_map(env.begin(), env.end())));
    auto plan = loadkit::js::make_plan(s);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    for (auto& [k, v] : env) o.env[k] = v;
    return loadkit::yaml::run(plan, o, &s);
}
}  // namespace

// k6's default is TLS: connect() without plaintext verifies the server
// (the `tls` map's cacerts, or the system's roots), and a failed handshake
// throws as k6's connect does (grpc-go's "authentication handshake failed").
TEST_CASE("js grpc: TLS by default, tls.cacerts, a wrong CA throws, insecureSkipTLSVerify, and -bin metadata") {
    tls_grpc_server server;
    auto other = loadkit::make_self_signed_certificate();
    scratch s;
    auto file = s.write("tls.js", R"(
import grpc from 'k6/net/grpc';
import { check } from 'k6';
const client = new grpc.Client();
client.load([__ENV.PROTOS], 'grpc_test.proto');
const wrong = new grpc.Client();
wrong.load([__ENV.PROTOS], 'grpc_test.proto');
export const options = { iterations: 1, vus: 1 };
export default function () {
  client.connect(__ENV.ADDR, { tls: { cacerts: [__ENV.CA] }, timeout: '10s' });
  const r = client.invoke('loadkit.test.Echo/Say', { name: 'tls' },
                          { metadata: { 'x-echo-bin': new Uint8Array([9, 0, 1, 254, 127]).subarray(1) } });
  const r2 = client.invoke('loadkit.test.Echo/Say', { name: 'tls' }, { metadata: { 'X-Echo-Bin': 'hi' } });
  const r3 = client.invoke('loadkit.test.Echo/Say', { name: 'tls' }, { metadata: { 'x-echo-bin': new Uint8Array([104, 105]).buffer } });
  let notBinary = '';
  try { client.invoke('loadkit.test.Echo/Say', {}, { metadata: { 'x-plain': new ArrayBuffer(2) } }); } catch (e) { notBinary = String(e); }
  client.close();
  let err = '', noca = '', badca = '', badtls = '';
  try { wrong.connect(__ENV.ADDR, { tls: { cacerts: __ENV.OTHER_CA } }); } catch (e) { err = String(e); }
  try { wrong.connect(__ENV.ADDR); } catch (e) { noca = String(e); }
  try { wrong.connect(__ENV.ADDR, { tls: { cacerts: ['not a certificate'] } }); } catch (e) { badca = String(e); }
  try { wrong.connect(__ENV.ADDR, { tls: 'x' }); } catch (e) { badtls = String(e); }
  check(r, {
    'tls call': (r) => r.status === grpc.StatusOK && r.message.message === 'hello tls',
    'bin sent (a view)': (r) => r.trailers['x-echo-hex'][0] === '0001fe7f',
    'bin sent (a string)': () => r2.trailers['x-echo-hex'][0] === '6869' && r2.headers['x-echo-bin'][0] === 'hi',
    'bin sent (an ArrayBuffer)': () => r3.trailers['x-echo-hex'][0] === '6869',
    'bin received decoded': () => r2.trailers['x-echo-trailer-bin'][0].startsWith('hi'),
    'not binary': () => notBinary.includes('"x-plain" value must be a string'),
    'wrong CA': () => err.includes('authentication handshake failed'),
    'system roots': () => noca.includes('authentication handshake failed'),
    'bad cacerts': () => badca.includes('failed to append ca certificate [0] from PEM'),
    'bad tls': () => badtls.includes('invalid tls value'),
  });
}
)");
    auto r = run_with_env(file, {{"ADDR", server.address}, {"PROTOS", std::string(LOADKIT_SOURCE_DIR) + "/tests"},
                                 {"CA", server.cert.cert_pem}, {"OTHER_CA", other.cert_pem}});
    INFO(r.report);
    all_checks_pass(r.summary, 10);
    CHECK(count_of(r.summary, "grpc_req_duration") == 3);
    // the global insecureSkipTLSVerify: k6's connect() over TLS without a CA
    auto insecure = s.write("insecure.js", R"(
import grpc from 'k6/net/grpc';
import { check } from 'k6';
const client = new grpc.Client();
client.load([__ENV.PROTOS], 'grpc_test.proto');
export const options = { iterations: 1, vus: 1, insecureSkipTLSVerify: true };
export default function () {
  client.connect(__ENV.ADDR);
  check(client.invoke('loadkit.test.Echo/Say', { name: 'i' }), { 'insecure': (r) => r.status === grpc.StatusOK });
}
)");
    auto r2 = run_with_env(insecure, {{"ADDR", server.address}, {"PROTOS", std::string(LOADKIT_SOURCE_DIR) + "/tests"}});
    INFO(r2.report);
    all_checks_pass(r2.summary, 1);
}
#endif

}  // namespace LOADKIT_TEST_UNIT
