// Every k6 module loadkit runs, in one script against the built-in target:
//   loadkit serve --port 8080 &
//   loadkit run examples/js/every_module.js -e BASE_URL=http://127.0.0.1:8080
// tests/js.cpp runs it and expects k6's numbers. k6 v0.48.0 ran the same
// script against `loadkit serve` (without the jslib lines: k6 downloads
// those): 9 requests, 44 of 44 checks, not_found 4 of 4, last_status 404;
// loadkit: the same, and 48 checks with k6-utils' findBetween's.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { parseHTML } from 'k6/html';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { setTimeout } from 'k6/experimental/timers';
import { crypto as webcrypto } from 'k6/experimental/webcrypto';
// jslib.k6.io's libraries are built into loadkit: nothing is downloaded
import { randomIntBetween, findBetween } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const users = new SharedArray('users', () => [{ name: 'ann' }, { name: 'bob' }]);
const echoTime = new Trend('echo_time', true);
const bodyBytes = new Counter('body_bytes');
const notFound = new Rate('not_found');
const lastStatus = new Gauge('last_status');

export const options = {
  vus: 2,
  iterations: 4,
  thresholds: { checks: ['rate==1'], not_found: ['rate==1'] },
};

export function setup() {
  return { started: http.get(`${BASE}/json`).status };
}

// A header of the echoed request, whatever case the client sent it in.
function echoed(res, name) {
  const headers = JSON.parse(res.body).headers;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

export default function (data) {
  const user = users[exec.vu.idInTest % users.length];
  group('http', () => {
    http.cookieJar().set(BASE, 'user', user.name);
    const signature = crypto.hmac('sha256', 'key', user.name, 'hex');
    const res = http.post(
      `${BASE}/echo?n=${randomIntBetween(1, 3)}`,
      { note: 'hi', upload: http.file('abc', 'a.txt', 'text/plain') },
      { headers: { 'X-Signature': signature } },
    );
    check(res, {
      'echo is 200': (r) => r.status === 200,
      'the body is multipart': (r) => echoed(r, 'content-type').startsWith('multipart/form-data'),
      'the jar sent the cookie': (r) => echoed(r, 'cookie') === `user=${user.name}`,
      'the request is signed': (r) => echoed(r, 'x-signature') === signature,
    });
    echoTime.add(res.timings.duration);
    bodyBytes.add(res.body.length);
    const missing = http.get(`${BASE}/status/404`, { responseCallback: http.expectedStatuses(404) });
    notFound.add(missing.status === 404);
    lastStatus.add(missing.status);
  });
  group('parse', () => {
    const doc = parseHTML('<ul><li class="a">one</li><li>two</li></ul><p>[x]</p>');
    check(doc, {
      'two items': (d) => d.find('li').size() === 2,
      'the first is one': (d) => d.find('li.a').text() === 'one',
    });
    check(encoding.b64encode('hello'), { 'base64 round trip': (s) => encoding.b64decode(s, 'std', 's') === 'hello' });
    const hasher = crypto.createHash('sha256');
    hasher.update('hel');
    hasher.update('lo');
    check(hasher.digest('hex'), { 'the hasher digests': (h) => h === crypto.sha256('hello', 'hex') });
  });
  // the iteration ends when its timers and promises are done, as in k6
  setTimeout(() => check(data, { 'setup ran first': (d) => d.started === 200 }), 5);
  webcrypto.subtle
    .digest('SHA-256', new Uint8Array([1, 2, 3]))
    .then((d) => check(d, { 'web crypto digests': (x) => x.byteLength === 32 }));
  check(webcrypto.randomUUID(), { 'a random UUID': (u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4/.test(u) });
  check(findBetween('<p>[x]</p>', '[', ']'), { 'k6-utils finds': (s) => s === 'x' });
  sleep(0.01);
}

export function handleSummary(data) {
  return { stdout: textSummary(data, { indent: ' ' }) };
}
