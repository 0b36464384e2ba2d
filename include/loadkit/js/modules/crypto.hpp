#pragma once
// k6/crypto: digests, HMACs and random bytes (OpenSSL, in ../crypto.hpp)
// as natives, with k6's output encodings (encode_out, also used by
// k6/encoding and open()).
#include <cstddef>
#include <exception>
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
inline bool n_random_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    double n = 0;
    if (!JS::ToNumber(cx, args.get(0), &n)) return false;
    if (n < 0 || n > (64 << 20)) return throw_error(cx, "randomBytes: expected a size between 0 and 64 MiB");
    return encode_out(cx, random_bytes(static_cast<std::size_t>(n)), "binary", args.rval());
}

// hash, hmac, randomBytes.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("hash", &n_hash, 3, 0), JS_FN("hmac", &n_hmac, 4, 0),
                                             JS_FN("randomBytes", &n_random_bytes, 1, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// k6/crypto's API in JavaScript over the natives above: the crypto object,
// statements in the prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
const hashOf = alg => (data, encoding) => lk.hash(alg, data, encoding || 'binary');
const crypto = {
  md5: hashOf('md5'), sha1: hashOf('sha1'), sha224: hashOf('sha224'), sha256: hashOf('sha256'), sha384: hashOf('sha384'), sha512: hashOf('sha512'),
  hmac: (alg, key, data, encoding) => lk.hmac(String(alg), key, data, encoding || 'binary'),
  randomBytes: n => lk.randomBytes(n | 0),
};
hide('crypto', crypto);
)JS";
// What __loadkit.modules['k6/crypto'] is.
inline constexpr std::string_view module_object = "Object.assign({ default: crypto }, crypto)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::crypto_module

#pragma GCC diagnostic pop
