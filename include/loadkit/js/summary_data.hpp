#pragma once
// handleSummary(data) for both the seed and k6 (script.hpp calls it).
//
// `data` is one object that reads both ways:
//   - the seed's summary: name, run_id, started_ms, ended_ms, duration_secs,
//     scenarios, checks, thresholds, thresholds_passed, aborted, and
//     data.metrics.find(m => m.metric === 'http_reqs').agg.sum: data.metrics
//     has the seed's array methods (find, filter, map, forEach, some, every,
//     reduce, slice, at, ...), length, [i] and for...of over the seed's
//     entries {metric, kind, agg}, none of them enumerable;
//   - k6's: data.metrics.http_req_duration.values['p(95)'] (type, contains,
//     values, thresholds: its enumerable keys are the metric names),
//     data.root_group, data.state, data.options, data.setup_data.
// So JSON.stringify(data) (what k6 scripts write to a file) prints k6's
// metrics object, plus the seed's other fields; Array.isArray(data.metrics)
// is false (differs from the seed, which shows an array).
//
// What handleSummary returns (classify below):
//   - null/undefined: the default console summary;
//   - a string: printed instead of the default summary (the seed's rule);
//   - an object whose values are all strings or ArrayBuffers (typed arrays
//     too): k6's output map. 'stdout' is printed, 'stderr' goes to stderr,
//     any other key is a file path (relative to the working directory; its
//     folder is made) written with the value; no default summary ({} prints
//     nothing), as in k6;
//   - anything else: the seed's JSON report, pretty-printed instead of the
//     default summary, with data (or data.metrics) inside it in the seed's
//     shape: the metrics as the seed's array, without k6's root_group,
//     options, state and setup_data.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/summary.hpp"
#include "../metrics/registry.hpp"
#include "crypto.hpp"
#include "errors.hpp"
#include "instance.hpp"
#include "jslib/k6_summary.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js {

// How handleSummary's data.options describe trends (k6's summaryTrendStats,
// summaryTimeUnit and noColor), and which trend values data.metrics.X.values
// holds. The command line sets them (--summary-trend-stats,
// --summary-time-unit, --no-color); what it leaves unset comes from the
// script's exported options, then k6's defaults.
struct summary_options {
    std::vector<std::string> trend_stats;  // empty: options.summaryTrendStats, else default_trend_stats()
    std::string time_unit;                 // empty: options.summaryTimeUnit, else "" (automatic, as k6)
    std::optional<bool> no_color;          // unset: options.noColor, else false
};

// k6's default summaryTrendStats: the engine's (loadkit::summary_options), one list.
inline const std::vector<std::string>& default_trend_stats() {
    static const std::vector<std::string> stats = loadkit::summary_options{}.trend_stats;
    return stats;
}

}  // namespace loadkit::inline LOADKIT_ABI::js

