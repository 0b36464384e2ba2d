#pragma once
// WebSocket steps of a flow (as Artillery's WebSocket engine offers them): a
// VU opens a session, sends, waits for a message with checks and captures
// (the request step's rules: body, json.PATH), and closes:
//
//   - ws_connect: /ws/echo          # or {url, name, headers, protocols, timeout}
//   - ws_send: "hello {{ vu }}"     # or {text: ...} / {binary: ...}
//   - ws_receive: {timeout: 2s, check: {body: hello}, capture: {greeting: body}}
//   - ws_close: 1000                # or {} (1000)
//
// One session per VU at a time: ws_connect replaces the last one, and the
// iteration's end closes it (flow.hpp). ws_receive skips pings and pongs; a
// timeout or the session's end fails its checks. Building (validating with
// positions) and the rules of checks on a message are here; flow.hpp runs them.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/duration.hpp"
#include "../ws/session.hpp"
#include "document.hpp"
#include "rules.hpp"
#include "template.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

struct ws_step {
    enum class op { connect, send, receive, close } what = op::connect;
    text_template text;  // connect: the URL; send: the message
    std::string name;    // connect: the sessions' name tag (default: none, as k6)
    std::vector<std::pair<std::string, text_template>> headers;
    std::vector<std::string> protocols;
    std::optional<nanoseconds> timeout;  // connect: the handshake's; receive: the wait (default 5 s)
    bool binary = false;                 // send: a binary message
    int code = 1000;                     // close
    std::vector<check_rule> checks;
    std::vector<capture_rule> captures;
    bool needs_json = false;
};

namespace detail {

inline constexpr std::string_view ws_step_names[] = {"ws_connect", "ws_send", "ws_receive", "ws_close"};

// The step's key when `n` is a WebSocket step, else empty.
template <class Node>
std::string_view ws_step_key(const Node& n) {
    for (auto k : ws_step_names)
        if (n[std::string(k)]) return k;
    return {};
}

// Builds a WebSocket step; `b` is the plan_builder (its checks of keys,
// values and templates, and its failures at a node's position).
template <class B, class Node, class Scenario>
ws_step build_ws_step(const B& b, const Node& n, std::string_view key, const Scenario& sc) {
    ws_step w;
    auto v = n[std::string(key)];
    if (key == "ws_connect") {
        w.what = ws_step::op::connect;
        b.keys(n, {"ws_connect"}, "in a ws_connect step");
        Node url = v;
        if (is_map(v)) {
            b.keys(v, {"url", "name", "headers", "protocols", "timeout"}, "in 'ws_connect'");
            if (!v["url"]) b.fail(v, "expected 'url' in 'ws_connect' (ws://, wss:// or a path on the target)");
            url = v["url"];
            if (auto nm = v["name"]) w.name = b.scalar(nm, "name");
            if (auto h = v["headers"]) {
                if (!is_map(h)) b.fail(h, "expected 'headers' to be a mapping, found " + describe(h));
                for (auto& [k, val] : h.entries()) {
                    auto name = b.scalar(k, "header name");
                    auto t = b.templ(val, name);
                    b.check_template(val, t, sc);
                    w.headers.emplace_back(name, std::move(t));
                }
            }
            if (auto p = v["protocols"]) {
                if (is_scalar(p)) w.protocols.push_back(b.scalar(p, "protocols"));
                else if (is_sequence(p))
                    for (auto& e : p.elements()) w.protocols.push_back(b.scalar(e, "protocol"));
                else b.fail(p, "expected 'protocols' to be a list of subprotocols, found " + describe(p));
            }
            if (auto t = v["timeout"]) w.timeout = b.duration(t, "timeout");
        }
        w.text = b.templ(url, "ws_connect");
        b.check_template(url, w.text, sc);
        auto src = w.text.source();
        if (!(src.starts_with("ws://") || src.starts_with("wss://") || src.starts_with("/") || src.starts_with("{{")))
            b.fail(url, "expected a ws:// or wss:// URL, or a path on the target (/ws/echo), found '" +
                            std::string(src) + "'");
    } else if (key == "ws_send") {
        w.what = ws_step::op::send;
        b.keys(n, {"ws_send"}, "in a ws_send step");
        Node text = v;
        if (is_map(v)) {
            b.keys(v, {"text", "binary"}, "in 'ws_send'");
            if (v["text"] && v["binary"]) b.fail(v, "a ws_send has either 'text' or 'binary', not both");
            if (!v["text"] && !v["binary"]) b.fail(v, "expected 'text' or 'binary' in 'ws_send'");
            w.binary = static_cast<bool>(v["binary"]);
            text = w.binary ? v["binary"] : v["text"];
        }
        if (!is_scalar(text)) b.fail(text, "expected the message to send, found " + describe(text));
        w.text = b.templ(text, "ws_send");
        b.check_template(text, w.text, sc);
    } else if (key == "ws_receive") {
        w.what = ws_step::op::receive;
        b.keys(n, {"ws_receive"}, "in a ws_receive step");
        if (is_map(v)) {
            b.keys(v, {"timeout", "check", "capture"}, "in 'ws_receive'");
            if (auto t = v["timeout"]) w.timeout = b.duration(t, "timeout");
            if (auto c = v["check"]) {
                if (!is_map(c))
                    b.fail(c, "expected 'check' to map what to check (body, json.PATH) to the expected value, found " +
                                  describe(c));
                for (auto& [k, val] : c.entries()) {
                    auto what = b.scalar(k, "check");
                    check_rule r;
                    if (!is_scalar(val))
                        b.fail(val,
                               "expected a single value to compare '" + what + "' with, found " + describe(val));
                    r.expected = B::scalar_json(val);
                    b.part(k, what, r.from, r.path, true);
                    if (r.from != response_part::body && r.from != response_part::json)
                        b.fail(k,
                               "a message has no status or headers: check its body or json.PATH, found '" + what + "'");
                    r.name = "ws_receive: " + what + (r.from == response_part::body ? " contains " : " is ") +
                             std::string(val.scalar());
                    w.needs_json |= r.from == response_part::json;
                    w.checks.push_back(std::move(r));
                }
            }
            if (auto c = v["capture"]) {
                if (!is_map(c))
                    b.fail(c, "expected 'capture' to map variable names to body or json.PATH, found " + describe(c));
                for (auto& [k, val] : c.entries()) {
                    capture_rule r;
                    r.var = b.scalar(k, "capture");
                    auto from = b.scalar(val, r.var);
                    b.part(val, from, r.from, r.path, false);
                    if (r.from != response_part::body && r.from != response_part::json)
                        b.fail(val, "a message has no status or headers: capture its body or json.PATH, found '" +
                                        from + "'");
                    w.needs_json |= r.from == response_part::json;
                    r.check_name = "ws_receive: captured " + r.var;
                    w.captures.push_back(std::move(r));
                }
            }
        } else if (!is_null(v) && !(is_scalar(v) && v.scalar().empty())) {
            w.timeout = b.duration(v, "ws_receive");  // ws_receive: 2s
        }
    } else {
        w.what = ws_step::op::close;
        b.keys(n, {"ws_close"}, "in a ws_close step");
        if (is_map(v)) {
            b.keys(v, {"code"}, "in 'ws_close'");
            if (auto c = v["code"]) w.code = static_cast<int>(b.integer(c, "code", 0));
        } else if (is_scalar(v) && !v.scalar().empty()) {
            w.code = static_cast<int>(b.integer(v, "ws_close", 0));
        }
        if (w.code < 1000 || w.code > 4999) b.fail(v, "expected a close code from 1000 to 4999");
    }
    return w;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::yaml
