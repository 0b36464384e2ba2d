// Must NOT compile (tests/CMakeLists.txt checks the message): a
// handle_summary whose return value is not a report (summary_handler.hpp).
#include <loadkit.hpp>

int main() {
    struct not_a_report {};
    loadkit::options o;
    o.handle_summary = [](const nlohmann::json&) { return not_a_report{}; };
}
