// libFuzzer target: the YAML loader on arbitrary bytes. Any input must end in
// a plan or a load_error/config_error: never a crash, a hang, an uncaught
// exception or a sanitizer report. (scripts/fuzz builds and runs it.)
#include <cstddef>
#include <cstdint>
#include <string>

#include <loadkit/yaml/loader.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto plan = loadkit::yaml::load_string(text, "/nonexistent/fuzz.yaml");
        (void)plan;
    } catch (const loadkit::config_error&) {
        // expected: every mistake is a config_error with a position
    }
    return 0;
}
