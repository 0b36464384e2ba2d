#pragma once
// The jslib.k6.io libraries loadkit serves itself (it never downloads a
// module): the versioned URLs k6 scripts import, mapped to built-in module
// sources (k6_summary.hpp, k6_utils.hpp), and the message for any other
// remote import, which says how to vendor the file.
#include <optional>
#include <algorithm>
#include <string>
#include <string_view>

#include "../../core/config.hpp"
#include "k6_summary.hpp"
#include "k6_utils.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::jslib {

// The module key (as the loader and program.hpp name modules) of a jslib
// URL loadkit serves, or nothing: https://jslib.k6.io/k6-summary/0.x.y/index.js
// and https://jslib.k6.io/k6-utils/1.x.y/index.js, every version of those
// major lines (their functions did not change meaning across them).
inline std::optional<std::string> module_key(std::string_view spec) {
    constexpr std::string_view host = "https://jslib.k6.io/", tail = "/index.js";
    if (!spec.starts_with(host) || !spec.ends_with(tail)) return std::nullopt;
    spec = spec.substr(host.size(), spec.size() - host.size() - tail.size());  // "k6-utils/1.4.0"
    auto slash = spec.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto lib = spec.substr(0, slash), version = spec.substr(slash + 1);
    int parts = 0;  // MAJOR.MINOR.PATCH, digits only
    for (std::size_t at = 0; at <= version.size(); ++parts) {
        auto dot = std::min(version.find('.', at), version.size());
        if (dot == at) return std::nullopt;
        for (auto c : version.substr(at, dot - at))
            if (c < '0' || c > '9') return std::nullopt;
        at = dot + 1;
    }
    if (parts != 3) return std::nullopt;
    auto major = version.substr(0, version.find('.'));
    if ((lib == "k6-summary" && major == "0") || (lib == "k6-utils" && major == "1"))
        return "loadkit:jslib/" + std::string(lib) + "@" + std::string(major);
    return std::nullopt;
}

// The source of a module key from module_key(), or null.
inline const std::string_view* module_source(std::string_view key) {
    if (key == "loadkit:jslib/k6-summary@0") return &k6_summary_source;
    if (key == "loadkit:jslib/k6-utils@1") return &k6_utils_source;
    return nullptr;
}

inline bool is_remote(std::string_view spec) { return spec.starts_with("https://") || spec.starts_with("http://"); }

// Why a remote import fails, and what to do instead.
inline std::string remote_import_message(std::string_view spec) {
    std::string s(spec);
    auto slash = s.find_last_of('/');
    std::string file = slash == std::string::npos || slash + 1 == s.size() ? "module.js" : s.substr(slash + 1);
    if (auto q = file.find_first_of("?#"); q != std::string::npos) file.resize(q);
    if (file.empty()) file = "module.js";
    return "cannot import '" + s +
           "': loadkit never downloads modules. Vendor the file: download it once (curl -fsSL -o " + file + " '" + s +
           "'), keep it next to the script and import it by its relative path ('./" + file +
           "'). Built in: https://jslib.k6.io/k6-summary/0.x.x/index.js and https://jslib.k6.io/k6-utils/1.x.x/index.js";
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::jslib
