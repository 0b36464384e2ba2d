#pragma once
// The JavaScript side of the adapter: k6's API written in JavaScript over a
// few natives (`__lk`, the k6 modules' natives: modules.hpp), and the k6/*
// modules that re-export it. Compiled once per script to a stencil and instantiated in
// every VU's global, so a VU pays for instantiation, not for parsing.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loadkit::js::detail {

inline constexpr std::string_view prelude_source = R"JS(
(function (lk) {
'use strict';
const g = globalThis;
const hide = (name, value) => Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });

// res.json('a.b.0.c'), as k6's gjson selectors for the common case; '#' is an array's length.
function pick(v, path) {
  for (const part of String(path).split('.')) {
    if (v === null || v === undefined) return undefined;
    v = part === '#' && Array.isArray(v) ? v.length : v[part];
  }
  return v;
}
const RAW_HEADERS = Symbol('rawHeaders'), METHOD = Symbol('method');
class Response {
  json(selector) {
    if (!Object.prototype.hasOwnProperty.call(this, '__json')) Object.defineProperty(this, '__json', { value: JSON.parse(this.body) });
    return selector === undefined ? this.__json : pick(this.__json, selector);
  }
  html() { throw new Error('res.html() is not supported by loadkit'); }
  // Built on first use from the raw header block ("Name:value" lines):
  // canonical names (content-type -> Content-Type), repeats joined with ", ".
  get headers() {
    const h = {};
    for (const line of (this[RAW_HEADERS] || '').split('\n')) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).toLowerCase().replace(/(^|-)([a-z])/g, (m, a, b) => a + b.toUpperCase());
      const v = line.slice(i + 1);
      h[k] = Object.prototype.hasOwnProperty.call(h, k) ? h[k] + ', ' + v : v;
    }
    return own(this, 'headers', h);
  }
  set headers(v) { own(this, 'headers', v); }
  get request() { return own(this, 'request', { method: this[METHOD], url: this.url }); }
  set request(v) { own(this, 'request', v); }
}
function makeResponse(status, code, body, url, error, name, rawHeaders, method, statusText,
                      blocked, connecting, tls, sending, waiting, receiving, duration) {
  const r = new Response();
  r.status = status; r.status_text = statusText; r.body = body; r.url = url; r.error = error; r.error_code = code;
  r.name = name; r.proto = 'HTTP/1.1';
  r.timings = { blocked, connecting, tls_handshaking: tls, sending, waiting, receiving, duration };
  r[RAW_HEADERS] = rawHeaders;   // symbols: not enumerable by JSON.stringify or Object.keys
  r[METHOD] = method;
  return r;
}
function own(o, k, v) { Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true }); return v; }
// An object body is form-encoded as k6 does it (Go's url.Values): keys sorted,
// an array's elements under its key repeated, each value as Go's %v prints
// it (objects "map[k:v ...]", nested arrays "[a b]", null "<nil>"), escaped
// by Go's QueryEscape (space as '+', only A-Z a-z 0-9 - _ . ~ kept).
function goNumber(v) {
  if (Number.isInteger(v) && Math.abs(v) < 9223372036854775808) return String(v);  // an int64 in k6
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const [m, e] = v.toExponential().split('e');
  const exp = +e;
  if (exp < -4 || exp >= 6) return m + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
  return String(v);
}
function goValue(v) {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return goNumber(v);
  if (Array.isArray(v)) return '[' + v.map(goValue).join(' ') + ']';
  if (typeof v === 'object' && !(v instanceof ArrayBuffer)) return 'map[' + Object.keys(v).sort().map(k => k + ':' + goValue(v[k])).join(' ') + ']';
  return String(v);
}
function goEscape(s) {
  let e;
  try { e = encodeURIComponent(s); }
  catch (_) { e = encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD')); }  // a lone surrogate
  return e.replace(/%20/g, '+').replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
function formEncode(o) {
  const parts = [];
  for (const k of Object.keys(o).sort()) {
    const v = o[k], key = goEscape(k) + '=';
    if (Array.isArray(v)) for (const el of v) parts.push(key + goEscape(goValue(el)));
    else parts.push(key + goEscape(goValue(v)));
  }
  return parts.join('&');
}

// The natives' arguments: method, URL, body (objects form-encoded), params, headers.
function prepare(method, url, body, params) {
  const headers = Object.assign({}, params && params.headers);
  if (body !== null && body !== undefined && typeof body === 'object' && !(body instanceof ArrayBuffer)) {
    body = formEncode(body);
    if (!Object.keys(headers).some(h => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  return [String(method).toUpperCase(), String(url), body === undefined || body === null ? '' : body, params || {}, headers];
}
// Tags set on exec.vu.tags, by VU id (a realm runs many async VUs), and the
// VUs' metadata (exec.vu.metrics.metadata). A VU's tags go on its requests
// and custom metric samples from then on, as in k6; nothing is looked up
// while no VU has set any.
const userTags = new Map(), userMeta = new Map();
function tagged(params) {
  const t = userTags.get(g.__VU);
  if (!t) return params;
  return Object.assign({}, params, { tags: Object.assign({}, t, params && params.tags) });
}
// `m`: an upper-case method (http.get and the like pass theirs as it is).
function send(m, url, body, params) {
  if (params === undefined && (body === undefined || body === null) && typeof url === 'string' && userTags.size === 0)
    return lk.request(m, url, '', undefined, undefined);   // the common case, without copies
  if (userTags.size) params = tagged(params);
  const a = prepare(m, url, body, params);
  return lk.request(a[0], a[1], a[2], a[3], a[4]);
}
// In async VUs (an async exec function) requests and sleeps are promises the
// engine settles; elsewhere they block the VU's own thread.
const sendAsync = lk.asyncMode
  ? (m, url, body, params) => {
      if (params === undefined && (body === undefined || body === null) && typeof url === 'string' && userTags.size === 0)
        return lk.requestAsync(m, url, '', undefined, undefined);
      if (userTags.size) params = tagged(params);
      const a = prepare(m, url, body, params);
      return lk.requestAsync(a[0], a[1], a[2], a[3], a[4]);
    }
  : (m, url, body, params) => new Promise(resolve => resolve(send(m, url, body, params)));
const request = (method, url, body, params) => send(String(method).toUpperCase(), url, body, params);
const asyncRequest = (method, url, body, params) => sendAsync(String(method).toUpperCase(), url, body, params);
// A synchronous script rewritten to await (transform.hpp) runs in async VUs:
// there its blocking calls return promises, which the rewritten code awaits.
const promises = lk.asyncMode && lk.transformed;
const call = promises ? sendAsync : send;
// [method, url, body, params], {method, url, body, params} or a URL string.
function batchOne(r) {
  if (typeof r === 'string') return call('GET', r, null, undefined);
  if (Array.isArray(r)) return call(String(r[0]).toUpperCase(), r[1], r[2], r[3]);
  return call(String(r.method || 'GET').toUpperCase(), r.url, r.body, r.params);
}
// The host a batch request goes to (Go's URL.Host: host[:port], without
// credentials), for the per-host limit; '' for a relative URL.
function batchHost(r) {
  const u = String(typeof r === 'string' ? r : Array.isArray(r) ? r[1] : r.url);
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(u);
  return m ? m[1].slice(m[1].lastIndexOf('@') + 1).toLowerCase() : '';
}
// k6's MakeBatchRequests: min(batch, n) workers take the requests in order;
// each waits for a slot of its request's host (batchPerHost) before sending.
function batchConcurrent(list) {
  const n = list.length, out = new Array(n);
  const workers = lk.batch > 0 ? Math.min(lk.batch, n) : n, perHost = lk.batchPerHost > 0 ? lk.batchPerHost : Infinity;
  const busy = new Map(), queued = new Map();
  const acquire = host => {
    const b = busy.get(host) || 0;
    if (b < perHost) { busy.set(host, b + 1); return null; }
    return new Promise(resolve => { if (!queued.has(host)) queued.set(host, []); queued.get(host).push(resolve); });
  };
  const release = host => {
    const q = queued.get(host);
    if (q && q.length) q.shift()();   // the slot passes to the next waiter
    else busy.set(host, busy.get(host) - 1);
  };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++, host = batchHost(list[i]);
      const wait = acquire(host);
      if (wait) await wait;
      try { out[i] = await batchOne(list[i]); } finally { release(host); }
    }
  };
  const ws = [];
  for (let w = 0; w < workers; w++) ws.push(worker());
  return Promise.all(ws).then(() => out);
}
const http = {
  request: promises ? asyncRequest : request,
  get: (url, params) => call('GET', url, null, params),
  head: (url, params) => call('HEAD', url, null, params),
  options: (url, body, params) => call('OPTIONS', url, body, params),
  post: (url, body, params) => call('POST', url, body, params),
  put: (url, body, params) => call('PUT', url, body, params),
  patch: (url, body, params) => call('PATCH', url, body, params),
  del: (url, body, params) => call('DELETE', url, body, params),
  // In async VUs the requests run concurrently, as in k6: at most
  // options.batch at once and options.batchPerHost to one host (20 and 6),
  // on the VU's idle connections first; a VU on a thread sends them one
  // after another, on its one connection.
  batch(requests) {
    const keys = Array.isArray(requests) ? null : Object.keys(requests);
    const list = keys ? keys.map(k => requests[k]) : requests;
    const assemble = rs => { if (!keys) return rs; const out = {}; keys.forEach((k, i) => { out[k] = rs[i]; }); return out; };
    return promises ? batchConcurrent(list).then(assemble) : assemble(list.map(batchOne));
  },
  asyncRequest,
  url: (strings, ...values) => strings.reduce((a, s, i) => a + s + (i < values.length ? values[i] : ''), ''),
};

// Mistakes in calling the k6 API throw here; the message points at the
// user's line that called (take_exception skips the prelude's frames).
function check(value, checks, tags) {
  if (checks === undefined || checks === null)
    throw new TypeError('check() expects an object of named checks as its second argument, e.g. check(res, { "status is 200": (r) => r.status === 200 })');
  let all = true;
  for (const name of Object.keys(checks)) {
    const c = checks[name];
    let ok;
    try { ok = typeof c === 'function' ? !!c(value) : !!c; } catch (e) { ok = false; }  // k6: a throwing check fails
    lk.check(name, ok, tags);
    all = all && ok;
  }
  return all;
}
// An async fn (a rewritten one, or the user's) keeps the group until its
// promise settles.
function group(name, fn) {
  if (typeof fn !== 'function') throw new TypeError('group() needs a function as its second argument: group(name, () => { ... })');
  const started = lk.groupEnter(String(name));
  let r;
  try {
    r = fn();
  } catch (e) {
    lk.groupLeave(started, false);
    throw e;
  }
  if (!(r instanceof Promise)) {
    lk.groupLeave(started, true);
    return r;
  }
  return r.then(v => { lk.groupLeave(started, true); return v; }, e => { lk.groupLeave(started, false); throw e; });
}
const sleep = lk.asyncMode ? (seconds) => lk.sleepAsync(+seconds) : (seconds) => { lk.sleep(+seconds); };
function fail(message) { throw new Error(message === undefined ? 'fail' : String(message)); }

const show = v => typeof v === 'string' ? v : (v instanceof Error ? String(v) : (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)));
const say = level => (...args) => lk.log(level, args.map(show).join(' '));
const console = { log: say(1), info: say(1), debug: say(0), warn: say(2), error: say(3) };

class Metric {
  constructor(name, isTime, kind) {
    Object.defineProperty(this, 'name', { value: String(name), enumerable: true });
    Object.defineProperty(this, '__id', { value: lk.metric(String(name), kind, !!isTime) });
    Object.defineProperty(this, '__kind', { value: kind });
    Object.defineProperty(this, '__time', { value: !!isTime });
  }
  add(value, tags) {
    if (userTags.size) tags = Object.assign({}, userTags.get(g.__VU), tags);
    lk.metricAdd(this.__id, this.__kind, typeof value === 'boolean' ? (value ? 1 : 0) : +value, tags, this.__time);
    return true;
  }
}
class Counter extends Metric { constructor(name) { super(name, false, 0); } }
class Gauge extends Metric { constructor(name) { super(name, false, 1); } }
class Rate extends Metric { constructor(name) { super(name, false, 2); } }
class Trend extends Metric { constructor(name, isTime) { super(name, isTime, 3); } }

const hashOf = alg => (data, encoding) => lk.hash(alg, data, encoding || 'binary');
const crypto = {
  md5: hashOf('md5'), sha1: hashOf('sha1'), sha224: hashOf('sha224'), sha256: hashOf('sha256'), sha384: hashOf('sha384'), sha512: hashOf('sha512'),
  hmac: (alg, key, data, encoding) => lk.hmac(String(alg), key, data, encoding || 'binary'),
  randomBytes: n => lk.randomBytes(n | 0),
};
const encoding = {
  b64encode: (input, variant) => lk.b64encode(input, variant || 'std'),
  b64decode: (input, variant, format) => lk.b64decode(String(input), format === 's' ? 's' : 'b'),
};

// k6's tag and metadata values: strings, numbers and booleans, kept as strings.
function tagValue(kind, k, v) {
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return String(v);
  throw new TypeError(`invalid value for metric ${kind} '${String(k)}': only String, Boolean and Number types are accepted as a metric ${kind} value`);
}
// A VU's tags or metadata as k6's dynamic object: what the VU set, over
// `system()` (the scenario and group tags) for tags.
function bag(store, id, kind, system) {
  const own = () => store.get(id);
  const read = k => {
    const o = own();
    if (o && Object.prototype.hasOwnProperty.call(o, k)) return o[k];
    const s = system ? system() : null;
    return s && Object.prototype.hasOwnProperty.call(s, k) ? s[k] : undefined;
  };
  return new Proxy({}, {
    get: (_, k) => typeof k === 'string' ? read(k) : undefined,
    has: (_, k) => typeof k === 'string' && read(k) !== undefined,
    set: (_, k, v) => {
      let o = own();
      const value = tagValue(kind, k, v);
      if (!o) store.set(id, o = Object.create(null));
      o[k] = value;
      return true;
    },
    deleteProperty: (_, k) => { const o = own(); if (o) delete o[k]; return true; },
    ownKeys: () => [...new Set([...Object.keys(system ? system() : {}), ...Object.keys(own() || {})])],
    getOwnPropertyDescriptor: (_, k) => {
      const v = typeof k === 'string' ? read(k) : undefined;
      return v === undefined ? undefined : { value: v, writable: true, enumerable: true, configurable: true };
    },
  });
}
const systemTags = () => {
  const i = lk.execInfo(0), t = {};
  if (i.group !== undefined) t.group = i.group;
  if (i.scenario) t.scenario = i.scenario;
  return t;
};
let testOptions;
const exec = {
  get vu() {
    const i = lk.execInfo(0), tags = bag(userTags, i.idInTest, 'tag', systemTags);
    return { idInInstance: i.idInInstance, idInTest: i.idInTest, iterationInInstance: i.iterationInInstance,
             iterationInScenario: i.iterationInScenario, tags, metrics: { tags, metadata: bag(userMeta, i.idInTest, 'metadata', null) } };
  },
  get scenario() { return lk.execInfo(1); },
  get instance() { return lk.execInfo(2); },
  test: {
    abort(reason) { lk.abort(reason === undefined ? 'test aborted' : String(reason)); },
    get options() { return testOptions || (testOptions = deepFreeze(JSON.parse(lk.testOptions()))); },
  },
};

// k6/data's SharedArray: the callback runs once per realm (one per worker
// thread for async VUs, so once per thread instead of once per VU); its
// array is deeply frozen and shared, by name, as in k6.
const sharedArrays = new Map();
class SharedArray {
  constructor(name, fn) {
    const key = String(name);
    if (sharedArrays.has(key)) return sharedArrays.get(key);
    if (typeof fn !== 'function') throw new TypeError('SharedArray: a function is expected as the second argument');
    const a = fn();
    if (!Array.isArray(a)) throw new TypeError('SharedArray: the callback must return an array');
    sharedArrays.set(key, deepFreeze(a));
    return a;
  }
}

function deepFreeze(o) {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const k of Object.keys(o)) deepFreeze(o[k]);
  }
  return o;
}

