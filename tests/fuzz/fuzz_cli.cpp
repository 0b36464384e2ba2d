// libFuzzer target: the runner's command line (runner/cli.hpp) on arbitrary
// argv. The input is split at NUL bytes into the arguments after "loadkit";
// parsing and checking every flag's value must end in "go on" or an exit
// code with a message: never a crash, a hang, an uncaught exception or a
// sanitizer report. Nothing is run: no file is read, no load is sent.
// (scripts/fuzz builds and runs it.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args{"loadkit"};
    std::string cur;
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            args.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    if (!cur.empty()) args.push_back(cur);
    if (args.size() > 64) return 0;  // the command line, not a stress test of CLI11
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);

    loadkit::runner::command_line cl;
    std::ostringstream out, err;
    auto code = cl.parse(static_cast<int>(args.size()), argv.data(), out, err);
    if (code) {
        // a mistake is exit 2 and says something; help and --version are 0
        if (*code != 0 && *code != loadkit::runner::usage_exit) __builtin_trap();
        if (*code == loadkit::runner::usage_exit && err.str().empty()) __builtin_trap();
        return 0;
    }
    // went on: exactly one subcommand (CLI11's own list of what was parsed,
    // so a subcommand added to the runner is covered without naming it here)
    const auto subs = cl.app.get_subcommands();
    if (subs.empty() || std::any_of(subs.begin(), subs.end(), [&](auto* s) { return s != subs.front(); }))
        __builtin_trap();
    if (*cl.compare_cmd && cl.cf.files.size() < 2) __builtin_trap();  // BASE and at least one NEW
    auto& r = cl.run;
    if (r.vus && *r.vus < 1) __builtin_trap();
    if (r.iterations && *r.iterations < 1) __builtin_trap();
    if (r.duration && r.duration->count() <= 0) __builtin_trap();
    if (r.threads < 0 || r.threads > loadkit::runner::max_threads()) __builtin_trap();
    return 0;
}
