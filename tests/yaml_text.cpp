// The text layer of YAML flows: `{{ }}` templates (every grammar case and
// every compile error with its offset, rendering, the $functions, no
// allocation when rendering into a reused string) and CSV data files with the
// three feed modes. Only the standard library and the two headers under test.
// Allocations are counted per thread (alloc_counter.hpp: Catch's and other
// tests' threads do not count); only this TU of test_yaml includes it.
#include "alloc_counter.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <loadkit/plan/csv.hpp>
#include <loadkit/plan/template.hpp>
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using loadkit::yaml::csv_table;
using loadkit::yaml::expression;
using loadkit::yaml::feed_mode;
using loadkit::yaml::feeder;
using loadkit::yaml::text_template;
using root = loadkit::yaml::expression::root;

namespace {

text_template compiled(std::string_view src) {
    INFO("source: " << src);
    try {
        return text_template::compile(src);
    } catch (const loadkit::yaml::load_error& e) {
        FAIL("error at " << e.line << ":" << e.column << ": " << e.message);
        throw;
    }
}

// The one expression of a template like "{{ x }}".
expression only_expression(std::string_view src) {
    auto t = compiled(src);
    REQUIRE(t.expressions().size() == 1);
    return t.expressions()[0];
}

struct compile_error {
    std::string message;
    std::size_t offset;
};
// The mistake's line and column (the column in bytes) as a byte offset into src.
compile_error error_of(std::string_view src) {
    INFO("source: " << src);
    try {
        text_template::compile(src);
    } catch (const loadkit::yaml::load_error& e) {
        CHECK(e.file.empty());
        std::size_t line_start = 0;
        for (int line = 1; line < e.line; ++line) line_start = src.find('\n', line_start) + 1;
        return {e.message, line_start + static_cast<std::size_t>(e.column - 1)};
    }
    FAIL("compiled without an error");
    return {};
}

// Renders with values from a map keyed "<root>:<path>" (functions: their name).
std::string render_with(const text_template& t, const std::map<std::string, std::string>& values) {
    std::string out;
    t.render(out, [&](const expression& e, std::string& o) {
        static const char* names[] = {"vars", "env", "vu", "iter", "scenario", "data", "bare", "function"};
        std::string key = std::string(names[static_cast<int>(e.kind)]) + ":" +
                          (e.kind == root::function ? e.function : e.path);
        auto it = values.find(key);
        o.append(it == values.end() ? "<" + key + ">" : it->second);
    });
    return out;
}

}  // namespace

// ------------------------------------------------------------------ templates: grammar

TEST_CASE("template: text without expressions is constant and renders as a copy") {
    for (std::string_view src : {"", "/health", "a } b { c }} d {", "{\"json\": {\"nested\": 1}}", "$uuid vars.x"}) {
        auto t = compiled(src);
        CHECK(t.is_constant());
        CHECK(t.expressions().empty());
        CHECK(t.source() == src);
        int calls = 0;
        std::string out = "prefix:";
        t.render(out, [&](const expression&, std::string&) { ++calls; });
        CHECK(out == "prefix:" + std::string(src));
        CHECK(calls == 0);
    }
}

TEST_CASE("template: roots vars, env and data with their paths") {
    auto e = only_expression("{{ vars.token }}");
    CHECK(e.kind == root::vars);
    CHECK(e.path == "token");
    e = only_expression("{{ vars.items.0.id }}");
    CHECK(e.kind == root::vars);
    CHECK(e.path == "items.0.id");
    e = only_expression("{{ vars.a-b_c.D9.12 }}");
    CHECK(e.path == "a-b_c.D9.12");
    e = only_expression("{{ env.QUERY }}");
    CHECK(e.kind == root::env);
    CHECK(e.path == "QUERY");
    e = only_expression("{{ env._HOME-2 }}");
    CHECK(e.path == "_HOME-2");
    e = only_expression("{{ data.email }}");
    CHECK(e.kind == root::data);
    CHECK(e.path == "email");
    e = only_expression("{{ data.user.name }}");
    CHECK(e.kind == root::data);
    CHECK(e.path == "user.name");
    CHECK(e.function.empty());
    CHECK(e.args.empty());
}

TEST_CASE("template: vu, iter and scenario take no path") {
    CHECK(only_expression("{{ vu }}").kind == root::vu);
    CHECK(only_expression("{{ iter }}").kind == root::iter);
    CHECK(only_expression("{{ scenario }}").kind == root::scenario);
    CHECK(only_expression("{{ scenario }}").path.empty());
}

TEST_CASE("template: bare identifier paths") {
    auto e = only_expression("{{ page }}");
    CHECK(e.kind == root::bare);
    CHECK(e.path == "page");
    e = only_expression("{{ user.name }}");
    CHECK(e.kind == root::bare);
    CHECK(e.path == "user.name");
    e = only_expression("{{ items.0 }}");
    CHECK(e.path == "items.0");
    e = only_expression("{{ _x-y.z_1 }}");
    CHECK(e.path == "_x-y.z_1");
    // root names are whole words: longer names are bare
    for (std::string_view w : {"variables", "envelope", "datum", "vuser", "iteration", "scenarios", "vars_", "env-x"}) {
        e = only_expression("{{ " + std::string(w) + " }}");
        CHECK(e.kind == root::bare);
        CHECK(e.path == w);
    }
}