namespace loadkit::inline LOADKIT_ABI::js::detail {

// summary_options with the script's options and the defaults applied.
struct summary_view {
    std::vector<std::string> trend_stats;
    std::string time_unit;
    bool no_color = false;
    std::string setup_json = "null";  // setup()'s data; "null" also when there was no setup()
    bool has_setup = false, has_teardown = false;
};

inline summary_view resolve_summary_view(const summary_options& o, const nlohmann::json& script_options) {
    summary_view v;
    v.trend_stats = o.trend_stats;
    v.time_unit = o.time_unit;
    auto opt = [&](const char* k) -> const nlohmann::json* {
        if (!script_options.is_object()) return nullptr;
        auto it = script_options.find(k);
        return it == script_options.end() ? nullptr : &*it;
    };
    if (v.trend_stats.empty())
        if (auto* s = opt("summaryTrendStats"); s && s->is_array())
            for (auto& x : *s)
                if (x.is_string()) v.trend_stats.push_back(x.get<std::string>());
    if (v.trend_stats.empty()) v.trend_stats = default_trend_stats();
    if (v.time_unit.empty())
        if (auto* s = opt("summaryTimeUnit"); s && s->is_string()) v.time_unit = s->get<std::string>();
    if (o.no_color) v.no_color = *o.no_color;
    else if (auto* s = opt("noColor"); s && s->is_boolean()) v.no_color = s->get<bool>();
    return v;
}

// A trend's value for one of k6's trend stats (avg, min, med, max, count,
// p(N)), from the seed's aggregate; nothing when the aggregate does not
// hold it (a percentile other than the summary's p50/p90/p95/p99 and those
// it was asked to keep: "p(99.9)" is read from agg["p99.9"]).
inline std::optional<double> trend_stat(const nlohmann::json& agg, std::string_view stat) {
    auto get = [&](const std::string& k) -> std::optional<double> {
        auto it = agg.find(k);
        if (it == agg.end() || !it->is_number()) return std::nullopt;
        return it->get<double>();
    };
    if (stat == "avg" || stat == "min" || stat == "med" || stat == "max" || stat == "count")
        return get(std::string(stat));
    if (stat.starts_with("p(") && stat.ends_with(")")) {
        auto n = stat.substr(2, stat.size() - 3);
        if (n == "50") return get("med");
        return get("p" + std::string(n));
    }
    return std::nullopt;
}

inline std::string md5_hex(std::string_view s) { return hex(digest("md5", s)); }

// k6's root_group from the seed's check rows: nested groups by path, each
// {name, path, id, groups, checks}, a check {name, path, id, passes, fails};
// ids are the MD5 of the path, as k6's. Groups and checks come in path and
// name order (k6: the order they first ran), except that k6's "setup" and
// "teardown" groups, there whenever the script has those functions, come
// first and last; a group that made requests but ran no check is not there
// (the summary keeps groups by their checks).
inline nlohmann::json k6_root_group(const nlohmann::json& checks, bool setup = false, bool teardown = false) {
    auto group = [](std::string name, std::string path) {
        auto id = md5_hex(path);
        return nlohmann::json{{"name", std::move(name)},
                              {"path", std::move(path)},
                              {"id", std::move(id)},
                              {"groups", nlohmann::json::array()},
                              {"checks", nlohmann::json::array()}};
    };
    nlohmann::json root = group("", "");
    if (!checks.is_array()) return root;
    for (auto& c : checks) {
        if (!c.is_object()) continue;
        std::string path, rest = c.value("group", std::string());
        nlohmann::json* g = &root;
        while (rest.starts_with("::")) {
            auto next = rest.find("::", 2);
            std::string name = rest.substr(2, next == std::string::npos ? std::string::npos : next - 2);
            rest = next == std::string::npos ? std::string() : rest.substr(next);
            path += "::" + name;
            nlohmann::json* found = nullptr;
            for (auto& sub : (*g)["groups"])
                if (sub["name"] == name) found = &sub;
            if (!found) {
                (*g)["groups"].push_back(group(name, path));
                found = &(*g)["groups"].back();
            }
            g = found;
        }
        auto name = c.value("name", std::string());
        auto cpath = path + "::" + name;
        auto id = md5_hex(cpath);
        (*g)["checks"].push_back({{"name", name},
                                  {"path", cpath},
                                  {"id", std::move(id)},
                                  {"passes", static_cast<std::int64_t>(c.value("passes", 0.0))},
                                  {"fails", static_cast<std::int64_t>(c.value("fails", 0.0))}});
    }
    auto take = [&](const std::string& name) {
        auto& groups = root["groups"];
        for (auto it = groups.begin(); it != groups.end(); ++it)
            if ((*it)["name"] == name) {
                auto g = std::move(*it);
                groups.erase(it);
                return g;
            }
        return group(name, "::" + name);
    };
    if (setup) root["groups"].insert(root["groups"].begin(), take("setup"));
    if (teardown) root["groups"].push_back(take("teardown"));
    return root;
}

// k6's data.metrics from the seed's: by name, {type, contains, values,
// thresholds?}, with k6's values per type (trend: the trend stats; rate:
// rate, passes, fails; counter: count, rate; gauge: value, min, max). As
// k6, a metric that had no sample is left out unless it has thresholds.
inline nlohmann::json k6_metrics(const nlohmann::json& seed, const summary_view& v) {
    nlohmann::json out = nlohmann::json::object();
    auto list = seed.find("metrics");
    if (list == seed.end() || !list->is_array()) return out;
    auto thresholds = seed.find("thresholds");
    for (auto& e : *list) {
        if (!e.is_object() || !e.contains("agg") || !e["agg"].is_object()) continue;
        auto name = e.value("metric", std::string());
        auto kind = e.value("kind", std::string());
        auto& a = e["agg"];
        auto num = [&](const char* k) { return a.contains(k) && a[k].is_number() ? a[k].get<double>() : 0.0; };
        nlohmann::json th = nlohmann::json::object();
        if (thresholds != seed.end() && thresholds->is_array())
            for (auto& t : *thresholds)
                if (t.is_object() && t.value("metric", std::string()) == name)
                    th[t.value("threshold", std::string())] = {{"ok", t.value("ok", true)}};
        if (num("count") == 0 && th.empty()) continue;
        nlohmann::json values = nlohmann::json::object();
        if (kind == "trend") {
            for (auto& s : v.trend_stats)
                if (auto x = trend_stat(a, s)) values[s] = *x;
        } else if (kind == "rate") {
            values = {{"rate", num("avg")}, {"passes", num("sum")}, {"fails", num("count") - num("sum")}};
        } else if (kind == "counter") {
            values = {{"count", num("sum")}, {"rate", num("per_second")}};
        } else {
            values = {{"value", num("last")}, {"min", num("min")}, {"max", num("max")}};
        }
        auto base = name.substr(0, name.find('{'));
        auto* info = loadkit::detail::metric_registry::get().find(base);
        std::string contains = base.starts_with("data_") ? "data" : info && info->time ? "time" : "default";
        nlohmann::json m{{"type", kind}, {"contains", contains}, {"values", std::move(values)}};
        if (!th.empty()) m["thresholds"] = std::move(th);
        out[name] = std::move(m);
    }
    return out;
}

// The k6 side of data: root_group, options, state, metrics, setup_data.
inline nlohmann::json k6_summary(const nlohmann::json& seed, const summary_view& v) {
    nlohmann::json k;
    k["root_group"] = k6_root_group(seed.contains("checks") ? seed["checks"] : nlohmann::json(), v.has_setup,
                                    v.has_teardown);
    k["options"] = {{"summaryTrendStats", v.trend_stats}, {"summaryTimeUnit", v.time_unit}, {"noColor", v.no_color}};
    double secs = seed.contains("duration_secs") && seed["duration_secs"].is_number()
                      ? seed["duration_secs"].get<double>()
                      : 0;
    k["state"] = {{"isStdOutTTY", ::isatty(STDOUT_FILENO) == 1},
                  {"isStdErrTTY", ::isatty(STDERR_FILENO) == 1},
                  {"testRunDurationMs", secs * 1000}};
    k["metrics"] = k6_metrics(seed, v);
    if (v.has_setup) {
        auto setup = nlohmann::json::parse(v.setup_json, nullptr, false);
        if (!setup.is_discarded()) k["setup_data"] = std::move(setup);
    }
    return k;
}

// Makes data from the two JSON texts, and reads what handleSummary returned
// (see the top of this file). Symbol.for('loadkit.summary') marks data and
// data.metrics with their seed form; jslib/k6_summary.hpp reads it too.
inline constexpr std::string_view summary_glue = R"JS((function (seedText, k6Text) {
'use strict';
const SEED = Symbol.for('loadkit.summary');
const hide = (o, k, value) => Object.defineProperty(o, k, { value, writable: true, configurable: true, enumerable: false });
const seed = JSON.parse(seedText), k6 = JSON.parse(k6Text);
const list = Array.isArray(seed.metrics) ? seed.metrics : [];
const metrics = k6.metrics;
for (const name of ['find', 'findIndex', 'findLast', 'findLastIndex', 'filter', 'map', 'flatMap', 'forEach', 'some',
                    'every', 'reduce', 'reduceRight', 'slice', 'indexOf', 'lastIndexOf', 'includes', 'at', 'join'])
  if (!(name in metrics)) hide(metrics, name, (...args) => list[name](...args));
if (!('length' in metrics)) hide(metrics, 'length', list.length);
list.forEach((entry, i) => hide(metrics, i, entry));
hide(metrics, Symbol.iterator, () => list[Symbol.iterator]());
hide(metrics, SEED, list);
const k6Only = ['root_group', 'options', 'state', 'setup_data'];
const data = Object.assign({}, seed, { metrics, root_group: k6.root_group, options: k6.options, state: k6.state });
if ('setup_data' in k6) data.setup_data = k6.setup_data;
hide(data, SEED, function () {
  const o = Object.assign({}, this);
  for (const k of k6Only) delete o[k];
  return o;
});
const replacer = (k, v) =>
  v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, SEED)
    ? (typeof v[SEED] === 'function' ? v[SEED]() : v[SEED]) : v;
