#pragma once
// The format-neutral loader: a document (document.hpp: YAML, or a script's
// exported options) in, a validated plan out, or a load_error that says
// FILE:LINE:COL, what was expected and what was found, with the nearest valid
// key for a misspelling. Everything the engine will take (durations, stages,
// executors, thresholds, templates, data files) is checked here, before any
// load starts.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/duration.hpp"
#include "../core/file.hpp"
#include "../engine/executors.hpp"
#include "../engine/script.hpp"
#include "../engine/thresholds.hpp"
#include "../http/message.hpp"
#include "../http/tls.hpp"
#include "../http/url.hpp"
#include "../runtime/groups.hpp"
#include "csv.hpp"
#include "document.hpp"
#include "error.hpp"
#include "flow.hpp"
#include "template.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

namespace detail {

// Edit distance, for "did you mean".
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// The closest of `candidates` to `word`, if it is close enough to be a typo.
inline std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::string best;
    std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (auto c : candidates) {
        auto d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = std::string(c);
        }
    }
    return best;
}

// A document in, a validated plan out, or a load_error at the node that is
// wrong. `file` names the document in messages; relative paths in it
// (script, data files, tlsCAFile) are resolved against its folder.
template <document_node Node>
class plan_builder {
  public:
    template <class B, class N, class S>  // WebSocket steps (ws_steps.hpp) use the checks below
    friend ws_step build_ws_step(const B&, const N&, std::string_view, const S&);
    template <class B, class N, class S>  // and the gRPC step (grpc_steps.hpp)
    friend grpc_step build_grpc_step(const B&, const N&, const S&);
    template <class B, class N>
    friend std::string pem_of(const B&, const N&, std::string_view);
    explicit plan_builder(std::string file) : file_(std::move(file)) {
        base_ = std::filesystem::path(file_).parent_path();
    }

    plan build(const Node& root) const {
        plan p;
        p.file = file_;
        if (!is_map(root))
            fail(root, "expected a mapping with 'scenarios' at the top of the file, found " + describe(root));
        keys(root,
             {"name", "target", "script", "env", "tags", "thresholds", "scenarios", "http", "setupTimeout",
              "teardownTimeout"},
             "at the top level");
        if (auto n = root["name"]) p.name = scalar(n, "name");
        if (auto n = root["target"]) {
            p.target = scalar(n, "target");
            if (p.target != "builtin") {
                loadkit::detail::url_parts u;
                if (!loadkit::detail::split_url(p.target, u))
                    fail(n,
                         "expected an http:// or https:// URL (or 'builtin') for 'target', found '" + p.target + "'");
            }
        }
        if (auto n = root["script"]) {
            auto s = scalar(n, "script");
            p.script = (base_ / s).lexically_normal().string();
            if (!std::filesystem::exists(p.script))
                fail(n, "script '" + s + "' does not exist (looked for " + p.script + ")");
            std::string why;
            if (!loadkit::detail::check_input_file(p.script, loadkit::detail::max_test_file_bytes, why))
                fail(n, "script: " + why);
        }
        if (auto n = root["env"]) p.env = string_map(n, "env");
        if (auto n = root["tags"]) p.tags = string_map(n, "tags");
        if (auto n = root["http"]) p.http = http(n);
        if (auto n = root["setupTimeout"]) p.setup_timeout = duration(n, "setupTimeout");
        if (auto n = root["teardownTimeout"]) p.teardown_timeout = duration(n, "teardownTimeout");
        if (auto n = root["thresholds"]) p.thresholds = thresholds(n);
        auto sc = root["scenarios"];
        if (!sc) fail(root, "expected 'scenarios': a mapping from scenario names to their executor and flow");
        if (!is_map(sc) || sc.size() == 0)
            fail(sc, "expected 'scenarios' to map scenario names to scenarios, found " + describe(sc));
        for (auto& [key, value] : sc.entries()) p.scenarios.push_back(scenario(key, value, !p.script.empty()));
        return p;
    }

  private:
    // ------------------------------------------------------------ errors and positions
    [[noreturn]] void fail(const Node& n, const std::string& what) const { fail(n.where(), what); }
    [[noreturn]] void fail(position at, const std::string& what) const {
        if (at.line == 0) throw load_error(file_, 1, 1, what);  // where is not known: the document's start
        throw load_error(file_, at.line, at.column, what);
    }
    // `offset` bytes into a scalar's value: the position of a template mistake
    [[noreturn]] void fail_at(const Node& n, std::size_t offset, const std::string& what) const {
        fail(n.where(offset), what);
    }
    static position where(const Node& n) { return n.where(); }

    // Unknown keys are mistakes, reported with the nearest known one.
    void keys(const Node& map, std::initializer_list<std::string_view> allowed, std::string_view context) const {
        std::vector<std::string_view> list(allowed);
        for (auto& [key, value] : map.entries()) {
            if (!is_scalar(key)) fail(key, "expected a key name " + std::string(context));
            std::string k = key.scalar();
            if (std::find(list.begin(), list.end(), k) != list.end()) continue;
            std::string msg = "unknown key '" + k + "' " + std::string(context);
            auto near = nearest(k, list);
            if (!near.empty()) {
                msg.append("; did you mean '").append(near).append("'?");
            } else {
                msg += "; expected one of:";
                for (auto a : list) msg.append(" ").append(a);
            }
            fail(key, msg);
        }
    }

