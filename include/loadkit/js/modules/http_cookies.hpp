#pragma once
// k6/http's cookie API (k6's js/modules/k6/http/cookiejar.go): the VU's jar
// (http.cookieJar()), jars of a script's own (new http.CookieJar(), sent
// with params.jar), their set/cookiesForURL/clear/delete, and res.cookies.
// A jar object is a native object whose slot owns a cookie_jar (freed with
// the object); the VU's jar has an empty slot and is the one its client
// uses, found when called (in async VUs a realm serves many VUs).
#include <cstdint>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../../http/client.hpp"
#include "../../http/cookies.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::http_cookies {

inline void finalize_jar(JS::GCContext*, JSObject* obj) { delete JS::GetMaybePtrFromReservedSlot<cookie_jar>(obj, 0); }
inline constexpr JSClassOps jar_ops = {nullptr, nullptr,       nullptr, nullptr, nullptr,
                                       nullptr, &finalize_jar, nullptr, nullptr, nullptr};
inline constexpr JSClass jar_class = {
    "CookieJar", JSCLASS_HAS_RESERVED_SLOTS(1) | JSCLASS_FOREGROUND_FINALIZE, &jar_ops, nullptr, nullptr, nullptr};

// params.jar: the jar of a script's own CookieJar; null for anything else
// (the VU's jar, null, other values: the request uses the VU's jar, as k6).
inline cookie_jar* request_jar(JS::HandleValue v) {
    if (!v.isObject() || JS::GetClass(&v.toObject()) != &jar_class) return nullptr;
    return JS::GetMaybePtrFromReservedSlot<cookie_jar>(&v.toObject(), 0);
}

// The VU's jar: its client's (every client of a VU shares the first one's).
inline cookie_jar* vu_jar(JSContext* cx) {
    auto* v = instance::of(cx).engine_vu();
    if (v && v->clients) return &v->clients->cookies();
    throw_error(cx, "the VU's cookie jar cannot be used in the init context (outside exported functions)");
    return nullptr;
}
// `this` of a jar method: a jar object's own jar, or the VU's.
inline cookie_jar* this_jar(JSContext* cx, const JS::CallArgs& args) {
    if (!args.thisv().isObject() || JS::GetClass(&args.thisv().toObject()) != &jar_class) {
        throw_error(cx, "a CookieJar method was called on something that is not a CookieJar");
        return nullptr;
    }
    auto* own = JS::GetMaybePtrFromReservedSlot<cookie_jar>(&args.thisv().toObject(), 0);
    return own ? own : vu_jar(cx);
}
// A URL argument: an http(s) URL that does not parse, or one without a
// scheme that starts with ':', is an error as Go's url.Parse makes it; any
// other URL (relative, another scheme) has no cookies, as in Go's jar.
inline bool check_url(JSContext* cx, const std::string& url, const char* what) {
    ld::url_parts u;
    bool http = url.starts_with("http://") || url.starts_with("https://");
    if ((http && !ld::split_url(url, u)) || url.starts_with(":"))
        return throw_error(cx, std::string(what) + ": invalid URL '" + url + "'");
    return true;
}