TEST_CASE("template: whitespace inside the braces is optional") {
    for (std::string_view src : {"{{page}}", "{{ page }}", "{{    page    }}", "{{\tpage\t}}", "{{\n  page\r\n}}"}) {
        auto e = only_expression(src);
        CHECK(e.kind == root::bare);
        CHECK(e.path == "page");
    }
    auto e = only_expression("{{$randomInt(1,2)}}");
    CHECK(e.args == std::vector<std::int64_t>{1, 2});
    e = only_expression("{{ $randomInt (  -3 ,\t+4  ) }}");
    CHECK(e.args == std::vector<std::int64_t>{-3, 4});
}

TEST_CASE("template: functions and their arguments") {
    auto e = only_expression("{{ $uuid }}");
    CHECK(e.kind == root::function);
    CHECK(e.function == "$uuid");
    CHECK(e.args.empty());
    CHECK(e.path.empty());
    CHECK(only_expression("{{ $uuid() }}").function == "$uuid");
    CHECK(only_expression("{{ $timestamp }}").function == "$timestamp");
    CHECK(only_expression("{{ $timestamp( ) }}").function == "$timestamp");
    e = only_expression("{{ $randomInt(1, 10) }}");
    CHECK(e.function == "$randomInt");
    CHECK(e.args == std::vector<std::int64_t>{1, 10});
    e = only_expression("{{ $randomInt(-9223372036854775808, 9223372036854775807) }}");
    CHECK(e.args == std::vector<std::int64_t>{INT64_MIN, INT64_MAX});
    e = only_expression("{{ $randomInt(5, 5) }}");
    CHECK(e.args == std::vector<std::int64_t>{5, 5});
    e = only_expression("{{ $randomString(16) }}");
    CHECK(e.function == "$randomString");
    CHECK(e.args == std::vector<std::int64_t>{16});
    CHECK(only_expression("{{ $randomString(0) }}").args == std::vector<std::int64_t>{0});
    CHECK(only_expression("{{ $randomString(1048576) }}").args == std::vector<std::int64_t>{1048576});
}

TEST_CASE("template: quoted string literals are folded into the text") {
    auto t = compiled("{{ '{{' }}");
    CHECK(t.is_constant());
    CHECK(render_with(t, {}) == "{{");
    t = compiled("a{{ \"}}\" }}b");
    CHECK(t.is_constant());
    CHECK(render_with(t, {}) == "a}}b");
    t = compiled("{{''}}x{{ \"it's\" }}{{ '\"q\"' }}");
    CHECK(t.is_constant());
    CHECK(render_with(t, {}) == "xit's\"q\"");
    t = compiled("{{ '{{' }} page {{ '}}' }} = {{ page }}");
    REQUIRE(t.expressions().size() == 1);
    CHECK(render_with(t, {{"bare:page", "7"}}) == "{{ page }} = 7");
    CHECK(t.source() == "{{ '{{' }} page {{ '}}' }} = {{ page }}");
}

TEST_CASE("template: several expressions, their order and offsets") {
    std::string_view src = "/feed?page={{ page }}&u={{vars.user}}&id={{ data.id }}{{ vu }}";
    auto t = compiled(src);
    CHECK_FALSE(t.is_constant());
    REQUIRE(t.expressions().size() == 4);
    CHECK(t.expressions()[0].kind == root::bare);
    CHECK(t.expressions()[0].offset == 11);
    CHECK(t.expressions()[1].kind == root::vars);
    CHECK(t.expressions()[1].offset == src.find("{{vars"));
    CHECK(t.expressions()[2].kind == root::data);
    CHECK(t.expressions()[2].offset == src.find("{{ data"));
    CHECK(t.expressions()[3].kind == root::vu);
    CHECK(t.expressions()[3].offset == src.rfind("{{"));
    CHECK(t.source() == src);
}

TEST_CASE("template: braces that are not '{{' are text") {
    // a JSON body whose template ends right before the object's closing braces
    auto t = compiled("{\"a\": {\"b\": {{vars.x}}}}");
    REQUIRE(t.expressions().size() == 1);
    CHECK(render_with(t, {{"vars:x", "1"}}) == "{\"a\": {\"b\": 1}}");
    t = compiled("}} {{ x }}} { }");
    CHECK(render_with(t, {{"bare:x", "X"}}) == "}} X} { }");
}

// ------------------------------------------------------------------ templates: errors

