#pragma once
// `{{ }}` templates in YAML flows (URLs, header values, bodies), compiled once
// when the flow is loaded and rendered for every request:
//
//   auto t = text_template::compile("/feed?page={{ page }}&u={{ vars.user }}");  // or throws load_error
//   std::string url;                    // reused: after it has grown, rendering allocates nothing
//   url.clear();
//   t.render(url, [&](const expression& e, std::string& out) { ... out.append(value) ... });
//
// Grammar inside `{{ }}` (whitespace around the expression is ignored):
//   vars.PATH        a flow variable            PATH = SEG ('.' SEG)*
//   data.PATH        the current data-file row  SEG  = [A-Za-z_][A-Za-z0-9_-]* | [0-9]+
//   env.NAME         an environment variable (one identifier: environment names have no path)
//   vu, iter, scenario                the VU number, the iteration number, the scenario name
//   PATH             a bare name ("page", "user.name"): the caller looks in vars, then the data row
//   $uuid, $timestamp, $randomInt(MIN, MAX), $randomString(LEN)   (integer arguments only;
//                    zero-argument functions may be written with or without "()")
//   'TEXT' or "TEXT" a string literal, the way to write a literal "{{": `{{ '{{' }}`.
//
// Why string literals are folded at compile time rather than exposed as an
// expression kind (root::literal): their value is known at load time, so
// render copies them with the surrounding text, resolvers never have to handle
// them, and a template whose only "expressions" are literals stays constant.
// There are no escapes inside the quotes (a template needing both quote
// characters can use two literals). Outside `{{`, everything is text, including
// a lone "}}" (so JSON bodies ending in "}}}" need no escaping).
//
// Only the standard library (and error.hpp): the loaders and the fuzz target
// include this cheaply.
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "error.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

struct expression {
    enum class root { vars, env, vu, iter, scenario, data, bare, function };
    root kind = root::bare;
    // After the root: "token", "items.0.id" (vars/data: the key path; env: the
    // name); bare: the whole identifier path ("user.name"); empty for vu, iter,
    // scenario and functions.
    std::string path;
    std::string function;            // root::function: "$uuid", "$randomInt", "$timestamp", "$randomString"
    std::vector<std::int64_t> args;  // function arguments (integers only)
    std::size_t offset = 0;          // byte offset of the opening "{{" in the source, for the
                                     // loader's validation messages ("unknown variable at 3:14")
};

// The largest $randomString: a typo such as $randomString(10000000000) would
// otherwise allocate gigabytes per request; a megabyte is more than any body needs.
inline constexpr std::int64_t max_random_string = 1 << 20;

namespace detail {

inline constexpr bool is_ident_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline constexpr bool is_ident_char(char c) noexcept { return is_ident_start(c) || is_digit(c) || c == '-'; }
inline constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Describes what the parser found at `pos`, for "expected X, found Y".
inline std::string describe_at(std::string_view s, std::size_t pos) {
    if (pos >= s.size()) return "end of input";
    if (s.substr(pos).starts_with("}}")) return "'}}'";
    char c = s[pos];
    if (is_ident_char(c)) {
        std::size_t e = pos;
        while (e < s.size() && e - pos < 32 && is_ident_char(s[e])) ++e;
        return "'" + std::string(s.substr(pos, e - pos)) + "'";
    }
    if (c == '\n' || c == '\r') return "a line break";
    if (c == ' ') return "a space";
    if (c == '\t') return "a tab";
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
        static constexpr char hex[] = "0123456789abcdef";
        return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
    }
    return std::string("'") + c + "'";
}

inline bool is_function_name(std::string_view n) noexcept {
    return n == "$uuid" || n == "$timestamp" || n == "$randomInt" || n == "$randomString";
}

// What each function takes, for argument checks and their messages.
struct function_signature {
    std::size_t count;
    const char* names;  // "(MIN, MAX)"
};
inline function_signature signature_of(std::string_view n) noexcept {
    if (n == "$randomInt") return {2, "(MIN, MAX)"};
    if (n == "$randomString") return {1, "(LEN)"};
    return {0, ""};
}

// One expression parser per compile; `pos` walks the source.
class template_parser {
  public:
    explicit template_parser(std::string_view src) : s_(src) {}

