#pragma once
// k6/http: the request natives under http.* (sync: the VU's thread asks the
// engine through the bridge; async: a promise the engine settles). The
// methods, batch and form bodies are its JavaScript (below).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../core/config.hpp"
#include "../../core/duration.hpp"
#include "../../http/client.hpp"
#include "../bridge.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"
#include "http_cookies.hpp"  // the request side: jars, params.jar, res.cookies
#include "http_request.hpp"  // the request side: http.file, multipart, res.request

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::http_module {

namespace ld = loadkit::detail;

// params.cookies as k6 reads them: {name: value} sends String(value);
// {name: {value, replace}} (keys in any case) also drops the jar's cookie
// of that name when `replace` is truthy; null and undefined are skipped.
inline bool read_cookies(instance& self, JS::HandleValue v, std::vector<request_cookie>& out) {
    JSContext* cx = self.cx;
    JS::RootedObject c(cx, &v.toObject());
    JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
    if (!JS_Enumerate(cx, c, &ids)) return false;
    JS::RootedValue key(cx), val(cx), attr_key(cx), attr(cx);
    JS::RootedId id(cx), attr_id(cx);
    for (std::size_t i = 0; i < ids.length(); ++i) {
        id = ids[i];
        if (!JS_IdToValue(cx, id, &key) || !JS_GetPropertyById(cx, c, id, &val)) return false;
        if (val.isNullOrUndefined()) continue;
        auto& rc = out.emplace_back();
        rc.name = to_utf8(cx, key);
        bool plain = false;
        if (val.isObject()) {
            JS::RootedObject o(cx, &val.toObject());
            bool array = false;
            if (!JS::IsArrayObject(cx, o, &array)) return false;
            plain = !array && !JS_ObjectIsFunction(o);
        }
        if (!plain) {
            rc.value = to_utf8(cx, val);
            continue;
        }
        JS::RootedObject o(cx, &val.toObject());
        JS::Rooted<JS::IdVector> attrs(cx, JS::IdVector(cx));
        if (!JS_Enumerate(cx, o, &attrs)) return false;
        for (std::size_t j = 0; j < attrs.length(); ++j) {
            attr_id = attrs[j];
            if (!JS_IdToValue(cx, attr_id, &attr_key) || !JS_GetPropertyById(cx, o, attr_id, &attr)) return false;
            auto name = to_utf8(cx, attr_key);
            for (auto& ch : name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            if (name == "replace") rc.replace = JS::ToBoolean(attr);
            else if (name == "value") rc.value = to_utf8(cx, attr);
        }
    }
    return true;
}
// params.auth and params.jar (the request side, http_cookies.hpp): 'digest'
// answers a digest challenge with the URL's credentials; 'basic' is what
// credentials in the URL give anyway (and any other value is ignored, as
// k6 does); 'ntlm' is not supported. A CookieJar of the script's own takes
// the request's cookies; the VU's jar, null or anything else: the VU's.
inline bool read_request_side(instance& self, JS::HandleObject p, request_spec& spec) {
    JSContext* cx = self.cx;
    JS::RootedValue v(cx);
    if (!JS_GetProperty(cx, p, "auth", &v)) return false;
    if (v.isString()) {
        auto auth = to_utf8(cx, v);
        if (auth == "digest") spec.digest_auth = true;
        else if (auth == "ntlm")
            return throw_error(cx, "params.auth 'ntlm': NTLM authentication is not supported by loadkit ('basic' and "
                                   "'digest' are, with the credentials in the URL)");
    }
    if (!JS_GetProperty(cx, p, "jar", &v)) return false;
    spec.jar = http_cookies::request_jar(v);
    return true;
}
// --- the response side: expected statuses and responseType ---------------

// http.expectedStatuses(...)'s ranges (a flat [min, max, ...] array the
// JavaScript below checked) or null (every status expected) into `out`.
inline bool read_statuses(JSContext* cx, JS::HandleValue v, expected_statuses& out) {
    out.ranges.clear();
    out.all = v.isNull();
    if (out.all) return true;
    JS::RootedObject rule(cx, v.isObject() ? &v.toObject() : nullptr);
    JS::RootedValue ranges(cx);
    if (rule && !JS_GetProperty(cx, rule, "__ranges", &ranges)) return false;
    bool array = false;
    if (!ranges.isObject() || !JS::IsArrayObject(cx, ranges, &array) || !array)
        return throw_error(cx, "responseCallback: expected http.expectedStatuses(...) or null");
    JS::RootedObject a(cx, &ranges.toObject());
    std::uint32_t n = 0;
    if (!JS::GetArrayLength(cx, a, &n)) return false;
    JS::RootedValue lo(cx), hi(cx);
    for (std::uint32_t i = 0; i + 1 < n; i += 2) {
        if (!JS_GetElement(cx, a, i, &lo) || !JS_GetElement(cx, a, i + 1, &hi)) return false;
        if (!lo.isNumber() || !hi.isNumber()) return throw_error(cx, "responseCallback: malformed expectedStatuses");
        out.ranges.emplace_back(static_cast<int>(lo.toNumber()), static_cast<int>(hi.toNumber()));
    }
    return true;
}
// params.responseCallback (else the VU's setResponseCallback) and
// params.responseType into `spec`. Nothing is copied when neither is used.
inline bool read_response_params(instance& self, JS::HandleObject p, request_spec& spec) {
    JSContext* cx = self.cx;
    spec.response_type = request_spec::body_type::unset;
    spec.has_expected = false;
    JS::RootedValue v(cx);
    if (p) {
        if (!JS_GetProperty(cx, p, "responseType", &v)) return false;
        if (!v.isUndefined()) {
            auto t = to_utf8(cx, v);
            if (t == "text") spec.response_type = request_spec::body_type::text;
            else if (t == "binary") spec.response_type = request_spec::body_type::binary;
            else if (t == "none") spec.response_type = request_spec::body_type::none;
            else return throw_error(cx, "params.responseType: expected 'text', 'binary' or 'none', found '" + t + "'");
        }
        if (!JS_GetProperty(cx, p, "responseCallback", &v)) return false;
        if (!v.isUndefined()) {
            spec.has_expected = true;
            return read_statuses(cx, v, spec.expected);
        }
    }
    if (self.response_callback) {
        spec.has_expected = true;
        spec.expected.all = self.response_callback->all;
        spec.expected.ranges.assign(self.response_callback->ranges.begin(), self.response_callback->ranges.end());
    }
    return true;
}
// http.setResponseCallback(rule): this VU's rule from now on (k6 keeps it
// per VU too); null or undefined: every status expected.
inline bool n_set_response_callback(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    expected_statuses rule;
    JS::RootedValue v(cx, args.get(0).isUndefined() ? JS::NullValue() : args.get(0));
    if (!read_statuses(cx, v, rule)) return false;
    self.response_callback = std::move(rule);
    args.rval().setUndefined();
    return true;
}

// http.*'s arguments (method, url, body, params, headers) into `spec`.
inline bool read_request_args(instance& self, const JS::CallArgs& args, request_spec& spec) {
    JSContext* cx = self.cx;
    assign_utf8(cx, args.get(0), spec.method);
    assign_utf8(cx, args.get(1), spec.url);
    if (args.get(2).isString()) assign_utf8(cx, args.get(2), spec.body);
    else spec.body = bytes_of(cx, args.get(2));
    spec.headers.clear();
    spec.tags.clear();
    spec.cookies.clear();
    spec.name.clear();
    spec.timeout.reset();
    spec.redirects = -1;
    spec.jar = nullptr;  // request side: params.jar, params.auth
    spec.digest_auth = false;
    if (args.get(4).isObject()) {
        JS::RootedObject h(cx, &args.get(4).toObject());
        if (!self.for_each_string(
                h, [&](std::string k, std::string v) { spec.headers.emplace_back(std::move(k), std::move(v)); }))
            return false;
    }
    JS::RootedObject p(cx, args.get(3).isObject() ? &args.get(3).toObject() : nullptr);
    if (!read_response_params(self, p, spec)) return false;
    if (!p) return true;
    JS::RootedValue v(cx);
    if (!JS_GetProperty(cx, p, "tags", &v)) return false;
    if (v.isObject()) {
        JS::RootedObject t(cx, &v.toObject());
        if (!self.for_each_string(t, [&](std::string k, std::string val) {
                if (k == "name") spec.name = std::move(val);
                else spec.tags.emplace_back(std::move(k), std::move(val));
            }))
            return false;
    }
    if (!JS_GetProperty(cx, p, "timeout", &v)) return false;
    if (v.isNumber()) {
        spec.timeout = nanoseconds(static_cast<std::int64_t>(v.toNumber() * 1e6));
    } else if (v.isString()) {
        auto text = to_utf8(cx, v);
        auto d = ld::parse_duration(text);
        if (!d)
            return throw_error(
                cx, "params.timeout: expected a duration like '10s' or a number of milliseconds, found '" + text + "'");
        spec.timeout = *d;
    }
    if (!JS_GetProperty(cx, p, "redirects", &v)) return false;
    if (v.isNumber()) spec.redirects = static_cast<int>(v.toNumber());
    if (!JS_GetProperty(cx, p, "cookies", &v)) return false;
    if (v.isObject() && !read_cookies(self, v, spec.cookies)) return false;
    return read_request_side(self, p, spec);
}

inline bool n_request(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.host)
        return throw_error(
            cx,
            "http.get/post/... block, which an async exec function cannot do: use await http.asyncRequest(method, url, body, params)");
    if (!self.can_ask("http requests")) return false;
    auto& b = *self.link;
    if (!read_request_args(self, args, b.spec)) return false;
    if (!self.ask(bridge::ask::http)) return false;
    JS::RootedObject res(cx, self.response_object(*b.answer, b.spec.response_type));
    if (!res) return false;
    args.rval().setObject(*res);
    return true;
}
// Async VUs: a promise the engine settles with the response.
inline bool n_request_async(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.host || self.in_init) return throw_error(cx, "http.asyncRequest cannot be called in the init context");
    JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
    if (!promise) return false;
    if (!read_request_args(self, args, self.host->next_request())) return false;
    if (!self.host->start_request(promise)) return false;
    args.rval().setObject(*promise);
    return true;
}