TEST_CASE("template: errors carry what was expected, what was found and the offset") {
    struct case_ {
        std::string_view src;
        std::size_t offset;
        std::string_view message;
    };
    const case_ cases[] = {
        // unclosed
        {"abc{{ page", 10, "expected '}}' to close '{{' opened at offset 3, found end of input"},
        {"a {{ x }} b {{ y", 16, "expected '}}' to close '{{' opened at offset 12, found end of input"},
        {"{{ page }", 8, "expected '}}' to close '{{' opened at offset 0, found '}'"},
        {"{{ vars.a\n", 10, "expected '}}' to close '{{' opened at offset 0, found end of input"},
        // empty or not an expression
        {"x{{", 3, "expected an expression after '{{' (a name, a $function or a quoted string), found end of input"},
        {"{{ }}", 3, "expected an expression after '{{' (a name, a $function or a quoted string), found '}}'"},
        {"{{}}", 2, "expected an expression after '{{' (a name, a $function or a quoted string), found '}}'"},
        {"{{ -1 }}", 3, "expected an expression after '{{' (a name, a $function or a quoted string), found '-1'"},
        {"{{ 1 }}", 3, "expected an expression after '{{' (a name, a $function or a quoted string), found '1'"},
        {"{{ {{ x }} }}", 3, "expected an expression after '{{' (a name, a $function or a quoted string), found '{'"},
        {"{{{ x }}}", 2, "expected an expression after '{{' (a name, a $function or a quoted string), found '{'"},
        // stray characters
        {"{{ page extra }}", 8, "expected '}}' to close '{{' opened at offset 0, found 'extra'"},
        {"{{ a + 1 }}", 5, "expected '}}' to close '{{' opened at offset 0, found '+'"},
        {"{{ 'a' 'b' }}", 7, "expected '}}' to close '{{' opened at offset 0, found '''"},
        {"{{ $uuid x }}", 9, "expected '}}' to close '{{' opened at offset 0, found 'x'"},
        {"{{ page\x01 }}", 7, "expected '}}' to close '{{' opened at offset 0, found byte 0x01"},
        {"{{ vu .x }}", 6, "expected '}}' to close '{{' opened at offset 0, found '.'"},
        // roots and paths
        {"{{ vars }}", 8, "expected 'vars.KEY', found '}}'"},
        {"{{ data }}", 8, "expected 'data.COLUMN', found '}}'"},
        {"{{ env }}", 7, "expected 'env.NAME', found '}}'"},
        {"{{ vars. }}", 8, "expected a key or an index after '.', found a space"},
        {"{{ vars.\tb }}", 8, "expected a key or an index after '.', found a tab"},
        {"{{ vars .a }}", 8, "expected 'vars.KEY', found '.'"},
        {"{{ vars.a..b }}", 10, "expected a key or an index after '.', found '.'"},
        {"{{ vars.a.}}", 10, "expected a key or an index after '.', found '}}'"},
        {"{{ user. }}", 8, "expected a key or an index after '.', found a space"},
        {"{{ data.$x }}", 8, "expected a key or an index after '.', found '$'"},
        {"{{ env.1 }}", 7, "expected a variable name after 'env.', found '1'"},
        {"{{ env.A.B }}", 8, "environment variable names have no path, found '.'"},
        {"{{ vu.x }}", 5, "'vu' takes no path, found '.'"},
        {"{{ iter.n }}", 7, "'iter' takes no path, found '.'"},
        {"{{ scenario.name }}", 11, "'scenario' takes no path, found '.'"},
        {"{{ vars.0x }}", 9, "expected '}}' to close '{{' opened at offset 0, found 'x'"},
        // functions
        {"{{ $foo }}", 3, "unknown function '$foo' (expected $uuid, $timestamp, $randomInt or $randomString)"},
        {"{{ $ }}", 3, "unknown function '$' (expected $uuid, $timestamp, $randomInt or $randomString)"},
        {"{{ $UUID }}", 3, "unknown function '$UUID' (expected $uuid, $timestamp, $randomInt or $randomString)"},
        {"{{ $randomInt }}", 14, "expected '(' after $randomInt (it takes 2 arguments (MIN, MAX)), found '}}'"},
        {"{{ $randomString }}", 17, "expected '(' after $randomString (it takes 1 argument (LEN)), found '}}'"},
        {"{{ $randomInt(1) }}", 13, "$randomInt takes 2 arguments (MIN, MAX), found 1"},
        {"{{ $randomInt(1, 2, 3) }}", 13, "$randomInt takes 2 arguments (MIN, MAX), found 3"},
        {"{{ $randomInt() }}", 13, "$randomInt takes 2 arguments (MIN, MAX), found 0"},
        {"{{ $randomString(1, 2) }}", 16, "$randomString takes 1 argument (LEN), found 2"},
        {"{{ $uuid(1) }}", 8, "$uuid takes no arguments, found 1"},
        {"{{ $timestamp(0, 0) }}", 13, "$timestamp takes no arguments, found 2"},
        {"{{ $randomString(x) }}", 17, "expected an integer argument to $randomString, found 'x'"},
        {"{{ $randomString(-) }}", 17, "expected an integer argument to $randomString, found '-'"},
        {"{{ $randomString(12ab) }}", 17, "expected an integer argument to $randomString, found '12ab'"},
        {"{{ $randomString(1.5) }}", 18, "expected ',' or ')' in the arguments of $randomString, found '.'"},
        {"{{ $randomInt(1 2) }}", 16, "expected ',' or ')' in the arguments of $randomInt, found '2'"},
        {"{{ $randomInt(1, }}", 17, "expected an integer argument to $randomInt, found '}}'"},
        {"{{ $randomInt(1, 2 }}", 19, "expected ',' or ')' in the arguments of $randomInt, found '}}'"},
        {"{{ $randomInt(1, 2", 18, "expected ',' or ')' in the arguments of $randomInt, found end of input"},
        {"{{ $randomInt(10, 1) }}", 13, "$randomInt(MIN, MAX): MIN (10) is greater than MAX (1)"},
        {"{{ $randomString(-1) }}", 16, "$randomString(LEN): LEN must be between 0 and 1048576, found -1"},
        {"{{ $randomString(1048577) }}", 16, "$randomString(LEN): LEN must be between 0 and 1048576, found 1048577"},
        {"{{ $randomString(99999999999999999999) }}", 17,
         "integer argument 99999999999999999999 to $randomString is out of range"},
        {"{{ $randomInt(-9223372036854775809, 0) }}", 14,
         "integer argument -9223372036854775809 to $randomInt is out of range"},
        // string literals
        {"{{ 'abc }}", 10, "expected a closing ' for the string opened at offset 3, found end of input"},
        {"x {{ \"abc }} {{ y }}", 20, "expected a closing \" for the string opened at offset 5, found end of input"},
    };
    for (const auto& c : cases) {
        auto e = error_of(c.src);
        INFO("source: " << c.src);
        CHECK(e.message == c.message);
        CHECK(e.offset == c.offset);
    }
}