    // Parses the expression after the "{{" at `open` (pos_ is just past it),
    // up to and including its "}}". A string literal goes to `literal`, with
    // is_literal set. Throws load_error on a mistake.
    void parse(std::size_t open, std::size_t& pos, expression& e, bool& is_literal, std::string& literal) {
        open_ = open;
        pos_ = pos;
        is_literal = false;
        skip_space();
        if (at_end() || s_.substr(pos_).starts_with("}}"))
            fail("expected an expression after '{{' (a name, a $function or a quoted string)");
        char c = s_[pos_];
        if (c == '\'' || c == '"') {
            parse_literal(literal);
            is_literal = true;
        } else if (c == '$') {
            parse_function(e);
        } else if (is_ident_start(c)) {
            parse_named(e);
        } else {
            fail("expected an expression after '{{' (a name, a $function or a quoted string)");
        }
        skip_space();
        if (!s_.substr(pos_).starts_with("}}"))
            fail("expected '}}' to close '{{' opened at offset " + std::to_string(open_));
        pos = pos_ + 2;
    }

  private:
    bool at_end() const noexcept { return pos_ >= s_.size(); }
    void skip_space() noexcept {
        while (!at_end() && is_space(s_[pos_])) ++pos_;
    }
    // Throws "<what>, found <what is at pos_>" at pos_.
    [[noreturn]] void fail(std::string what) { fail_at(pos_, std::move(what) + ", found " + describe_at(s_, pos_)); }
    // Throws `msg` at byte `at` of the source, as the line and column there
    // (1-based, the column in bytes): a one-line template's column is its
    // offset + 1.
    [[noreturn]] void fail_at(std::size_t at, std::string msg) {
        int line = 1;
        std::size_t line_start = 0;
        for (std::size_t i = 0; i < at && i < s_.size(); ++i)
            if (s_[i] == '\n') ++line, line_start = i + 1;
        throw load_error("", line, static_cast<int>(at - line_start) + 1, std::move(msg));
    }

    void parse_literal(std::string& literal) {
        char q = s_[pos_];
        std::size_t start = pos_;
        auto close = s_.find(q, pos_ + 1);
        if (close == std::string_view::npos) {
            pos_ = s_.size();
            fail(std::string("expected a closing ") + q + " for the string opened at offset " + std::to_string(start));
        }
        literal.append(s_.substr(start + 1, close - start - 1));
        pos_ = close + 1;
    }

    // One SEG: an identifier or a decimal index. Appends it to `out`.
    void parse_segment(std::string& out, const char* after) {
        std::size_t b = pos_;
        if (!at_end() && is_ident_start(s_[pos_])) {
            while (!at_end() && is_ident_char(s_[pos_])) ++pos_;
        } else if (!at_end() && is_digit(s_[pos_])) {
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        } else {
            fail(std::string("expected a key or an index after ") + after);
        }
        out.append(s_.substr(b, pos_ - b));
    }

    // SEG ('.' SEG)*, starting at a segment.
    void parse_path(std::string& out) {
        parse_segment(out, "'.'");
        while (!at_end() && s_[pos_] == '.') {
            ++pos_;
            out.push_back('.');
            parse_segment(out, "'.'");
        }
    }

    void parse_named(expression& e) {
        std::size_t b = pos_;
        while (!at_end() && is_ident_char(s_[pos_])) ++pos_;
        std::string_view word = s_.substr(b, pos_ - b);
        using root = expression::root;
        if (word == "vu" || word == "iter" || word == "scenario") {
            e.kind = word == "vu" ? root::vu : word == "iter" ? root::iter : root::scenario;
            if (!at_end() && s_[pos_] == '.') fail_at(pos_, "'" + std::string(word) + "' takes no path, found '.'");
            return;
        }
        if (word == "vars" || word == "data" || word == "env") {
            e.kind = word == "vars" ? root::vars : word == "data" ? root::data : root::env;
            if (at_end() || s_[pos_] != '.') {
                skip_space();  // "{{ vars }}": point at what follows, not at the space
                const char* what = e.kind == root::env ? ".NAME" : e.kind == root::data ? ".COLUMN" : ".KEY";
                fail("expected '" + std::string(word) + what + "'");
            }
            ++pos_;
            if (e.kind != root::env) return parse_path(e.path);
            // An environment variable is one name: "env.A.B" is a mistake, not a lookup.
            if (at_end() || !is_ident_start(s_[pos_])) fail("expected a variable name after 'env.'");
            std::size_t nb = pos_;
            while (!at_end() && is_ident_char(s_[pos_])) ++pos_;
            e.path.assign(s_.substr(nb, pos_ - nb));
            if (!at_end() && s_[pos_] == '.') fail_at(pos_, "environment variable names have no path, found '.'");
            return;
        }
        e.kind = root::bare;
        e.path.assign(word);
        while (!at_end() && s_[pos_] == '.') {
            ++pos_;
            e.path.push_back('.');
            parse_segment(e.path, "'.'");
        }
    }

