// libFuzzer target: the {{ }} template compiler and renderer, and the CSV
// parser, on arbitrary bytes. Errors must come with a position inside the
// input; rendering a compiled template must never fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include <loadkit/plan/csv.hpp>
#include <loadkit/plan/template.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    // A mistake is a load_error at a line and column of the input.
    auto inside = [&](const loadkit::yaml::load_error& e) {
        if (e.message.empty() || e.line < 1 || e.column < 1) return false;
        std::size_t start = 0;
        for (int line = 1; line < e.line; ++line) {
            start = text.find('\n', start);
            if (start == std::string_view::npos) return false;
            ++start;
        }
        return start + static_cast<std::size_t>(e.column - 1) <= size;
    };
    try {
        auto t = loadkit::yaml::text_template::compile(text);
        std::mt19937_64 rng(size);
        std::string out;
        t.render(out, [&](const loadkit::yaml::expression& e, std::string& o) {
            if (e.kind == loadkit::yaml::expression::root::function) loadkit::yaml::render_function(e, o, rng);
            else o += e.path;
        });
    } catch (const loadkit::yaml::load_error& e) {
        if (!inside(e)) std::abort();  // a mistake must say what and where
    }
    try {
        auto table = loadkit::yaml::parse_csv(text);
        for (auto& row : table.rows)
            if (row.size() != table.columns.size()) std::abort();  // ragged rows are errors
    } catch (const loadkit::yaml::load_error& e) {
        if (e.message.empty()) std::abort();
    }
    return 0;
}