TEST_CASE("template: a failed compile leaves the previous template in place") {
    text_template t = compiled("ok {{ page }}");
    CHECK_THROWS_AS(t = text_template::compile("bad {{"), loadkit::yaml::load_error);
    CHECK(t.source() == "ok {{ page }}");
    CHECK(render_with(t, {{"bare:page", "1"}}) == "ok 1");
    // and a second compile into the same object replaces it entirely
    REQUIRE_NOTHROW(t = text_template::compile("{{ vu }}"));
    CHECK(t.source() == "{{ vu }}");
    REQUIRE(t.expressions().size() == 1);
    CHECK(t.expressions()[0].kind == root::vu);
}

TEST_CASE("template: error offsets on later lines point into the right line") {
    std::string_view src = "line one\nline two {{ vars.x\n}} {{ $nope }}";
    auto e = error_of(src);
    CHECK(e.offset == src.find("$nope"));
    CHECK(e.message.starts_with("unknown function '$nope'"));
}

// ------------------------------------------------------------------ templates: rendering

TEST_CASE("template: render with a resolver, appending to the output") {
    auto t = compiled("/feed?page={{ page }}&u={{ vars.user }}&q={{ env.QUERY }}&vu={{vu}}-{{iter}}-{{ scenario }}");
    std::map<std::string, std::string> values{{"bare:page", "3"}, {"vars:user", "ann"}, {"env:QUERY", "shoes"},
                                              {"vu:", "12"},      {"iter:", "7"},       {"scenario:", "browse"}};
    CHECK(render_with(t, values) == "/feed?page=3&u=ann&q=shoes&vu=12-7-browse");

    std::string out = "GET ";
    std::vector<root> seen;
    t.render(out, [&](const expression& e, std::string& o) {
        seen.push_back(e.kind);
        o += "x";
    });
    CHECK(out == "GET /feed?page=x&u=x&q=x&vu=x-x-x");
    CHECK(seen == std::vector<root>{root::bare, root::vars, root::env, root::vu, root::iter, root::scenario});

    // a resolver that appends nothing leaves the text around it
    out.clear();
    t.render(out, [](const expression&, std::string&) {});
    CHECK(out == "/feed?page=&u=&q=&vu=--");
}

TEST_CASE("template: a resolver object passed as an lvalue keeps its state") {
    struct counter {
        int calls = 0;
        void operator()(const expression& e, std::string& o) {
            ++calls;
            o += e.path;
        }
    } c;
    auto t = compiled("{{a}}{{b}}{{c}}");
    std::string out;
    t.render(out, c);
    t.render(out, c);
    CHECK(out == "abcabc");
    CHECK(c.calls == 6);
}

TEST_CASE("template: a JSON body template") {
    auto t = compiled(R"({"q": "{{ env.QUERY }}", "n": {{ $randomInt(7, 7) }}, "id": "{{ data.id }}"})");
    std::mt19937_64 rng(1);
    std::string out;
    t.render(out, [&](const expression& e, std::string& o) {
        if (e.kind == root::function) loadkit::yaml::render_function(e, o, rng);
        else if (e.kind == root::env) o += "boots";
        else o += "u-" + e.path;
    });
    CHECK(out == R"({"q": "boots", "n": 7, "id": "u-id"})");
}

TEST_CASE("template: rendering 10000 times into the same string allocates nothing after the first") {
    auto t = compiled("/users/{{ data.id }}/feed?page={{ page }}&vu={{ vu }}&r={{ $randomInt(1, 1000000) }}"
                      "&id={{ $uuid }}&ts={{ $timestamp }}&s={{ $randomString(24) }}&{{ '{{' }}lit}}");
    const std::string values[] = {"user-000042", "17", "3"};
    std::mt19937_64 rng(7);
    std::string out;
    auto resolve = [&](const expression& e, std::string& o) {
        switch (e.kind) {
            case root::data: o.append(values[0]); break;
            case root::bare: o.append(values[1]); break;
            case root::vu: o.append(values[2]); break;
            case root::function: loadkit::yaml::render_function(e, o, rng); break;
            default: break;
        }
    };
    t.render(out, resolve);  // the first: out grows
    std::size_t first_size = out.size();
    CHECK(out.starts_with("/users/user-000042/feed?page=17&vu=3&r="));
    CHECK(out.ends_with("&{{lit}}"));
#if LOADKIT_COUNT_ALLOCATIONS
    std::uint64_t before = allocations_on_this_thread;
    std::size_t total = 0;
    for (int i = 0; i < 10000; ++i) {
        out.clear();
        t.render(out, resolve);
        total += out.size();
    }
    std::uint64_t allocated = allocations_on_this_thread - before;
    CHECK(allocated == 0);
    CHECK(total >= 10000 * (first_size - 6));  // $randomInt varies in width
#else
    WARN("allocation counting is off under AddressSanitizer");
    (void)first_size;
#endif
}

