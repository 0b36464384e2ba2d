// k6/http's request side against a small echo server the tests start on
// 127.0.0.1 (python3: it answers digest challenges, sets cookies, redirects
// and echoes each request's headers, in order, and its body's bytes):
// credentials in the URL and params.auth, the cookie API, res.cookies,
// res.request, http.file() and multipart bodies. Each script's checks say
// what k6 v0.48 printed for the same calls against the same server.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
using test_support::scratch;

namespace {

// The echo server: GET/POST/... any path answers 200 with
// {method, path, headers: [[name, value]...], body (bytes as Latin-1)};
// /digest/USER/PASS: 401 with a Digest challenge (qop=auth; ?qop= without
// it) until the Authorization answers it; /setcookie?c=...: each c as a
// Set-Cookie header; /redirect?to=URL: 302 to it.
constexpr const char* echo_server = R"PY(
import hashlib, http.server, json, re, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def any(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        status, extra = 200, []
        if u.path.startswith('/digest/'):
            user, pw = u.path.split('/')[2:4]
            a, ok = self.headers.get('Authorization', ''), False
            if a.startswith('Digest '):
                p = {m.group(1): m.group(3) if m.group(3) is not None else m.group(2)
                     for m in re.finditer(r'(\w+)=("([^"]*)"|[^,\s]*)', a[7:])}
                h = lambda s: hashlib.md5(s.encode()).hexdigest()
                ha1, ha2 = h(f"{user}:{p.get('realm')}:{pw}"), h(f"{self.command}:{p.get('uri')}")
                want = h(f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p.get('qop')}:{ha2}") if p.get('qop') \
                    else h(f"{ha1}:{p.get('nonce')}:{ha2}")
                ok = want == p.get('response') and p.get('uri') == self.path and p.get('opaque') == 'c1b2a3'
            if not ok:
                status = 401
                qop = q.get('qop', ['auth'])[0]
                extra.append(('WWW-Authenticate', 'Digest realm="me@example.test", nonce="6bf1ad8b0e5f0e0d"' +
                              (f', qop="{qop}"' if qop else '') + ', opaque="c1b2a3", algorithm=MD5'))
        for c in q.get('c', []) if u.path == '/setcookie' else []:
            extra.append(('Set-Cookie', c))
        if u.path == '/redirect':
            status = 302
            extra.append(('Location', q['to'][0]))
        out = json.dumps({'method': self.command, 'path': self.path, 'headers': [[k, v] for k, v in self.headers.items()],
                          'body': body.decode('latin1')}).encode()
        self.send_response(status)
        for k, v in extra: self.send_header(k, v)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = any
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
)PY";

struct echo {
    scratch dir;
    std::uint16_t port = test_support::free_port();
    test_support::child proc{{"/usr/bin/python3", dir.write("echo.py", echo_server), std::to_string(port)},
                             (dir.dir / "echo.log").string()};
    echo() {
        for (int i = 0; i < 200; ++i) {  // until it listens (10 s at most)
            try {
                test_support::fetch(port, "/ready");
                return;
            } catch (const std::exception&) {
                std::this_thread::sleep_for(50ms);
            }
        }
        FAIL("the echo server did not start: " << proc.out());
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

loadkit::run_result run(const std::string& source, const std::string& base) {
    scratch s;
    auto file = s.write("t.js", source);
    loadkit::js::script sc(file, {{{"B", base}}});
    auto plan = loadkit::js::make_plan(sc);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["B"] = base;
    return loadkit::yaml::run(plan, o, &sc);
}
double count(const nlohmann::json& summary, std::string_view metric, const char* field = "count") {
    auto* a = loadkit::find_metric(summary, metric);
    if (!a) FAIL("no metric " << metric);
    return (*a)[field].get<double>();
}
// Every check passed (each failing one is named), and at least `n` ran.
void all_passed(const nlohmann::json& summary, double n) {
    double passes = 0;
    for (auto& c : summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    CHECK(passes == n);
}

}  // namespace

TEST_CASE("js http request: digest challenge and response (RFC 2617's example)") {
    loadkit::detail::digest_challenge c;
    REQUIRE(loadkit::detail::parse_digest_challenge(
        R"(Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41")",
        c));
    CHECK(c.realm == "testrealm@host.com");
    CHECK(c.qop == "auth,auth-int");
    auto a = loadkit::detail::digest_authorization(c, "GET", "/dir/index.html", "Mufasa:Circle%20Of%20Life",
                                                   "0a4f113b");
    CHECK(a == R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", )"
               R"(uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", )"
               R"(response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41")");
    CHECK_FALSE(loadkit::detail::parse_digest_challenge("Basic realm=\"x\"", c));
    c.algorithm = "SHA-512-256";  // not offered by this client: no answer
    CHECK(loadkit::detail::digest_authorization(c, "GET", "/", "u:p").empty());
}

// k6 v0.48, the same calls: "digest 200" after 2 requests (the first, a 401,
// carries the URL's credentials as Basic, and counts as expected), "basic"
// Authorization "Basic dTpw", no Authorization without credentials, a wrong
// password 401 after 2 requests (the second failed), auth 'bogus' ignored
// (Basic from the URL); 10 http_reqs here (k6 ran NTLM, which loadkit
// refuses with an exception, so that request is not made).
TEST_CASE("js http request: credentials in the URL, params.auth basic and digest, ntlm refused") {
    echo server;
    auto r = run(R"(
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1, vus: 1 };
const B = __ENV.B, CRED = B.replace('http://', 'http://u:p@');
const auth = r => (JSON.parse(r.body).headers.find(h => h[0] === 'Authorization') || [])[1];
export default function () {
  let r = http.get(CRED + '/digest/u/p', { auth: 'digest' });
  check(r, { 'digest: 200': r => r.status === 200, 'digest: answered': r => /^Digest username="u", realm="me@example.test", nonce="6bf1ad8b0e5f0e0d", uri="\/digest\/u\/p", algorithm=MD5, qop=auth, nc=00000001, cnonce="[0-9a-f]{16}", response="[0-9a-f]{32}", opaque="c1b2a3"$/.test(auth(r)) });
  r = http.get(CRED + '/digest/u/p?qop=', { auth: 'digest' });
  check(r, { 'digest without qop: 200': r => r.status === 200, 'digest without qop: no nc': r => !/nc=/.test(auth(r)) });
  r = http.post(CRED + '/digest/u/p', 'a body', { auth: 'digest' });
  check(r, { 'digest POST: 200, body sent again': r => r.status === 200 && JSON.parse(r.body).body === 'a body' });
  r = http.get(B.replace('http://', 'http://u:wrong@') + '/digest/u/p', { auth: 'digest' });
  check(r, { 'digest, wrong password: 401': r => r.status === 401 });
  r = http.get(CRED + '/plain', { auth: 'basic' });
  check(r, { 'basic': r => auth(r) === 'Basic dTpw' });
  r = http.get(CRED + '/plain');
  check(r, { 'credentials alone: basic': r => auth(r) === 'Basic dTpw' });
  r = http.get(B + '/plain', { auth: 'basic' });
  check(r, { 'basic without credentials: none': r => auth(r) === undefined });
  r = http.get(CRED + '/plain', { auth: 'bogus' });
  check(r, { 'another auth: ignored': r => auth(r) === 'Basic dTpw' });
  let message = '';
  try { http.get(CRED + '/plain', { auth: 'ntlm' }); } catch (e) { message = String(e); }
  check(message, { 'ntlm: not supported': m => /NTLM authentication is not supported/.test(m) });
}
)",
                 server.url());
    INFO(r.report);
    CHECK(count(r.summary, "iterations_failed") == 0);
    CHECK(r.code == 0);
    all_passed(r.summary, 11);
    // 2 + 2 + 2 + 2 (digest, each a 401 first) + 4
    CHECK(count(r.summary, "http_reqs") == 12);
    // the second 401 of the wrong password fails; the first 401s count as expected
    CHECK(count(r.summary, "http_req_failed", "rate") == Approx(1.0 / 12));
}

