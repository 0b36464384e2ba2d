
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