// request (requestAsync for async VUs), and http.batch's limits.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args& a) {
    static const JSFunctionSpec natives[] = {JS_FN("request", &n_request, 5, 0),
                                             JS_FN("setResponseCallback", &n_set_response_callback, 1, 0), JS_FS_END};
    static const JSFunctionSpec async_natives[] = {JS_FN("requestAsync", &n_request_async, 5, 0), JS_FS_END};
    if (!JS_DefineFunctions(cx, lk, natives)) return false;
    if (a.async_mode && !JS_DefineFunctions(cx, lk, async_natives)) return false;
    const nlohmann::json& options = a.options;
    // http.batch's limits: at most `batch` requests at once, `batchPerHost`
    // to one host (k6's options, defaults 20 and 6; 0: no limit)
    auto limit = [&](const char* key, double fallback) {
        auto it = options.is_object() ? options.find(key) : options.end();
        return it != options.end() && it->is_number() && it->get<double>() >= 0 ? it->get<double>() : fallback;
    };
    JS::RootedValue batch(cx, JS::NumberValue(limit("batch", 20))),
        per_host(cx, JS::NumberValue(limit("batchPerHost", 6)));
    if (!JS_SetProperty(cx, lk, "batch", batch) || !JS_SetProperty(cx, lk, "batchPerHost", per_host)) return false;
    return true;
}

