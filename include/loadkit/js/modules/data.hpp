#pragma once
// k6/data: SharedArray, written in JavaScript (one array per realm and name,
// deeply frozen); it needs no native, so its row in the table (modules.hpp)
// has no install function. A native part would go here.
#include <string_view>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::data_module {

// k6/data's API in JavaScript: SharedArray, statements in the prelude's
// scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
// k6/data's SharedArray: the callback runs once per realm (one per worker
// thread for async VUs, so once per thread instead of once per VU); its
// array is deeply frozen and shared, by name, as in k6.
const sharedArrays = new Map();
class SharedArray {
  constructor(name, fn) {
    const key = String(name);
    if (sharedArrays.has(key)) return sharedArrays.get(key);
    if (typeof fn !== 'function') throw new TypeError('SharedArray: a function is expected as the second argument');
    const a = fn();
    if (!Array.isArray(a)) throw new TypeError('SharedArray: the callback must return an array');
    sharedArrays.set(key, deepFreeze(a));
    return a;
  }
}
hide('SharedArray', SharedArray);
)JS";
// What __loadkit.modules['k6/data'] is.
inline constexpr std::string_view module_object = "{ SharedArray, default: { SharedArray } }";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::data_module
