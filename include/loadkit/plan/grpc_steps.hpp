#pragma once
// The gRPC step of a flow: one unary call, with checks and captures on its
// status, its response message (JSON, as k6 prints it) and its metadata,
// by the request step's rules (rules.hpp):
//
//   - grpc:
//       address: 127.0.0.1:50051     # host:port ({{ }} templates allowed)
//       plaintext: true               # default: TLS with ALPN h2, as k6
//       tls: {cacerts: [ca.pem], cert: client.pem, key: client-key.pem}  # files or PEM text
//       protos: [hello.proto]         # with importPaths: [protos], or reflect: true
//       method: hello.Greeter/SayHello
//       message: {name: "{{ vu }}"}   # YAML -> JSON, templates as a request's json:
//       metadata: {x-token: "{{ vars.token }}"}   # "-bin" keys: bytes, sent base64
//       timeout: 2s
//       name: hello                   # the name tag (default: the method)
//     check: {status: 0, json.message: hello 1}
//     capture: {greeting: json.message}
//
// This header needs no protobuf: the step's work goes through a seam
// (grpc_step_runtime) that plan/grpc_run.hpp installs when loadkit::grpc is
// linked (<loadkit/yaml.hpp> and <loadkit/js.hpp> include it then). Without
// it, a file with a grpc step fails to load, at the step, saying so. With
// it, the .proto files are read, and the method and the message's fields
// checked, at load time; what can only fail at run time (the connection,
// templated values, reflection's descriptors) is counted there.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/duration.hpp"
#include "../core/file.hpp"
#include "../core/task.hpp"
#include "../http/client.hpp"
#include "document.hpp"
#include "rules.hpp"
#include "template.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

struct grpc_step {
    std::string name;        // the name tag (default: the method)
    std::string method;      // "/pkg.Service/Method"
    text_template address;   // host:port
    bool plaintext = false;  // k6's default: TLS
    bool has_tls = false;    // a tls: map (its CAs and certificate replace the global ones, as k6's)
    std::vector<std::string> cacerts;
    std::string cert, key, password;
    bool reflect = false;
    std::vector<std::string> import_paths, protos;
    text_template message;  // JSON
    std::vector<std::pair<std::string, text_template>> metadata;
    std::optional<nanoseconds> timeout;
    std::vector<check_rule> checks;
    std::vector<capture_rule> captures;
    bool needs_json = false;
    std::string where;                  // "file:line", for run-time errors
    std::shared_ptr<const void> ready;  // the seam's: descriptors and method, found at load time
};

// A call's outcome, as checks and captures read it.
struct grpc_outcome {
    int status = 0;
    std::string message;  // the response message as JSON ("" without one)
    std::string error;
    std::vector<std::pair<std::string, std::string>> headers, trailers;
};