// k6/http's API in JavaScript over the natives above: http (requests,
// batch, form bodies) and Response, statements in the prelude's scope
// (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
// res.json('a.b.0.c'), as k6's gjson selectors for the common case; '#' is an array's length.
function pick(v, path) {
  for (const part of String(path).split('.')) {
    if (v === null || v === undefined) return undefined;
    v = part === '#' && Array.isArray(v) ? v.length : v[part];
  }
  return v;
}
const RAW_HEADERS = Symbol('rawHeaders'), METHOD = Symbol('method');
const SENT = Symbol('sent'), SENT_EXTRA = Symbol('sentExtra');  // res.request's (http_request.hpp)
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
  get request() { return own(this, 'request', requestOf(this)); }  // http_request.hpp
  set request(v) { own(this, 'request', v); }
  get cookies() { return own(this, 'cookies', responseCookies(this[RAW_HEADERS])); }  // http_cookies.hpp
  set cookies(v) { own(this, 'cookies', v); }
  // plain HTTP: k6's empty TLS fields (a TLS response has its own, instance.hpp)
  get tls_version() { return ''; }
  set tls_version(v) { own(this, 'tls_version', v); }
  get tls_cipher_suite() { return ''; }
  set tls_cipher_suite(v) { own(this, 'tls_cipher_suite', v); }
  get ocsp() {
    return own(this, 'ocsp',
      { produced_at: 0, this_update: 0, next_update: 0, revoked_at: 0, revocation_reason: '', status: '' });
  }
  set ocsp(v) { own(this, 'ocsp', v); }
}
function makeResponse(status, code, body, url, error, name, rawHeaders, method, statusText,
                      blocked, connecting, tls, sending, waiting, receiving, duration,
                      sentExtra, proto) {
  const r = new Response();
  r.status = status; r.status_text = statusText; r.body = body; r.url = url; r.error = error; r.error_code = code;
  r.name = name; r.proto = proto === undefined ? 'HTTP/1.1' : proto;
  r.timings = { blocked, connecting, tls_handshaking: tls, sending, waiting, receiving, duration };
  r[RAW_HEADERS] = rawHeaders;   // symbols: not enumerable by JSON.stringify or Object.keys
  r[METHOD] = method;
  if (sentExtra !== undefined) r[SENT_EXTRA] = sentExtra;  // res.request: what the first hop sent
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
    if (hasFile(body)) {
      body = multipartBody(body, headers);  // http.file() in it (http_request.hpp)
    } else {
      body = formEncode(body);
      if (!Object.keys(headers).some(h => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
  }
  return [String(method).toUpperCase(), String(url), body === undefined || body === null ? '' : body, params || {}, headers];
}
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
  return sentWith(lk.request(a[0], a[1], a[2], a[3], a[4]), a);  // res.request (http_request.hpp)
}
// In async VUs (an async exec function) requests and sleeps are promises the
// engine settles; elsewhere they block the VU's own thread.
const sendAsync = lk.asyncMode
  ? (m, url, body, params) => {
      if (params === undefined && (body === undefined || body === null) && typeof url === 'string' && userTags.size === 0)
        return lk.requestAsync(m, url, '', undefined, undefined);
      if (userTags.size) params = tagged(params);
      const a = prepare(m, url, body, params);
      return lk.requestAsync(a[0], a[1], a[2], a[3], a[4]).then(r => sentWith(r, a));  // res.request
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
// http.expectedStatuses(200, {min: 200, max: 399}, ...): the rule
// responseCallback and setResponseCallback take (k6 takes no other).
class ExpectedStatuses {}
function expectedStatuses(...args) {
  if (args.length === 0) throw new Error('http.expectedStatuses: give at least one status or {min, max} range');
  const ranges = [];
  args.forEach((a, i) => {
    if (Number.isInteger(a)) { ranges.push(a, a); return; }
    const ok = a !== null && typeof a === 'object' && a.min !== undefined && a.max !== undefined;
    if (!ok)
      throw new Error('http.expectedStatuses: argument ' + (i + 1) +
                      ' is neither an integer status nor a {min, max} range');
    if (!Number.isInteger(a.min) || !Number.isInteger(a.max))
      throw new Error('http.expectedStatuses: argument ' + (i + 1) + ': min and max must be integers');
    ranges.push(a.min, a.max);
  });
  const r = new ExpectedStatuses();
  Object.defineProperty(r, '__ranges', { value: ranges });
  return r;
}
function setResponseCallback(cb) {
  if (cb !== null && cb !== undefined && !(cb instanceof ExpectedStatuses))
    throw new Error('http.setResponseCallback: expected http.expectedStatuses(...) or null');
  lk.setResponseCallback(cb === undefined ? null : cb);
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
  expectedStatuses,
  setResponseCallback,
  // k6's TLS version names and OCSP statuses and reasons
  TLS_1_0: 'tls1.0', TLS_1_1: 'tls1.1', TLS_1_2: 'tls1.2', TLS_1_3: 'tls1.3',
  OCSP_STATUS_GOOD: 'good', OCSP_STATUS_REVOKED: 'revoked', OCSP_STATUS_SERVER_FAILED: 'server_failed',
  OCSP_STATUS_UNKNOWN: 'unknown',
  OCSP_REASON_UNSPECIFIED: 'unspecified', OCSP_REASON_KEY_COMPROMISE: 'key_compromise',
  OCSP_REASON_CA_COMPROMISE: 'ca_compromise', OCSP_REASON_AFFILIATION_CHANGED: 'affiliation_changed',
  OCSP_REASON_SUPERSEDED: 'superseded', OCSP_REASON_CESSATION_OF_OPERATION: 'cessation_of_operation',
  OCSP_REASON_CERTIFICATE_HOLD: 'certificate_hold', OCSP_REASON_REMOVE_FROM_CRL: 'remove_from_crl',
  OCSP_REASON_PRIVILEGE_WITHDRAWN: 'privilege_withdrawn', OCSP_REASON_AA_COMPROMISE: 'aa_compromise',
  url: (strings, ...values) => strings.reduce((a, s, i) => a + s + (i < values.length ? values[i] : ''), ''),
};
hide('http', http);
)JS";
// What __loadkit.modules['k6/http'] is.
inline constexpr std::string_view module_object = "Object.assign({ default: http }, http)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::http_module

#pragma GCC diagnostic pop
