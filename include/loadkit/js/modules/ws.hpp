#pragma once
// k6/ws: ws.connect(url, params, fn) runs a WebSocket session (ws/session.hpp)
// to its end, calling the socket's handlers ('open', 'message',
// 'binaryMessage', 'ping', 'pong', 'close', 'error') and its setTimeout /
// setInterval callbacks, and returns {url, status, headers, body, error}.
// Its natives are also k6/experimental/websockets' (websockets.hpp).
//
// The session lives on the VU's worker. Its steps that wait (connect, the
// next event, the end) are engine jobs (bridge.hpp): an async VU awaits them
// as promises (ws.connect is blocking for the rewrite, transform.hpp), a VU
// on its own thread blocks in them, so ws.connect blocks its caller until
// the socket closes, as in k6, in both modes. One generator (the session's
// loop, below) serves both: it yields what a step returns, and the driver
// awaits it (async) or takes it as it is (threads). Writes from an async VU
// are queued at once (it runs on the worker); from a VU's own thread each is
// a job, as the session must only be touched on its worker.
//
// Where this differs from k6 v0.48: pongs are matched to pings in order (k6
// matches their payloads, which are its ping counter); the 'error' event's
// value is an Error with the reason (k6 passes Go's error object); the
// session's end after socket.close() waits (up to 2 s) for the server's close
// frame, where k6 drops the connection right after sending its own.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../core/config.hpp"
#include "../../ws/session.hpp"
#include "../bridge.hpp"
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

namespace loadkit::inline LOADKIT_ABI::js::detail::ws_module {

namespace ld = loadkit::detail;

// One socket of a VU's script, and the jobs its steps run on the worker.
struct socket_slot {
    ws_session session;
    ws_params params;
    std::string url;
    bool used = false;

    struct connect_job final : engine_job {
        socket_slot* s;
        task<> run(client& http) override { s->session = co_await loadkit::websocket(http, s->url, s->params); }
    } connect{};
    struct next_job final : engine_job {
        socket_slot* s;
        nanoseconds timeout{};
        task<> run(client&) override {
            if (s->session.state()) co_await s->session.receive(timeout);
        }
    } next{};
    struct write_job final : engine_job {  // a VU's own thread: a write, done on the worker
        socket_slot* s;
        ws_kind kind = ws_kind::text;
        std::string data;
        int code = 0;
        task<> run(client&) override {
            if (s->session.post(kind, data, code)) co_await s->session.drain();
        }
    } write{};
    struct finish_job final : engine_job {
        socket_slot* s;
        task<> run(client&) override {
            co_await s->session.drain();
            s->session = ws_session{};  // ends it (the connection is dropped if still open)
        }
    } finish{};
    socket_slot() { connect.s = next.s = write.s = finish.s = this; }
};

struct socket_table {
    std::vector<std::unique_ptr<socket_slot>> slots;
};

inline socket_table& table(instance& in) {
    if (!in.ws_sessions) in.ws_sessions = std::make_shared<socket_table>();
    return *static_cast<socket_table*>(in.ws_sessions.get());
}
inline socket_slot* slot_of(JSContext* cx, instance& in, JS::HandleValue v) {
    auto& t = table(in);
    if (v.isNumber()) {
        double id = v.toNumber();
        if (id >= 1 && id <= static_cast<double>(t.slots.size()) && t.slots[static_cast<std::size_t>(id) - 1]->used)
            return t.slots[static_cast<std::size_t>(id) - 1].get();
    }
    throw_error(cx, "not an open WebSocket");
    return nullptr;
}

// Runs `job` on the worker: a promise for an async VU, a blocking wait on a
// VU's own thread (false: interrupted, unwinding).
inline bool run_job(JSContext* cx, instance& self, engine_job& job, JS::CallArgs& args) {
    if (self.host) {
        JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
        if (!promise || !self.host->start_job(job, promise)) return false;
        args.rval().setObject(*promise);
        return true;
    }
    self.link->job = &job;
    if (!self.ask(bridge::ask::job)) return false;
    args.rval().setUndefined();
    return true;
}
inline bool can_run(JSContext* cx, instance& self, const char* what) {
    if ((self.host || self.link) && !self.in_init) return true;
    return throw_error(cx, std::string(what) + " cannot be called in the init context (outside exported functions)");
}

// An array of strings into `out`.
inline bool strings_of(JSContext* cx, JS::HandleValue v, std::vector<std::string>& out) {
    out.clear();
    if (!v.isObject()) return true;
    JS::RootedObject a(cx, &v.toObject());
    std::uint32_t n = 0;
    if (!JS::GetArrayLength(cx, a, &n)) return false;
    JS::RootedValue e(cx);
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!JS_GetElement(cx, a, i, &e)) return false;
        out.push_back(to_utf8(cx, e));
    }
    return true;
}

