
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