// k6 v0.48 printed, for these calls: cookiesForURL(B + '/') {"a":["1"],"d":["4"]};
// for /sub/y {"b":["2"],"c":["3"],"a":["1"],"d":["4"]} and the Cookie header
// "b=2; c=3; a=1; d=4" (longer paths first); after the Set-Cookie response,
// x: ["10","9"]; delete(B, 'x') leaves x=10 (path /sub); clear(B + '/sub/q')
// leaves {a, d}; clear(B) {}; an own jar's request sent "k=v; a=A; own=yes"
// and its Set-Cookie went to that jar only; res.cookies as in the check below
// (a missing Expires is -6795364578871, Go's zero time).
TEST_CASE("js http request: the cookie API and res.cookies") {
    echo server;
    auto r = run(R"(
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1, vus: 1 };
const B = __ENV.B;
const sent = r => (JSON.parse(r.body).headers.find(h => h[0] === 'Cookie') || [])[1];
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const early = new http.CookieJar();  // allowed in the init context, as in k6
export default function () {
  const jar = http.cookieJar();
  check(jar, { 'a CookieJar': j => j instanceof http.CookieJar && typeof j.set === 'function' && JSON.stringify(j) === '{}' });
  check(jar.set(B, 'a', '1'), { 'set returns true': v => v === true });
  jar.set(B + '/sub/x', 'b', '2');
  jar.set(B, 'c', '3', { path: '/sub', max_age: 100, secure: false, http_only: true });
  jar.set(B, 'd', '4', { domain: '127.0.0.1', expires: 'Mon, 02 Jan 2040 15:04:05 GMT' });
  jar.set(B, 'e', '5', { domain: 'other.example' });
  jar.set(B, 's', '6', { secure: true });
  jar.set(B, 'gone', '1', { max_age: -1 });
  jar.set(B, 'old', '1', { expires: 'Mon, 02 Jan 2006 15:04:05 GMT' });
  jar.set('ftp://127.0.0.1/', 'ftp', '1');
  check(jar, {
    'for /': j => same(j.cookiesForURL(B + '/'), { a: ['1'], d: ['4'] }),
    'for /sub/y': j => same(j.cookiesForURL(B + '/sub/y'), { b: ['2'], c: ['3'], a: ['1'], d: ['4'] }),
    'other schemes: none': j => same(j.cookiesForURL('ftp://127.0.0.1/'), {}),
  });
  let r = http.get(B + '/sub/y');
  check(r, { 'sent, longer paths first': r => sent(r) === 'b=2; c=3; a=1; d=4' });
  r = http.get(B + '/setcookie?c=' + encodeURIComponent('x=9; Path=/; HttpOnly; Max-Age=300') +
               '&c=' + encodeURIComponent('y=8; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Domain=127.0.0.1; Secure') +
               '&c=' + encodeURIComponent('x=10; Path=/sub') + '&c=' + encodeURIComponent('bad name=1') +
               '&c=' + encodeURIComponent('q="quoted"; Max-Age=0'));
  check(r, { 'res.cookies': r => same(r.cookies, {
    x: [{ name: 'x', value: '9', domain: '', path: '/', http_only: true, secure: false, max_age: 300, expires: -6795364578871 },
        { name: 'x', value: '10', domain: '', path: '/sub', http_only: false, secure: false, max_age: 0, expires: -6795364578871 }],
    y: [{ name: 'y', value: '8', domain: '127.0.0.1', path: '', http_only: false, secure: true, max_age: 0, expires: 2139722880000 }],
    q: [{ name: 'q', value: 'quoted', domain: '', path: '', http_only: false, secure: false, max_age: -1, expires: -6795364578871 }],
  }) });
  check(jar, { 'stored': j => same(j.cookiesForURL(B + '/sub/z').x, ['10', '9']) });
  jar.delete(B, 'x');
  check(jar, { 'delete: that path only': j => same(j.cookiesForURL(B + '/sub/z').x, ['10']) });
  jar.clear(B + '/sub/q');
  check(jar, { 'clear: that directory': j => same(j.cookiesForURL(B + '/sub/z'), { a: ['1'], d: ['4'] }) });
  jar.clear(B);
  check(jar, { 'clear: all': j => same(j.cookiesForURL(B + '/sub/z'), {}) });
  jar.set(B, 'vu', '1');
  const own = new http.CookieJar();
  own.set(B, 'own', 'yes');
  r = http.get(B + '/sub/y', { jar: own, cookies: { k: 'v', vu: { value: 'V', replace: true } } });
  check(r, { 'own jar': r => sent(r) === 'k=v; vu=V; own=yes' });
  r = http.get(B + '/sub/y', { jar: null });
  check(r, { 'jar null: the VU jar': r => sent(r) === 'vu=1' });
  http.get(B + '/setcookie?c=z%3D1', { jar: own });
  check(own, { 'into its own jar': j => same(j.cookiesForURL(B), { own: ['yes'], z: ['1'] }) && !('z' in jar.cookiesForURL(B)) });
  check(early, { 'a jar made in the init context': j => same(j.cookiesForURL(B), {}) });
  const errors = [];
  for (const f of [() => jar.delete(B, ''), () => jar.set(B, 'q', '1', { expires: 'garbage' }), () => jar.set('::bad', 'q', '1'),
                   () => jar.cookiesForURL('http://')])
    try { f(); errors.push('none'); } catch (e) { errors.push(String(e).slice(0, 30)); }
  check(errors, { 'bad arguments throw': e => !e.includes('none') });
  jar.set(B, 'inj', 'a\r\nX-Injected: 1');
  r = http.get(B + '/x');
  check(r, { 'a value is sanitized as Go does': r => !JSON.parse(r.body).headers.some(h => h[0] === 'X-Injected') && /inj="aX-Injected: 1"/.test(sent(r)) });
}
)",
                 server.url());
    INFO(r.report);
    CHECK(count(r.summary, "iterations_failed") == 0);
    CHECK(r.code == 0);
    all_passed(r.summary, 17);
}