    // ------------------------------------------------------------ scalars
    std::string scalar(const Node& n, std::string_view what) const {
        if (!is_scalar(n)) fail(n, "expected a value for '" + std::string(what) + "', found " + describe(n));
        return std::string(n.scalar());
    }
    nanoseconds duration(const Node& n, std::string_view what) const {
        auto s = scalar(n, what);
        auto d = loadkit::detail::parse_duration(s);
        if (!d)
            fail(n,
                 "expected a duration for '" + std::string(what) + "' (like 30s, 1m30s or 500ms), found '" + s + "'");
        return *d;
    }
    // A whole number in min..max, parsed in 64 bits and refused (with the
    // value as written, at its own position) outside: never cut to fit.
    std::int64_t integer(const Node& n, std::string_view what, std::int64_t min,
                         std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
        auto s = scalar(n, what);
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        bool all = p == s.data() + s.size();
        if (ec == std::errc::result_out_of_range && all)
            fail(n, "expected '" + std::string(what) + "' to be " +
                        (s[0] == '-' ? "at least " + std::to_string(min) : "at most " + std::to_string(max)) +
                        ", found " + s);
        if (ec != std::errc() || !all)
            fail(n, "expected a whole number for '" + std::string(what) + "', found '" + s + "'");
        if (v < min)
            fail(n, "expected '" + std::string(what) + "' to be at least " + std::to_string(min) + ", found " + s);
        if (v > max)
            fail(n, "expected '" + std::string(what) + "' to be at most " + std::to_string(max) + ", found " + s);
        return v;
    }
    // A count the engine holds in an int (VUs, stage targets, redirects).
    int count(const Node& n, std::string_view what, int min) const {
        return static_cast<int>(integer(n, what, min, std::numeric_limits<int>::max()));
    }
    double number(const Node& n, std::string_view what, double min) const {
        auto s = scalar(n, what);
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
            fail(n, "expected a number for '" + std::string(what) + "', found '" + s + "'");
        if (v < min)
            fail(n, "expected '" + std::string(what) + "' to be at least " + std::to_string(min) + ", found " + s);
        return v;
    }
    bool boolean(const Node& n, std::string_view what) const {
        auto s = scalar(n, what);
        if (s == "true" || s == "yes" || s == "on") return true;
        if (s == "false" || s == "no" || s == "off") return false;
        fail(n, "expected true or false for '" + std::string(what) + "', found '" + s + "'");
    }
    std::map<std::string, std::string> string_map(const Node& n, std::string_view what) const {
        if (!is_map(n)) fail(n, "expected a mapping for '" + std::string(what) + "', found " + describe(n));
        std::map<std::string, std::string> m;
        for (auto& [key, value] : n.entries())
            m[scalar(key, what)] = scalar(value, std::string(what) + "." + std::string(key.scalar()));
        return m;
    }
    // a scalar as JSON: numbers and booleans keep their type
    static nlohmann::json scalar_json(const Node& n) {
        std::string s = n.scalar();
        if (n.quoted()) return s;  // quoted in the file: a string
        if (s == "true") return true;
        if (s == "false") return false;
        if (s == "null" || s == "~") return nullptr;
        double d;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) {
            std::int64_t i;
            auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), i);
            if (ec2 == std::errc() && q == s.data() + s.size()) return i;
            return d;
        }
        return s;
    }
    static nlohmann::json to_json(const Node& n) {
        if (is_scalar(n)) return scalar_json(n);
        if (is_sequence(n)) {
            auto a = nlohmann::json::array();
            for (auto& e : n.elements()) a.push_back(to_json(e));
            return a;
        }
        if (is_map(n)) {
            auto o = nlohmann::json::object();
            for (auto& [key, value] : n.entries()) o[std::string(key.scalar())] = to_json(value);
            return o;
        }
        return nullptr;
    }
    text_template templ(const Node& n, std::string_view what) const { return templ_text(n, scalar(n, what)); }
    text_template templ_text(const Node& n, const std::string& src) const {
        try {
            return text_template::compile(src);
        } catch (const load_error& e) {
            // e.column - 1: the byte offset on the template's first line (on a
            // later one, the scalar has a line break and n.where(offset) is n's)
            fail_at(n, static_cast<std::size_t>(e.column - 1), "in template '" + src + "': " + e.message);
        }
    }

    // ------------------------------------------------------------ sections
    client_options http(const Node& n) const {
        if (!is_map(n)) fail(n, "expected a mapping for 'http', found " + describe(n));
        keys(n,
             {"timeout", "maxRedirects", "insecureSkipTLSVerify", "userAgent", "discardResponseBodies", "tlsCAFile",
              "cookies", "tlsVersion", "tlsCipherSuites", "tlsAuth", "expectedStatuses", "http2", "localIPs"},
             "in 'http'");
        client_options o;
        if (auto v = n["timeout"]) o.timeout = duration(v, "timeout");
        if (auto v = n["maxRedirects"]) o.max_redirects = count(v, "maxRedirects", 0);
        if (auto v = n["insecureSkipTLSVerify"]) o.insecure_skip_tls_verify = boolean(v, "insecureSkipTLSVerify");
        if (auto v = n["userAgent"]) o.user_agent = scalar(v, "userAgent");
        if (auto v = n["discardResponseBodies"]) o.discard_response_bodies = boolean(v, "discardResponseBodies");
        if (auto v = n["cookies"]) o.cookies = boolean(v, "cookies");
        if (auto v = n["http2"]) o.http2 = http2_mode_of(v);
        std::string why;  // k6's --local-ips syntax (http/local_ips.hpp)
        if (auto v = n["localIPs"]; v && !o.local_ips.parse(scalar(v, "localIPs"), why)) fail(v, "localIPs: " + why);
        tls_options(n, o);
        if (auto v = n["expectedStatuses"]) o.expected = expected(v);
        if (auto v = n["tlsCAFile"]) {
            o.tls_ca_file = (base_ / scalar(v, "tlsCAFile")).lexically_normal().string();
            if (!std::filesystem::exists(o.tls_ca_file))
                fail(v, "tlsCAFile '" + std::string(v.scalar()) + "' does not exist");
        }
        return o;
    }

    // http2: auto (k6's: ALPN over TLS picks h2 when the server offers it),
    // prior-knowledge (h2c on plain TCP too), off (HTTP/1.1 only). HTTP/2
    // needs loadkit::http2 (the runner has it); without it, HTTP/1.1 always.
    http2_mode http2_mode_of(const Node& v) const {
        auto s = scalar(v, "http2");
        if (s == "auto") return http2_mode::alpn;
        if (s == "prior-knowledge") return http2_mode::prior_knowledge;
        if (s == "off") return http2_mode::http1;
        fail(v, "expected auto, prior-knowledge or off for 'http2', found '" + s + "'");
    }

    // k6's tlsVersion ('tls1.2', or {min, max}), tlsCipherSuites (k6's
    // names) and tlsAuth ([{domains, cert, key, password}], PEM text).
    void tls_options(const Node& n, client_options& o) const {
        auto version = [&](const Node& v, std::string_view what) {
            auto s = scalar(v, what);
            auto num = loadkit::detail::tls_version_number(s);
            if (!num)
                fail(v, "expected tls1.0, tls1.1, tls1.2 or tls1.3 for '" + std::string(what) + "', found '" + s + "'");
            return *num;
        };
        if (auto v = n["tlsVersion"]) {
            if (is_map(v)) {
                keys(v, {"min", "max"}, "in 'tlsVersion'");
                if (auto m = v["min"]) o.tls_min_version = version(m, "tlsVersion.min");
                if (auto m = v["max"]) o.tls_max_version = version(m, "tlsVersion.max");
            } else {
                o.tls_min_version = o.tls_max_version = version(v, "tlsVersion");
            }
        }
        if (auto v = n["tlsCipherSuites"]) {
            if (!is_sequence(v))
                fail(v, "expected a list of cipher suites for 'tlsCipherSuites', found " + describe(v));
            for (auto& e : v.elements()) {
                auto s = scalar(e, "tlsCipherSuites");
                if (!loadkit::detail::known_cipher_suite(s))
                    fail(e, "unknown cipher suite '" + s +
                                "' in 'tlsCipherSuites' (k6's names, like TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
                o.tls_cipher_suites.push_back(s);
            }
        }
        if (auto v = n["tlsAuth"]) {
            if (!is_sequence(v)) fail(v, "expected a list of {domains, cert, key} for 'tlsAuth', found " + describe(v));
            for (auto& e : v.elements()) {
                if (!is_map(e)) fail(e, "expected {domains, cert, key} in 'tlsAuth', found " + describe(e));
                keys(e, {"domains", "cert", "key", "password"}, "in 'tlsAuth'");
                tls_client_cert c;
                if (auto d = e["domains"]) {
                    if (!is_sequence(d))
                        fail(d, "expected a list of host names for 'tlsAuth.domains', found " + describe(d));
                    for (auto& h : d.elements()) c.domains.push_back(scalar(h, "tlsAuth.domains"));
                }
                auto cert = e["cert"], key = e["key"];
                if (!cert || !key) fail(e, "a 'tlsAuth' entry needs 'cert' and 'key' (PEM text)");
                c.cert = scalar(cert, "tlsAuth.cert");
                c.key = scalar(key, "tlsAuth.key");
                if (auto p = e["password"]) c.password = scalar(p, "tlsAuth.password");
                loadkit::detail::client_identity id;
                if (auto err = loadkit::detail::parse_client_identity(c, id); !err.empty()) fail(e, err);
                o.tls_auth.push_back(std::move(c));
            }
        }
    }
    // [200, {min: 200, max: 399}]: k6's http.expectedStatuses as an option
    expected_statuses expected(const Node& n) const {
        if (!is_sequence(n))
            fail(n, "expected a list of statuses and {min, max} ranges for 'expectedStatuses', found " + describe(n));
        expected_statuses e;
        for (auto& s : n.elements()) {
            if (is_map(s)) {
                keys(s, {"min", "max"}, "in 'expectedStatuses'");
                auto lo = s["min"], hi = s["max"];
                if (!lo || !hi) fail(s, "a range in 'expectedStatuses' needs both min and max");
                e.ranges.emplace_back(count(lo, "expectedStatuses.min", 0), count(hi, "expectedStatuses.max", 0));
            } else {
                int c = count(s, "expectedStatuses", 0);
                e.ranges.emplace_back(c, c);
            }
        }
        return e;
    }

    threshold_set thresholds(const Node& n) const {
        if (!is_map(n))
            fail(n, "expected 'thresholds' to map metric names to lists of expressions, found " + describe(n));
        threshold_set out;
        for (auto& [key, value] : n.entries()) {
            // (entries() copies: with yaml-cpp, `it->second` is a member of a
            // temporary proxy, which a range-for over it would outlive; found
            // by the fuzzer)
            auto metric = scalar(key, "thresholds");
            std::vector<std::pair<threshold, Node>> list;
            auto one = [&](const Node& e) {
                if (is_scalar(e)) return list.emplace_back(threshold(e.scalar()), e);
                if (!is_map(e))
                    fail(e,
                         "expected a threshold like 'p(95)<200' or {threshold, abortOnFail, delayAbortEval}, found " +
                             describe(e));
                keys(e, {"threshold", "abortOnFail", "delayAbortEval"}, "in a threshold");
                if (!e["threshold"]) fail(e, "expected 'threshold: EXPRESSION' in this threshold");
                threshold t(scalar(e["threshold"], "threshold"));
                if (auto a = e["abortOnFail"]) t.abort_on_fail = boolean(a, "abortOnFail");
                if (auto d = e["delayAbortEval"]) t.delay_abort_eval = duration(d, "delayAbortEval");
                return list.emplace_back(std::move(t), e);
            };
            if (is_sequence(value)) {
                if (value.size() == 0) fail(value, "expected at least one threshold for '" + metric + "'");
                for (auto& e : value.elements()) one(e);
            } else {
                one(value);
            }
            std::vector<threshold> exprs;
            for (auto& [t, node] : list) {
                try {  // each on its own, to point at the one that is wrong
                    loadkit::detail::parse_thresholds({{metric, {t}}});
                } catch (const config_error& e) {
                    fail(node, e.what());
                }
                exprs.push_back(t);
            }
            out.emplace_back(metric, std::move(exprs));
        }
        return out;
    }

    std::vector<stage> stages(const Node& n) const {
        if (!is_sequence(n) || n.size() == 0)
            fail(n, "expected 'stages' to be a list of {duration, target}, found " + describe(n));
        std::vector<stage> out;
        for (auto& s : n.elements()) {
            if (!is_map(s)) fail(s, "expected a stage {duration, target}, found " + describe(s));
            keys(s, {"duration", "target"}, "in a stage");
            if (!s["duration"] || !s["target"]) fail(s, "expected a stage to have both 'duration' and 'target'");
            out.push_back({duration(s["duration"], "duration"), count(s["target"], "target", 0)});
        }
        return out;
    }

// Every key a scenario may have, whatever its executor.
#define LOADKIT_COMMON_KEYS                                                                                         \
    "executor", "startTime", "gracefulStop", "exec", "on_start", "on_stop", "flow", "env", "tags", "data", "tasks", \
        "taskOrder", "waitTime"
#define LOADKIT_SCENARIO_KEYS                                                                                      \
    LOADKIT_COMMON_KEYS, "vus", "duration", "startVUs", "stages", "gracefulRampDown", "iterations", "maxDuration", \
        "rate", "timeUnit", "preAllocatedVUs", "maxVUs", "startRate"
    scenario_plan scenario(const Node& key, const Node& n, bool have_script) const {
        scenario_plan s;
        s.name = scalar(key, "scenario name");
        s.where = where(key);
        std::string ctx = "in scenario '" + s.name + "'";
        if (!is_map(n))
            fail(n, "expected scenario '" + s.name + "' to be a mapping with an executor, found " + describe(n));
        auto ex = n["executor"];
        if (!ex) {  // a misspelled 'executor' (or another key) is reported at the key itself
            keys(n, {LOADKIT_SCENARIO_KEYS}, ctx);
            fail(key, "expected 'executor' " + ctx +
                          " (constant-vus, ramping-vus, per-vu-iterations, shared-iterations, "
                          "constant-arrival-rate, ramping-arrival-rate or externally-controlled)");
        }
        auto name = scalar(ex, "executor");
        static const std::vector<std::string_view> executors{
            "constant-vus",          "ramping-vus",          "per-vu-iterations",    "shared-iterations",
            "constant-arrival-rate", "ramping-arrival-rate", "externally-controlled"};
        if (std::find(executors.begin(), executors.end(), name) == executors.end()) {
            auto near = nearest(name, executors);
            fail(
                ex,
                "unknown executor '" + name + "'" +
                    (near.empty()
                         ? "; expected constant-vus, ramping-vus, per-vu-iterations, shared-iterations, "
                           "constant-arrival-rate, ramping-arrival-rate or externally-controlled"
                         : "; did you mean '" + near + "'?"));
        }
        auto common = [&](auto& x) {
            if (auto v = n["startTime"]) x.start_time = duration(v, "startTime");
            if (auto v = n["gracefulStop"]) x.graceful_stop = duration(v, "gracefulStop");
        };
        auto require = [&](const char* k) {
            if (!n[k]) fail(key, "expected '" + std::string(k) + "' " + ctx + " (" + name + " needs it)");
            return n[k];
        };
        if (name == "constant-vus") {
            keys(n, {LOADKIT_COMMON_KEYS, "vus", "duration"}, ctx);
            constant_vus x;
            if (auto v = n["vus"]) x.vus = count(v, "vus", 1);
            x.duration = duration(require("duration"), "duration");
            common(x);
            s.exec = x;
        } else if (name == "ramping-vus") {
            keys(n, {LOADKIT_COMMON_KEYS, "startVUs", "stages", "gracefulRampDown"}, ctx);
            ramping_vus x;
            if (auto v = n["startVUs"]) x.start_vus = count(v, "startVUs", 0);
            x.stages = stages(require("stages"));
            if (auto v = n["gracefulRampDown"]) x.graceful_ramp_down = duration(v, "gracefulRampDown");
            common(x);
            s.exec = x;
        } else if (name == "per-vu-iterations" || name == "shared-iterations") {
            keys(n, {LOADKIT_COMMON_KEYS, "vus", "iterations", "maxDuration"}, ctx);
            auto fill = [&](auto x) {
                if (auto v = n["vus"]) x.vus = count(v, "vus", 1);
                if (auto v = n["iterations"]) x.iterations = integer(v, "iterations", 1);
                if (auto v = n["maxDuration"]) x.max_duration = duration(v, "maxDuration");
                common(x);
                s.exec = x;
            };
            if (name == "per-vu-iterations") fill(per_vu_iterations{});
            else fill(shared_iterations{});
        } else if (name == "constant-arrival-rate") {
            keys(n, {LOADKIT_COMMON_KEYS, "rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"}, ctx);
            constant_arrival_rate x;
            x.rate = number(require("rate"), "rate", 0);
            if (auto v = n["timeUnit"]) x.time_unit = duration(v, "timeUnit");
            x.duration = duration(require("duration"), "duration");
            x.pre_allocated_vus = count(require("preAllocatedVUs"), "preAllocatedVUs", 0);
            if (auto v = n["maxVUs"]) x.max_vus = count(v, "maxVUs", 0);
            common(x);
            s.exec = x;
        } else if (name == "externally-controlled") {
            // k6's keys; 'duration' is required as in k6 (0: until stopped)
            keys(n, {LOADKIT_COMMON_KEYS, "vus", "maxVUs", "duration"}, ctx);
            externally_controlled x;
            if (auto v = n["vus"]) x.vus = count(v, "vus", 0);
            if (auto v = n["maxVUs"]) x.max_vus = count(v, "maxVUs", 0);
            x.duration = duration(require("duration"), "duration");
            common(x);
            s.exec = x;
        } else {
            keys(n, {LOADKIT_COMMON_KEYS, "startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"}, ctx);
            ramping_arrival_rate x;
            if (auto v = n["startRate"]) x.start_rate = number(v, "startRate", 0);
            if (auto v = n["timeUnit"]) x.time_unit = duration(v, "timeUnit");
            x.stages = stages(require("stages"));
            x.pre_allocated_vus = count(require("preAllocatedVUs"), "preAllocatedVUs", 0);
            if (auto v = n["maxVUs"]) x.max_vus = count(v, "maxVUs", 0);
            common(x);
            s.exec = x;
        }
#undef LOADKIT_COMMON_KEYS
#undef LOADKIT_SCENARIO_KEYS
        auto wait = n["waitTime"] ? scalar(n["waitTime"], "waitTime") : std::string();
        try {
            loadkit::detail::schedule::validate(s.name, s.exec);
            if (!wait.empty()) s.wait = loadkit::detail::parse_wait_time(wait, s.name, is_open_model(s.exec));
        } catch (const config_error& e) {
            if (!e.key.empty())
                if (auto at = n[e.key]) fail(at, e.what());  // the option it is about, where written
            fail(n, e.what());
        }
        for (auto [k, field, pos] : {std::tuple{"exec", &s.exec_function, &s.exec_where},
                                     std::tuple{"on_start", &s.on_start, &s.on_start_where},
                                     std::tuple{"on_stop", &s.on_stop, &s.on_stop_where}}) {
            if (auto v = n[k]) {
                *field = scalar(v, k);
                *pos = where(v);
                if (!have_script)
                    fail(v, std::string(k) + " '" + *field +
                                "' names a script function, but the file has no 'script: FILE.js'");
            }
        }
        if (auto v = n["env"]) s.env = string_map(v, "env");
        if (auto v = n["tags"]) s.tags = string_map(v, "tags");
        if (auto v = n["data"]) s.data = data(v);
        if (auto v = n["flow"]) s.flow = steps(v, s);
        if (auto v = n["tasks"]) tasks(v, s, have_script);
        if (auto v = n["taskOrder"]) {
            auto o = scalar(v, "taskOrder");
            if (o != "weighted" && o != "sequential") fail(v, "expected 'taskOrder' to be weighted or sequential");
            s.task_weights.sequential = o == "sequential";
        }
        check_variables(s, have_script);
        if (s.flow.empty() && s.exec_function.empty() && s.tasks.empty())
            fail(key, "scenario '" + s.name + "' has nothing to do: give it a 'flow', an 'exec' function or 'tasks'");
        return s;
    }

    // Locust's tasks: a list of {flow, exec, weight, tags, name} or function names, or functions to weights: {browse: 3}
    void tasks(const Node& n, scenario_plan& s, bool have_script) const {
        if (!s.flow.empty() || !s.exec_function.empty())
            fail(n, "scenario '" + s.name + "' has 'tasks' and also 'flow' or 'exec': give each task its own");
        auto add = [&](const Node& at, std::string name, const Node* weight, const Node* tags) {
            task_info t{std::move(name), 1, {}};
            if (weight) t.weight = static_cast<unsigned>(integer(*weight, "weight", 0, 1'000'000));
            if (tags && is_sequence(*tags))
                for (auto& x : tags->elements()) t.tags.push_back(scalar(x, "tags"));
            else if (tags) t.tags.push_back(scalar(*tags, "tags"));
            s.task_weights.tasks.push_back(std::move(t));
            s.tasks.push_back({{}, {}, where(at)});
        };
        auto script_fn = [&](const Node& at, std::string f) {
            if (!have_script)
                fail(at, "task '" + f + "' names a script function, but the file has no 'script: FILE.js'");
            s.tasks.back().exec = std::move(f);
        };
        if (!is_map(n) && !is_sequence(n))
            fail(n, "expected 'tasks' to be a list of {flow, exec, weight}, or functions to weights, found " +
                        describe(n));
        if (is_map(n)) {
            for (auto& [key, value] : n.entries()) {
                auto f = scalar(key, "tasks");  // {browse: 3} or {browse: {weight: 3, tags: [read]}}
                if (is_map(value)) keys(value, {"weight", "tags"}, "in task '" + f + "'");
                auto w = is_map(value) ? value["weight"] : value, t = is_map(value) ? value["tags"] : value;
                add(key, f, w ? &w : nullptr, is_map(value) && t ? &t : nullptr);
                script_fn(key, f);
            }
        } else {
            for (auto& e : n.elements()) {
                if (is_scalar(e)) {  // a script function's name: [login, browse, logout] (taskOrder: sequential)
                    add(e, scalar(e, "tasks"), nullptr, nullptr);
                    script_fn(e, scalar(e, "tasks"));
                    continue;
                }
                if (!is_map(e)) fail(e, "expected a task {flow, exec, weight, tags, name}, found " + describe(e));
                keys(e, {"flow", "exec", "weight", "tags", "name"}, "in a task");
                auto w = e["weight"], t = e["tags"], nm = e["name"], fl = e["flow"], ex = e["exec"];
                add(e, nm ? scalar(nm, "name") : "task " + std::to_string(s.tasks.size() + 1), w ? &w : nullptr,
                    t ? &t : nullptr);
                if (fl) s.tasks.back().flow = steps(fl, s);
                if (ex) script_fn(ex, scalar(ex, "exec"));
                if (!fl && !ex) fail(e, "expected a task to have a 'flow' or an 'exec' function");
            }
        }
        if (s.tasks.empty()) fail(n, "expected at least one task in 'tasks'");
    }  // (the engine checks the weights and --tags before any load)

    data_source data(const Node& n) const {
        if (!is_map(n)) fail(n, "expected 'data' to be {file, mode}, found " + describe(n));
        keys(n, {"file", "mode"}, "in 'data'");
        if (!n["file"]) fail(n, "expected 'file: PATH.csv' in 'data'");
        data_source d;
        d.file = scalar(n["file"], "file");
        auto path = (base_ / d.file).lexically_normal().string();
        if (auto m = n["mode"]) {
            auto s = scalar(m, "mode");
            if (s == "sequential") d.mode = feed_mode::sequential;
            else if (s == "random") d.mode = feed_mode::random;
            else if (s == "unique") d.mode = feed_mode::unique;
            else fail(m, "expected 'mode' to be sequential, random or unique, found '" + s + "'");
        }
        std::shared_ptr<csv_table> table;
        try {
            table = std::make_shared<csv_table>(load_csv(path));
        } catch (const load_error&) {
            throw;  // a mistake inside the data file, where it is in that file
        } catch (const config_error& e) {
            fail(n["file"], "data file '" + d.file + "': " + e.what());  // it cannot be read
        }
        if (table->rows.empty()) fail(n["file"], "data file '" + d.file + "' has a header but no rows");
        d.rows = std::make_shared<feeder>(table, d.mode);
        return d;
    }

    std::vector<step> steps(const Node& n, const scenario_plan& sc) const {
        if (!is_sequence(n)) fail(n, "expected a list of steps (request, think, loop, group), found " + describe(n));
        std::vector<step> out;
        for (auto& s : n.elements()) out.push_back(one_step(s, sc));
        return out;
    }

    step one_step(const Node& n, const scenario_plan& sc) const {
        if (!is_map(n)) fail(n, "expected a step (request, think, loop or group), found " + describe(n));
        step st;
        st.where = where(n);
        if (auto r = n["request"]) {
            keys(n, {"request", "check", "capture"}, "in a request step");
            st.what = request(r, n["check"], n["capture"], sc);
        } else if (auto k = ws_step_key(n); !k.empty()) {
            st.what = build_ws_step(*this, n, k, sc);  // ws_steps.hpp
        } else if (n["grpc"]) {
            st.what = build_grpc_step(*this, n, sc);  // grpc_steps.hpp
        } else if (auto t = n["think"]) {
            keys(n, {"think"}, "in a think step");
            st.what = think(t);
        } else if (auto l = n["loop"]) {
            keys(n, {"loop"}, "in a loop step");
            if (!is_map(l)) fail(l, "expected 'loop' to be {count, steps}, found " + describe(l));
            keys(l, {"count", "steps"}, "in 'loop'");
            if (!l["count"] || !l["steps"]) fail(l, "expected 'loop' to have 'count' and 'steps'");
            loop_step x;
            x.count = integer(l["count"], "count", 0);
            x.steps = steps(l["steps"], sc);
            st.what = std::move(x);
        } else if (auto g = n["group"]) {
            keys(n, {"group"}, "in a group step");
            if (!is_map(g)) fail(g, "expected 'group' to be {name, steps}, found " + describe(g));
            keys(g, {"name", "steps"}, "in 'group'");
            if (!g["name"] || !g["steps"]) fail(g, "expected 'group' to have 'name' and 'steps'");
            group_step x;
            x.name = scalar(g["name"], "name");
            if (auto why = loadkit::detail::group_name_error(x.name)) fail(g["name"], why);
            x.steps = steps(g["steps"], sc);
            st.what = std::move(x);
        } else {
            auto entries = n.entries();
            std::string k = !entries.empty() && is_scalar(entries[0].first) ? std::string(entries[0].first.scalar())
                                                                            : "";
            auto near = nearest(k, {"request", "think", "loop", "group", "ws_connect", "ws_send", "ws_receive", "ws_close", "grpc"});
            fail(!entries.empty() ? entries[0].first : n, "expected a step (request, think, loop, group, ws_* or grpc), found '" +
                                                              k + "'" +
                                                              (near.empty() ? "" : "; did you mean '" + near + "'?"));
        }
        return st;
    }

    think_step think(const Node& n) const {
        think_step t;
        if (is_map(n)) {
            keys(n, {"min", "max"}, "in 'think'");
            if (!n["min"] || !n["max"]) fail(n, "expected 'think' to have both 'min' and 'max'");
            t.min = duration(n["min"], "min");
            t.max = duration(n["max"], "max");
        } else {
            auto s = scalar(n, "think");
            auto dash = s.find('-');
            if (dash == std::string::npos) {
                t.min = t.max = duration(n, "think");
            } else {
                auto a = loadkit::detail::parse_duration(s.substr(0, dash)),
                     b = loadkit::detail::parse_duration(s.substr(dash + 1));
                if (!a || !b)
                    fail(n, "expected 'think' to be a duration (500ms) or a range (1s-3s), found '" + s + "'");
                t.min = *a;
                t.max = *b;
            }
        }
        if (t.max < t.min) fail(n, "expected the think range's max to be at least its min");
        return t;
    }

    void check_template(const Node& n, const text_template& t, const scenario_plan& sc) const {
        for (auto& e : t.expressions())
            if (e.kind == expression::root::vars || e.kind == expression::root::bare)
                uses_.push_back({is_scalar(n) ? n.where(e.offset) : n.where(), e.path.substr(0, e.path.find('.')),
                                 (e.kind == expression::root::vars ? "vars." : "") + e.path});
            else if (e.kind == expression::root::data) {
                if (!sc.data) fail(n, "'{{ data." + e.path + " }}' needs a 'data' file in scenario '" + sc.name + "'");
                if (sc.data->rows->table().column(e.path) < 0)
                    fail(n, "'{{ data." + e.path + " }}': data file '" + sc.data->file + "' has no column '" + e.path +
                                "'");
            }
    }

    request_step request(const Node& n, const Node& check, const Node& capture, const scenario_plan& sc) const {
        if (!is_map(n)) fail(n, "expected 'request' to be a mapping with at least 'url', found " + describe(n));
        keys(n, {"name", "method", "url", "headers", "body", "json", "auth"}, "in 'request'");
        request_step r;
        if (!n["url"]) fail(n, "expected 'url' in this request");
        r.url = templ(n["url"], "url");
        check_template(n["url"], r.url, sc);
        r.name = n["name"] ? scalar(n["name"], "name") : r.url.source();
        if (auto m = n["method"]) {
            r.method = scalar(m, "method");
            static const std::vector<std::string_view> methods{"GET",    "POST", "PUT",    "PATCH",
                                                               "DELETE", "HEAD", "OPTIONS"};
            std::transform(r.method.begin(), r.method.end(), r.method.begin(),
                           [](unsigned char c) { return std::toupper(c); });
            if (std::find(methods.begin(), methods.end(), r.method) == methods.end())
                fail(m, "expected a method (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS), found '" +
                            std::string(m.scalar()) + "'");
        }
        if (auto a = n["auth"]) {  // k6's params.auth: credentials in the URL are basic auth already
            auto v = scalar(a, "auth");
            if (v == "digest") r.digest_auth = true;
            else if (v != "basic") fail(a, "expected 'auth' to be 'basic' or 'digest', found '" + v + "'");
        }
        bool content_type = false;
        if (auto h = n["headers"]) {
            if (!is_map(h)) fail(h, "expected 'headers' to be a mapping, found " + describe(h));
            for (auto& [key, value] : h.entries()) {
                auto name = scalar(key, "header name");
                content_type |= loadkit::detail::iequals(name, "content-type");
                auto t = templ(value, name);
                check_template(value, t, sc);
                r.headers.emplace_back(name, std::move(t));
            }
        }
        if (n["body"] && n["json"]) fail(n["json"], "a request has either 'body' or 'json', not both");
        if (auto b = n["body"]) {
            r.body = templ(b, "body");
            check_template(b, *r.body, sc);
        }
        if (auto j = n["json"]) {
            r.body = templ_text(j, to_json(j).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            check_template(j, *r.body, sc);
            if (!content_type) r.headers.emplace_back("Content-Type", templ_text(j, "application/json"));
        }
        if (check) {
            if (!is_map(check))
                fail(
                    check,
                    "expected 'check' to map what to check (status, json.PATH, header.NAME, body) to the expected value, found " +
                        describe(check));
            for (auto& [key, value] : check.entries()) {
                auto what = scalar(key, "check");
                check_rule c;
                c.expected = scalar_json(value);
                if (!is_scalar(value))
                    fail(value, "expected a single value to compare '" + what + "' with, found " + describe(value));
                part(key, what, c.from, c.path, true);
                if (c.from == response_part::status && c.expected.is_string()) {  // status: '200'
                    int code = 0;
                    auto& t = c.expected.get_ref<const std::string&>();
                    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), code);
                    if (ec == std::errc() && p == t.data() + t.size()) c.expected = code;
                }
                if (c.from == response_part::status && !c.expected.is_number())
                    fail(value, "expected a status code for 'status', found '" + std::string(value.scalar()) + "'");
                c.name = r.name + ": " + what + (c.from == response_part::body ? " contains " : " is ") +
                         std::string(value.scalar());
                r.needs_json |= c.from == response_part::json;
                r.checks.push_back(std::move(c));
            }
        }
        if (capture) {
            if (!is_map(capture))
                fail(capture,
                     "expected 'capture' to map variable names to json.PATH, header.NAME, status or body, found " +
                         describe(capture));
            for (auto& [key, value] : capture.entries()) {
                capture_rule c;
                c.var = scalar(key, "capture");
                part(value, scalar(value, c.var), c.from, c.path, false);
                c.check_name = r.name + ": captured " + c.var;
                r.needs_json |= c.from == response_part::json;
                r.captures.push_back(std::move(c));
            }
        }
        return r;
    }

    // "status", "body", "json.a.b", "header.Name", "proto" (HTTP/1.1 or HTTP/2.0)
    void part(const Node& n, const std::string& s, response_part& from, std::string& path, bool in_check) const {
        if (s == "status") from = response_part::status;
        else if (s == "proto") from = response_part::proto;
        else if (s == "body") from = response_part::body;
        else if (s.starts_with("json.") && s.size() > 5) {
            from = response_part::json;
            path = s.substr(5);
        } else if (s.starts_with("header.") && s.size() > 7) {
            from = response_part::header;
            path = s.substr(7);
        } else {
            auto near = nearest(s.substr(0, s.find('.')), {"status", "body", "json", "header", "proto"});
            fail(n, std::string("expected ") + (in_check ? "what to check" : "where to capture from") +
                        ": status, body, proto, json.PATH or header.NAME, found '" + s + "'" +
                        (near.empty() ? "" : "; did you mean '" + near + "...'?"));
        }
    }

    // A variable a template reads ({{ vars.token }}, a bare {{ token }})
    // must be one the scenario captures (or, bare, a data column): known at
    // load time unless a script may set vars (session.vars). A typo would
    // otherwise render as nothing and show up as 401s.
    void check_variables(const scenario_plan& s, bool have_script) const {
        auto uses = std::move(uses_);
        uses_.clear();
        if (have_script) return;
        std::vector<std::string> vars;
        captured_variables(s.flow, vars);
        for (auto& u : uses) {
            bool bare = !u.text.starts_with("vars.");
            if (std::find(vars.begin(), vars.end(), u.name) != vars.end()) continue;
            if (bare && s.data && s.data->rows->table().column(u.name) >= 0) continue;
            std::vector<std::string_view> known(vars.begin(), vars.end());
            auto near = nearest(u.name, known);
            std::sort(vars.begin(), vars.end());
            vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
            std::string names;
            for (auto& v : vars) names += (names.empty() ? "" : ", ") + v;
            fail(u.at, "unknown variable '" + u.name + "' in '{{ " + u.text + " }}': scenario '" + s.name +
                           (vars.empty() ? "' captures nothing (capture: { NAME: json.PATH } on a request sets one)"
                                         : "' captures " + names) +
                           (bare && s.data ? " and its data file has no such column" : "") +
                           (near.empty() ? "" : "; did you mean '" + near + "'?"));
        }
    }

  private:
    struct variable_use {
        position at;
        std::string name, text;  // "token", "vars.token.a"
    };
    std::string file_;
    std::filesystem::path base_;
    mutable std::vector<variable_use> uses_;  // of the scenario being built
};


}  // namespace detail

// Builds the plan of a document; throws load_error (a config_error) on any
// mistake. `file` names it in messages and is the plan's file.
template <document_node Node>
plan build_plan(const Node& root, std::string file) {
    return detail::plan_builder<Node>(std::move(file)).build(root);
}

}  // namespace loadkit::inline LOADKIT_ABI::yaml