// jarNew(proto, vu): a jar object; `vu` true: the VU's (no jar of its own).
inline bool n_jar_new(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    JS::RootedObject proto(cx, args.get(0).isObject() ? &args.get(0).toObject() : nullptr);
    JS::RootedObject o(cx, JS_NewObjectWithGivenProto(cx, &jar_class, proto));
    if (!o) return false;
    if (JS::ToBoolean(args.get(1))) {
        if (!vu_jar(cx)) return false;  // the VU's, which the init context has not
    } else {
        JS::SetReservedSlot(o, 0, JS::PrivateValue(new cookie_jar()));
    }
    args.rval().setObject(*o);
    return true;
}
// this.set(url, name, value, domain, path, expiresMs, maxAge, secure, httpOnly)
inline bool n_jar_set(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    cookie_jar* jar = this_jar(cx, args);
    if (!jar) return false;
    auto url = to_utf8(cx, args.get(0));
    if (!check_url(cx, url, "jar.set")) return false;
    cookie_jar::set_options o;
    o.domain = to_utf8(cx, args.get(3));
    o.path = to_utf8(cx, args.get(4));
    o.expires_ms = static_cast<std::int64_t>(args.get(5).isNumber() ? args.get(5).toNumber() : 0);
    o.max_age = static_cast<std::int64_t>(args.get(6).isNumber() ? args.get(6).toNumber() : 0);
    o.secure = JS::ToBoolean(args.get(7));
    o.http_only = JS::ToBoolean(args.get(8));
    jar->set(url, to_utf8(cx, args.get(1)), to_utf8(cx, args.get(2)), o);
    args.rval().setBoolean(true);
    return true;
}
// this.cookiesForURL(url): [name, value, name, value, ...] in the order they
// are sent; the JavaScript makes k6's {name: [values]} of it.
inline bool n_jar_cookies(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    cookie_jar* jar = this_jar(cx, args);
    if (!jar) return false;
    auto url = to_utf8(cx, args.get(0));
    if (!check_url(cx, url, "jar.cookiesForURL")) return false;
    auto found = jar->cookies_for(url);
    JS::RootedObject out(cx, JS::NewArrayObject(cx, 2 * found.size()));
    if (!out) return false;
    JS::RootedValue v(cx);
    std::uint32_t i = 0;
    for (auto* c : found)
        for (auto* text : {&c->name, &c->value}) {
            JSString* s = new_string(cx, *text);
            if (!s) return false;
            v.setString(s);
            if (!JS_SetElement(cx, out, i++, v)) return false;
        }
    args.rval().setObject(*out);
    return true;
}
// this.clear(url) / this.delete(url, name)
inline bool n_jar_clear(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    cookie_jar* jar = this_jar(cx, args);
    if (!jar) return false;
    auto url = to_utf8(cx, args.get(0));
    if (!check_url(cx, url, "jar.clear")) return false;
    jar->clear(url);
    args.rval().setUndefined();
    return true;
}
inline bool n_jar_delete(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    cookie_jar* jar = this_jar(cx, args);
    if (!jar) return false;
    auto url = to_utf8(cx, args.get(0));
    auto name = args.get(1).isNullOrUndefined() ? std::string() : to_utf8(cx, args.get(1));
    if (name.empty()) return throw_error(cx, "jar.delete: a cookie name is required");
    if (!check_url(cx, url, "jar.delete")) return false;
    jar->remove(url, name);
    args.rval().setUndefined();
    return true;
}
// The User-Agent the VU's client sends (res.request.headers).
inline bool n_user_agent(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto* v = instance::of(cx).engine_vu();
    JSString* s = new_string(cx, v && v->clients ? std::string_view(v->clients->settings().user_agent) : "");
    if (!s) return false;
    args.rval().setString(s);
    return true;
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("jarNew", &n_jar_new, 2, 0),
                                             JS_FN("jarSet", &n_jar_set, 9, 0),
                                             JS_FN("jarCookies", &n_jar_cookies, 1, 0),
                                             JS_FN("jarClear", &n_jar_clear, 1, 0),
                                             JS_FN("jarDelete", &n_jar_delete, 2, 0),
                                             JS_FN("userAgent", &n_user_agent, 0, 0),
                                             JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// CookieJar over the natives, res.cookies, and http.cookieJar/CookieJar.
inline constexpr std::string_view javascript = R"JS(
// Go's time.Parse of RFC 1123 dates ("Mon, 02 Jan 2006 15:04:05 MST", and
// with '-' between day, month and year as Set-Cookie's Expires may be): ms
// since the epoch, or null. The zone's name is taken as UTC, as Go does with
// a name it does not know.
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
function goDate(s, dashes) {
  const m = (dashes ? /^[A-Za-z]{3}, (\d\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) [A-Za-z]+$/
                    : /^[A-Za-z]{3}, (\d\d) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) [A-Za-z]+$/).exec(s);
  const month = m ? MONTHS.indexOf(m[2].toLowerCase()) : -1;
  if (month < 0 || +m[1] > 31 || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) return null;
  return Date.UTC(+m[3], month, +m[1], +m[4], +m[5], +m[6]);
}
// jar.set's options, keys in any case, as k6 reads them.
function jarOptions(opts) {
  const o = { domain: '', path: '', expires: 0, maxAge: 0, secure: false, httpOnly: false };
  if (opts === undefined || opts === null) return o;
  for (const k of Object.keys(Object(opts))) {
    const v = opts[k];
    switch (k.toLowerCase()) {
      case 'domain': o.domain = String(v); break;
      case 'path': o.path = String(v); break;
      case 'expires': {
        const s = String(v);
        if (s === '') break;
        const t = goDate(s, false);
        if (t === null) throw new Error(`unable to parse "expires" date string "${s}": expected a date like "Mon, 02 Jan 2006 15:04:05 GMT"`);
        o.expires = t;
        break;
      }
      case 'max_age': o.maxAge = Math.trunc(Number(v)) || 0; break;
      case 'secure': o.secure = Boolean(v); break;
      case 'http_only': o.httpOnly = Boolean(v); break;
    }
  }
  return o;
}
function CookieJar() {
  if (!new.target) throw new TypeError("CookieJar must be called with 'new'");
  return lk.jarNew(new.target.prototype, false);
}
Object.defineProperties(CookieJar.prototype, {
  set: { value: function set(url, name, value, opts) {
    const o = jarOptions(opts);
    return lk.jarSet.call(this, String(url), String(name), String(value), o.domain, o.path, o.expires, o.maxAge, o.secure, o.httpOnly);
  }, writable: true, configurable: true },
  cookiesForURL: { value: function cookiesForURL(url) {
    const flat = lk.jarCookies.call(this, String(url)), out = {};
    for (let i = 0; i < flat.length; i += 2) listAdd(out, flat[i], flat[i + 1]);
    return out;
  }, writable: true, configurable: true },
  clear: { value: function clear(url) { return lk.jarClear.call(this, String(url)); }, writable: true, configurable: true },
  delete: { value: function (url, name) { return lk.jarDelete.call(this, String(url), name === undefined ? undefined : String(name)); }, writable: true, configurable: true },
});
// The VU's jar: made again at each call (k6 too returns a new wrapper).
function cookieJar() { return lk.jarNew(CookieJar.prototype, true); }
// out[k].push(v), out[k] made an own array first ("__proto__" included).
function listAdd(out, k, v) {
  if (!Object.prototype.hasOwnProperty.call(out, k)) Object.defineProperty(out, k, { value: [], enumerable: true, writable: true, configurable: true });
  out[k].push(v);
}