TEST_CASE("template: the counting operator new does count (the test above is not vacuous)") {
#if LOADKIT_COUNT_ALLOCATIONS
    std::uint64_t before = allocations_on_this_thread;
    auto* p = new std::string(100, 'x');
    std::uint64_t after = allocations_on_this_thread;
    delete p;
    CHECK(after - before >= 2);
#else
    SUCCEED("allocation counting is off under AddressSanitizer");
#endif
}

// ------------------------------------------------------------------ templates: functions

namespace {
std::string call(std::string_view src, std::mt19937_64& rng) {
    auto e = only_expression(src);
    std::string out;
    loadkit::yaml::render_function(e, out, rng);
    return out;
}
}  // namespace

TEST_CASE("template: $uuid is a random version 4 UUID") {
    std::mt19937_64 rng(123);
    // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, lower-case hex, V in [89ab]
    auto shape = [](const std::string& u) {
        if (u.size() != 36) return false;
        for (std::size_t i = 0; i < u.size(); ++i) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            char c = u[i];
            if (dash != (c == '-')) return false;
            if (!dash && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        }
        return u[14] == '4' && (u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
    };
    auto e = only_expression("{{ $uuid }}");
    std::set<std::string> seen;
    std::set<char> variants;
    for (int i = 0; i < 1000; ++i) {
        std::string out = "id=";
        loadkit::yaml::render_function(e, out, rng);
        REQUIRE(out.size() == 3 + 36);
        auto u = out.substr(3);
        INFO(u);
        REQUIRE(shape(u));
        variants.insert(u[19]);
        seen.insert(u);
    }
    CHECK(seen.size() == 1000);
    CHECK(variants == std::set<char>{'8', '9', 'a', 'b'});
}

TEST_CASE("template: $timestamp is milliseconds since the Unix epoch") {
    std::mt19937_64 rng(1);
    auto now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    auto before = now_ms();
    auto s = call("{{ $timestamp }}", rng);
    auto after = now_ms();
    REQUIRE(!s.empty());
    CHECK(s.find_first_not_of("0123456789") == std::string::npos);
    auto v = std::stoll(s);
    CHECK(v >= before);
    CHECK(v <= after);
    CHECK(s.size() == 13);  // until the year 2286
}

TEST_CASE("template: $randomInt is uniform over an inclusive range") {
    std::mt19937_64 rng(5);
    auto e = only_expression("{{ $randomInt(1, 3) }}");
    std::map<std::string, int> counts;
    for (int i = 0; i < 3000; ++i) {
        std::string out;
        loadkit::yaml::render_function(e, out, rng);
        ++counts[out];
    }
    REQUIRE(counts.size() == 3);
    for (auto& [v, n] : counts) {
        CHECK((v == "1" || v == "2" || v == "3"));
        CHECK(n > 800);
        CHECK(n < 1200);
    }
    CHECK(call("{{ $randomInt(-5, -5) }}", rng) == "-5");
    for (int i = 0; i < 100; ++i) {
        auto v = std::stoll(call("{{ $randomInt(-10, 10) }}", rng));
        CHECK(v >= -10);
        CHECK(v <= 10);
    }
    auto big = call("{{ $randomInt(-9223372036854775808, 9223372036854775807) }}", rng);
    CHECK(big.find_first_not_of("-0123456789") == std::string::npos);
    CHECK(!big.empty());
}

TEST_CASE("template: $randomString is LEN alphanumerics") {
    std::mt19937_64 rng(9);
    std::set<char> chars;
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        auto s = call("{{ $randomString(32) }}", rng);
        REQUIRE(s.size() == 32);
        for (char c : s) {
            REQUIRE(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')));
            chars.insert(c);
        }
        seen.insert(s);
    }
    CHECK(chars.size() == 62);
    CHECK(seen.size() == 200);
    CHECK(call("{{ $randomString(0) }}", rng).empty());
    CHECK(call("{{ $randomString(1) }}", rng).size() == 1);
    // appends after what is there
    auto e = only_expression("{{ $randomString(4) }}");
    std::string out = "ab";
    loadkit::yaml::render_function(e, out, rng);
    CHECK(out.size() == 6);
    CHECK(out.starts_with("ab"));
}

TEST_CASE("template: the same seed gives the same functions' output") {
    std::mt19937_64 a(77), b(77);
    for (std::string_view src : {"{{ $uuid }}", "{{ $randomInt(0, 1000000) }}", "{{ $randomString(10) }}"})
        CHECK(call(src, a) == call(src, b));
}

TEST_CASE("template: render_function ignores expressions that are not functions") {
    std::mt19937_64 rng(1);
    for (std::string_view src : {"{{ vars.x }}", "{{ page }}", "{{ vu }}", "{{ env.A }}"}) {
        std::string out = "keep";
        loadkit::yaml::render_function(only_expression(src), out, rng);
        CHECK(out == "keep");
    }
}

// ------------------------------------------------------------------ CSV parsing

namespace {
csv_table parsed(std::string_view text) {
    INFO("csv: " << text);
    try {
        return loadkit::yaml::parse_csv(text);
    } catch (const loadkit::yaml::load_error& e) {
        FAIL("line " << e.line << ": " << e.message);
        throw;
    }
}
struct csv_error {
    std::string message;
    std::size_t line;
};
csv_error csv_error_of(std::string_view text) {
    INFO("csv: " << text);
    try {
        loadkit::yaml::parse_csv(text);
    } catch (const loadkit::yaml::load_error& e) {
        CHECK(e.file.empty());
        CHECK(e.column == 1);
        return {e.message, static_cast<std::size_t>(e.line)};
    }
    FAIL("parsed without an error");
    return {};
}
using rows_t = std::vector<std::vector<std::string>>;
using cols_t = std::vector<std::string>;
}  // namespace

TEST_CASE("csv: header and rows, with and without a trailing newline") {
    auto t = parsed("id,name\n1,ann\n2,bob\n");
    CHECK(t.columns == cols_t{"id", "name"});
    CHECK(t.rows == rows_t{{"1", "ann"}, {"2", "bob"}});
    CHECK(t.column("id") == 0);
    CHECK(t.column("name") == 1);
    CHECK(t.column("email") == -1);
    CHECK(t.column("") == -1);
    CHECK(t.column("Name") == -1);
    auto u = parsed("id,name\n1,ann\n2,bob");
    CHECK(u.columns == t.columns);
    CHECK(u.rows == t.rows);
}

TEST_CASE("csv: CRLF, LF and lone CR line endings, mixed") {
    auto t = parsed("a,b\r\n1,2\r\n3,4\r\n");
    CHECK(t.columns == cols_t{"a", "b"});
    CHECK(t.rows == rows_t{{"1", "2"}, {"3", "4"}});
    t = parsed("a,b\r\n1,2\n3,4\r5,6");
    CHECK(t.rows == rows_t{{"1", "2"}, {"3", "4"}, {"5", "6"}});
    t = parsed("a,b\r\n1,2\r\n");
    CHECK(t.rows.size() == 1);
}

TEST_CASE("csv: a UTF-8 byte order mark is skipped") {
    auto t = parsed("\xEF\xBB\xBFid,name\n1,x\n");
    CHECK(t.columns == cols_t{"id", "name"});
    CHECK(t.column("id") == 0);
    CHECK(t.rows == rows_t{{"1", "x"}});
    // only at the very start: elsewhere it is data
    t = parsed("id\n\xEF\xBB\xBFx\n");
    CHECK(t.rows == rows_t{{"\xEF\xBB\xBFx"}});
}

TEST_CASE("csv: quoted fields with commas, doubled quotes and line breaks") {
    auto t = parsed("name,comment\n"
                    "\"Smith, Ann\",\"she said \"\"hi\"\"\"\n"
                    "\"multi\nline\",\"crlf\r\ninside\"\n"
                    "\"\",\"\"\"\"\n"
                    "plain,\"a,b,\"\"c\"\"\"\n");
    CHECK(t.rows == rows_t{{"Smith, Ann", "she said \"hi\""},
                           {"multi\nline", "crlf\r\ninside"},
                           {"", "\""},
                           {"plain", "a,b,\"c\""}});
    auto h = parsed("\"user id\",\"e,mail\"\n1,2\n");
    CHECK(h.columns == cols_t{"user id", "e,mail"});
    CHECK(h.column("e,mail") == 1);
    // a quoted last field without a line break after it
    CHECK(parsed("a,b\n1,\"x\"").rows == rows_t{{"1", "x"}});
    // an empty quoted field is a record of its own (unlike a blank line)
    CHECK(parsed("a\n\"\"\n").rows == rows_t{{""}});
}

TEST_CASE("csv: empty fields, trailing commas and spaces are kept") {
    auto t = parsed("a,b,c\n,,\n1,,3\n x , y ,z \n");
    CHECK(t.rows == rows_t{{"", "", ""}, {"1", "", "3"}, {" x ", " y ", "z "}});
    t = parsed("a,b,\n1,2,\n");
    CHECK(t.columns == cols_t{"a", "b", ""});
    CHECK(t.rows == rows_t{{"1", "2", ""}});
    t = parsed("a,b\n1,");
    CHECK(t.rows == rows_t{{"1", ""}});
}

TEST_CASE("csv: a quote inside an unquoted field is text") {
    auto t = parsed("item,size\nscreen,5\"\nsay,a\"b\"c\n");
    CHECK(t.rows == rows_t{{"screen", "5\""}, {"say", "a\"b\"c"}});
}

TEST_CASE("csv: blank lines are skipped") {
    auto t = parsed("\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n\n");
    CHECK(t.columns == cols_t{"a", "b"});
    CHECK(t.rows == rows_t{{"1", "2"}, {"3", "4"}});
}

TEST_CASE("csv: header only and single-column files") {
    auto t = parsed("a,b\n");
    CHECK(t.columns == cols_t{"a", "b"});
    CHECK(t.rows.empty());
    t = parsed("a,b");
    CHECK(t.columns == cols_t{"a", "b"});
    CHECK(t.rows.empty());
    t = parsed("email\nx@y\nz@w\n");
    CHECK(t.columns == cols_t{"email"});
    CHECK(t.rows == rows_t{{"x@y"}, {"z@w"}});
}

TEST_CASE("csv: empty files are errors") {
    for (std::string_view text : {"", "\xEF\xBB\xBF", "\n", "\r\n\r\n\n"}) {
        auto e = csv_error_of(text);
        CHECK(e.message == "the file is empty: expected a header row");
        CHECK(e.line == 1);
    }
}

TEST_CASE("csv: ragged rows report their line") {
    auto e = csv_error_of("a,b\n1,2\n1,2,3\n");
    CHECK(e.message == "row has 3 fields, the header has 2");
    CHECK(e.line == 3);
    e = csv_error_of("a,b,c\n1,2,3\n\n4\n");
    CHECK(e.message == "row has 1 field, the header has 3");
    CHECK(e.line == 4);
    // lines inside quoted fields count: the bad record starts on line 4
    e = csv_error_of("a,b\n\"x\ny\",1\n1,2,3\n");
    CHECK(e.message == "row has 3 fields, the header has 2");
    CHECK(e.line == 4);
    e = csv_error_of("a,b\r\n\"x\r\ny\r\nz\",1\r\n1\r\n");
    CHECK(e.line == 5);
    // a record spanning lines reports its first line
    e = csv_error_of("a,b\n1,\"multi\nline\",3\n");
    CHECK(e.message == "row has 3 fields, the header has 2");
    CHECK(e.line == 2);
}

TEST_CASE("csv: quoting errors") {
    auto e = csv_error_of("a,b\n1,2\n3,\"never closed\n4,5\n");
    CHECK(e.message == "unterminated quoted field (the quote on line 3 is never closed)");
    CHECK(e.line == 3);
    e = csv_error_of("\"a");
    CHECK(e.line == 1);
    CHECK(e.message == "unterminated quoted field (the quote on line 1 is never closed)");
    e = csv_error_of("a,b\n\"x\"y,2\n");
    CHECK(e.message ==
          "expected ',' or the end of the line after a quoted field's closing quote, found 'y' (a quote inside a "
          "quoted field is written \"\")");
    CHECK(e.line == 2);
    e = csv_error_of("a,b\n\"two\nlines\" ,2\n");
    CHECK(e.line == 3);
}

TEST_CASE("csv: duplicate column names") {
    auto e = csv_error_of("\n\nid,name,id\n1,2,3\n");
    CHECK(e.message == "duplicate column name 'id' in the header (columns 1 and 3)");
    CHECK(e.line == 3);
}

TEST_CASE("csv: a failed parse leaves the table unchanged") {
    csv_table t = parsed("a\n1\n");
    CHECK_THROWS_AS(t = loadkit::yaml::parse_csv("x,y\n1\n"), loadkit::yaml::load_error);
    CHECK(t.columns == cols_t{"a"});
    CHECK(t.rows == rows_t{{"1"}});
    REQUIRE_NOTHROW(t = loadkit::yaml::parse_csv("x,y\n1,2\n"));
    CHECK(t.columns == cols_t{"x", "y"});
    CHECK(t.rows == rows_t{{"1", "2"}});
}

TEST_CASE("csv: load_csv reads a file, and reports one it cannot open") {
    auto dir = std::filesystem::temp_directory_path();
    auto path = (dir / ("loadkit_yaml_text_" + std::to_string(::getpid()) + ".csv")).string();
    {
        std::ofstream f(path, std::ios::binary);
        f << "\xEF\xBB\xBFuser,pass\r\nann,\"p,1\"\r\nbob,p2\r\n";
    }
    csv_table t;
    try {
        t = loadkit::yaml::load_csv(path);
    } catch (const loadkit::config_error& e) {
        FAIL(e.what());
    }
    std::filesystem::remove(path);
    CHECK(t.columns == cols_t{"user", "pass"});
    CHECK(t.rows == rows_t{{"ann", "p,1"}, {"bob", "p2"}});

    // a file that cannot be read: a config_error with the reason, no position
    std::string missing = (dir / "loadkit_yaml_text_no_such_dir" / "users.csv").string();
    try {
        t = loadkit::yaml::load_csv(missing);
        FAIL("no error");
    } catch (const loadkit::yaml::load_error& e) {
        FAIL("a load_error: " << e.what());
    } catch (const loadkit::config_error& e) {
        CHECK(std::string(e.what()) == "cannot open '" + missing + "': No such file or directory");
    }
    // an error inside the file has its line
    {
        std::ofstream f(path, std::ios::binary);
        f << "a,b\n1\n";
    }
    try {
        t = loadkit::yaml::load_csv(path);
        FAIL("no error");
    } catch (const loadkit::yaml::load_error& e) {
        CHECK(e.file == path);
        CHECK(e.line == 2);
        CHECK(std::string(e.what()) == path + ":2:1: row has 1 field, the header has 2");
    }
    std::filesystem::remove(path);
    CHECK(t.columns == cols_t{"user", "pass"});  // unchanged
}

// ------------------------------------------------------------------ feeders

namespace {
std::shared_ptr<const csv_table> numbered(std::size_t n) {
    auto t = std::make_shared<csv_table>();
    t->columns = {"n"};
    for (std::size_t i = 0; i < n; ++i) t->rows.push_back({std::to_string(i)});
    return t;
}
std::size_t index_of(const feeder& f, const std::vector<std::string>* row) {
    REQUIRE(row != nullptr);
    auto i = static_cast<std::size_t>(row - f.table().rows.data());
    REQUIRE(i < f.table().rows.size());
    return i;
}
}  // namespace

TEST_CASE("feeder: feed modes by name") {
    feed_mode m = feed_mode::random;
    CHECK(loadkit::yaml::parse_feed_mode("sequential", m));
    CHECK(m == feed_mode::sequential);
    CHECK(loadkit::yaml::parse_feed_mode("unique", m));
    CHECK(m == feed_mode::unique);
    CHECK(loadkit::yaml::parse_feed_mode("random", m));
    CHECK(m == feed_mode::random);
    CHECK_FALSE(loadkit::yaml::parse_feed_mode("Random", m));
    CHECK_FALSE(loadkit::yaml::parse_feed_mode("", m));
    CHECK(m == feed_mode::random);
    CHECK(std::string(loadkit::yaml::to_string(feed_mode::unique)) == "unique");
    CHECK(std::string(loadkit::yaml::to_string(feed_mode::sequential)) == "sequential");
    CHECK(std::string(loadkit::yaml::to_string(feed_mode::random)) == "random");
}

TEST_CASE("feeder: a null table is refused, a table without rows gives none") {
    CHECK_THROWS_AS(feeder(nullptr, feed_mode::sequential), std::invalid_argument);
    auto empty = std::make_shared<const csv_table>(parsed("a,b\n"));
    for (auto m : {feed_mode::sequential, feed_mode::random, feed_mode::unique}) {
        feeder f(empty, m);
        CHECK(f.mode() == m);
        CHECK(&f.table() == empty.get());
        for (int i = 0; i < 3; ++i) CHECK(f.next() == nullptr);
    }
}

TEST_CASE("feeder: sequential hands out rows in order, wrapping around") {
    feeder f(numbered(3), feed_mode::sequential);
    std::vector<std::size_t> got;
    for (int i = 0; i < 8; ++i) got.push_back(index_of(f, f.next()));
    CHECK(got == std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0, 1});
    auto* row = f.next();
    REQUIRE(row);
    CHECK((*row)[0] == "2");
}