const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const bytes = (v) => v instanceof ArrayBuffer ? v : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
function classify(r) {
  if (r === undefined || r === null) return { kind: 'none' };
  if (typeof r === 'string') return { kind: 'text', text: r };
  if (typeof r === 'object' && !Array.isArray(r) && !Object.prototype.hasOwnProperty.call(r, SEED)) {
    const keys = Object.keys(r);
    if (keys.every((k) => typeof r[k] === 'string' || isBytes(r[k])))
      return { kind: 'outputs', entries: keys.map((k) => [k, typeof r[k] === 'string' ? r[k] : bytes(r[k])]) };
  }
  const text = JSON.stringify(r, replacer);
  if (text === undefined) throw new TypeError(`handleSummary returned a ${typeof r}: expected a string, an object, or nothing`);
  return { kind: 'json', text };
}
return { data, classify };
}))JS";

inline bool summary_property(JSContext* cx, JS::HandleObject o, const char* name, JS::MutableHandleValue v) {
    return JS_GetProperty(cx, o, name, v);
}

// Writes one entry of k6's output map: stdout is returned (the engine prints
// it where the summary goes), stderr is written now, any other key is a file.
inline void write_summary_output(const std::string& key, const std::string& bytes, std::string& printed) {
    if (key == "stdout") {
        printed += bytes;
        return;
    }
    if (key == "stderr") {
        std::cerr << bytes << std::flush;
        return;
    }
    std::filesystem::path path(key);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    std::FILE* f = std::fopen(key.c_str(), "wb");
    bool ok = f && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (f && std::fclose(f) != 0) ok = false;
    if (!ok) throw std::runtime_error("handleSummary: could not write " + key);
}

