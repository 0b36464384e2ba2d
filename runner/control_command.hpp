#pragma once
// The runner's side of the run's control (engine/control.hpp, k6's REST API
// in outputs/control_api.hpp):
//   loadkit run ... --address ADDR:PORT   serve GET/PATCH /v1/status during the run
//   loadkit run ... --paused (-p)          start paused (the API serves on localhost:6565 unless --address)
//   loadkit status|pause|resume --address ADDR:PORT
//   loadkit scale --vus N [--max M] --address ADDR:PORT
//   loadkit stop [--abort] --address ADDR:PORT
// The subcommands print the run's status as k6's `k6 status` does (YAML-ish
// "key: value" lines). Exit codes: 0 done; 1 the run refused (its error is
// printed: e.g. pausing a paused run, scaling without an externally-controlled
// scenario) or could not be reached; 2 a command-line mistake.
//
// Unlike k6, whose API is always on (localhost:6565), a run serves it only
// when asked (--address, --paused; --dashboard serves it beside its page):
// two runs on one machine must not fail because the first took 6565, and a
// run nobody steers opens no port. An --address that cannot be bound ends
// the run before any load with k6's code 106.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <loadkit/engine/control.hpp>
#include <loadkit/outputs/control_api.hpp>
#include <loadkit/outputs/live_server.hpp>

namespace loadkit::runner {

inline constexpr const char* default_control_address = "localhost:6565";  // k6's
inline constexpr int control_refused_exit = 1;
inline constexpr int cannot_serve_api_exit = 106;  // k6's CannotStartRESTAPI

// `loadkit status|pause|resume|scale|stop`'s flags.
struct control_flags {
    std::string address = default_control_address;
    std::optional<std::int64_t> vus, max;  // scale
    bool abort = false;                    // stop --abort
};

struct control_commands {
    CLI::App *status = nullptr, *pause = nullptr, *resume = nullptr, *scale = nullptr, *stop = nullptr;
    bool any() const { return *status || *pause || *resume || *scale || *stop; }
};

inline control_commands add_control_commands(CLI::App& app, control_flags& f) {
    control_commands c;
    auto address = [&](CLI::App* cmd) {
        cmd->add_option("-a,--address", f.address, "The run's control API, ADDR:PORT (as its --address)")
            ->default_str(default_control_address);
    };
    c.status = app.add_subcommand("status", "Show a running test's status (as k6 status)");
    c.pause = app.add_subcommand("pause", "Pause a running test: no new iterations (as k6 pause)");
    c.resume = app.add_subcommand("resume", "Resume a paused test, or start one run with --paused (as k6 resume)");
    c.scale = app.add_subcommand("scale", "Change an externally-controlled scenario's VUs (as k6 scale)");
    c.stop = app.add_subcommand("stop", "Stop a running test gracefully, as Ctrl-C (--abort: at once)");
    for (auto* cmd : {c.status, c.pause, c.resume, c.scale, c.stop}) {
        address(cmd);
        cmd->footer("Exit codes: 0 done, 1 the run refused or could not be reached, 2 a command-line mistake.");
    }
    c.scale->add_option("-u,--vus", f.vus, "VUs to run")->type_name("N");
    c.scale->add_option("-m,--max", f.max, "maxVUs (may rise over the scenario's, never below)")->type_name("N");
    c.stop->add_flag("--abort", f.abort, "Stop at once, as a second Ctrl-C (iterations in flight are cut)");
    return c;
}

namespace control_client {

// host and port of "ADDR:PORT", "[v6]:PORT", ":PORT" (localhost) or "PORT".
inline bool split_address(const std::string& a, std::string& host, std::string& port) {
    if (a.starts_with('[')) {
        auto close = a.find(']');
        if (close == std::string::npos || close + 1 >= a.size() || a[close + 1] != ':') return false;
        host = a.substr(1, close - 1);
        port = a.substr(close + 2);
    } else if (auto colon = a.rfind(':'); colon != std::string::npos) {
        host = colon ? a.substr(0, colon) : "localhost";
        port = a.substr(colon + 1);
    } else {
        host = "localhost";
        port = a;
    }
    return !host.empty() && !port.empty() && port.find_first_not_of("0123456789") == std::string::npos;
}

// One request to the API, bounded: 5 s to connect, 10 s in all, 1 MiB of answer.
inline bool control_request(const std::string& address, boost::beast::http::verb method, const std::string& body,
                            int& status, std::string& answer, std::string& error) {
    namespace http = boost::beast::http;
    std::string host, port;
    if (!split_address(address, host, port)) {
        error = "--address: expected ADDR:PORT, found '" + address + "'";
        return false;
    }
    try {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::resolver resolver(ioc);
        boost::beast::tcp_stream stream(ioc);
        boost::system::error_code ec;
        auto results = resolver.resolve(host, port, ec);
        if (ec) {
            error = "cannot resolve '" + host + "': " + ec.message();
            return false;
        }
        stream.expires_after(std::chrono::seconds(5));
        stream.connect(results, ec);
        if (ec) {
            error = "cannot reach a run's control API on " + address + " (" + ec.message() +
                    "); is a run going with --address " + address + "?";
            return false;
        }
        // ?by=cli: the summary's control list says who asked
        http::request<http::string_body> req{method, method == http::verb::get ? "/v1/status" : "/v1/status?by=cli",
                                             11};
        req.set(http::field::host, host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port);
        req.set(http::field::user_agent, "loadkit-cli");
        if (!body.empty()) {
            req.set(http::field::content_type, "application/json");
            req.body() = body;
        }
        req.prepare_payload();
        stream.expires_after(std::chrono::seconds(10));
        http::write(stream, req, ec);
        boost::beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);
        if (!ec) http::read(stream, buf, parser, ec);
        if (ec) {
            error = "no answer from " + address + ": " + ec.message();
            return false;
        }
        status = static_cast<int>(parser.get().result_int());
        answer = parser.get().body();
        return true;
    } catch (const std::exception& e) {
        error = e.what();
        return false;
    }
}

}  // namespace control_client

