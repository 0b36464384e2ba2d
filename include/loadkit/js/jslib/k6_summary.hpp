#pragma once
// https://jslib.k6.io/k6-summary/0.x.x/index.js, served from here (loadkit
// never downloads a module), written for loadkit:
//   textSummary(data, {indent, enableColors}): loadkit's own console summary
//     of handleSummary's `data` (the renderer the runner prints at the end of
//     a run, engine/summary.hpp's console_report), so that a script returning
//     {stdout: textSummary(data)} prints what loadkit prints. Differs from
//     the run's own: no scenario lines, no "requests by name" table and no
//     "errors" table (`data` does not hold per-request rows). `indent`
//     prefixes every line; enableColors is accepted and ignored (loadkit's
//     summary has no colours).
//   jUnit(data, {name, classname}): the thresholds as JUnit XML, one
//     testcase per threshold ("metric - expression"), as k6-summary's.
//   humanizeValue(value, metric, timeUnit): one value as a summary shows it.
// `data` is handleSummary's (summary_data.hpp); an object in k6's form only
// (data.metrics.NAME.values, root_group, state) is read too.
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../../core/config.hpp"
#include "../../engine/summary.hpp"
#include "../errors.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::jslib {

inline constexpr std::string_view k6_summary_source = R"JS(
const SEED = Symbol.for('loadkit.summary');
// handleSummary's data in the seed's shape (what the console renderer
// reads): data carries it (summary_data.hpp); anything else is read as k6's form.
const seedReplacer = (k, v) =>
  v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, SEED)
    ? (typeof v[SEED] === 'function' ? v[SEED]() : v[SEED]) : v;
function seedOf(data) {
  if (data !== null && typeof data === 'object' && Object.prototype.hasOwnProperty.call(data, SEED))
    return JSON.stringify(data, seedReplacer);
  if (data === null || typeof data !== 'object' || data.metrics === null || typeof data.metrics !== 'object')
    throw new TypeError('textSummary(data): expected the data handleSummary receives');
  const metrics = [], thresholds = [], checks = [];
  let passed = true;
  for (const [name, m] of Object.entries(data.metrics)) {
    if (m === null || typeof m !== 'object') continue;
    const v = m.values || {};
    const agg = {};
    if (m.type === 'trend')
      Object.assign(agg, { avg: v.avg, min: v.min, med: v.med, max: v.max, p90: v['p(90)'], p95: v['p(95)'], p99: v['p(99)'], count: v.count === undefined ? 1 : v.count });
    else if (m.type === 'counter')
      Object.assign(agg, { sum: v.count, count: v.count, rate: v.rate, per_second: v.rate, last: v.count });
    else if (m.type === 'rate')
      Object.assign(agg, { avg: v.rate, rate: v.rate, sum: v.passes, count: (v.passes || 0) + (v.fails || 0), last: v.rate });
    else Object.assign(agg, { last: v.value, min: v.min, max: v.max, count: 1 });
    metrics.push({ metric: name, kind: m.type || 'gauge', agg });
    for (const [expr, t] of Object.entries(m.thresholds || {})) {
      const ok = !!(t && t.ok);
      if (!ok) passed = false;
      thresholds.push({ metric: name, threshold: expr, ok, value: 0, abort_on_fail: false });
    }
  }
  const walk = (g, path) => {
    for (const c of Object.values(g.checks || {})) checks.push({ name: c.name, group: path, passes: c.passes, fails: c.fails });
    for (const s of Object.values(g.groups || {})) walk(s, path + '::' + s.name);
  };
  if (data.root_group && typeof data.root_group === 'object') walk(data.root_group, '');
  const ms = data.state && data.state.testRunDurationMs;
  return JSON.stringify({ name: data.name, run_id: data.run_id, duration_secs: (ms || 0) / 1000, metrics, checks,
                          thresholds, thresholds_passed: passed, aborted: null });
}

export function textSummary(data, options = {}) {
  if (typeof __lk === 'undefined' || typeof __lk.summaryText !== 'function')
    throw new Error('textSummary(data) works in handleSummary(data) only');
  const indent = options && options.indent !== undefined ? String(options.indent) : '';
  return __lk.summaryText(seedOf(data), indent);
}

// One value as the summary shows it: a rate as a percentage, data as bytes
// (B, kB, MB: powers of 1000), a duration in `timeUnit` (ms, s, us, m, h)
// or, without one, in us/ms/s as loadkit's console does; other numbers
// with up to 6 decimals.
export function humanizeValue(val, metric, timeUnit) {
  const m = metric || {};
  if (m.type === 'rate') return `${(Math.trunc(val * 10000) / 100).toFixed(2)}%`;
  if (m.contains === 'data') {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let v = val, u = 0;
    while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
  }
  if (m.contains === 'time') {
    const per = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 };
    if (timeUnit && per[timeUnit]) return `${(val / per[timeUnit]).toFixed(2)}${timeUnit}`;
    if (val >= 1000) return `${(val / 1000).toFixed(2)}s`;
    if (val >= 1) return `${val.toFixed(2)}ms`;
    return `${(val * 1000).toFixed(2)}us`;
  }
  return String(Number(Number(val).toFixed(6)));
}