TEST_CASE("feeder: sequential across 4 threads shares one order") {
    feeder f(numbered(4), feed_mode::sequential);
    constexpr int per_thread = 3000;
    std::vector<std::vector<std::size_t>> counts(4, std::vector<std::size_t>(4));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                auto* r = f.next();
                if (r) ++counts[t][static_cast<std::size_t>(r - f.table().rows.data())];
            }
        });
    for (auto& th : threads) th.join();
    // 12000 calls over 4 rows: each row exactly 3000 times, whoever asked
    for (std::size_t row = 0; row < 4; ++row) {
        std::size_t total = 0;
        for (int t = 0; t < 4; ++t) total += counts[t][row];
        CHECK(total == per_thread);
    }
    // and the next call continues the shared order
    CHECK(index_of(f, f.next()) == 0);
}

TEST_CASE("feeder: random picks every row, roughly uniformly, from any thread") {
    feeder f(numbered(10), feed_mode::random);
    constexpr int per_thread = 25000;
    std::vector<std::vector<std::size_t>> counts(4, std::vector<std::size_t>(10));
    std::vector<std::thread> threads;
    std::atomic<int> nulls{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                auto* r = f.next();
                if (!r) {
                    ++nulls;
                    continue;
                }
                ++counts[t][static_cast<std::size_t>(r - f.table().rows.data())];
            }
        });
    for (auto& th : threads) th.join();
    CHECK(nulls == 0);
    for (std::size_t row = 0; row < 10; ++row) {
        std::size_t total = 0;
        for (int t = 0; t < 4; ++t) total += counts[t][row];
        CHECK(total > 9000);  // expected 10000, sd about 95
        CHECK(total < 11000);
    }
    // each thread alone also sees every row (its own generator is not stuck)
    for (int t = 0; t < 4; ++t) CHECK(std::count(counts[t].begin(), counts[t].end(), std::size_t{0}) == 0);
}