    void parse_function(expression& e) {
        std::size_t b = pos_++;
        while (!at_end() && is_ident_char(s_[pos_])) ++pos_;
        std::string_view name = s_.substr(b, pos_ - b);
        if (!is_function_name(name))
            fail_at(b, "unknown function '" + std::string(name) +
                           "' (expected $uuid, $timestamp, $randomInt or $randomString)");
        e.kind = expression::root::function;
        e.function.assign(name);
        auto sig = signature_of(name);
        std::size_t save = pos_;
        skip_space();
        if (at_end() || s_[pos_] != '(') {
            if (sig.count == 0) {  // "$uuid" without parentheses
                pos_ = save;
                return;
            }
            fail("expected '(' after " + std::string(name) + " (it takes " + std::to_string(sig.count) +
                 (sig.count == 1 ? " argument " : " arguments ") + sig.names + ")");
        }
        std::size_t paren = pos_++;
        skip_space();
        if (!at_end() && s_[pos_] == ')') {
            ++pos_;
        } else {
            for (;;) {
                skip_space();
                std::size_t ab = pos_;
                if (!at_end() && (s_[pos_] == '-' || s_[pos_] == '+')) ++pos_;
                while (!at_end() && is_digit(s_[pos_])) ++pos_;
                std::string_view num = s_.substr(ab, pos_ - ab);
                if (!num.empty() && num.front() == '+') num.remove_prefix(1);
                if (num.empty() || num == "-" || (!at_end() && is_ident_char(s_[pos_]))) {
                    pos_ = ab;
                    fail("expected an integer argument to " + std::string(name));
                }
                std::int64_t v = 0;
                auto r = std::from_chars(num.data(), num.data() + num.size(), v);
                if (r.ec != std::errc())
                    fail_at(ab, "integer argument " + std::string(s_.substr(ab, pos_ - ab)) + " to " +
                                    std::string(name) + " is out of range");
                e.args.push_back(v);
                skip_space();
                if (!at_end() && s_[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                if (!at_end() && s_[pos_] == ')') {
                    ++pos_;
                    break;
                }
                fail("expected ',' or ')' in the arguments of " + std::string(name));
            }
        }
        if (e.args.size() != sig.count)
            fail_at(paren, std::string(name) +
                               (sig.count == 0   ? std::string(" takes no arguments")
                                : sig.count == 1 ? " takes 1 argument " + std::string(sig.names)
                                                 : " takes " + std::to_string(sig.count) + " arguments " + sig.names) +
                               ", found " + std::to_string(e.args.size()));
        if (name == "$randomInt" && e.args[0] > e.args[1])
            fail_at(paren, "$randomInt(MIN, MAX): MIN (" + std::to_string(e.args[0]) + ") is greater than MAX (" +
                               std::to_string(e.args[1]) + ")");
        if (name == "$randomString" && (e.args[0] < 0 || e.args[0] > max_random_string))
            fail_at(paren, "$randomString(LEN): LEN must be between 0 and " + std::to_string(max_random_string) +
                               ", found " + std::to_string(e.args[0]));
    }

    std::string_view s_;
    std::size_t open_ = 0;
    std::size_t pos_ = 0;
};

}  // namespace detail

class text_template {
  public:
    // Parses src. A mistake throws load_error (no file) with what was
    // expected and what was found, at the line and column of src where it
    // is (1-based, the column in bytes: in a one-line template, the byte
    // offset + 1), which the loader turns into a position in its file.
    static text_template compile(std::string_view src) {
        text_template t;
        t.source_.assign(src);
        detail::template_parser parser(src);
        std::size_t pos = 0;
        while (pos < src.size()) {
            auto open = src.find("{{", pos);
            if (open == std::string_view::npos) open = src.size();
            t.add_text(src.substr(pos, open - pos));
            if (open == src.size()) break;
            expression e;
            e.offset = open;
            bool is_literal = false;
            std::string literal;
            pos = open + 2;
            parser.parse(open, pos, e, is_literal, literal);
            if (is_literal) {
                t.add_text(literal);
            } else {
                t.pieces_.push_back({0, 0, t.expressions_.size()});
                t.expressions_.push_back(std::move(e));
            }
        }
        return t;
    }

