#pragma once
// k6/crypto: digests, HMACs and random bytes (OpenSSL, in ../crypto.hpp)
// as natives, with k6's output encodings (encode_out, also used by
// k6/encoding and open()), and k6's hasher objects (createHash, createHMAC).
// The global `crypto` is the web-crypto object with these functions too
// (webcrypto.hpp); `import crypto from 'k6/crypto'` shadows it in the
// importing module, as any import does.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../crypto.hpp"
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

namespace loadkit::inline LOADKIT_ABI::js::detail::crypto_module {

// k6/crypto output encodings: hex, base64, base64url, base64rawurl, binary (an ArrayBuffer)
inline bool encode_out(JSContext* cx, const std::string& raw, const std::string& enc, JS::MutableHandleValue out) {
    if (enc == "hex") out.setString(new_string(cx, loadkit::js::detail::hex(raw)));
    else if (enc == "base64") out.setString(new_string(cx, b64encode(raw, "std")));
    else if (enc == "base64url") out.setString(new_string(cx, b64encode(raw, "url")));
    else if (enc == "base64rawurl") out.setString(new_string(cx, b64encode(raw, "rawurl")));
    else if (enc == "binary") {
        JSObject* ab = new_array_buffer(cx, raw);
        if (!ab) return false;
        out.setObject(*ab);
    } else
        return throw_error(
            cx, "unknown output encoding '" + enc + "' (expected hex, base64, base64url, base64rawurl or binary)");
    return true;
}
inline bool n_hash(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    try {
        auto raw = digest(to_utf8(cx, args.get(0)), bytes_of(cx, args.get(1)));
        return encode_out(cx, raw, to_utf8(cx, args.get(2)), args.rval());
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
}
inline bool n_hmac(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    try {
        auto raw = hmac(to_utf8(cx, args.get(0)), bytes_of(cx, args.get(1)), bytes_of(cx, args.get(2)));
        return encode_out(cx, raw, to_utf8(cx, args.get(3)), args.rval());
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
}
// hashParts(algorithm, hasKey, key, parts, encoding): the digest (an HMAC
// with the key when hasKey) of the parts (strings as UTF-8, ArrayBuffers)
// one after the other: a hasher's digest() of what its update()s gave.
inline bool n_hash_parts(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    try {
        auto alg = to_utf8(cx, args.get(0));
        std::optional<hash_stream> h;
        if (JS::ToBoolean(args.get(1))) h.emplace(alg, bytes_of(cx, args.get(2)));
        else h.emplace(alg);
        if (args.get(3).isObject()) {
            JS::RootedObject parts(cx, &args.get(3).toObject());
            std::uint32_t n = 0;
            if (!JS::GetArrayLength(cx, parts, &n)) return false;
            JS::RootedValue part(cx);
            for (std::uint32_t i = 0; i < n; ++i) {
                if (!JS_GetElement(cx, parts, i, &part)) return false;
                h->update(bytes_of(cx, part));
            }
        }
        return encode_out(cx, h->final(), to_utf8(cx, args.get(4)), args.rval());
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
}
// encodeBytes(data, encoding): the bytes of data in an output encoding (hexEncode).
inline bool n_encode_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    return encode_out(cx, bytes_of(cx, args.get(0)), to_utf8(cx, args.get(1)), args.rval());
}
inline bool n_random_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    double n = 0;
    if (!JS::ToNumber(cx, args.get(0), &n)) return false;
    if (n < 0 || n > (64 << 20)) return throw_error(cx, "randomBytes: expected a size between 0 and 64 MiB");
    return encode_out(cx, random_bytes(static_cast<std::size_t>(n)), "binary", args.rval());
}

// hash, hmac, randomBytes.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("hash", &n_hash, 3, 0),
                                             JS_FN("hmac", &n_hmac, 4, 0),
                                             JS_FN("hashParts", &n_hash_parts, 5, 0),
                                             JS_FN("encodeBytes", &n_encode_bytes, 2, 0),
                                             JS_FN("randomBytes", &n_random_bytes, 1, 0),
                                             JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// k6/crypto's API in JavaScript over the natives above: the crypto object,
// statements in the prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
const hashOf = alg => (data, encoding) => lk.hash(alg, data, encoding || 'binary');
// What k6 hashes: strings (as UTF-8) and ArrayBuffers; typed arrays and
// DataViews too here. Copied when given, as k6 does.
function hashInput(data) {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  throw new TypeError('expected a string or an ArrayBuffer to hash, got ' + (data === null ? 'null' : typeof data));
}
// k6's Hasher: update() adds data (and returns the hasher, as in Node),
// digest(encoding) hashes all of it so far, and may be called again.
function makeHasher(alg, hasKey, key) {
  alg = String(alg);
  const parts = [];
  lk.hashParts(alg, hasKey, key, parts, 'binary');  // an unknown algorithm throws here
  const h = {
    update(data) { parts.push(hashInput(data)); return h; },
    digest: encoding => lk.hashParts(alg, hasKey, key, parts, encoding || 'binary'),
  };
  return h;
}
const crypto = {
  md4: hashOf('md4'), md5: hashOf('md5'), sha1: hashOf('sha1'), sha224: hashOf('sha224'), sha256: hashOf('sha256'), sha384: hashOf('sha384'), sha512: hashOf('sha512'),
  sha512_224: hashOf('sha512_224'), sha512_256: hashOf('sha512_256'), ripemd160: hashOf('ripemd160'),
  hmac: (alg, key, data, encoding) => lk.hmac(String(alg), key, data, encoding || 'binary'),
  createHash: alg => makeHasher(alg, false, ''),
  createHMAC: (alg, key) => makeHasher(alg, true, hashInput(key)),
  hexEncode: data => lk.encodeBytes(hashInput(data), 'hex'),
  randomBytes: n => lk.randomBytes(n | 0),
};
)JS";
// What __loadkit.modules['k6/crypto'] is.
inline constexpr std::string_view module_object = "Object.assign({ default: crypto }, crypto)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::crypto_module

#pragma GCC diagnostic pop
