#pragma once
// k6/metrics: Counter, Gauge, Rate and Trend (classes in JavaScript, below) over
// two natives; a sample is a metric_op for the worker (bridge.hpp).
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../core/config.hpp"
#include "../../metrics/registry.hpp"
#include "../../runtime/custom_metrics.hpp"
#include "../bridge.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::metrics_module {

namespace ld = loadkit::detail;

inline bool read_tags(instance& self, JS::HandleValue v, std::vector<std::pair<std::string, std::string>>& out) {
    JSContext* cx = self.cx;
    if (!v.isObject()) return true;
    JS::RootedObject o(cx, &v.toObject());
    return self.for_each_string(
        o, [&](std::string k, std::string val) { out.emplace_back(std::move(k), std::move(val)); });
}

inline bool n_metric(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto name = to_utf8(cx, args.get(0));
    int kind = args.get(1).isInt32() ? args.get(1).toInt32() : 0;
    try {
        auto id = ld::metric_registry::get().add(name, static_cast<metric_kind>(kind), JS::ToBoolean(args.get(2)));
        args.rval().setNumber(static_cast<double>(id));
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
    return true;
}
inline bool n_metric_add(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    metric_op op{metric_op::sample};
    op.metric = static_cast<std::uint32_t>(args.get(0).toNumber());
    op.metric_kind_ = static_cast<metric_kind>(args.get(1).toInt32());
    op.flag = JS::ToBoolean(args.get(4));
    if (!JS::ToNumber(cx, args.get(2), &op.value)) return false;
    if (!read_tags(self, args.get(3), op.tags)) return false;
    self.push(std::move(op));
    args.rval().setUndefined();
    return true;
}

// metric (a custom metric's id, made once per name) and metricAdd (a sample).
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {JS_FN("metric", &n_metric, 3, 0), JS_FN("metricAdd", &n_metric_add, 4, 0),
                                             JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// k6/metrics' API in JavaScript over the natives above: the metric
// classes, statements in the prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
class Metric {
  constructor(name, isTime, kind) {
    Object.defineProperty(this, 'name', { value: String(name), enumerable: true });
    Object.defineProperty(this, '__id', { value: lk.metric(String(name), kind, !!isTime) });
    Object.defineProperty(this, '__kind', { value: kind });
    Object.defineProperty(this, '__time', { value: !!isTime });
  }
  add(value, tags) {
    if (userTags.size) tags = Object.assign({}, userTags.get(g.__VU), tags);
    lk.metricAdd(this.__id, this.__kind, typeof value === 'boolean' ? (value ? 1 : 0) : +value, tags, this.__time);
    return true;
  }
}
class Counter extends Metric { constructor(name) { super(name, false, 0); } }
class Gauge extends Metric { constructor(name) { super(name, false, 1); } }
class Rate extends Metric { constructor(name) { super(name, false, 2); } }
class Trend extends Metric { constructor(name, isTime) { super(name, isTime, 3); } }
hide('Counter', Counter);
hide('Gauge', Gauge);
hide('Rate', Rate);
hide('Trend', Trend);
)JS";
// What __loadkit.modules['k6/metrics'] is.
inline constexpr std::string_view module_object =
    "{ Counter, Gauge, Rate, Trend, default: { Counter, Gauge, Rate, Trend } }";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::metrics_module

#pragma GCC diagnostic pop
