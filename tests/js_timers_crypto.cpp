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
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

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
  // the checks run 40 ms after the interval's third tick: after every
  // other timer however late the ticks come (each is due a period after
  // the one before, or now when that has passed)
  const iv = si(() => { if (++n === 3) { ci(iv); setTimeout(done, 40); } }, 7);
  setTimeout(function () { self = this; }, 1);
  let threw = '';
  try { setTimeout('order.push(1)', 1); } catch (e) { threw = e.name; }
  function done() {
    // the interval's ticks are left out: a late tick moves the ones after it
    check(order.join(','), { 'order': (o) => o === 'neg,nan,fifo1,fifo2,a,b,c12' });
    check(n, { 'cleared after 3 ticks': (x) => x === 3 });
    check(null, {
      'ids count from 1 per VU': () => id === 8 + 11 * __ITER && iv === 9 + 11 * __ITER,
      'this is the global': () => self === globalThis,
      'a string is no callback': () => threw === 'TypeError',
      'globals are the module': () => setTimeout === timers.setTimeout && st === setTimeout && clearInterval === ci,
    });
  }
}
)");
    auto r = run(f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations", "count") == 6);
    CHECK(metric(r.summary, "iterations_failed", "count") == 0);
    CHECK(checks_pass(r.summary, 6 * 6));
    // the iteration lasted until its last timer (21 + 40 ms), not its body's end
    CHECK(metric(r.summary, "iteration_duration", "min") >= 60);
}

// k6 v0.48.0, the same scripts with k6/experimental/timers imports, against
// a local server: the first 10 iterations, 20 requests, 10 checks passed;
// the second 10 iterations, 30 requests (20 /json, 10 /feed), 20 checks
// passed.
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
  let ticks = 0;
  const started = [];
  await new Promise((resolve) => {
    const iv = setInterval(() => {
      started.push(http.asyncRequest('GET', `${__ENV.TARGET}/json`));
      if (++ticks === 2) { clearInterval(iv); resolve(); }
    }, 5);
  });
  const got = (await Promise.all(started)).filter((r) => r.status === 200).length;
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

// k6 v0.48.0 waits forever for an interval that init code never clears
// (`k6 run` and `k6 inspect` both hung until killed); loadkit ends the init
// context with an error after init_timers_limit (60 s, k6's setupTimeout).
TEST_CASE("js timers: an interval init code never clears is an init error, not a hang") {
    scratch s;
    auto f = s.write("forever.js", R"(
let n = 0;
setInterval(() => { n++; }, 10);
export default function () {}
)");
    auto saved = loadkit::js::detail::init_timers_limit;
    loadkit::js::detail::init_timers_limit = std::chrono::milliseconds(300);
    std::string what;
    try {
        loadkit::js::script script(f, {});
    } catch (const std::exception& e) {
        what = e.what();
    }
    loadkit::js::detail::init_timers_limit = saved;
    CHECK_THAT(what, Catch::Contains("timers (k6/timers) were still pending after 300 ms"));
}

// --- crypto ---------------------------------------------------------------