// k6 v0.48: {"method":"GET","url":B+"/sub/y","headers":{"User-Agent":[UA],
// "Cookie":["b=2; ..."]},"body":"","cookies":{"b":[{"name":"b","value":"2",
// "replace":false}],...}}; a form POST {"headers":{"User-Agent":[UA],
// "Cookie":["c=d"],"Content-Type":["application/x-www-form-urlencoded"]},
// "body":"a=x+y&b=1&b=2","cookies":{"c":[...]}}; given headers under their
// canonical names ("x-multi-word-header" -> "X-Multi-Word-Header") and a
// Cookie header of the call's own merged with params.cookies
// ("given=1; c=d"); after a redirect, the first hop's method and URL.
TEST_CASE("js http request: res.request") {
    echo server;
    auto r = run(R"(
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1, vus: 1 };
const B = __ENV.B;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
export default function () {
  let r = http.get(B + '/plain');
  const ua = r.request.headers['User-Agent'];
  check(r.request, { 'plain GET': q => same(q, { method: 'GET', url: B + '/plain', headers: { 'User-Agent': ua }, body: '', cookies: {} }) && /^loadkit\//.test(ua[0]) });
  r = http.post(B + '/form', { a: 'x y', b: ['1', '2'] }, { cookies: { c: 'd' } });
  check(r.request, { 'form POST': q => same(q, { method: 'POST', url: B + '/form',
    headers: { 'User-Agent': ua, 'Content-Type': ['application/x-www-form-urlencoded'], Cookie: ['c=d'] },
    body: 'a=x+y&b=1&b=2', cookies: { c: [{ name: 'c', value: 'd', replace: false }] } }) });
  r = http.post(B + '/raw', 'raw', { headers: { 'content-type': 'text/plain', 'x-multi-word-header': 'v', Cookie: 'given=1' }, cookies: { c: 'd' } });
  check(r.request, { 'given headers': q => same(q.headers, { 'User-Agent': ua, 'Content-Type': ['text/plain'], 'X-Multi-Word-Header': ['v'], Cookie: ['given=1; c=d'] })
    && same(q.cookies, { given: [{ name: 'given', value: '1', replace: false }], c: [{ name: 'c', value: 'd', replace: false }] }) && q.body === 'raw' });
  http.cookieJar().set(B, 'j', '1');
  r = http.get(B + '/jar');
  check(r.request, { "the jar's cookies": q => same(q.headers.Cookie, ['j=1']) && same(q.cookies, { j: [{ name: 'j', value: '1', replace: false }] }) });
  r = http.post(B + '/redirect?to=' + encodeURIComponent('/landed'), 'x');
  check(r, { 'redirected: the first hop': r => r.url === B + '/landed' && r.request.method === 'POST' && r.request.url === B + '/redirect?to=%2Flanded' && r.request.body === 'x' });
  r = http.get(B + '/redirect?to=' + encodeURIComponent('/landed'));
  check(r, { 'redirected without params': r => r.request.url === B + '/redirect?to=%2Flanded' && r.request.method === 'GET' });
  r = http.post(B + '/bin', new Uint8Array([104, 105]).buffer);
  check(r.request, { 'a binary body as text': q => q.body === 'hi' });
  const batch = http.batch([['POST', B + '/b1', 'one', { headers: { 'X-N': '1' } }], ['GET', B + '/b2']]);
  check(batch, { 'batch': b => b[0].request.body === 'one' && same(b[0].request.headers['X-N'], ['1']) && b[1].request.url === B + '/b2' });
  r = http.get(B + '/x');
  r.request = 'mine';
  check(r, { 'assignable': r => r.request === 'mine' });
}
)",
                 server.url());
    INFO(r.report);
    CHECK(count(r.summary, "iterations_failed") == 0);
    CHECK(r.code == 0);
    all_passed(r.summary, 9);
}

