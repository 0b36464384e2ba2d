#pragma once
// k6's exported `options` as a loadkit plan: scenarios, thresholds and the
// vus/duration/iterations/stages shortcuts, plus the HTTP options k6 puts at
// the top level. The options are turned into the YAML loader's document
// (JSON is YAML), so a script and a YAML file are validated by one loader,
// with the same messages.
#include <string>

#include <nlohmann/json.hpp>

#include "../detail/log.hpp"
#include "../yaml/loader.hpp"
#include "script.hpp"

namespace loadkit::js {

// Chooses the JIT for a plan run with `s`: on when every scenario's VUs are
// async (sharing one realm per thread), off when any has its own thread.
inline void choose_jit(const yaml::plan& p, script& s) {
    bool all_async = !p.scenarios.empty();
    for (auto& sc : p.scenarios) all_async = all_async && s.runs_async(sc.exec_function);
    s.use_jit(all_async);
}

// The plan for running `s` alone: its options, or one VU doing one
// iteration of `default` (k6's default) when it has none.
inline yaml::plan make_plan(script& s) {
    using nlohmann::json;
    const json& o = s.options();
    auto file = std::filesystem::path(s.path());
    json doc = json::object();
    doc["name"] = file.stem().string();
    doc["script"] = file.filename().string();
    json http = json::object();
    json shortcut = json::object();
    bool no_cookies_reset = false;
    if (o.is_object()) {
        for (auto& [k, v] : o.items()) {
            if (k == "scenarios" || k == "thresholds" || k == "tags") doc[k] = v;
            else if (k == "vus" || k == "duration" || k == "iterations" || k == "stages") shortcut[k] = v;
            else if (k == "insecureSkipTLSVerify" || k == "userAgent" || k == "discardResponseBodies" || k == "maxRedirects") http[k] = v;
            else if (k == "env" || k == "name") doc[k] = v;
            else if (k == "batch" || k == "batchPerHost") continue;  // read by http.batch (runtime.hpp)
            else if (k == "noCookiesReset") {
                if (!v.is_boolean()) throw config_error(s.path() + ": options.noCookiesReset: expected true or false, got " + v.dump());
                no_cookies_reset = v.get<bool>();
            }
            else loadkit::detail::log_once(log_level::warn, s.path() + ": option '" + k + "' is not supported by loadkit; it is ignored");
        }
    }
    if (!http.empty()) doc["http"] = http;
    if (doc.contains("scenarios") && doc["scenarios"].is_object()) {
        for (auto& [name, sc] : doc["scenarios"].items())
            if (sc.is_object() && !sc.contains("exec")) sc["exec"] = "default";
    } else {
        json sc = json::object();
        int vus = shortcut.contains("vus") && shortcut["vus"].is_number() ? shortcut["vus"].get<int>() : 1;
        if (shortcut.contains("stages")) {
            sc = {{"executor", "ramping-vus"}, {"startVUs", shortcut.contains("vus") ? vus : 1}, {"stages", shortcut["stages"]}};
        } else if (shortcut.contains("iterations")) {
            sc = {{"executor", "shared-iterations"}, {"vus", vus}, {"iterations", shortcut["iterations"]}};
            if (shortcut.contains("duration")) sc["maxDuration"] = shortcut["duration"];
        } else if (shortcut.contains("duration")) {
            sc = {{"executor", "constant-vus"}, {"vus", vus}, {"duration", shortcut["duration"]}};
        } else {
            sc = {{"executor", "per-vu-iterations"}, {"vus", vus}, {"iterations", 1}};
        }
        sc["exec"] = "default";
        doc["scenarios"] = {{"default", sc}};
    }
    auto p = yaml::load_string(doc.dump(2), (file.parent_path() / (file.filename().string() + " (options)")).string());
    p.file = s.path();
    for (auto& sc : p.scenarios) sc.reset_cookies = !no_cookies_reset;  // k6: a new jar each iteration
    yaml::check_script_functions(p, s);
    choose_jit(p, s);
    return p;
}

}  // namespace loadkit::js