    // No expressions: render is a copy of the text.
    bool is_constant() const noexcept { return expressions_.empty(); }
    const std::string& source() const noexcept { return source_; }
    const std::vector<expression>& expressions() const noexcept { return expressions_; }

    // Appends the rendering to `out` (does not clear it).
    // `resolve(const expression&, std::string& out)` appends one value. No
    // parsing and no allocation here beyond what `out` needs to grow and what
    // the resolver does.
    template <class Resolver>
    void render(std::string& out, Resolver&& resolve) const {
        for (const auto& p : pieces_) {
            if (p.expr == no_expr) out.append(text_, p.begin, p.size);
            else resolve(expressions_[p.expr], out);
        }
    }

  private:
    static constexpr std::size_t no_expr = static_cast<std::size_t>(-1);
    // Either a span of text_ or an index into expressions_: render walks
    // these in order. Adjacent text (including folded string literals) is one piece.
    struct piece {
        std::size_t begin, size, expr;
    };

    void add_text(std::string_view s) {
        if (s.empty()) return;
        if (!pieces_.empty() && pieces_.back().expr == no_expr) pieces_.back().size += s.size();
        else pieces_.push_back({text_.size(), s.size(), no_expr});
        text_.append(s);
    }

    std::string source_;
    std::string text_;  // the literal text of every piece, back to back
    std::vector<piece> pieces_;
    std::vector<expression> expressions_;
};

// Implements the $functions so callers do not each repeat them; appends the
// value to `out`. Does nothing for an expression that is not a function.
// Allocates nothing once `out` has room ($randomString resizes it).
//   $uuid          a random (version 4) UUID, lower-case: "0f8fad5b-d9cb-469f-a165-70867728950e"
//   $timestamp     milliseconds since the Unix epoch
//   $randomInt     a uniformly random integer in [MIN, MAX]
//   $randomString  LEN characters from [A-Za-z0-9]
inline void render_function(const expression& e, std::string& out, std::mt19937_64& rng) {
    if (e.kind != expression::root::function) return;
    const std::string& f = e.function;
    if (f == "$uuid") {
        std::uint64_t hi = rng(), lo = rng();
        hi = (hi & ~std::uint64_t{0xf000}) | 0x4000;                           // version 4
        lo = (lo & ~(std::uint64_t{0xc} << 60)) | (std::uint64_t{0x8} << 60);  // variant 10xx
        static constexpr char hex[] = "0123456789abcdef";
        std::array<char, 36> buf;
        std::size_t o = 0;
        for (int i = 0; i < 32; ++i) {
            if (i == 8 || i == 12 || i == 16 || i == 20) buf[o++] = '-';
            std::uint64_t w = i < 16 ? hi : lo;
            int shift = 60 - 4 * (i % 16);
            buf[o++] = hex[(w >> shift) & 15];
        }
        out.append(buf.data(), buf.size());
    } else if (f == "$timestamp") {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(ms));
        out.append(buf, r.ptr);
    } else if (f == "$randomInt" && e.args.size() == 2) {
        std::uniform_int_distribution<std::int64_t> d(e.args[0], e.args[1]);
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, d(rng));
        out.append(buf, r.ptr);
    } else if (f == "$randomString" && e.args.size() == 1 && e.args[0] > 0) {
        static constexpr char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        std::uniform_int_distribution<int> d(0, 61);
        auto n = static_cast<std::size_t>(e.args[0]);
        std::size_t old = out.size();
        out.resize(old + n);
        for (std::size_t i = 0; i < n; ++i) out[old + i] = alnum[d(rng)];
    }
}

}  // namespace loadkit::inline LOADKIT_ABI::yaml