// k6 v0.48 for {zeta, alpha, 'na"me': http.file('hello "w"', 'a"b\\.txt',
// 'text/plain'), arr: [1, 'x'], obj: {k: 1}, n: 1.5, nul: null}: Content-Type
// "multipart/form-data; boundary=<60 hex digits>", parts in a random order
// (a Go map) of this form: '--B\r\nContent-Disposition: form-data;
// name="na"me"; filename="a\"b\\.txt"\r\nContent-Type: text/plain\r\n\r\n
// hello "w"' ... '\r\n--B\r\nContent-Disposition: form-data;
// name="arr"\r\n\r\n[1 x]', "map[k:1]", "1.5", "<nil>", closed by
// '\r\n--B--\r\n'; http.file(bytes) {"data":[0,255,65],"filename":<the time
// in ns>,"content_type":"application/octet-stream"}.
TEST_CASE("js http request: http.file and multipart bodies") {
    echo server;
    auto r = run(R"(
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1, vus: 1 };
const B = __ENV.B;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const bin = new Uint8Array([0, 255, 65]).buffer;
export default function () {
  const f = http.file('hello "w"', 'a"b\\.txt', 'text/plain');
  check(f, { 'FileData': f => same(Object.keys(f), ['data', 'filename', 'content_type']) && f.data.length === 9 && f.data[0] === 104 && f.filename === 'a"b\\.txt' });
  const f2 = http.file(bin);
  check(f2, { 'defaults': f => /^\d{19}$/.test(f.filename) && f.content_type === 'application/octet-stream' && same(f.data, [0, 255, 65]) });
  let r = http.post(B + '/up', { zeta: 'z', alpha: 'a', 'na"me': f, arr: [1, 'x'], obj: { k: 1 }, n: 1.5, nul: null, bin: http.file(bin, 'b.bin') }, { headers: { 'X-A': 'b' } });
  const e = JSON.parse(r.body), ct = e.headers.find(h => h[0] === 'Content-Type')[1];
  const m = /^multipart\/form-data; boundary=([0-9a-f]{60})$/.exec(ct);
  check(m, { 'Content-Type': m => m !== null });
  const b = m[1], field = (n, v) => `\r\n--${b}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}`;
  const want = `--${b}\r\nContent-Disposition: form-data; name="zeta"\r\n\r\nz` + field('alpha', 'a') +
    `\r\n--${b}\r\nContent-Disposition: form-data; name="na"me"; filename="a\\"b\\\\.txt"\r\nContent-Type: text/plain\r\n\r\nhello "w"` +
    field('arr', '[1 x]') + field('obj', 'map[k:1]') + field('n', '1.5') + field('nul', '<nil>') +
    `\r\n--${b}\r\nContent-Disposition: form-data; name="bin"; filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\u0000\u00ffA` +
    `\r\n--${b}--\r\n`;
  check(e.body, { 'the body, byte for byte': body => body === want });
  check(r.request, { 'res.request': q => same(q.headers['Content-Type'], [ct]) && same(q.headers['X-A'], ['b']) && q.body.startsWith(`--${b}\r\n`) });
  r = http.post(B + '/up', { a: '1', f: http.file('x') }, { headers: { 'Content-Type': 'multipart/form-data; boundary=given' } });
  check(JSON.parse(r.body), { 'a given Content-Type stays': e => e.headers.find(h => h[0] === 'Content-Type')[1] === 'multipart/form-data; boundary=given' });
  r = http.post(B + '/up', { a: 'x y' });
  check(JSON.parse(r.body), { 'no file: urlencoded': e => e.body === 'a=x+y' });
  let message = '';
  try { http.file(null); } catch (err) { message = String(err); }
  check(message, { 'bad data': m => /http.file: expected a string/.test(m) });
}
)",
                 server.url());
    INFO(r.report);
    CHECK(count(r.summary, "iterations_failed") == 0);
    CHECK(r.code == 0);
    all_passed(r.summary, 8);
}

