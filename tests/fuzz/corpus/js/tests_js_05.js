
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