TEST_CASE("feeder: unique hands each row out once, in order, then none") {
    feeder f(numbered(5), feed_mode::unique);
    for (std::size_t i = 0; i < 5; ++i) CHECK(index_of(f, f.next()) == i);
    for (int i = 0; i < 10; ++i) CHECK(f.next() == nullptr);
}

TEST_CASE("feeder: unique across 4 threads runs out after exactly N rows, none twice") {
    constexpr std::size_t n = 20000;
    feeder f(numbered(n), feed_mode::unique);
    std::vector<std::vector<std::size_t>> got(4);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            while (!go.load()) std::this_thread::yield();
            // bounded: at most n + a few calls in all before every thread sees nullptr
            for (std::size_t i = 0; i < n + 1; ++i) {
                auto* r = f.next();
                if (!r) break;
                got[t].push_back(static_cast<std::size_t>(r - f.table().rows.data()));
            }
            // once used up, it stays used up
            for (int i = 0; i < 100; ++i)
                if (f.next()) got[t].push_back(n);  // impossible index: fails the checks below
        });
    go = true;
    for (auto& th : threads) th.join();
    std::set<std::size_t> seen;
    std::size_t handed = 0;
    for (auto& g : got) {
        handed += g.size();
        seen.insert(g.begin(), g.end());
        CHECK(std::is_sorted(g.begin(), g.end()));  // each thread's share comes in file order
    }
    CHECK(handed == n);
    CHECK(seen.size() == n);
    CHECK(*seen.begin() == 0);
    CHECK(*seen.rbegin() == n - 1);
    CHECK(f.next() == nullptr);
}

}  // namespace LOADKIT_TEST_UNIT
