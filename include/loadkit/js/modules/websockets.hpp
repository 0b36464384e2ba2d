#pragma once
// k6/experimental/websockets: the browser-like WebSocket (new WebSocket(url,
// protocols, params), addEventListener, onopen/onmessage/onclose/onerror,
// onping/onpong, send of strings and ArrayBuffers, ping, close, readyState,
// binaryType), over k6/ws's natives and session loop (ws.hpp).
//
// A socket runs in the background of its iteration, which (as in k6) lasts
// until every socket is closed. On an async VU its loop is a promise chain
// on the worker; on a VU's own thread it is a chain of timers (k6/timers)
// whose steps wait for the socket's next event at most 20 ms, so that the
// thread's other timers and sockets take their turns.
//
// Where this differs from k6 v0.48: close events carry code, reason and
// wasClean (k6's have only type, target, timestamp); binaryType may be set to
// 'arraybuffer' (k6 throws on any set; 'blob' is refused here too).
#include <string_view>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::websockets_module {

// Statements in the prelude's scope (prelude.hpp), after k6/ws's (its
// wsDrive, wsConnectArgs, natives) and using k6/timers' setTimeout.
inline constexpr std::string_view javascript = R"JS(
const wsPollMs = lk.asyncMode ? 0 : 20;
const wsTypes = ['open', 'message', 'error', 'close', 'ping', 'pong'];
const EventName = Object.freeze({ Open: 'open', Close: 'close', Error: 'error', Message: 'message', Ping: 'ping', Pong: 'pong' });
const ReadyState = Object.freeze({ Connecting: 0, Open: 1, Closing: 2, Closed: 3 });

function* wsLoop(w, url, protocols, params) {
  const id = w._id;
  try {
    yield lk.wsConnect(...wsConnectArgs(id, url, params, protocols));
    const [, error, protocol] = lk.wsInfo(id);
    if (error) {
      w._state = 3;
      w._fire('error', { error });
      w._fire('close', { code: 1006, reason: '', wasClean: false });
      return;
    }
    w._protocol = protocol;
    if (w._state === 0) w._state = 1;
    else if (w._state === 2) lk.wsWrite(id, 'close', w._closeReason, w._closeCode);  // close() while connecting
    w._fire('open');
    while (w._state !== 3) {
      yield lk.wsNext(id, wsPollMs);
      const [kind, data, code] = lk.wsEvent(id, true);
      switch (kind) {
        case 'text': case 'binary': if (w._state === 1) w._fire('message', { data, origin: url }); break;
        case 'ping': w._fire('ping'); break;
        case 'pong': w._fire('pong'); break;
        case 'error': w._fire('error', { error: data }); break;
        case 'close': w._state = 3; w._fire('close', { code, reason: data, wasClean: code !== 1006 }); break;
      }
    }
  } finally {
    w._state = 3;
    yield lk.wsFinish(id);
  }
}

// Runs a socket's loop in the background of the iteration; an exception in a
// listener fails the iteration, as a timer's does.
const wsBackground = lk.asyncMode
  ? gen => { wsDrive(gen).then(undefined, e => lk.timerRejected(e)); }
  : gen => {
      const step = v => { const r = gen.next(v); if (!r.done) setTimeout(step, 0, r.value); };
      setTimeout(step, 0, undefined);
    };

class WebSocket {
  constructor(url, protocols, params) {
    if (url === undefined || url === null) throw new Error('WebSocket requires a url');
    url = String(url);
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
    if (!scheme || (scheme[1] !== 'ws' && scheme[1] !== 'wss'))
      throw new Error('WebSocket requires url with scheme ws or wss, but got "' + (scheme ? scheme[1] : '') + '"');
    if (url.includes('#')) throw new Error('WebSocket requires no url fragment, but got "' + url.slice(url.indexOf('#') + 1) + '"');
    Object.defineProperty(this, 'url', { value: url, enumerable: true });
    this._id = lk.wsNew();
    this._state = 0;
    this._protocol = '';
    this._seq = 0;
    this._listeners = {};
    this._on = {};
    for (const t of wsTypes) this._listeners[t] = [];
    wsBackground(wsLoop(this, url, protocols, params));
  }
  get readyState() { return this._state; }
  get protocol() { return this._protocol; }
  get extensions() { return ''; }
  get bufferedAmount() { return 0; }
  get binaryType() { return 'ArrayBuffer'; }
  set binaryType(v) { if (String(v).toLowerCase() !== 'arraybuffer') throw new Error("binaryType is not settable in k6 as it doesn't support Blob"); }
  addEventListener(type, listener) {
    if (typeof listener !== 'function') return;
    if (!this._listeners[type]) { console.warn("can't add event listener: unsupported event " + type); return; }
    this._listeners[type].push(listener);
  }
  removeEventListener(type, listener) {
    const l = this._listeners[type];
    if (l) { const i = l.indexOf(listener); if (i >= 0) l.splice(i, 1); }
  }
  _fire(type, extra) {
    const ev = Object.assign({ type, target: this, timestamp: Date.now() }, extra);
    const on = this._on[type];
    if (on) on.call(this, ev);
    for (const l of this._listeners[type].slice()) l.call(this, ev);
  }
  _assertOpen() { if (this._state !== 1) throw new Error('InvalidStateError'); }
  send(data) {
    this._assertOpen();
    if (typeof data === 'string') lk.wsWrite(this._id, 'text', data);
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) lk.wsWrite(this._id, 'binary', data);
    else throw new TypeError('unsupported send type ' + (data === null ? 'null' : typeof data));
  }
  ping() { this._assertOpen(); lk.wsWrite(this._id, 'ping', String(this._seq++)); }
  close(code, reason) {
    if (this._state >= 2) return;
    const connecting = this._state === 0;
    this._state = 2;
    this._closeCode = code === undefined ? 1000 : Math.trunc(Number(code));
    this._closeReason = reason === undefined ? '' : String(reason);
    if (!connecting) lk.wsWrite(this._id, 'close', this._closeReason, this._closeCode);
  }
}
for (const t of wsTypes)
  Object.defineProperty(WebSocket.prototype, 'on' + t, {
    get() { return this._on[t] || null; },
    set(fn) {
      if (fn === undefined || fn === null) { delete this._on[t]; return; }
      if (typeof fn !== 'function') throw new Error("a value for 'on" + t + "' should be callable");
      this._on[t] = fn;
    },
  });
const websockets = { WebSocket, EventName, ReadyState };
)JS";
// What __loadkit.modules['k6/experimental/websockets'] is.
inline constexpr std::string_view module_object = "Object.assign({ default: websockets }, websockets)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::websockets_module
