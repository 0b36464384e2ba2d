// A plain k6 script, unchanged: `loadkit run examples/js/k6_script.js -e BASE_URL=http://127.0.0.1:8080`
// (`loadkit serve` starts a target there).
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Trend } from 'k6/metrics';

export const options = {
  vus: 10,
  duration: '3s',
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500'],
    checks: ['rate>0.99'],
  },
};

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const feedTime = new Trend('feed_time', true);

export default function () {
  group('browse', function () {
    const items = http.get(`${BASE}/items`);
    check(items, {
      'items: status 200': (r) => r.status === 200,
      'items: has a first item': (r) => r.json('items.0.id') === 1,
    });
    const login = http.post(`${BASE}/auth/login`, JSON.stringify({ user: `vu-${__VU}` }), {
      headers: { 'Content-Type': 'application/json' },
    });
    const feed = http.get(`${BASE}/feed`, { headers: { Authorization: `Bearer ${login.json().token}` }, tags: { name: 'feed' } });
    check(feed, { 'feed: authenticated': (r) => r.json().authenticated === true });
    feedTime.add(feed.timings.duration);
  });
  sleep(0.1);
}
