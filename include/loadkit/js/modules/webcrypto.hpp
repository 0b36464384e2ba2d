#pragma once
// k6/experimental/webcrypto: the Web Crypto API as k6 v0.48 has it, also
// the global `crypto` (which keeps k6/crypto's functions too: scripts call
// crypto.hmac() without an import): crypto.getRandomValues(typedArray),
// crypto.randomUUID(), and crypto.subtle's digest (SHA-1/256/384/512),
// generateKey, importKey and exportKey ('raw', and 'jwk' here only) of HMAC
// and AES keys, HMAC sign/verify and AES-CBC/CTR/GCM encrypt/decrypt, each
// returning a promise. Mistakes reject with k6's error names
// (NotSupportedError, OperationError, InvalidAccessError, SyntaxError,
// DataError, TypeMismatchError, QuotaExceededError) on Error objects that
// carry name, message and code. OpenSSL does the work (../crypto.hpp);
// JavaScript (below) checks the arguments as k6 does.
// Where this differs from k6 v0.48, on purpose:
//   - getRandomValues limits a call to 65536 bytes, as the spec says (k6
//     counts elements), and takes BigInt64Array/BigUint64Array too;
//   - digest() hashes the bytes a view shows (k6 hashes its whole buffer);
//   - AES-GCM takes an iv of any non-zero length (k6: 12 bytes only);
//   - 'jwk' import and export (k6: NotSupportedError).
#include <exception>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../crypto.hpp"
#include "../errors.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"
#include "crypto.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::webcrypto_module {

