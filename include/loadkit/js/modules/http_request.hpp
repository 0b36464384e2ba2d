#pragma once
// k6/http's request side beyond the plain request (modules/http.hpp):
// http.file() and the multipart/form-data bodies of objects holding one
// (k6's js/modules/k6/http/request.go and file.go, Go's mime/multipart),
// and res.request ({method, url, headers, body, cookies}, as k6's
// lib/netext/httpext/request.go fills it), made only when a script reads it
// from the call's own arguments and what the engine reports of the first hop.
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::http_request {

// utf8Bytes(string): an ArrayBuffer of its UTF-8 (a multipart body's text).
inline bool n_utf8_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    std::string bytes;
    assign_utf8(cx, args.get(0), bytes);
    JSObject* ab = new_array_buffer(cx, bytes);
    if (!ab) return false;
    args.rval().setObject(*ab);
    return true;
}
// textOf(ArrayBuffer): its bytes as text (UTF-8 when valid, else Latin-1),
// for res.request.body of a binary body.
inline bool n_text_of(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    JSString* s = new_string(cx, bytes_of(cx, args.get(0)));
    if (!s) return false;
    args.rval().setString(s);
    return true;
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("utf8Bytes", &n_utf8_bytes, 1, 0), JS_FN("textOf", &n_text_of, 1, 0),
                                             JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

inline constexpr std::string_view javascript = R"JS(
// http.file(data, filename, contentType): k6's FileData, {data (an array of
// the bytes), filename, content_type}; the bytes are kept as they are.
const FILE_BYTES = Symbol('fileBytes');
let fileSeq = 0;
function fileBytes(v) {
  if (typeof v === 'string') return new Uint8Array(lk.utf8Bytes(v));
  if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (Array.isArray(v)) return Uint8Array.from(v, x => Number(x) & 255);
  throw new TypeError(`http.file: expected a string, an ArrayBuffer or an array of bytes, found ${v === null ? 'null' : typeof v}`);
}
class FileData {
  constructor(bytes, filename, contentType) {
    Object.defineProperty(this, FILE_BYTES, { value: bytes });
    Object.defineProperty(this, 'data', { get() { return Array.from(bytes); }, enumerable: true, configurable: true });
    this.filename = filename;
    this.content_type = contentType;
  }
}
// The default name is the time in nanoseconds, as k6's.
function file(data, filename, contentType) {
  const name = filename === undefined ? String(Date.now()) + String(++fileSeq % 1000000).padStart(6, '0') : String(filename);
  return new FileData(fileBytes(data), name, contentType === undefined ? 'application/octet-stream' : String(contentType));
}
function hasFile(o) {
  for (const k of Object.keys(o)) if (o[k] instanceof FileData) return true;
  return false;
}
// An object with a file as multipart/form-data, as k6 writes it with Go's
// multipart.Writer: a 60-hex-digit random boundary; a file part's
// Content-Disposition names the field as it is and the file with '\' and '"'
// escaped, then its Content-Type; other fields are escaped and their values
// formatted as the urlencoded form's (Go's %v: arrays "[a b]", not repeated).
// Differs from k6: the parts follow the object's key order (k6 walks a Go
// map, in a random order). Sets the Content-Type header unless given.
function multipartBody(o, headers) {
  let boundary = '';
  for (let i = 0; i < 60; i++) boundary += '0123456789abcdef'[(Math.random() * 16) | 0];
  const esc = s => String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const chunks = [];
  let text = '';
  for (const k of Object.keys(o)) {
    const v = o[k];
    text += (chunks.length || text ? '\r\n--' : '--') + boundary + '\r\n';
    if (v instanceof FileData) {
      text += `Content-Disposition: form-data; name="${k}"; filename="${esc(v.filename)}"\r\nContent-Type: ${v.content_type}\r\n\r\n`;
      chunks.push(new Uint8Array(lk.utf8Bytes(text)), v[FILE_BYTES]);
      text = '';
    } else {
      text += `Content-Disposition: form-data; name="${esc(k)}"\r\n\r\n` + goValue(v);
    }
  }
  chunks.push(new Uint8Array(lk.utf8Bytes(text + '\r\n--' + boundary + '--\r\n')));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { body.set(c, at); at += c.length; }
  if (!Object.keys(headers).some(h => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'multipart/form-data; boundary=' + boundary;
  return body.buffer;
}

// res.request. A call with a body or params keeps its prepared arguments
// on its response ([method, url, body, params, headers]); the engine adds
// the Cookie header the first hop sent and, once redirected, that hop's URL
// and method ([cookies, url, method]). As k6: the first hop's method and
// URL; headers as {Name: [value]} with canonical names: the User-Agent,
// the call's headers, the Content-Type of a form and the Cookie header sent
// (not the Host, Content-Length or Authorization the client adds);
// cookies parsed from that Cookie header, {name: [{name, value, replace}]}.
function sentWith(r, a) { r[SENT] = a; return r; }
function canonicalHeader(k) {
  return COOKIE_NAME.test(k) ? k.toLowerCase().replace(/(^|-)([a-z])/g, (m, a, b) => a + b.toUpperCase()) : k;
}
function requestOf(r) {
  const sent = r[SENT], engine = r[SENT_EXTRA];
  const redirected = engine !== undefined && engine[1] !== undefined;
  const headers = {};
  const ua = lk.userAgent();
  if (ua) headers['User-Agent'] = [ua];
  const given = sent && sent[4];
  if (given)  // k6 drops a Content-Length of the call's own from these
    for (const k of Object.keys(given))
      if (given[k] !== undefined && k.toLowerCase() !== 'content-length') headers[canonicalHeader(k)] = [String(given[k])];
  if (engine !== undefined && engine[0] !== undefined) headers.Cookie = [engine[0]];
  const cookies = {};
  for (const part of headers.Cookie ? headers.Cookie[0].split(';') : []) {
    const p = part.trim(), eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq), value = cookieValue(eq < 0 ? '' : p.slice(eq + 1), true);
    if (COOKIE_NAME.test(name) && value !== null) listAdd(cookies, name, { name, value, replace: false });
  }
  const body = sent ? sent[2] : '';
  return {
    method: redirected ? engine[2] : sent ? sent[0] : r[METHOD],
    url: redirected ? engine[1] : r.url,
    headers,
    body: typeof body === 'string' ? body : lk.textOf(body),
    cookies,
  };
}
Object.assign(http, { file });
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::http_request

#pragma GCC diagnostic pop