// The same digest answer from a YAML flow (a request step's `auth`).
TEST_CASE("js http request: a YAML request step with auth: digest") {
    echo server;
    scratch s;
    auto yaml = s.write("digest.yaml", R"(
name: digest
target: )" + server.url() + R"(
scenarios:
  one:
    executor: shared-iterations
    vus: 1
    iterations: 1
    flow:
      - request:
          url: )" + server.url().replace(0, 7, "http://u:p@") +
                                           R"(/digest/u/p
          auth: digest
        check: { status: 200 }
      - request:
          url: /plain
          auth: basic
        check: { status: 200 }
)");
    auto plan = loadkit::yaml::load_file(yaml);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    auto r = loadkit::yaml::run(plan, o);
    CHECK(r.code == 0);
    all_passed(r.summary, 2);
    CHECK(count(r.summary, "http_reqs") == 3);
    scratch bad;
    auto wrong = bad.write("bad.yaml",
                           "name: x\ntarget: http://127.0.0.1:1\nscenarios:\n  one:\n    executor: shared-iterations\n"
                           "    iterations: 1\n    flow:\n      - request: { url: /, auth: ntlm }\n");
    CHECK_THROWS_WITH(loadkit::yaml::load_file(wrong), Catch::Contains("expected 'auth' to be 'basic' or 'digest'"));
}

}  // namespace LOADKIT_TEST_UNIT