// aes(mode, encrypt, key, iv, data, aad, tagBytes) -> ArrayBuffer; throws
// on a failure (the JavaScript makes it an OperationError).
inline bool n_aes(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    try {
        double tag = 16;
        if (!JS::ToNumber(cx, args.get(6), &tag)) return false;
        auto out = aes_crypt(to_utf8(cx, args.get(0)), JS::ToBoolean(args.get(1)), bytes_of(cx, args.get(2)),
                             bytes_of(cx, args.get(3)), bytes_of(cx, args.get(4)), bytes_of(cx, args.get(5)),
                             static_cast<int>(tag));
        return crypto_module::encode_out(cx, out, "binary", args.rval());
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("aes", &n_aes, 7, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// Statements in the prelude's scope (prelude.hpp), after k6/crypto's (its
// `crypto` object) and k6/encoding's natives.
inline constexpr std::string_view javascript = R"JS(
// k6's errors: an Error with the DOMException's name, and code 0 as k6's.
class WebCryptoError extends Error {
  constructor(name, message) { super(message); this.name = name; this.code = 0; }
}
const cryptoFail = (name, message) => { throw new WebCryptoError(name, message); };
// A BufferSource's bytes, copied: an ArrayBuffer for the natives.
function bufferSource(v, what) {
  if (v instanceof ArrayBuffer) return v.slice(0);
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  cryptoFail('TypeError', what + ' must be an ArrayBuffer, a TypedArray or a DataView');
}
const HASHES = { 'SHA-1': ['sha1', 512], 'SHA-256': ['sha256', 512], 'SHA-384': ['sha384', 1024], 'SHA-512': ['sha512', 1024] };
const AES_MODES = { 'AES-CBC': 'cbc', 'AES-CTR': 'ctr', 'AES-GCM': 'gcm' };
const isAes = n => Object.prototype.hasOwnProperty.call(AES_MODES, n);
const isHash = n => Object.prototype.hasOwnProperty.call(HASHES, n);
// The algorithms each operation takes (k6's).
const cryptoOps = {
  digest: isHash, generateKey: n => isAes(n) || n === 'HMAC', importKey: n => isAes(n) || n === 'HMAC',
  exportKey: n => isAes(n) || n === 'HMAC', encrypt: isAes, decrypt: isAes, sign: n => n === 'HMAC', verify: n => n === 'HMAC',
};
// A name or {name, ...params}, its name upper-cased as k6 does ('aes-gcm' is 'AES-GCM').
function normalizeAlgorithm(alg, op) {
  let a;
  if (typeof alg === 'string') a = { name: alg };
  else if (alg !== null && typeof alg === 'object' && typeof alg.name === 'string') a = Object.assign({}, alg, { name: alg.name });
  else cryptoFail('SyntaxError', 'the algorithm must be a name or an object with a name');
  a.name = a.name.toUpperCase();
  if (!cryptoOps[op](a.name)) cryptoFail('NotSupportedError', 'unsupported algorithm for ' + op + ': ' + a.name);
  return a;
}
function keyUsages(usages, allowed) {
  if (!Array.isArray(usages)) cryptoFail('TypeError', 'the key usages must be an array, e.g. ["sign", "verify"]');
  const out = [];
  for (const u of usages) {
    if (!allowed.includes(u)) cryptoFail('SyntaxError', 'invalid key usage: ' + u + ' (this key takes ' + allowed.join(', ') + ')');
    if (!out.includes(u)) out.push(u);
  }
  if (out.length === 0) cryptoFail('SyntaxError', 'the usages of a secret key cannot be empty');
  return Object.freeze(out);
}
// A key's bytes and what it is, out of the script's reach (made on first use).
let cryptoKeySecrets;
const secretsOf = () => cryptoKeySecrets || (cryptoKeySecrets = new WeakMap());
const keyToken = {};
class CryptoKey {
  constructor(token, extractable, algorithm, usages, bytes) {
    if (token !== keyToken) throw new TypeError('CryptoKey cannot be constructed: use crypto.subtle.generateKey or importKey');
    this.type = 'secret';
    this.extractable = !!extractable;
    this.algorithm = Object.freeze(algorithm);
    this.usages = usages;
    secretsOf().set(this, { bytes, algorithm: this.algorithm, usages });
  }
}
// The key's bytes for an operation of `alg` that needs `usage`.
function keyFor(key, alg, usage) {
  const k = key !== null && typeof key === 'object' ? secretsOf().get(key) : undefined;
  if (!k) cryptoFail('InvalidAccessError', 'the key is not a CryptoKey');
  if (k.algorithm.name !== alg.name) cryptoFail('InvalidAccessError', 'algorithm name does not match key algorithm name (' + alg.name + ' with a ' + k.algorithm.name + ' key)');
  if (!k.usages.includes(usage)) cryptoFail('InvalidAccessError', "the key does not contain the '" + usage + "' usage");
  return k;
}
function hmacAlgorithm(a, bits) {
  if (a.hash === undefined) cryptoFail('SyntaxError', 'HMAC needs a hash, e.g. { name: "HMAC", hash: "SHA-256" }');
  const hash = normalizeAlgorithm(a.hash, 'digest').name;
  let length = a.length === undefined ? (bits === undefined ? HASHES[hash][1] : bits) : Math.trunc(Number(a.length));
  return { name: 'HMAC', hash: Object.freeze({ name: hash }), length };
}
const JWK_ALG = { cbc: 'CBC', ctr: 'CTR', gcm: 'GCM' };
function aesParams(a, encrypting) {
  const mode = AES_MODES[a.name];
  if (mode === 'gcm') {
    const iv = bufferSource(a.iv, 'iv');
    if (iv.byteLength === 0) cryptoFail('OperationError', 'the iv must not be empty');
    const tag = a.tagLength === undefined ? 128 : Number(a.tagLength);
    if (tag === 32 || tag === 64) cryptoFail(encrypting ? 'NotSupportedError' : 'OperationError', 'tag lengths of 32 and 64 bits are not supported');
    if (![96, 104, 112, 120, 128].includes(tag)) cryptoFail('OperationError', 'invalid tag length, should be one of 96, 104, 112, 120, 128');
    const aad = a.additionalData === undefined ? undefined : bufferSource(a.additionalData, 'additionalData');
    return [mode, iv, aad, tag / 8];
  }
  if (mode === 'cbc') {
    const iv = bufferSource(a.iv, 'iv');
    if (iv.byteLength !== 16) cryptoFail('OperationError', 'the iv must be 16 bytes, it is ' + iv.byteLength);
    return [mode, iv, undefined, 16];
  }
  const counter = bufferSource(a.counter, 'counter');
  if (counter.byteLength !== 16) cryptoFail('OperationError', 'the counter must be 16 bytes, it is ' + counter.byteLength);
  const length = Number(a.length);
  if (!(length >= 1 && length <= 128)) cryptoFail('OperationError', 'invalid counter length, should be within 1 <= length <= 128');
  return [mode, counter, undefined, 16];
}
function aesCrypt(algorithm, key, data, encrypting) {
  const a = normalizeAlgorithm(algorithm, encrypting ? 'encrypt' : 'decrypt');
  const input = bufferSource(data, 'data');
  const k = keyFor(key, a, encrypting ? 'encrypt' : 'decrypt');
  const [mode, iv, aad, tagBytes] = aesParams(a, encrypting);
  try {
    return lk.aes(mode, encrypting, k.bytes, iv, input, aad, tagBytes);
  } catch (e) {
    cryptoFail('OperationError', (encrypting ? 'could not encrypt: ' : 'could not decrypt: ') + e.message);
  }
}
const b64url = bytes => lk.b64encode(bytes, 'rawurl');
const subtle = {
  async digest(algorithm, data) {
    const a = normalizeAlgorithm(algorithm, 'digest');
    return lk.hash(HASHES[a.name][0], bufferSource(data, 'data'), 'binary');
  },
  async generateKey(algorithm, extractable, usages) {
    const a = normalizeAlgorithm(algorithm, 'generateKey');
    if (a.name === 'HMAC') {
      const u = keyUsages(usages, ['sign', 'verify']);
      const alg = hmacAlgorithm(a);
      if (!(alg.length > 0)) cryptoFail('OperationError', "the key's length cannot be 0");
      return new CryptoKey(keyToken, extractable, alg, u, lk.randomBytes(Math.ceil(alg.length / 8)));
    }
    const u = keyUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
    const length = Number(a.length);
    if (![128, 192, 256].includes(length)) cryptoFail('OperationError', 'invalid key length: AES keys are 128, 192 or 256 bits');
    return new CryptoKey(keyToken, extractable, { name: a.name, length }, u, lk.randomBytes(length / 8));
  },
  async importKey(format, keyData, algorithm, extractable, usages) {
    const a = normalizeAlgorithm(algorithm, 'importKey');
    let bytes;
    if (format === 'raw') bytes = bufferSource(keyData, 'keyData');
    else if (format === 'jwk') {
      if (keyData === null || typeof keyData !== 'object' || keyData.kty !== 'oct' || typeof keyData.k !== 'string')
        cryptoFail('DataError', 'a JWK secret key needs kty "oct" and k');
      try { bytes = lk.b64decode(keyData.k, 'b'); } catch (e) { cryptoFail('DataError', 'the JWK k is not base64url'); }
    } else cryptoFail('NotSupportedError', 'unsupported key format ' + format + " (this takes 'raw' and 'jwk')");
    if (a.name === 'HMAC') {
      const u = keyUsages(usages, ['sign', 'verify']);
      const bits = bytes.byteLength * 8;
      if (bits === 0) cryptoFail('DataError', 'key length cannot be 0');
      const alg = hmacAlgorithm(a, bits);
      if (alg.length !== bits) cryptoFail('DataError', 'the length (' + alg.length + ') is not the length of the key data (' + bits + ' bits)');
      return new CryptoKey(keyToken, extractable, alg, u, bytes);
    }
    const u = keyUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
    if (![16, 24, 32].includes(bytes.byteLength)) cryptoFail('DataError', 'invalid key length: AES keys are 16, 24 or 32 bytes, this is ' + bytes.byteLength);
    return new CryptoKey(keyToken, extractable, { name: a.name, length: bytes.byteLength * 8 }, u, bytes);
  },
  async exportKey(format, key) {
    const k = key !== null && typeof key === 'object' ? secretsOf().get(key) : undefined;
    if (!k) cryptoFail('InvalidAccessError', 'the key is not a CryptoKey');
    if (!key.extractable) cryptoFail('InvalidAccessError', 'the key is not extractable');
    if (format === 'raw') return k.bytes.slice(0);
    if (format !== 'jwk') cryptoFail('NotSupportedError', 'unsupported key format ' + format + " (this takes 'raw' and 'jwk')");
    const alg = k.algorithm.name === 'HMAC' ? 'HS' + k.algorithm.hash.name.slice(4)
                                            : 'A' + k.algorithm.length + JWK_ALG[AES_MODES[k.algorithm.name]];
    return { kty: 'oct', k: b64url(k.bytes), alg, ext: true, key_ops: Array.from(k.usages) };
  },
  async sign(algorithm, key, data) {
    const a = normalizeAlgorithm(algorithm, 'sign');
    const input = bufferSource(data, 'data');
    const k = keyFor(key, a, 'sign');
    return lk.hmac(HASHES[k.algorithm.hash.name][0], k.bytes, input, 'binary');
  },
  async verify(algorithm, key, signature, data) {
    const a = normalizeAlgorithm(algorithm, 'verify');
    const sig = new Uint8Array(bufferSource(signature, 'signature'));
    const input = bufferSource(data, 'data');
    const k = keyFor(key, a, 'verify');
    const mac = new Uint8Array(lk.hmac(HASHES[k.algorithm.hash.name][0], k.bytes, input, 'binary'));
    if (mac.length !== sig.length) return false;
    let diff = 0;  // every byte compared: no early exit
    for (let i = 0; i < mac.length; i++) diff |= mac[i] ^ sig[i];
    return diff === 0;
  },
  async encrypt(algorithm, key, data) { return aesCrypt(algorithm, key, data, true); },
  async decrypt(algorithm, key, data) { return aesCrypt(algorithm, key, data, false); },
};
const INTEGER_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];
function getRandomValues(typedArray) {
  const kind = ArrayBuffer.isView(typedArray) ? Object.prototype.toString.call(typedArray).slice(8, -1) : '';
  if (!INTEGER_ARRAYS.includes(kind))
    cryptoFail('TypeMismatchError', 'getRandomValues() takes an integer typed array (Uint8Array, Int32Array, ...)');
  if (typedArray.byteLength > 65536)
    cryptoFail('QuotaExceededError', 'getRandomValues() fills at most 65536 bytes at a time; this array has ' + typedArray.byteLength);
  new Uint8Array(typedArray.buffer, typedArray.byteOffset, typedArray.byteLength).set(new Uint8Array(lk.randomBytes(typedArray.byteLength)));
  return typedArray;
}
function randomUUID() {
  const b = new Uint8Array(lk.randomBytes(16));
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // the RFC 4122 variant
  const h = Array.from(b, x => (x < 16 ? '0' : '') + x.toString(16)).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}
const webcrypto = { getRandomValues, randomUUID, subtle, CryptoKey };
// The global: the web-crypto object with k6/crypto's functions as well.
hide('crypto', Object.assign({}, crypto, webcrypto));
)JS";
// What __loadkit.modules['k6/experimental/webcrypto'] is (k6 exports `crypto`).
inline constexpr std::string_view module_object = "{ crypto: webcrypto, default: { crypto: webcrypto } }";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::webcrypto_module

#pragma GCC diagnostic pop
