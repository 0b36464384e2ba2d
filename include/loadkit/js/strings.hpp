#pragma once
// Strings between C++ and JavaScript: UTF-8 out of a value, a JavaScript
// string out of bytes (ASCII without decoding), an ArrayBuffer's bytes, and
// a string made once for a text that repeats.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "../core/config.hpp"
#include "spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

inline std::string to_utf8(JSContext* cx, JS::HandleValue v) {
    JS::RootedString s(cx, JS::ToString(cx, v));
    if (!s) return {};
    JS::UniqueChars c = JS_EncodeStringToUTF8(cx, s);
    return c ? std::string(c.get()) : std::string();
}
inline std::string to_utf8(JSContext* cx, JSString* str) {
    JS::RootedString s(cx, str);
    JS::UniqueChars c = JS_EncodeStringToUTF8(cx, s);
    return c ? std::string(c.get()) : std::string();
}
inline bool is_ascii(std::string_view s) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if (w & 0x8080808080808080ull) return false;
    }
    for (; i < s.size(); ++i)
        if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
    return true;
}
// UTF-8 when it is valid, bytes as Latin-1 otherwise (a binary body). ASCII,
// the common case, is copied as Latin-1 without decoding.
inline JSString* new_string(JSContext* cx, std::string_view s) {
    if (s.empty()) return JS_GetEmptyString(cx);
    if (is_ascii(s)) return JS_NewStringCopyN(cx, s.data(), s.size());
    if (JSString* r = JS_NewStringCopyUTF8N(cx, JS::UTF8Chars(s.data(), s.size()))) return r;
    JS_ClearPendingException(cx);
    return JS_NewStringCopyN(cx, s.data(), s.size());
}
inline bool set_string(JSContext* cx, JS::HandleObject o, const char* name, std::string_view s) {
    JS::RootedValue v(cx, JS::StringValue(new_string(cx, s)));
    return JS_SetProperty(cx, o, name, v);
}
inline bool set_number(JSContext* cx, JS::HandleObject o, const char* name, double d) {
    JS::RootedValue v(cx, JS::NumberValue(d));
    return JS_SetProperty(cx, o, name, v);
}
// A string value's UTF-8 into `out`, reusing its buffer: an ASCII string
// (stored as Latin-1) is copied as it is, without an allocation.
inline void assign_utf8(JSContext* cx, JS::HandleValue v, std::string& out) {
    if (v.isString()) {
        if (JSLinearString* lin = JS_EnsureLinearString(cx, v.toString()); lin && JS::LinearStringHasLatin1Chars(lin)) {
            JS::AutoCheckCannotGC nogc;
            std::string_view chars(reinterpret_cast<const char*>(JS::GetLatin1LinearStringChars(nogc, lin)),
                                   JS::GetLinearStringLength(lin));
            if (is_ascii(chars)) {
                out.assign(chars);
                return;
            }
        }
    }
    out = to_utf8(cx, v);
}
// Bytes of a string (as UTF-8) or of an ArrayBuffer.
inline std::string bytes_of(JSContext* cx, JS::HandleValue v) {
    if (v.isObject()) {
        JS::RootedObject o(cx, &v.toObject());
        if (JS::IsArrayBufferObject(o)) {
            std::size_t n = 0;
            bool shared = false;
            std::uint8_t* data = nullptr;
            JS::GetArrayBufferLengthAndData(o, &n, &shared, &data);
            return std::string(reinterpret_cast<const char*>(data), n);
        }
        if (JS_IsArrayBufferViewObject(o)) {  // a typed array or a DataView: the bytes it views
            std::size_t n = 0;
            bool shared = false;
            std::uint8_t* data = nullptr;
            JS_GetObjectAsArrayBufferView(o, &n, &shared, &data);
            return std::string(reinterpret_cast<const char*>(data), n);
        }
    }
    if (v.isNullOrUndefined()) return {};
    return to_utf8(cx, v);
}
inline JSObject* new_array_buffer(JSContext* cx, std::string_view bytes) {
    JS::RootedObject ab(cx, JS::NewArrayBuffer(cx, bytes.size()));
    if (!ab) return nullptr;
    JS::AutoCheckCannotGC nogc;
    bool shared = false;
    std::memcpy(JS::GetArrayBufferData(ab, &shared, nogc), bytes.data(), bytes.size());
    return ab;
}

// The JavaScript string of a text that repeats (a method, a status text):
// made once, and made again only when the text changes.
struct repeated_string {
    std::string text;
    std::unique_ptr<JS::PersistentRootedString> str;
    JSString* get(JSContext* cx, std::string_view s) {
        if (str && text == s) return *str;
        JSString* made = new_string(cx, s);
        if (!made) return nullptr;
        text.assign(s);
        if (str) *str = made;
        else str = std::make_unique<JS::PersistentRootedString>(cx, made);
        return made;
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