// wsNew() -> id
inline bool n_new(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!can_run(cx, self, "ws.connect()")) return false;
    auto& t = table(self);
    std::size_t i = 0;
    while (i < t.slots.size() && t.slots[i]->used) ++i;
    if (i == t.slots.size()) t.slots.push_back(std::make_unique<socket_slot>());
    t.slots[i]->used = true;
    args.rval().setNumber(static_cast<double>(i + 1));
    return true;
}
// wsConnect(id, url, [header, value, ...], [protocol, ...], [tag, value, ...], timeoutMs)
inline bool n_connect(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = slot_of(cx, self, args.get(0));
    if (!s) return false;
    s->url = to_utf8(cx, args.get(1));
    std::vector<std::string> flat;
    s->params = {};
    if (!strings_of(cx, args.get(2), flat)) return false;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) s->params.headers.emplace_back(flat[i], flat[i + 1]);
    if (!strings_of(cx, args.get(3), s->params.protocols)) return false;
    if (!strings_of(cx, args.get(4), flat)) return false;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) s->params.tags.emplace_back(flat[i], flat[i + 1]);
    if (args.get(5).isNumber() && args.get(5).toNumber() > 0)
        s->params.timeout = nanoseconds(static_cast<std::int64_t>(args.get(5).toNumber() * 1e6));
    return run_job(cx, self, s->connect, args);
}
// wsInfo(id) -> [status, error, protocol, "name: value\n...", body]
inline bool n_info(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = slot_of(cx, self, args.get(0));
    if (!s) return false;
    auto& w = s->session;
    std::string block;
    for (auto& [k, v] : w.headers()) block.append(k).append(":").append(v).append("\n");
    JS::RootedValueArray<5> a(cx);
    a[0].setInt32(w.status());
    JSString *e = new_string(cx, w.ok() ? std::string_view{} : w.error()), *p = new_string(cx, w.protocol()),
             *h = new_string(cx, block), *b = new_string(cx, w.state() ? std::string_view(w.state()->body) : "");
    if (!e || !p || !h || !b) return false;
    a[1].setString(e);
    a[2].setString(p);
    a[3].setString(h);
    a[4].setString(b);
    JSObject* arr = JS::NewArrayObject(cx, a);
    if (!arr) return false;
    args.rval().setObject(*arr);
    return true;
}
// wsNext(id, timeoutMs): waits for the next event (<= 0: up to an hour; an
// interrupt ends it sooner)
inline bool n_next(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = slot_of(cx, self, args.get(0));
    if (!s) return false;
    double ms = args.get(1).isNumber() ? args.get(1).toNumber() : 0;
    s->next.timeout = ms > 0 ? nanoseconds(static_cast<std::int64_t>(ms * 1e6)) : nanoseconds(std::chrono::hours(1));
    return run_job(cx, self, s->next, args);
}
// wsEvent(id, binaryAsArrayBuffer) -> [kind, data, code]: the event wsNext waited for
inline bool n_event(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = slot_of(cx, self, args.get(0));
    if (!s) return false;
    auto* st = s->session.state();
    static const ws_event none{ws_kind::close, {}, 1006};
    const ws_event& ev = st ? st->current : none;
    JS::RootedValueArray<3> a(cx);
    JSString* k = new_string(cx, ws_kind_name(ev.kind));
    if (!k) return false;
    a[0].setString(k);
    if (ev.kind == ws_kind::binary && JS::ToBoolean(args.get(1))) {
        JSObject* ab = new_array_buffer(cx, ev.data);
        if (!ab) return false;
        a[1].setObject(*ab);
    } else {
        JSString* d = new_string(cx, ev.data);
        if (!d) return false;
        a[1].setString(d);
    }
    a[2].setInt32(ev.code);
    JSObject* arr = JS::NewArrayObject(cx, a);
    if (!arr) return false;
    args.rval().setObject(*arr);
    return true;
}
// wsWrite(id, kind, data, code) -> true when queued (async) or written (threads)
inline bool n_write(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = slot_of(cx, self, args.get(0));
    if (!s) return false;
    auto kind_name = to_utf8(cx, args.get(1));
    ws_kind k = kind_name == "binary"  ? ws_kind::binary
                : kind_name == "ping"  ? ws_kind::ping
                : kind_name == "close" ? ws_kind::close
                                       : ws_kind::text;
    int code = args.get(3).isNumber() ? static_cast<int>(args.get(3).toNumber()) : 0;
    if (self.host) {  // an async VU runs on the worker: queued at once
        thread_local std::string data;
        if (k == ws_kind::text) assign_utf8(cx, args.get(2), data);
        else data = bytes_of(cx, args.get(2));
        args.rval().setBoolean(s->session.post(k, data, code));
        return true;
    }
    if (!s->session.is_open()) {
        args.rval().setBoolean(false);
        return true;
    }
    s->write.kind = k;
    s->write.data = k == ws_kind::text ? to_utf8(cx, args.get(2)) : bytes_of(cx, args.get(2));
    s->write.code = code;
    if (!run_job(cx, self, s->write, args)) return false;
    args.rval().setBoolean(true);
    return true;
}
// wsFinish(id): the queued writes are done, the session ends, the id is free
inline bool n_finish(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = slot_of(cx, self, args.get(0));
    if (!s) return false;
    s->used = false;  // free once this job is done (ids are reused only by a later wsNew)
    return run_job(cx, self, s->finish, args);
}
// wsOpen(id) -> whether the session is open (for readyState)
inline bool n_open(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto& t = table(self);
    double id = args.get(0).isNumber() ? args.get(0).toNumber() : 0;
    bool open = id >= 1 && id <= static_cast<double>(t.slots.size()) &&
                t.slots[static_cast<std::size_t>(id) - 1]->session.is_open();
    args.rval().setBoolean(open);
    return true;
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {
        JS_FN("wsNew", &n_new, 0, 0),       JS_FN("wsConnect", &n_connect, 6, 0), JS_FN("wsInfo", &n_info, 1, 0),
        JS_FN("wsNext", &n_next, 2, 0),     JS_FN("wsEvent", &n_event, 2, 0),     JS_FN("wsWrite", &n_write, 4, 0),
        JS_FN("wsFinish", &n_finish, 1, 0), JS_FN("wsIsOpen", &n_open, 1, 0),     JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// The k6 API in JavaScript over the natives above, statements in the
// prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
// A session's steps as a generator: yields what a waiting native returns (a
// promise on async VUs, undefined on a VU's own thread); wsDrive runs it.
const wsDrive = lk.asyncMode
  ? async gen => { let r = gen.next(); while (!r.done) r = gen.next(await r.value); return r.value; }
  : gen => { let r = gen.next(); while (!r.done) r = gen.next(r.value); return r.value; };
const wsFlat = o => { const out = []; if (o && typeof o === 'object') for (const k of Object.keys(o)) if (o[k] !== undefined) out.push(k, String(o[k])); return out; };
// header names as Go's canonical form (Sec-Websocket-Protocol), as k6 shows them
const wsCanonical = k => k.toLowerCase().replace(/(^|-)([a-z])/g, (m, d, c) => d + c.toUpperCase());
const wsHeaders = block => { const h = {}; for (const line of block.split('\n')) { const i = line.indexOf(':'); if (i > 0) { const k = wsCanonical(line.slice(0, i)); h[k] = k in h ? h[k] + ', ' + line.slice(i + 1) : line.slice(i + 1); } } return h; };
const wsConnectArgs = (id, url, params, protocols) => {
  params = params || {};
  const headers = wsFlat(params.headers);
  let protos = protocols === undefined || protocols === null ? [] : Array.isArray(protocols) ? protocols.map(String) : [String(protocols)];
  return [id, String(url), headers, protos, wsFlat(params.tags), 0];
};

class Socket {
  constructor(id) { this._id = id; this._handlers = {}; this._timers = []; this._done = false; this._seq = 0; }
  on(event, handler) { if (typeof handler === 'function') (this._handlers[event] = this._handlers[event] || []).push(handler); }
  _emit(event, ...args) { const hs = this._handlers[event]; if (hs) for (const h of hs) h.apply(undefined, args); }
  send(message) { if (!this._done) lk.wsWrite(this._id, 'text', String(message)); }
  sendBinary(message) {
    if (!(message instanceof ArrayBuffer)) {
      const what = message === null || message === undefined ? String(message) : (message.constructor && message.constructor.name) || typeof message;
      throw new TypeError('expected ArrayBuffer as argument, received: ' + what);
    }
    if (!this._done) lk.wsWrite(this._id, 'binary', message);
  }
  ping() { if (!this._done) lk.wsWrite(this._id, 'ping', String(this._seq++)); }
  close(code) {
    if (this._done) return;
    code = code === undefined ? 1001 : Math.trunc(Number(code));  // k6: 1001 (going away) by default
    lk.wsWrite(this._id, 'close', '', code);
    this._done = true;
    this._emit('close', code);
  }
  _timer(fn, ms, repeat, name) {
    ms = Number(ms);
    if (!(ms > 0)) throw new Error(name + ' requires a >0 timeout parameter, received ' + ms.toFixed(2));
    if (typeof fn !== 'function') throw new TypeError(name + ' needs a function');
    this._timers.push({ fn, ms, at: Date.now() + ms, repeat });
  }
  setTimeout(fn, ms) { this._timer(fn, ms, false, 'setTimeout'); }
  setInterval(fn, ms) { this._timer(fn, ms, true, 'setInterval'); }
  _nextWait() {
    if (!this._timers.length) return 0;
    let at = Infinity;
    for (const t of this._timers) at = Math.min(at, t.at);
    return Math.max(at - Date.now(), 0.001);
  }
  _runTimers() {
    const now = Date.now();
    for (const t of this._timers.slice()) {
      if (this._done) return;
      if (t.at > now) continue;
      if (t.repeat) t.at += t.ms; else this._timers.splice(this._timers.indexOf(t), 1);
      t.fn();
    }
  }
}

// What 'error' handlers get: its text is the reason, as k6's Go error prints
class WsError extends Error { toString() { return this.message; } }

function* wsSession(url, params, setup) {
  const id = lk.wsNew();
  try {
    yield lk.wsConnect(...wsConnectArgs(id, url, params));
    const [status, error, , headerBlock, body] = lk.wsInfo(id);
    const res = { url: String(url), status, headers: wsHeaders(headerBlock), body, error };
    const socket = new Socket(id);
    if (error) {
      socket._emit('error', new WsError(error));  // (no handler is set yet, as in k6)
      if (status) res.error = '';                 // k6: a refused upgrade is a response, not an error
      return res;
    }
    try {
      setup(socket);
    } catch (e) {
      if (!socket._done) { lk.wsWrite(id, 'close', '', 1001); socket._done = true; }
      throw e;
    }
    res.error = '';
    if (!socket._done) socket._emit('open');
    while (!socket._done) {
      yield lk.wsNext(id, socket._nextWait());
      const [kind, data, code] = lk.wsEvent(id, true);
      switch (kind) {
        case 'text': socket._emit('message', data); break;
        case 'binary': socket._emit('binaryMessage', data); break;
        case 'ping': socket._emit('ping'); break;
        case 'pong': socket._emit('pong'); break;
        case 'error': socket._emit('error', new WsError(data)); break;
        case 'close': socket._done = true; socket._emit('close', code); break;
        case 'timeout': socket._runTimers(); break;
      }
    }
    return res;
  } finally {
    yield lk.wsFinish(id);
  }
}

const ws = {
  connect(url, params, callback) {
    if (typeof params === 'function' && callback === undefined) { callback = params; params = undefined; }
    if (typeof callback !== 'function') throw new Error('invalid number of arguments to ws.connect');
    return wsDrive(wsSession(url, params, callback));
  },
};
)JS";
// What __loadkit.modules['k6/ws'] is.
inline constexpr std::string_view module_object = "Object.assign({ default: ws }, ws)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::ws_module

#pragma GCC diagnostic pop
