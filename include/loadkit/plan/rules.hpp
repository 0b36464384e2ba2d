#pragma once
// What a flow's checks and captures read: of a request step's response
// (flow.hpp), and of a ws_receive step's message (ws_steps.hpp).
#include <string>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

// What checks and captures read from a response.
enum class response_part { status, json, header, body, proto };  // proto: HTTP/1.1 or HTTP/2.0

// `check: { status: 200, 'json.items.0.id': 1, 'header.Content-Type': application/json, body: ok }`
struct check_rule {
    std::string name;  // as counted in the summary: "feed: status is 200"
    response_part from = response_part::status;
    std::string path;         // JSON path or header name
    nlohmann::json expected;  // a scalar; for body: a substring
};
// `capture: { token: json.token, etag: header.ETag }` into the VU's vars
struct capture_rule {
    std::string var;
    response_part from = response_part::json;
    std::string path;
    std::string check_name;  // its check row: "login: captured token"
};

}  // namespace loadkit::inline LOADKIT_ABI::yaml