for (const [k, v] of Object.entries({ http, check, group, sleep, console, crypto, encoding, Counter, Gauge, Rate, Trend, exec, SharedArray, fail,
                                       open: (path, mode) => lk.open(String(path), mode === 'b' ? 'b' : 't') }))
  hide(k, v);
const callExec = (fn, data, vu, iteration, scenario) => fn(data, { vu, iteration, scenario });
// A rewritten x.forEach(fn) whose fn makes requests (transform.hpp): fn is
// async, so each call is awaited before the next, as the blocking calls ran.
const awaitable = x => ({
  async forEach(fn, thisArg) {
    const calls = [];
    x.forEach((...a) => { calls.push(a); });
    for (const a of calls) await fn.apply(thisArg, a);
  },
});
hide('__loadkit', { deepFreeze, Response, makeResponse, callExec, awaitable, isAsync: (f) => Object.prototype.toString.call(f) === '[object AsyncFunction]', modules: {
  'k6': { check, group, sleep, fail, default: { check, group, sleep, fail } },
  'k6/http': Object.assign({ default: http }, http),
  'k6/metrics': { Counter, Gauge, Rate, Trend, default: { Counter, Gauge, Rate, Trend } },
  'k6/crypto': Object.assign({ default: crypto }, crypto),
  'k6/encoding': Object.assign({ default: encoding }, encoding),
  'k6/execution': { default: exec },
  'k6/data': { SharedArray, default: { SharedArray } },
} });
})(__lk);
)JS";

// The module text for a k6/* specifier, re-exporting what the prelude made
// (`names`: its exports, from the table in modules.hpp).
inline std::string builtin_module_source(std::string_view specifier, const std::vector<std::string>& names) {
    std::string src = "const m = globalThis.__loadkit.modules['" + std::string(specifier) + "'];\n";
    for (auto& n : names) {
        if (n == "default") src += "export default m.default;\n";
        else src += "export const " + n + " = m." + n + ";\n";
    }
    return src;
}

}  // namespace loadkit::js::detail