// res.cookies: the final response's Set-Cookie headers as Go's
// readSetCookies parses them, {name: [{name, value, domain, path,
// http_only, secure, max_age, expires}]}; attributes it does not give are
// '' / false / 0, and a missing Expires is Go's zero time in ms
// (-6795364578871), which is what k6 reports.
const GO_ZERO_TIME_MS = -6795364578871;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
function cookieValue(raw, quoted) {
  if (quoted && raw.length > 1 && raw[0] === '"' && raw[raw.length - 1] === '"') raw = raw.slice(1, -1);
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x3b || c === 0x5c) return null;
  }
  return raw;
}
function setCookie(line) {
  const parts = line.trim().split(';');
  const first = parts[0].trim(), eq = first.indexOf('=');
  if (eq < 0) return null;
  const name = first.slice(0, eq).trim(), value = cookieValue(first.slice(eq + 1), true);
  if (!COOKIE_NAME.test(name) || value === null) return null;
  const c = { name, value, domain: '', path: '', http_only: false, secure: false, max_age: 0, expires: GO_ZERO_TIME_MS };
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i].trim();
    if (p === '') continue;
    const j = p.indexOf('=');
    const attr = (j < 0 ? p : p.slice(0, j)).toLowerCase(), val = cookieValue(j < 0 ? '' : p.slice(j + 1), false);
    if (val === null) continue;
    switch (attr) {
      case 'secure': c.secure = true; break;
      case 'httponly': c.http_only = true; break;
      case 'domain': c.domain = val; break;
      case 'path': c.path = val; break;
      case 'max-age':
        if (/^[+-]?\d+$/.test(val) && !(val[0] === '0' && +val !== 0)) c.max_age = +val <= 0 ? -1 : +val;
        break;
      case 'expires': {
        const t = goDate(val, false);
        const t2 = t === null ? goDate(val, true) : t;
        c.expires = t2 === null ? GO_ZERO_TIME_MS : t2;
        break;
      }
    }
  }
  return c;
}
function responseCookies(rawHeaders) {
  const out = {};
  for (const line of (rawHeaders || '').split('\n')) {
    const i = line.indexOf(':');
    if (i !== 10 || line.slice(0, 10).toLowerCase() !== 'set-cookie') continue;
    const c = setCookie(line.slice(11));
    if (c) listAdd(out, c.name, c);
  }
  return out;
}
Object.assign(http, { cookieJar, CookieJar });
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::http_cookies

#pragma GCC diagnostic pop