// Calls handleSummary(data) in the init context `init` (its realm entered)
// and returns what the engine prints: a string (the output map's stdout,
// maybe empty, or the returned string), JSON (pretty-printed), or null (the
// default summary). Throws std::runtime_error with the script's error.
inline nlohmann::json call_handle_summary(instance& init, const nlohmann::json& seed, const summary_view& view) {
    JSContext* cx = init.cx;
    auto fail = [&]() -> nlohmann::json { throw std::runtime_error(take_exception(cx)); };
    // textSummary's renderer (jslib/k6_summary.hpp), here only: VUs never call it
    JS::RootedValue lk(cx);
    if (!JS_GetProperty(cx, init.global, "__lk", &lk) || !lk.isObject()) return fail();
    JS::RootedObject lko(cx, &lk.toObject());
    if (!JS_DefineFunction(cx, lko, "summaryText", &jslib::summary_text_native, 2, 0)) return fail();

    JS::CompileOptions opts(cx);
    opts.setFileAndLine("loadkit:summary", 1);
    JS::SourceText<mozilla::Utf8Unit> src;
    JS::RootedValue glue(cx), made(cx), data(cx), classify(cx), fn(cx), result(cx), verdict(cx);
    if (!src.init(cx, summary_glue.data(), summary_glue.size(), JS::SourceOwnership::Borrowed) ||
        !JS::Evaluate(cx, opts, src, &glue))
        return fail();
    JS::RootedValueArray<2> texts(cx);
    auto dump = [](const nlohmann::json& j) {
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    JSString* s1 = new_string(cx, dump(seed));
    if (!s1) return fail();
    texts[0].setString(s1);
    JSString* s2 = new_string(cx, dump(k6_summary(seed, view)));
    if (!s2) return fail();
    texts[1].setString(s2);
    if (!JS_CallFunctionValue(cx, nullptr, glue, texts, &made) || !made.isObject()) return fail();
    JS::RootedObject mo(cx, &made.toObject());
    if (!summary_property(cx, mo, "data", &data) || !summary_property(cx, mo, "classify", &classify)) return fail();

    JS::RootedValueArray<1> args(cx);
    args[0].set(data);
    if (!init.get_export("handleSummary", &fn) || !init.invoke(fn, args, &result)) return fail();
    args[0].set(result);
    if (!JS_CallFunctionValue(cx, nullptr, classify, args, &verdict) || !verdict.isObject()) return fail();
    JS::RootedObject vo(cx, &verdict.toObject());
    JS::RootedValue kind_v(cx), text_v(cx), entries_v(cx);
    if (!summary_property(cx, vo, "kind", &kind_v)) return fail();
    auto kind = to_utf8(cx, kind_v);
    if (kind == "none") return nullptr;
    if (kind == "text" || kind == "json") {
        if (!summary_property(cx, vo, "text", &text_v)) return fail();
        auto text = to_utf8(cx, text_v);
        if (kind == "text") return text;
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded()) throw std::runtime_error("handleSummary returned something that is not JSON");
        return j;
    }
    // k6's output map: [[key, string or ArrayBuffer], ...]
    if (!summary_property(cx, vo, "entries", &entries_v) || !entries_v.isObject()) return fail();
    JS::RootedObject entries(cx, &entries_v.toObject());
    std::uint32_t n = 0;
    if (!JS::GetArrayLength(cx, entries, &n)) return fail();
    std::string printed;
    JS::RootedValue pair_v(cx), key_v(cx), value_v(cx);
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!JS_GetElement(cx, entries, i, &pair_v) || !pair_v.isObject()) return fail();
        JS::RootedObject pair(cx, &pair_v.toObject());
        if (!JS_GetElement(cx, pair, 0, &key_v) || !JS_GetElement(cx, pair, 1, &value_v)) return fail();
        write_summary_output(to_utf8(cx, key_v), bytes_of(cx, value_v), printed);
    }
    return printed;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