const xml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function jUnit(data, options = {}) {
  if (data === null || typeof data !== 'object' || data.metrics === null || typeof data.metrics !== 'object')
    throw new TypeError('jUnit(data): expected the data handleSummary receives');
  const suite = xml((options && options.name) || 'k6 thresholds');
  const classname = xml((options && options.classname) || 'Unnamed folder');
  const cases = [];
  let failures = 0;
  for (const [metric, m] of Object.entries(data.metrics)) {
    if (!m || !m.thresholds) continue;
    for (const [expr, t] of Object.entries(m.thresholds)) {
      const open = `<testcase name="${xml(metric)} - ${xml(expr)}" classname="${classname}"`;
      if (t && t.ok) { cases.push(open + ' />'); continue; }
      failures++;
      const values = Object.entries(m.values || {}).map(([k, v]) => `${k} value: ${v}`).join(', ');
      cases.push(`${open}><failure message="${xml(`${m.type} threshold failed: ${values}`)}" /></testcase>`);
    }
  }
  return `<?xml version="1.0"?>\n<testsuites tests="${cases.length}" failures="${failures}">\n` +
    `<testsuite name="${suite}" tests="${cases.length}" failures="${failures}">\n` +
    cases.map((c) => c + '\n').join('') + '</testsuite>\n</testsuites>\n';
}

export default { textSummary, jUnit, humanizeValue };
)JS";

// The summary JSON in the seed's shape, with every field the console
// renderer reads present and of its type (a script may hand textSummary
// an object of its own making: never a C++ exception for that).
inline nlohmann::json renderable_summary(const nlohmann::json& in) {
    auto str = [](const nlohmann::json& o, const char* k) {
        auto it = o.find(k);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto num = [](const nlohmann::json& o, const char* k) {
        auto it = o.find(k);
        return it != o.end() && it->is_number() ? it->get<double>() : 0.0;
    };
    auto flag = [](const nlohmann::json& o, const char* k, bool d) {
        auto it = o.find(k);
        return it != o.end() && it->is_boolean() ? it->get<bool>() : d;
    };
    auto list = [](const nlohmann::json& o, const char* k) {
        auto it = o.find(k);
        return it != o.end() && it->is_array() ? *it : nlohmann::json::array();
    };
    nlohmann::json s = nlohmann::json::object();
    if (!in.is_object()) return renderable_summary(s);
    s["name"] = str(in, "name");
    s["run_id"] = str(in, "run_id");
    s["duration_secs"] = num(in, "duration_secs");
    s["thresholds_passed"] = flag(in, "thresholds_passed", true);
    s["aborted"] = in.contains("aborted") && in["aborted"].is_string() ? in["aborted"] : nlohmann::json();
    s["metrics"] = nlohmann::json::array();
    for (auto& m : list(in, "metrics")) {
        if (!m.is_object()) continue;
        nlohmann::json agg = nlohmann::json::object();
        auto a = m.contains("agg") && m["agg"].is_object() ? m["agg"] : nlohmann::json::object();
        for (auto* k : {"avg", "min", "med", "max", "p90", "p95", "p99", "sum", "count", "rate", "per_second", "last"})
            agg[k] = num(a, k);
        s["metrics"].push_back({{"metric", str(m, "metric")}, {"kind", str(m, "kind")}, {"agg", std::move(agg)}});
    }
    s["checks"] = nlohmann::json::array();
    for (auto& c : list(in, "checks"))
        if (c.is_object())
            s["checks"].push_back({{"name", str(c, "name")},
                                   {"group", str(c, "group")},
                                   {"passes", num(c, "passes")},
                                   {"fails", num(c, "fails")}});
    s["thresholds"] = nlohmann::json::array();
    for (auto& t : list(in, "thresholds"))
        if (t.is_object())
            s["thresholds"].push_back({{"metric", str(t, "metric")},
                                       {"threshold", str(t, "threshold")},
                                       {"ok", flag(t, "ok", true)},
                                       {"value", num(t, "value")},
                                       {"abort_on_fail", flag(t, "abort_on_fail", false)}});
    return s;
}

// The console summary of a summary (JSON text), each line after `indent`.
inline std::string summary_text(std::string_view json, std::string_view indent) {
    auto parsed = nlohmann::json::parse(json, nullptr, false);
    auto s = renderable_summary(parsed.is_discarded() ? nlohmann::json::object() : parsed);
    std::string text = loadkit::detail::console_report(s, merged_metrics{}, {});
    if (indent.empty()) return text;
    std::string out;
    std::size_t at = 0;
    while (at < text.size()) {
        auto nl = text.find('\n', at);
        auto line = std::string_view(text).substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        if (!line.empty()) out.append(indent);
        out.append(line);
        if (nl == std::string::npos) break;
        out += '\n';
        at = nl + 1;
    }
    return out;
}

// __lk.summaryText(json, indent), defined in the init context's realm when
// handleSummary runs (script.hpp): the one place textSummary renders.
inline bool summary_text_native(JSContext* cx, unsigned argc, JS::Value* vp) {
    JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
    try {
        auto text = summary_text(to_utf8(cx, args.get(0)), args.length() > 1 ? to_utf8(cx, args.get(1)) : "");
        JSString* s = new_string(cx, text);
        if (!s) return false;
        args.rval().setString(s);
        return true;
    } catch (const std::exception& e) {
        return throw_error(cx, std::string("textSummary: ") + e.what());
    }
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::jslib

#pragma GCC diagnostic pop
