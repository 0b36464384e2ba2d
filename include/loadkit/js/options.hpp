#pragma once
// k6's exported `options` as a loadkit plan: scenarios, thresholds and the
// vus/duration/iterations/stages shortcuts, plus the HTTP options k6 puts at
// the top level. The options are turned into the document a YAML file would
// be, read through a document_node over nlohmann::json (plan/document.hpp),
// so a script and a YAML file are validated by one builder (plan/build.hpp),
// with the same messages, pointing into the script.
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/file.hpp"
#include "../core/log.hpp"
#include "../plan/finish.hpp"
#include "../plan/document.hpp"
#include "../plan/flow.hpp"
#include "script.hpp"

namespace loadkit::inline LOADKIT_ABI::js {

namespace detail {

// Where the exported options' `keys` are written in `source`: the line and
// column of the value of the deepest key found (in order, each after the
// one before, inside the options object), else of the options themselves;
// (1, 1) when the script exports no options literal.
inline std::pair<int, int> options_position(const std::string& source, const std::vector<std::string>& keys) {
    auto is_ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
    std::size_t begin = std::string::npos;
    for (std::size_t p = source.find("options"); p != std::string::npos; p = source.find("options", p + 1)) {
        if ((p > 0 && is_ident(source[p - 1])) || (p + 7 < source.size() && is_ident(source[p + 7]))) continue;
        auto q = source.find_first_not_of(" \t\r\n", p + 7);
        if (q == std::string::npos || source[q] != '=' || (q + 1 < source.size() && source[q + 1] == '=')) continue;
        auto brace = source.find_first_not_of(" \t\r\n", q + 1);
        if (brace != std::string::npos && source[brace] == '{') {
            begin = brace;
            break;
        }
    }
    auto position = [&](std::size_t off) {
        int line = 1, column = 1;
        for (std::size_t i = 0; i < off && i < source.size(); ++i) {
            if (source[i] == '\n') line++, column = 1;
            else if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80) ++column;
        }
        return std::pair{line, column};
    };
    if (begin == std::string::npos) return {1, 1};
    // the object's end: its closing brace (strings and comments skipped)
    std::size_t end = source.size();
    int depth = 0;
    for (std::size_t i = begin; i < source.size(); ++i) {
        char c = source[i];
        if (c == '"' || c == '\'' || c == '`') {
            for (++i; i < source.size() && source[i] != c; ++i)
                if (source[i] == '\\') ++i;
        } else if (c == '/' && i + 1 < source.size() && source[i + 1] == '/') {
            i = source.find('\n', i);
            if (i == std::string::npos) break;
        } else if (c == '/' && i + 1 < source.size() && source[i + 1] == '*') {
            i = source.find("*/", i + 2);
            if (i == std::string::npos) break;
            ++i;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            end = i;
            break;
        }
    }
    std::size_t at = begin, found = std::string::npos;
    for (auto& key : keys) {
        std::size_t hit = std::string::npos;
        for (std::size_t p = source.find(key, at); p != std::string::npos && p < end; p = source.find(key, p + 1)) {
            std::size_t after = p + key.size();
            bool quoted = p > 0 && (source[p - 1] == '"' || source[p - 1] == '\'') && after < source.size() &&
                          source[after] == source[p - 1];
            if (quoted) ++after;
            else if ((p > 0 && is_ident(source[p - 1])) || (after < source.size() && is_ident(source[after]))) continue;
            auto colon = source.find_first_not_of(" \t\r\n", after);
            if (colon == std::string::npos || source[colon] != ':') continue;
            hit = colon + 1;
            break;
        }
        if (hit == std::string::npos) continue;  // a key loadkit made (the shortcuts' scenario)
        at = hit;
        found = source.find_first_not_of(" \t\r\n", hit);
    }
    return position(found == std::string::npos ? begin : found);
}

// Where the document's nodes are written in the script: its options, found by
// the keys leading to a node (options_position). The script is read when a
// position is first asked for. `made`: the script has no scenarios, so its
// scenario is the one make_plan made, whose keys (scenarios.NAME) the script
// does not have.
class options_source {
  public:
    options_source(std::string path, bool made) : path_(std::move(path)), made_(made) {}

    yaml::position where(std::vector<std::string> keys) const {
        if (!source_) {
            std::string unread;  // the script was read once already: within the limit
            source_.emplace();
            loadkit::detail::read_input_file(path_, loadkit::detail::max_test_file_bytes, *source_, unread);
        }
        if (made_ && keys.size() >= 2 && keys[0] == "scenarios") keys.erase(keys.begin(), keys.begin() + 2);
        auto [line, column] = options_position(*source_, keys);
        return {line, column};
    }

  private:
    std::string path_;
    bool made_;
    mutable std::optional<std::string> source_;
};

// The options document (make_plan's nlohmann::json) as a document_node: a
// string is a quoted scalar, a number or boolean a plain one written as JSON
// writes it ("10", "0.5", "true"), null is null. A node knows the keys
// leading to it (an element: those of its list; a key: itself too), which
// options_source turns into its place in the script.
class json_node {
  public:
    json_node(const nlohmann::json* j, std::vector<std::string> keys, const options_source* source)
        : j_(j), keys_(std::move(keys)), source_(source) {}

