#pragma once
// What a k6 module file (modules/*.hpp) gives the table (modules.hpp): its
// natives, installed on the `__lk` object, its JavaScript over them (a part
// of the prelude, prelude.hpp), and any globals of its own.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "spidermonkey.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

// What the realm being made tells the install functions.
struct install_args {
    bool async_mode;                // the realm runs async VUs (async.hpp)
    const nlohmann::json& options;  // the script's exported options, or null
};

// One row of the table: a k6 module, or globals that no import names.
struct module_entry {
    // The import name ("k6/http"); empty for globals (console, open, __ENV).
    std::string_view name;
    // What `import` gives: names of the prelude's __loadkit.modules[name].
    std::vector<std::string> exports;
    // Its k6 API in JavaScript, over its natives: statements run in the
    // prelude's scope (prelude.hpp) after the shared helpers and the rows
    // before it; they hide() the module's globals (empty: none).
    std::string_view javascript;
    // The expression, in that scope, that __loadkit.modules[name] is (the
    // object whose `exports` import takes); empty for globals.
    std::string_view module_object;
    // Its natives on __lk, before the prelude runs (null: none).
    bool (*install)(JSContext* cx, JS::HandleObject lk, const install_args& args) = nullptr;
    // Its globals, after the prelude has run (null: none).
    bool (*define_globals)(JSContext* cx, JS::HandleObject global) = nullptr;
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail
