#pragma once
// The script, shared by all threads: its modules compiled once to stencils
// (the user's files, the k6/* modules and the prelude), and what the init
// context learnt of it (exports, options, setup's data).
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/file.hpp"
#include "errors.hpp"
#include "jslib/jslib.hpp"
#include "prelude.hpp"
#include "spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

// The path of one of the script's own modules that `spec` names from a
// module in `base_dir` (./x.js, ../x.js, /x.js), or nothing: k6/* and
// anything else are not files. The loader and the rewrite (transform.hpp)
// both name modules this way, so they agree on which file is which.
inline std::optional<std::string> user_module_path(const std::filesystem::path& base_dir, std::string_view spec) {
    if (!(spec.starts_with("./") || spec.starts_with("../") || spec.starts_with("/"))) return std::nullopt;
    auto path = spec.starts_with("/") ? std::filesystem::path(spec) : (base_dir / spec);
    return path.lexically_normal().string();
}

// --- the script, shared by all threads ----------------------------------

// Compiled once: every module of the script (the user's files and the k6/*
// modules) as stencils, which every VU's runtime instantiates.
struct program {
    std::filesystem::path main;
    std::filesystem::path dir;
    std::map<std::string, std::string, std::less<>> env;  // -e values, for the init context's __ENV

    std::mutex mu;
    std::map<std::string, RefPtr<JS::Stencil>, std::less<>> modules;  // by absolute path or k6/* name
    RefPtr<JS::Stencil> prelude;

    JSRuntime* parent = nullptr;
    // The modules rewritten to await instead of block (transform.hpp), by
    // path; `transformed` when the whole program was, else why not.
    std::map<std::string, std::string, std::less<>> sources;
    bool transformed = false;
    std::string transform_note;
    // Whether the async VUs of a thread share the instances of the user's
    // modules (transform.hpp decides), else why not.
    bool shared_modules = false;
    std::string share_note;
    std::set<std::string, std::less<>> functions;        // exported functions of the main module
    std::set<std::string, std::less<>> async_functions;  // those that are async functions
    nlohmann::json options;                              // the exported options, or null
    std::string setup_json = "null";                     // what setup() returned, as JSON
    // k6's exec.test.options: the exported options as the run uses them (the
    // vus/duration/iterations/stages shortcuts turned into scenarios), JSON
    std::string test_options = "{}";

    bool exports(std::string_view name) const { return functions.find(name) != functions.end(); }

    // The stencil for a module, compiled on first use with the calling context.
    // `names`: what the k6/* module `key` exports (modules.hpp's table), or
    // null for a file of the script.
    JS::Stencil* module(JSContext* cx, const std::string& key, const std::vector<std::string>* names) {
        std::lock_guard lock(mu);
        if (auto it = modules.find(key); it != modules.end()) return it->second.get();
        std::string source;
        bool builtin = false;
        if (names) {
            source = builtin_module_source(key, *names);
            builtin = true;
        } else if (auto* jslib_source = jslib::module_source(key)) {  // a jslib.k6.io library (jslib/)
            source = *jslib_source;
            builtin = true;
        }
        if (auto it = sources.find(key); !builtin && it != sources.end()) {
            source = it->second;
        } else if (!builtin) {
            std::string why;  // a regular file within the limit (not /dev/zero)
            if (!loadkit::detail::read_input_file(key, loadkit::detail::max_test_file_bytes, source, why)) {
                throw_error(cx, "cannot load module: " + why);
                return nullptr;
            }
        }
        JS::CompileOptions opts(cx);
        opts.setFileAndLine(key.c_str(), 1);
        JS::SourceText<mozilla::Utf8Unit> text;
        if (!text.init(cx, source.data(), source.size(), JS::SourceOwnership::Borrowed)) return nullptr;
        RefPtr<JS::Stencil> st = JS::CompileModuleScriptToStencil(cx, opts, text);
        if (!st) return nullptr;
        return (modules[key] = std::move(st)).get();
    }
    // `source`: the prelude (modules.hpp's prelude_source), which outlives
    // the stencil.
    JS::Stencil* prelude_stencil(JSContext* cx, std::string_view source) {
        std::lock_guard lock(mu);
        if (prelude) return prelude.get();
        JS::CompileOptions opts(cx);
        opts.setFileAndLine("loadkit:prelude", 1);
        JS::SourceText<mozilla::Utf8Unit> text;
        if (!text.init(cx, source.data(), source.size(), JS::SourceOwnership::Borrowed)) return nullptr;
        prelude = JS::CompileGlobalScriptToStencil(cx, opts, text);
        return prelude.get();
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
