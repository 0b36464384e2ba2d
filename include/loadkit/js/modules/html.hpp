#pragma once
// k6/html: parseHTML and a jQuery-like Selection, as k6's (goquery over
// Go's HTML5 parser). Here the document is parsed by gumbo (html/parse.hpp,
// the one native) and handed over as plain JavaScript nodes; the Selection,
// the Element classes and the CSS selector matcher are JavaScript
// (html/select.hpp, html/selection.hpp, html/element.hpp). Its JavaScript
// runs after k6/http's, and adds html(), submitForm() and clickLink() to
// http's Response.
#include <exception>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "../errors.hpp"
#include "../html/element.hpp"
#include "../html/parse.hpp"
#include "../html/select.hpp"
#include "../html/selection.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::html_module {

// A document larger than this is refused (its nodes as JavaScript objects
// take several times its size); k6 has no such limit.
inline constexpr std::size_t max_document_bytes = std::size_t{256} << 20;

// parseHTML(text or ArrayBuffer) -> the nodes as JSON (html/parse.hpp).
inline bool n_parse_html(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    try {
        std::string source = bytes_of(cx, args.get(0));
        if (JS_IsExceptionPending(cx)) return false;
        if (source.size() > max_document_bytes)
            return throw_error(cx, "parseHTML: the document has " + std::to_string(source.size()) +
                                       " bytes, over loadkit's limit of 256 MiB");
        std::string json = html::parse_to_json(source);
        JSString* s = new_string(cx, json);
        if (!s) return false;
        args.rval().setString(s);
        return true;
    } catch (const std::exception& e) {
        return throw_error(cx, std::string("parseHTML: ") + e.what());
    }
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("parseHTML", &n_parse_html, 1, 0), JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// Its JavaScript: the three parts, one scope (k6html) in the prelude's.
inline std::string_view javascript() {
    static const std::string source = std::string(html::select_javascript) + std::string(html::selection_javascript) +
                                      std::string(html::element_javascript);
    return source;
}
// What __loadkit.modules['k6/html'] is.
inline constexpr std::string_view module_object = "k6html";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::html_module

#pragma GCC diagnostic pop