    explicit operator bool() const { return j_ != nullptr || key_; }
    yaml::node_kind kind() const {
        if (key_) return yaml::node_kind::scalar;
        if (!j_ || j_->is_null()) return yaml::node_kind::null;
        if (j_->is_object()) return yaml::node_kind::map;
        if (j_->is_array()) return yaml::node_kind::sequence;
        return yaml::node_kind::scalar;
    }
    std::string scalar() const {
        if (key_) return keys_.back();
        if (!j_) return {};
        if (j_->is_string()) return j_->get<std::string>();
        if (j_->is_number() || j_->is_boolean()) return j_->dump();
        return {};
    }
    bool quoted() const { return key_ || (j_ && j_->is_string()); }
    std::size_t size() const { return !key_ && j_ && (j_->is_object() || j_->is_array()) ? j_->size() : 0; }
    json_node operator[](std::string_view key) const {
        auto keys = keys_;
        keys.emplace_back(key);
        if (key_ || !j_ || !j_->is_object()) return {nullptr, std::move(keys), source_};
        auto it = j_->find(std::string(key));
        return {it == j_->end() ? nullptr : &*it, std::move(keys), source_};
    }
    std::vector<std::pair<json_node, json_node>> entries() const {
        std::vector<std::pair<json_node, json_node>> out;
        if (key_ || !j_ || !j_->is_object()) return out;
        for (auto& [k, v] : j_->items()) {
            auto keys = keys_;
            keys.push_back(k);
            json_node key(nullptr, keys, source_);
            key.key_ = true;
            out.emplace_back(std::move(key), json_node(&v, std::move(keys), source_));
        }
        return out;
    }
    std::vector<json_node> elements() const {
        std::vector<json_node> out;
        if (key_ || !j_ || !j_->is_array()) return out;
        for (auto& e : *j_) out.emplace_back(&e, keys_, source_);
        return out;
    }
    yaml::position where() const { return source_->where(keys_); }
    yaml::position where(std::size_t) const { return where(); }  // the script's options hold no templates' columns

  private:
    const nlohmann::json* j_;
    std::vector<std::string> keys_;
    const options_source* source_;
    bool key_ = false;  // a map's key: keys_.back() is its text
};
static_assert(yaml::document_node<json_node>);

}  // namespace detail

// Chooses the JIT for a plan run with `s`: on when every scenario's VUs are
// async (sharing one realm per thread), off when any has its own thread.
inline void choose_jit(const yaml::plan& p, script& s) {
    bool all_async = !p.scenarios.empty();
    for (auto& sc : p.scenarios)  // (a scenario with tasks: its first task's function, as flow_vu chooses)
        all_async = all_async && s.runs_async(sc.tasks.empty() ? sc.exec_function : sc.tasks[0].exec);
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
            else if (k == "insecureSkipTLSVerify" || k == "userAgent" || k == "discardResponseBodies" ||
                     k == "maxRedirects" || k == "tlsVersion" || k == "tlsCipherSuites" || k == "tlsAuth" ||
                     k == "http2")  // http2: loadkit's, not k6's (auto, prior-knowledge, off)
                http[k] = v;
            else if (k == "env" || k == "name") doc[k] = v;
            else if (k == "batch" || k == "batchPerHost") continue;  // read by http.batch (runtime.hpp)
            else if (k == "summaryTrendStats" || k == "summaryTimeUnit" || k == "httpDebug")
                continue;  // read by the runner (runner/main.cpp), where the flags of the same name are
            // k6 reads a number as milliseconds
            else if (k == "setupTimeout" || k == "teardownTimeout")
                doc[k] = v.is_number() && v.get<double>() >= 0 ? json(std::to_string(v.get<double>()) + "ms") : v;
            else if (k == "noCookiesReset") {
                if (!v.is_boolean())
                    throw config_error(s.path() + ": options.noCookiesReset: expected true or false, got " + v.dump());
                no_cookies_reset = v.get<bool>();
            } else
                loadkit::detail::log_once(log_level::warn,
                                          s.path() + ": option '" + k + "' is not supported by loadkit; it is ignored");
        }
    }
    if (!http.empty()) doc["http"] = http;
    if (doc.contains("scenarios") && doc["scenarios"].is_object()) {
        for (auto& [name, sc] : doc["scenarios"].items())
            if (sc.is_object() && !sc.contains("exec") && !sc.contains("tasks")) sc["exec"] = "default";
    } else {
        json sc = json::object();
        // the value as the script wrote it: the loader checks it (in 64 bits,
        // naming it as written), where get<int>() would cut 4294967297 to 1
        json vus = shortcut.contains("vus") ? shortcut["vus"] : json(1);
        if (shortcut.contains("stages")) {
            sc = {{"executor", "ramping-vus"}, {"startVUs", vus}, {"stages", shortcut["stages"]}};
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
    // Mistakes are reported where the script has them: each node's position
    // is that of the keys leading to it in the script's options.
    bool made = !o.is_object() || !o.contains("scenarios");  // the shortcuts' scenario (or k6's default one)
    detail::options_source source(s.path(), made);
    // A mistake inside a data file (scenarios.NAME.data) is reported where
    // it is in that file (data.csv:LINE:1), as for a YAML file.
    yaml::plan p = yaml::build_plan(detail::json_node(&doc, {}, &source), s.path());
    // exec.test.options, as k6 gives it: the shortcuts as the scenarios they became
    json test_options = o.is_object() ? o : json::object();
    for (auto* k : {"vus", "duration", "iterations", "stages"}) test_options.erase(k);
    test_options["scenarios"] = doc["scenarios"];
    s.set_test_options(test_options);
    for (auto& sc : p.scenarios) sc.reset_cookies = !no_cookies_reset;  // k6: a new jar each iteration
    yaml::check_script_functions(p, s);                                 // its positions are in the script already
    choose_jit(p, s);
    return p;
}

}  // namespace loadkit::inline LOADKIT_ABI::js
