#pragma once
// k6's REST API for steering a run (k6 v0.48's api/v1 status routes), as
// routes on a live_server (outputs/live_server.hpp, whose origin rule refuses
// a page from another site), over the engine's run_control (engine/control.hpp):
//
//   GET   /v1/status  -> {"data":{"type":"status","id":"default","attributes":{"status":7,"paused":false,
//                         "vus":10,"vus-max":10,"stopped":false,"running":true,"tainted":false,"aborted":false}}}
//   PATCH /v1/status  with {"data":{"type":"status","id":"default","attributes":{...}}}:
//         {"paused":true|false}         pause, resume
//         {"vus":N, "vus-max":M}        scale (either or both; an externally-controlled scenario only)
//         {"stopped":true}              a graceful stop, as a first SIGINT (exit 103, as k6)
//         {"aborted":true}              loadkit's: stop at once, as a second SIGINT
//   and answers with the new status. Errors are k6's: {"errors":[{"status":"400","title":...,"detail":...}]}.
//
// Who asked goes into the summary's control list: `?by=cli` (what `loadkit
// pause` and the others send), "dashboard" for a request with an Origin (the
// page, same origin: others are refused before this), else "api".
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/control.hpp"
#include "live_server.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {

inline live_response control_error(int status, std::string_view title, std::string_view detail) {
    return {status, "application/json", live_error_json(status, title, detail), {}};
}
inline live_response control_status_response(const run_control& c) {
    return {200, "application/json", status_json(c.status()).dump() + "\n", {}};
}
inline std::string_view control_caller(const live_request& r) {
    if (r.query == "by=cli" || r.query.find("by=cli&") == 0) return "cli";
    if (!r.origin.empty()) return "dashboard";
    return "api";
}

// PATCH /v1/status: the attributes checked first (types, as k6's strict
// decoding), then acted on in k6's order: a stop wins; else pause/resume,
// then scale.
inline live_response control_patch(run_control& c, const live_request& r) {
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    if (doc.is_discarded()) return control_error(400, "Invalid data", "the body is not JSON");
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_object())
        return control_error(400, "Invalid data", R"(expected {"data":{"type":"status","attributes":{...}}})");
    auto& data = doc["data"];
    if (data.contains("type") && data["type"] != "status")
        return control_error(400, "Invalid data", "expected data.type \"status\"");
    auto attrs = data.value("attributes", nlohmann::json::object());
    if (!attrs.is_object()) return control_error(400, "Invalid data", "expected data.attributes to be an object");
    auto flag = [&](const char* k, std::optional<bool>& out) -> bool {
        if (!attrs.contains(k) || attrs[k].is_null()) return true;
        if (!attrs[k].is_boolean()) return false;
        out = attrs[k].get<bool>();
        return true;
    };
    auto count = [&](const char* k, std::optional<std::int64_t>& out) -> bool {
        if (!attrs.contains(k) || attrs[k].is_null()) return true;
        if (!attrs[k].is_number_integer()) return false;
        out = attrs[k].get<std::int64_t>();
        return true;
    };
    std::optional<bool> paused, stopped, aborted;
    std::optional<std::int64_t> vus, vus_max;
    for (auto [k, ok] : {std::pair{"paused", flag("paused", paused)}, std::pair{"stopped", flag("stopped", stopped)},
                         std::pair{"aborted", flag("aborted", aborted)}})
        if (!ok) return control_error(400, "Invalid data", std::string("expected '") + k + "' to be true or false");
    for (auto [k, ok] : {std::pair{"vus", count("vus", vus)}, std::pair{"vus-max", count("vus-max", vus_max)}})
        if (!ok) return control_error(400, "Invalid data", std::string("expected '") + k + "' to be a whole number");

    auto by = control_caller(r);
    auto answer = [&](const control_outcome& o) {
        return o.ok ? control_status_response(c) : control_error(o.http_status, o.title, o.detail);
    };
    if (aborted.value_or(false)) return answer(c.abort(by));
    if (stopped.value_or(false)) return answer(c.stop(by));
    if (paused) {  // (as k6: pausing a paused run is an error)
        auto o = *paused ? c.pause(by) : c.resume(by);
        if (!o.ok) return answer(o);
    }
    if (vus || vus_max) return answer(c.scale(vus, vus_max, by));
    return control_status_response(c);
}

}  // namespace detail

// Adds GET and PATCH /v1/status on `s` (before s.start()); `c` must outlive `s`.
inline void add_control_routes(live_server& s, run_control& c) {
    s.route("GET", "/v1/status", [&c](const live_request&) { return detail::control_status_response(c); });
    s.route("PATCH", "/v1/status", [&c](const live_request& r) { return detail::control_patch(c, r); });
}

}  // namespace loadkit::inline LOADKIT_ABI