// Vectors: RFC 1320 (MD4 "abc"), RIPEMD-160's authors ("abc"), FIPS 180-4
// (SHA-512/224, SHA-512/256 "abc"), RFC 4231 test case 2 (HMAC-SHA-256,
// key "Jefe"); the AES ciphertexts are `openssl enc -aes-128-cbc/-ctr -K
// 01..01 -iv 02..02` of "hello world".
TEST_CASE("js crypto: OpenSSL digests, HMACs and AES against known vectors") {
    using namespace loadkit::js::detail;
    CHECK(hex(digest("md4", "abc")) == "a448017aaf21d8525fc10ae87aa6729d");
    CHECK(hex(digest("ripemd160", "abc")) == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
    CHECK(hex(digest("sha512_224", "abc")) == "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa");
    CHECK(hex(digest("sha512_256", "abc")) == "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
    CHECK(hex(hmac("sha256", "Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    hash_stream h("sha256");
    h.update("a");
    h.update("bc");
    CHECK(hex(h.final()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string key(16, '\x01'), iv(16, '\x02'), iv12(12, '\x03');
    CHECK(hex(aes_crypt("cbc", true, key, iv, "hello world")) == "1c90dd4078388a2f2cdee31205b1f222");
    CHECK(hex(aes_crypt("ctr", true, key, iv, "hello world")) == "7fb3789f168942ff058531");
    auto sealed = aes_crypt("gcm", true, key, iv12, "hello world", "aad");
    CHECK(sealed.size() == 11 + 16);
    CHECK(aes_crypt("gcm", false, key, iv12, sealed, "aad") == "hello world");
    sealed[0] ^= 1;
    CHECK_THROWS_AS(aes_crypt("gcm", false, key, iv12, sealed, "aad"), crypto_failure);
    CHECK_THROWS(digest("sha3", "x"));
}

// k6 v0.48.0 printed, for the same calls (its cmp script, by hand): md4
// a448017a..., createHash(alg) with update('a') + update(ArrayBuffer 'bb'):
// sha256 715edf8b..., createHMAC('sha256', 'key') over the fox sentence in
// two updates f7bc83f4..., hexEncode('hi!') 686921; subtle.digest('SHA-1',
// 'hello') aaf4c61d...; AES-GCM of "hello world" with key 01..01, iv 03..03
// (12 bytes), additionalData 040404: 51204745315d352b86728bcceda88eb7634aa9
// 9fb1721125e2165e; HMAC SHA-256 key "key" sign f7bc83f4..., verify true;
// an imported key {"type":"secret","extractable":true,"algorithm":{"name":
// "AES-CBC","length":128},"usages":["encrypt","decrypt"]}.
TEST_CASE("js crypto: k6/crypto hashers and the web-crypto globals give k6's results") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("crypto.js", R"(
import k6crypto, { createHash, createHMAC, sha512_256 } from 'k6/crypto';
import { crypto as wc } from 'k6/experimental/webcrypto';
export const options = { vus: 1, iterations: 2 };
const hex = (buf) => Array.from(new Uint8Array(buf), (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
const ascii = (s) => new Uint8Array(Array.from(s, (c) => c.charCodeAt(0)));
const bytes = (n, v) => new Uint8Array(n).fill(v);
const fox = 'The quick brown fox jumps over the lazy dog';
async function rejects(p) { try { await p; return 'no error'; } catch (e) { return e.name; } }
export default async function () {
  const h = createHash('sha256');
  h.update('a').update(ascii('bb').buffer);
  const m = createHMAC('sha256', 'key');
  m.update('The quick brown fox ');
  m.update('jumps over the lazy dog');
  let bad = '';
  try { createHMAC('nope', 'k'); } catch (e) { bad = e.message; }
  check(null, {
    'md4': () => k6crypto.md4('abc', 'hex') === 'a448017aaf21d8525fc10ae87aa6729d',
    'ripemd160': () => k6crypto.ripemd160('abc', 'hex') === '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc',
    'sha512_256': () => sha512_256('abc', 'hex') === '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23',
    'hasher': () => h.digest('hex') === '715edf8ba8729420cd4d1ce85ed61954a9f531f8c548df728c407effe839296d' && h.digest('base64') === 'cV7fi6hylCDNTRzoXtYZVKn1MfjFSN9yjEB+/+g5KW0=',
    'hmac hasher': () => m.digest('hex') === 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    'unknown algorithm': () => bad.includes('nope'),
    'hexEncode': () => k6crypto.hexEncode('hi!') === '686921',
    // the global crypto is the web-crypto object with k6/crypto's functions
    'global crypto': () => typeof crypto.subtle.digest === 'function' && typeof crypto.hmac === 'function' && crypto !== k6crypto,
  });
  const raw = bytes(16, 1);
  const gcm = { name: 'AES-GCM', iv: bytes(12, 3), additionalData: bytes(3, 4) };
  const key = await wc.subtle.importKey('raw', raw, { name: 'aes-gcm' }, true, ['encrypt', 'decrypt']);
  const sealed = await wc.subtle.encrypt(gcm, key, ascii('hello world'));
  const opened = await crypto.subtle.decrypt(gcm, key, sealed);
  const cbcKey = await crypto.subtle.importKey('raw', raw, 'AES-CBC', true, ['encrypt', 'decrypt']);
  const cbc = await crypto.subtle.encrypt({ name: 'AES-CBC', iv: bytes(16, 2) }, cbcKey, ascii('hello world'));
  const ctrKey = await crypto.subtle.importKey('raw', raw, 'AES-CTR', false, ['encrypt']);
  const ctr = await crypto.subtle.encrypt({ name: 'AES-CTR', counter: bytes(16, 2), length: 64 }, ctrKey, ascii('hello world'));
  const hk = await wc.subtle.importKey('raw', ascii('key'), { name: 'HMAC', hash: { name: 'SHA-256' } }, false, ['sign', 'verify']);
  const sig = await wc.subtle.sign('HMAC', hk, ascii(fox));
  const gen = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-512' }, true, ['sign']);
  const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const jwk = await crypto.subtle.exportKey('jwk', cbcKey);
  const back = await crypto.subtle.importKey('jwk', jwk, 'AES-CBC', true, ['decrypt']);
  const ta = new Uint32Array(4);
  check(null, {
    'aes-gcm': () => hex(sealed) === '51204745315d352b86728bcceda88eb7634aa99fb1721125e2165e' && String.fromCharCode(...new Uint8Array(opened)) === 'hello world',
    'aes-cbc': () => hex(cbc) === '1c90dd4078388a2f2cdee31205b1f222',
    'aes-ctr': () => hex(ctr) === '7fb3789f168942ff058531',
    'key': () => JSON.stringify(cbcKey) === '{"type":"secret","extractable":true,"algorithm":{"name":"AES-CBC","length":128},"usages":["encrypt","decrypt"]}',
    'hmac sign': () => hex(sig) === 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    'generated': () => gen.algorithm.length === 1024 && aes.algorithm.length === 256,
    'jwk': () => jwk.kty === 'oct' && jwk.alg === 'A128CBC' && back.algorithm.name === 'AES-CBC',
    'getRandomValues': () => crypto.getRandomValues(ta) === ta,
    'randomUUID': () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
  });
  const results = {
    digestSha1: hex(await wc.subtle.digest('SHA-1', ascii('hello'))),
    verify: await wc.subtle.verify('HMAC', hk, sig, ascii(fox)),
    verifyBad: await wc.subtle.verify('HMAC', hk, sig, ascii('x')),
    md5: await rejects(wc.subtle.digest('MD5', bytes(1, 0))),
    aesLength: await rejects(wc.subtle.importKey('raw', bytes(5, 1), { name: 'AES-CBC' }, true, ['encrypt'])),
    usage: await rejects(wc.subtle.importKey('raw', raw, 'AES-CBC', true, ['sign'])),
    notExtractable: await rejects(wc.subtle.exportKey('raw', hk)),
    tampered: await rejects(wc.subtle.decrypt(gcm, key, bytes(32, 9))),
    wrongKey: await rejects(wc.subtle.encrypt({ name: 'AES-CBC', iv: bytes(16, 3) }, key, raw)),
    noUsage: await rejects(wc.subtle.encrypt({ name: 'AES-CTR', counter: bytes(16, 3), length: 64 }, ctrKey, raw).then(() => wc.subtle.decrypt({ name: 'AES-CTR', counter: bytes(16, 3), length: 64 }, ctrKey, raw))),
    rsa: await rejects(wc.subtle.generateKey({ name: 'RSA-OAEP' }, true, ['encrypt'])),
  };
  let quota = '', mismatch = '';
  try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { quota = e.name; }
  try { crypto.getRandomValues(new Float32Array(4)); } catch (e) { mismatch = e.name; }
  check(results, {
    'digest sha-1': (r) => r.digestSha1 === 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d',
    'verify': (r) => r.verify === true && r.verifyBad === false,
    'errors': (r) => JSON.stringify(r) === JSON.stringify(Object.assign({}, r, {
      md5: 'NotSupportedError', aesLength: 'DataError', usage: 'SyntaxError', notExtractable: 'InvalidAccessError',
      tampered: 'OperationError', wrongKey: 'InvalidAccessError', noUsage: 'InvalidAccessError', rsa: 'NotSupportedError' })),
    'getRandomValues limits': () => quota === 'QuotaExceededError' && mismatch === 'TypeMismatchError',
  });
}
)");
    auto r = run(f, server.url());
    CHECK(r.code == 0);
    CHECK(metric(r.summary, "iterations_failed", "count") == 0);
    CHECK(checks_pass(r.summary, 2 * 21));
}

}  // namespace LOADKIT_TEST_UNIT
