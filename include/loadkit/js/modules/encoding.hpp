#pragma once
// k6/encoding: base64 in k6's variants (../crypto.hpp), strings or
// ArrayBuffers.
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../crypto.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"
#include "crypto.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::encoding_module {

inline bool n_b64encode(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    args.rval().setString(new_string(cx, b64encode(bytes_of(cx, args.get(0)), to_utf8(cx, args.get(1)))));
    return true;
}
inline bool n_b64decode(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto raw = b64decode(to_utf8(cx, args.get(0)));
    if (!raw) return throw_error(cx, "b64decode: the input is not base64");
    if (to_utf8(cx, args.get(1)) == "s") {
        args.rval().setString(new_string(cx, *raw));
        return true;
    }
    return crypto_module::encode_out(cx, *raw, "binary", args.rval());
}

// b64encode, b64decode.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("b64encode", &n_b64encode, 2, 0),
                                             JS_FN("b64decode", &n_b64decode, 2, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// k6/encoding's API in JavaScript over the natives above: the encoding
// object, statements in the prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
const encoding = {
  b64encode: (input, variant) => lk.b64encode(input, variant || 'std'),
  b64decode: (input, variant, format) => lk.b64decode(String(input), format === 's' ? 's' : 'b'),
};
hide('encoding', encoding);
)JS";
// What __loadkit.modules['k6/encoding'] is.
inline constexpr std::string_view module_object = "Object.assign({ default: encoding }, encoding)";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::encoding_module

#pragma GCC diagnostic pop