namespace detail {

// A VU's gRPC side: its connections, one per address and connection settings.
struct grpc_step_vu {
    virtual ~grpc_step_vu() = default;
    virtual task<> call(const grpc_step& s, const std::string& address, const std::string& message,
                        const std::vector<std::pair<std::string, std::string>>& metadata, grpc_outcome& out) = 0;
};
// What loadkit::grpc gives the plan (plan/grpc_run.hpp).
struct grpc_step_runtime {
    virtual ~grpc_step_runtime() = default;
    // Load time: the descriptors and the method into s.ready; the message's
    // JSON checked (fully when `fixed`, else its field names). "" or what
    // is wrong; `bad_field`: the keys down to a field the message type lacks.
    virtual std::string prepare(grpc_step& s, const nlohmann::json& message, bool fixed,
                                std::vector<std::string>& bad_field) const = 0;
    virtual std::unique_ptr<grpc_step_vu> make_vu(client& http) const = 0;
};
inline const grpc_step_runtime* grpc_installed = nullptr;

// PEM text as written, or a file's (relative to the plan's folder).
template <class B, class Node>
std::string pem_of(const B& b, const Node& n, std::string_view what) {
    auto v = b.scalar(n, what);
    if (v.find("-----BEGIN") != std::string::npos) return v;
    auto path = (b.base_ / v).lexically_normal().string();
    std::string text, why;
    if (!loadkit::detail::read_input_file(path, 1 << 20, text, why))
        b.fail(n, std::string(what) + ": cannot read '" + v + "': " + why);
    return text;
}

// Builds a grpc step (`n` has the key grpc, and maybe check and capture).
template <class B, class Node, class Scenario>
grpc_step build_grpc_step(const B& b, const Node& n, const Scenario& sc) {
    b.keys(n, {"grpc", "check", "capture"}, "in a grpc step");
    auto v = n["grpc"];
    grpc_step g;
    g.where = b.file_ + ":" + std::to_string(n.where().line);
    if (!grpc_installed)
        b.fail(n["grpc"], "a grpc step needs loadkit built with gRPC (loadkit::grpc: libprotobuf and libprotoc); "
                          "this one has none");
    if (!is_map(v)) b.fail(v, "expected 'grpc' to be a mapping with address, method and message, found " + describe(v));
    b.keys(v,
           {"address", "plaintext", "tls", "protos", "importPaths", "reflect", "method", "message", "metadata",
            "timeout", "name"},
           "in 'grpc'");
    if (!v["address"]) b.fail(v, "expected 'address: HOST:PORT' in 'grpc'");
    if (!v["method"]) b.fail(v, "expected 'method: package.Service/Method' in 'grpc'");
    g.address = b.templ(v["address"], "address");
    b.check_template(v["address"], g.address, sc);
    auto m = b.scalar(v["method"], "method");
    if (m.empty() || m.find('/', 1) == std::string::npos)
        b.fail(v["method"], "expected 'method' to be package.Service/Method, found '" + m + "'");
    g.method = m[0] == '/' ? m : "/" + m;
    g.name = v["name"] ? b.scalar(v["name"], "name") : g.method;
    if (auto p = v["plaintext"]) g.plaintext = b.boolean(p, "plaintext");
    if (auto t = v["tls"]) {
        if (!is_map(t)) b.fail(t, "expected 'tls' to be {cacerts, cert, key, password}, found " + describe(t));
        b.keys(t, {"cacerts", "cert", "key", "password"}, "in 'tls'");
        if (g.plaintext) b.fail(t, "a grpc step has either 'plaintext: true' or 'tls', not both");
        g.has_tls = true;
        if (auto c = t["cacerts"]) {
            if (is_sequence(c))
                for (auto& e : c.elements()) g.cacerts.push_back(pem_of(b, e, "cacerts"));
            else g.cacerts.push_back(pem_of(b, c, "cacerts"));
        }
        if (t["cert"] || t["key"]) {
            if (!t["cert"] || !t["key"]) b.fail(t, "a client certificate needs both 'cert' and 'key'");
            g.cert = pem_of(b, t["cert"], "cert");
            g.key = pem_of(b, t["key"], "key");
        }
        if (auto p = t["password"]) g.password = b.scalar(p, "password");
    }
    auto list = [&](const char* key, std::vector<std::string>& out) {
        auto l = v[key];
        if (!l) return;
        if (is_scalar(l)) out.push_back(b.scalar(l, key));
        else if (is_sequence(l))
            for (auto& e : l.elements()) out.push_back(b.scalar(e, key));
        else b.fail(l, "expected '" + std::string(key) + "' to be a list of files, found " + describe(l));
    };
    list("protos", g.protos);
    list("importPaths", g.import_paths);
    for (auto& p : g.import_paths) p = (b.base_ / p).lexically_normal().string();
    if (g.import_paths.empty()) g.import_paths.push_back(b.base_.empty() ? "." : b.base_.string());
    if (auto r = v["reflect"]) g.reflect = b.boolean(r, "reflect");
    if (g.protos.empty() && !g.reflect)
        b.fail(v, "expected 'protos: [FILE.proto]' (with 'importPaths') or 'reflect: true' in 'grpc'");
    if (!g.protos.empty() && g.reflect)
        b.fail(v["reflect"], "a grpc step has either 'protos' or 'reflect: true', not both");
    nlohmann::json message = nlohmann::json::object();
    if (auto msg = v["message"]) {
        if (!is_map(msg))
            b.fail(msg, "expected 'message' to be a mapping (the request message's fields), found " + describe(msg));
        message = B::to_json(msg);
        g.message = b.templ_text(msg, message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        b.check_template(msg, g.message, sc);
    } else {
        g.message = b.templ_text(v, "{}");
    }
    if (auto md = v["metadata"]) {
        if (!is_map(md)) b.fail(md, "expected 'metadata' to be a mapping, found " + describe(md));
        for (auto& [k, val] : md.entries()) {
            auto key = b.scalar(k, "metadata key");
            for (auto& c : key) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);  // gRPC's keys are lower case
            auto t = b.templ(val, key);
            b.check_template(val, t, sc);
            g.metadata.emplace_back(std::move(key), std::move(t));
        }
    }
    if (auto t = v["timeout"]) g.timeout = b.duration(t, "timeout");
    // checks and captures: the request step's rules, without proto
    if (auto c = n["check"]) {
        if (!is_map(c))
            b.fail(
                c,
                "expected 'check' to map what to check (status, json.PATH, header.NAME, body) to the expected value, found " +
                    describe(c));
        for (auto& [k, val] : c.entries()) {
            auto what = b.scalar(k, "check");
            check_rule r;
            if (!is_scalar(val))
                b.fail(val, "expected a single value to compare '" + what + "' with, found " + describe(val));
            r.expected = B::scalar_json(val);
            b.part(k, what, r.from, r.path, true);
            if (r.from == response_part::proto) b.fail(k, "a gRPC call has no proto to check");
            if (r.from == response_part::status && !r.expected.is_number())
                b.fail(val,
                       "expected a gRPC status code (0 is OK) for 'status', found '" + std::string(val.scalar()) + "'");
            r.name = g.name + ": " + what + (r.from == response_part::body ? " contains " : " is ") +
                     std::string(val.scalar());
            g.needs_json |= r.from == response_part::json;
            g.checks.push_back(std::move(r));
        }
    }
    if (auto c = n["capture"]) {
        if (!is_map(c))
            b.fail(c, "expected 'capture' to map variable names to json.PATH, header.NAME, status or body, found " +
                          describe(c));
        for (auto& [k, val] : c.entries()) {
            capture_rule r;
            r.var = b.scalar(k, "capture");
            b.part(val, b.scalar(val, r.var), r.from, r.path, false);
            if (r.from == response_part::proto) b.fail(val, "a gRPC call has no proto to capture");
            r.check_name = g.name + ": captured " + r.var;
            g.needs_json |= r.from == response_part::json;
            g.captures.push_back(std::move(r));
        }
    }
    std::vector<std::string> bad;
    auto why = grpc_installed->prepare(g, message, g.message.expressions().empty(), bad);
    if (!why.empty()) {
        // at the field the message type lacks, when it is one; else at the part it is about
        Node at = v["message"] ? v["message"] : v;
        for (auto& key : bad) {
            if (!is_map(at)) break;
            bool found = false;
            for (auto& [k, val] : at.entries())
                if (is_scalar(k) && k.scalar() == key) {
                    at = &key == &bad.back() ? k : val;  // the last key: the field itself
                    found = true;
                    break;
                }
            if (!found) break;
        }
        if (bad.empty() && why.find("method") != std::string::npos) at = v["method"];
        else if (bad.empty() && why.find("cannot load") != std::string::npos && v["protos"]) at = v["protos"];
        b.fail(at, why);
    }
    return g;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::yaml
