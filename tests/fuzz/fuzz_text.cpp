// libFuzzer target: the {{ }} template compiler and renderer, and the CSV
// parser, on arbitrary bytes. Errors must come with an offset inside the
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
    loadkit::yaml::text_template t;
    std::string error;
    std::size_t offset = 0;
    if (loadkit::yaml::text_template::compile(text, t, error, offset)) {
        std::mt19937_64 rng(size);
        std::string out;
        t.render(out, [&](const loadkit::yaml::expression& e, std::string& o) {
            if (e.kind == loadkit::yaml::expression::root::function) loadkit::yaml::render_function(e, o, rng);
            else o += e.path;
        });
    } else if (error.empty() || offset > size) {
        std::abort();  // a mistake must say what and where
    }
    loadkit::yaml::csv_table table;
    std::size_t line = 0;
    if (!loadkit::yaml::parse_csv(text, table, error, line)) {
        if (error.empty()) std::abort();
    } else {
        for (auto& row : table.rows)
            if (row.size() != table.columns.size()) std::abort();  // ragged rows are errors
    }
    return 0;
}
