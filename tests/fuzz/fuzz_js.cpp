// libFuzzer target: the JavaScript source transform (js/transform.hpp) on
// arbitrary text as a k6 script's main module. The transform parses the
// script with SpiderMonkey's Reflect.parse, rewrites blocking calls to await
// and compiles the result; any script, valid or not, must end in a rewrite or
// a fallback with a reason (prog.transform_note): never a crash, a sanitizer
// report in loadkit's C++ or an exception. SpiderMonkey itself is Debian's
// (not instrumented), so coverage comes from loadkit's side and from the
// dictionary (tests/fuzz/js.dict) and seeds (real k6 scripts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <loadkit/js/context.hpp>
#include <loadkit/js/transform.hpp>

namespace {

struct fixture {
    JSContext* cx = nullptr;
    std::filesystem::path dir, main;
    fixture() {
        loadkit::js::detail::init_process();
        cx = JS_NewContext(loadkit::js::detail::heap_max_bytes);
        if (!cx) std::abort();
        loadkit::js::detail::setup_context(cx, 4u << 20);
        // the interpreter only: the JIT's code is not instrumented, and this
        // is what the C++ around it sees either way
        loadkit::js::detail::set_jit(cx, false);
        dir = std::filesystem::temp_directory_path() / ("loadkit-fuzz-js-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        main = dir / "script.js";
    }
    ~fixture() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fixture f;
    {
        std::ofstream out(f.main, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    loadkit::js::detail::program prog;
    prog.main = f.main;
    prog.dir = f.dir;
    prog.parent = JS_GetRuntime(f.cx);
    try {
        loadkit::js::detail::transform_program(f.cx, prog);
    } catch (...) {
        std::abort();  // the transform reports by transform_note, never throws
    }
    if (!prog.transformed && prog.transform_note.empty()) std::abort();  // a fallback says why
    if (prog.transformed && prog.sources.find(f.main.string()) == prog.sources.end()) std::abort();
    if (JS_IsExceptionPending(f.cx)) std::abort();  // nothing left behind for the next script
    {
        std::lock_guard lock(prog.mu);
        prog.modules.clear();
    }
    static unsigned runs = 0;
    if (++runs % 64 == 0) JS_GC(f.cx);  // the fallback realms otherwise pile up between runs
    return 0;
}