// Runs one of the subcommands; prints the status (stdout) or the error (stderr).
inline int control_command(const control_commands& c, const control_flags& f, std::ostream& out, std::ostream& err) {
    using boost::beast::http::verb;
    nlohmann::json attrs = nlohmann::json::object();
    if (*c.pause) attrs["paused"] = true;
    else if (*c.resume) attrs["paused"] = false;
    else if (*c.stop) attrs[f.abort ? "aborted" : "stopped"] = true;
    else if (*c.scale) {
        if (!f.vus && !f.max) {
            err << "loadkit: scale: give -u/--vus N, -m/--max N or both\n";
            return 2;
        }
        if (f.vus) attrs["vus"] = *f.vus;
        if (f.max) attrs["vus-max"] = *f.max;
    }
    std::string body;
    if (!*c.status)
        body = nlohmann::json{{"data", {{"type", "status"}, {"id", "default"}, {"attributes", attrs}}}}.dump();
    int status = 0;
    std::string answer, error;
    if (!control_client::control_request(f.address, *c.status ? verb::get : verb::patch, body, status, answer, error)) {
        err << "loadkit: " << error << "\n";
        return control_refused_exit;
    }
    auto doc = nlohmann::json::parse(answer, nullptr, false);
    if (status != 200) {
        std::string what = "HTTP " + std::to_string(status);
        if (!doc.is_discarded() && doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty()) {
            auto& e = doc["errors"][0];
            what = e.value("title", what) + ": " + e.value("detail", std::string());
        }
        err << "loadkit: the run refused: " << what << "\n";
        return control_refused_exit;
    }
    if (doc.is_discarded() || !doc.contains("data") || !doc["data"].contains("attributes")) {
        err << "loadkit: " << f.address << " answered something that is not a run's status\n";
        return control_refused_exit;
    }
    // k6's order of the fields, one per line
    auto& a = doc["data"]["attributes"];
    for (auto k : {"status", "paused", "vus", "vus-max", "stopped", "running", "tainted", "aborted"})
        if (a.contains(k)) out << k << ": " << a[k].dump() << "\n";
    return 0;
}

// The control API of a run, when asked for (--address, or --paused's default).
struct run_control_api {
    loadkit::run_control control;
    std::unique_ptr<loadkit::live_server> server;

    // An empty address and no --paused: no server. Throws config_error when it cannot listen.
    void start(const std::string& address, bool paused) {
        if (address.empty() && !paused) return;
        server = std::make_unique<loadkit::live_server>(address.empty() ? default_control_address : address);
        loadkit::add_control_routes(*server, control);
        server->start();
    }
    std::string url() const { return server ? server->url() + "v1/status" : std::string(); }
};

}  // namespace loadkit::runner
