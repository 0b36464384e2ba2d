#pragma once
// k6/html's parser: an HTML5 document (gumbo, the parser Debian ships) as a
// flat JSON array of its nodes in document order, which the module's
// JavaScript (html/dom.hpp) turns into its node objects. Nothing of gumbo
// outlives the call: its memory is one arena, dropped at the end, so a VU
// that parses a page per iteration holds only the JavaScript objects it
// keeps, and the garbage collector frees those.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gumbo.h>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::html {

// gumbo's allocations, bumped from blocks and freed together. gumbo frees
// a tree with a recursive walk (a deep document would exhaust the stack);
// the arena frees it without walking it, and faster.
class gumbo_arena {
  public:
    static void* allocate(void* self, std::size_t n) { return static_cast<gumbo_arena*>(self)->take(n); }
    static void deallocate(void*, void*) {}

  private:
    static constexpr std::size_t block_size = 64 * 1024;
    void* take(std::size_t n) {
        n = (n + 15) & ~std::size_t{15};
        // (new[] aligns to __STDCPP_DEFAULT_NEW_ALIGNMENT__, 16 on 64-bit targets, as malloc)
        if (n > block_size / 4) return blocks_.emplace_back(new std::byte[n]).get();
        if (left_ < n) {
            next_ = blocks_.emplace_back(new std::byte[block_size]).get();
            left_ = block_size;
        }
        void* p = next_;
        next_ += n;
        left_ -= n;
        return p;
    }
    std::vector<std::unique_ptr<std::byte[]>> blocks_;
    std::byte* next_ = nullptr;
    std::size_t left_ = 0;
};

inline void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"') out += "\\\"";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else out += ch;
    }
    out += '"';
}

// An element's name as golang.org/x/net/html gives it (k6 parses with it):
// lower case, SVG's camel-case names (foreignObject), unknown tags as written.
inline std::string tag_name(const GumboElement& e) {
    if (e.tag != GUMBO_TAG_UNKNOWN && e.tag_namespace != GUMBO_NAMESPACE_SVG) return gumbo_normalized_tagname(e.tag);
    GumboStringPiece piece = e.original_tag;
    gumbo_tag_from_original_text(&piece);
    if (e.tag_namespace == GUMBO_NAMESPACE_SVG)
        if (const char* svg = gumbo_normalize_svg_tagname(&piece)) return svg;
    if (e.tag != GUMBO_TAG_UNKNOWN) return gumbo_normalized_tagname(e.tag);
    std::string name(piece.data ? piece.data : "", piece.data ? piece.length : 0);
    for (auto& ch : name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    return name;
}

// The nodes of `source`, in document order, each an array:
//   [9]                              the document (index 0)
//   [1, parent, name, [k, v, ...], ns]  an element (ns: 0 HTML, 1 SVG, 2 MathML)
//   [3, parent, text]                a text node
//   [8, parent, text]                a comment
//   [10, parent, name]               the doctype
// Iterative, so a deeply nested document costs no stack.
inline std::string parse_to_json(std::string_view source) {
    gumbo_arena arena;
    GumboOptions options = kGumboDefaultOptions;
    options.allocator = &gumbo_arena::allocate;
    options.deallocator = &gumbo_arena::deallocate;
    options.userdata = &arena;
    options.max_errors = 0;  // k6 reports no parse errors: none are kept
    GumboOutput* output = gumbo_parse_with_options(&options, source.data(), source.size());
    std::string out;
    out.reserve(source.size() + source.size() / 4 + 64);
    out += "[[9]";
    if (!output) return out + "]";
    const GumboDocument& doc = output->document->v.document;
    std::size_t count = 1;
    if (doc.has_doctype) {
        out += ",[10,0,";
        json_string(out, doc.name ? doc.name : "");
        out += ']';
        ++count;
    }
    // (node, its parent's index): children pushed in reverse, so popped in order
    std::vector<std::pair<const GumboNode*, std::size_t>> stack;
    auto push_children = [&](const GumboVector& children, std::size_t parent) {
        for (unsigned i = children.length; i-- > 0;)
            stack.emplace_back(static_cast<const GumboNode*>(children.data[i]), parent);
    };
    push_children(doc.children, 0);
    while (!stack.empty()) {
        auto [node, parent] = stack.back();
        stack.pop_back();
        std::size_t index = count++;
        out += ",[";
        switch (node->type) {
            case GUMBO_NODE_ELEMENT:
            case GUMBO_NODE_TEMPLATE: {
                const GumboElement& e = node->v.element;
                out += "1," + std::to_string(parent) + ',';
                json_string(out, tag_name(e));
                out += ",[";
                for (unsigned i = 0; i < e.attributes.length; ++i) {
                    auto* a = static_cast<const GumboAttribute*>(e.attributes.data[i]);
                    if (i) out += ',';
                    json_string(out, a->name);
                    out += ',';
                    json_string(out, a->value);
                }
                out += "],";
                out += e.tag_namespace == GUMBO_NAMESPACE_SVG      ? '1'
                       : e.tag_namespace == GUMBO_NAMESPACE_MATHML ? '2'
                                                                   : '0';
                out += ']';
                push_children(e.children, index);
                break;
            }
            case GUMBO_NODE_COMMENT:
                out += "8," + std::to_string(parent) + ',';
                json_string(out, node->v.text.text);
                out += ']';
                break;
            default:  // text, whitespace, CDATA
                out += "3," + std::to_string(parent) + ',';
                json_string(out, node->v.text.text);
                out += ']';
                break;
        }
    }
    out += ']';
    return out;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::html
