#pragma once
// k6/net/grpc: grpc.Client (load, loadProtoset, connect, invoke, close),
// grpc.Stream (on 'data' | 'error' | 'end', write, end) and the grpc.Status*
// constants, over loadkit's gRPC client (grpc/). Only with loadkit::grpc
// (protobuf); the table (modules.hpp) has the row when LOADKIT_WITH_GRPC.
//
// The calls are engine jobs (bridge.hpp's engine_job): a VU on a thread asks
// the engine and waits (k6's blocking invoke); an async VU gets a promise the
// rewrite (transform.hpp) awaits. A stream's events come from a pump in
// JavaScript that awaits the stream's next event and calls the listeners:
// on a VU's thread it starts as a timer, so it runs once the function that
// opened the stream has returned (k6's event loop), and the call ends when
// the stream has ended. Clients and streams are the instance's resources,
// freed with the VU: a job in flight never outlives them.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../core/config.hpp"
#include "../../core/duration.hpp"
#include "../../core/file.hpp"
#include "../../grpc/client.hpp"
#include "../bridge.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail::grpc_module {

namespace g = loadkit::grpc;

// Appends `{"k":["v"],...}` for metadata.
inline void append_metadata(std::string& out, const g::metadata& md) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (auto& [k, v] : md) j[k].push_back(v);
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
// k6's error object: {code, message, details}.
inline void append_error(std::string& out, const g::response& r) {
    nlohmann::ordered_json e{{"code", r.status}, {"message", r.error}, {"details", nlohmann::json::array()}};
    out += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
inline bool parse_into(JSContext* cx, const std::string& json, JS::MutableHandleValue out) {
    JS::RootedString s(cx, new_string(cx, json));
    return s && JS_ParseJSON(cx, s, out);
}

struct client_state;

// A connect or an invoke: run on the engine, answered in JavaScript.
struct call_job final : engine_job {
    enum class kind { connect, invoke, close } what = kind::invoke;
    client_state* owner = nullptr;
    bool busy = false;
    std::string address;
    g::connect_options connect_opts;
    const g::method_info* method = nullptr;
    std::string request;  // protobuf bytes
    g::call_params params;
    g::response res;
    bool ok = false;
    std::string error;
    task<> run(client& http) override;
    bool result(JSContext* cx, JS::MutableHandleValue out) override;
};

// A grpc.Client: the descriptors it loaded (init context) and, once a VU
// uses it, its gRPC client on the VU's thread.
struct client_state {
    std::vector<std::shared_ptr<const g::descriptor_set>> sets;
    std::unique_ptr<g::client> rpc;
    std::vector<std::unique_ptr<call_job>> jobs;  // reused; an interrupted one stays busy
    call_job& take() {
        for (auto& j : jobs)
            if (!j->busy) {
                j->busy = true;
                return *j;
            }
        jobs.push_back(std::make_unique<call_job>());
        jobs.back()->owner = this;
        jobs.back()->busy = true;
        return *jobs.back();
    }
};

// A grpc.Stream: the call, the messages JavaScript wrote and not yet sent,
// and the jobs that send them and read the next event.
struct stream_state;
struct stream_job final : engine_job {
    enum class kind { open, write, next } what = kind::next;
    stream_state* s = nullptr;
    std::string msg;
    bool got = false;  // next: a message (else the end)
    task<> run(client& http) override;
    bool result(JSContext* cx, JS::MutableHandleValue out) override;
};
struct stream_state {
    stream_state(g::client& c, const g::method_info& m, g::call_params p) : call(c, m, std::move(p)) {
        open_job.s = next_job.s = write_job.s = this;
        open_job.what = stream_job::kind::open;
        write_job.what = stream_job::kind::write;
    }
    g::stream call;
    stream_job open_job, next_job, write_job;
    std::vector<std::string> outbox;  // written, not yet sent
    bool end_asked = false, writer_running = false;
};

// The state behind a handle (an index into the instance's resources).
template <class T>
inline T* resource(instance& self, JS::HandleValue h) {
    if (!h.isNumber()) return nullptr;
    double d = h.toNumber();
    if (d < 0 || d >= static_cast<double>(self.resources.size())) return nullptr;
    return static_cast<T*>(self.resources[static_cast<std::size_t>(d)].get());
}
template <class T>
inline double add_resource(instance& self, std::shared_ptr<T> r) {
    self.resources.push_back(std::move(r));
    return static_cast<double>(self.resources.size() - 1);
}
// Hands `job` to the engine: a VU's thread waits for it and returns its
// result; an async VU returns a promise of it (or, `detached`, nothing: the
// iteration still waits for it).
inline bool run_job(instance& self, engine_job& job, JS::MutableHandleValue rval, bool detached = false) {
    JSContext* cx = self.cx;
    if (self.host) {
        JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
        if (!promise || !self.host->start_job(job, promise)) return false;
        if (detached) rval.setUndefined();
        else rval.setObject(*promise);
        return true;
    }
    self.link->job = &job;
    if (!self.ask(bridge::ask::job)) return false;
    return job.result(cx, rval);
}
// The client's gRPC side, made on the VU's thread at its first connect.
inline g::client* rpc_of(instance& self, client_state& c) {
    if (!c.rpc) {
        auto* vu = self.engine_vu();
        if (!vu || !vu->thread) return nullptr;
        c.rpc = std::make_unique<g::client>(*vu->thread, vu);
        for (auto& s : c.sets) c.rpc->add(s);
    }
    return c.rpc.get();
}

inline task<> call_job::run(client&) {
    auto& rpc = *owner->rpc;
    if (what == kind::connect) {
        ok = co_await rpc.connect(address, connect_opts);
        error = ok ? std::string() : rpc.error();
    } else if (what == kind::close) {
        rpc.close();
    } else {
        co_await rpc.invoke(*method, request, params, res);
    }
}
inline bool call_job::result(JSContext* cx, JS::MutableHandleValue out) {
    busy = false;
    if (what == kind::close) {
        out.setUndefined();
        return true;
    }
    if (what == kind::connect) {
        if (!ok) return throw_error(cx, error);
        out.setBoolean(true);
        return true;
    }
    // {message, error, headers, trailers, status}, as k6's JSON.stringify
    // shows it; k6 gives the zero values of the message on an error too
    std::string json = "{\"message\":";
    std::string msg, why;
    if (!method->set->to_json(method->output_url, res.has_message ? std::string_view(res.message) : std::string_view(),
                              msg, why))
        msg = "null";
    else if (method->output_nulls)
        msg = g::descriptor_set::with_nulls(method->output, msg);  // k6's null for an unset message field
    json += msg;
    json += ",\"error\":";
    if (res.ok()) json += "null";
    else append_error(json, res);
    json += ",\"headers\":";
    append_metadata(json, res.headers);
    json += ",\"trailers\":";
    append_metadata(json, res.trailers);
    json += ",\"status\":" + std::to_string(res.status) + "}";
    return parse_into(cx, json, out);
}

inline task<> stream_job::run(client&) {
    switch (what) {
        case kind::open: co_await s->call.open(); break;
        case kind::write:
            // one writer drains the outbox in order, then half-closes if asked
            while (!s->outbox.empty()) {
                std::string m = std::move(s->outbox.front());
                s->outbox.erase(s->outbox.begin());
                co_await s->call.write(m);
            }
            if (s->end_asked) co_await s->call.close_send();
            s->writer_running = false;
            break;
        case kind::next: got = co_await s->call.read(msg); break;
    }
}
// next: {type: 'data', message} | {type: 'end', error: null | {code, message, details}}
inline bool stream_job::result(JSContext* cx, JS::MutableHandleValue out) {
    if (what != kind::next) {
        out.setUndefined();
        return true;
    }
    std::string json;
    if (got) {
        std::string m, why;
        auto& md = s->call.method();
        if (!md.set || !md.set->to_json(md.output_url, msg, m, why, false)) m = "null";  // as k6's streams: no zero values
        json = "{\"type\":\"data\",\"message\":" + m + "}";
    } else {
        auto& r = s->call.result();
        json = "{\"type\":\"end\",\"error\":";
        if (r.ok()) json += "null";
        else append_error(json, r);
        json += "}";
    }
    return parse_into(cx, json, out);
}

// --- natives (their arguments checked and made plain by the JavaScript below) ---

inline bool n_client(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    args.rval().setNumber(add_resource(instance::of(cx), std::make_shared<client_state>()));
    return true;
}
// load(h, importPathsJSON, filesJSON): init context only, as k6.
inline bool n_load(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.in_init) return throw_error(cx, "load must be called in the init context");
    auto* c = resource<client_state>(self, args.get(0));
    if (!c) return throw_error(cx, "grpc: not a Client");
    try {
        std::vector<std::string> paths, files;
        for (auto& v : nlohmann::json::parse(to_utf8(cx, args.get(1)))) {
            std::filesystem::path path(v.get<std::string>());
            paths.push_back((path.is_relative() ? self.prog.dir / path : path).lexically_normal().string());
        }
        if (paths.empty()) paths.push_back(self.prog.dir.string());  // as k6: the script's directory
        for (auto& v : nlohmann::json::parse(to_utf8(cx, args.get(2)))) files.push_back(v.get<std::string>());
        auto set = g::detail::shared_protos(paths, files);
        c->sets.push_back(set);
        // k6 returns the methods' info: [{name, ...}]
        nlohmann::json out = nlohmann::json::array();
        for (auto& [path, m] : set->methods())
            out.push_back({{"name", m.name}, {"isClientStream", m.client_streaming}, {"isServerStream", m.server_streaming}});
        return parse_into(cx, out.dump(), args.rval());
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
}
inline bool n_load_protoset(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.in_init) return throw_error(cx, "load must be called in the init context");
    auto* c = resource<client_state>(self, args.get(0));
    if (!c) return throw_error(cx, "grpc: not a Client");
    std::filesystem::path p(to_utf8(cx, args.get(1)));
    if (p.is_relative()) p = self.prog.dir / p;
    std::string bytes, why;
    if (!loadkit::detail::read_input_file(p.string(), loadkit::detail::max_test_file_bytes, bytes, why))
        return throw_error(cx, "couldn't open protoset: " + why);
    try {
        auto set = std::make_shared<g::descriptor_set>();
        set->load_protoset(bytes, p.string());
        c->sets.push_back(std::move(set));
        args.rval().setUndefined();
        return true;
    } catch (const std::exception& e) {
        return throw_error(cx, e.what());
    }
}
inline std::optional<nanoseconds> read_timeout(JSContext* cx, const nlohmann::json& v, const char* what, bool& ok) {
    ok = true;
    if (v.is_null()) return std::nullopt;
    if (v.is_number()) return nanoseconds(static_cast<std::int64_t>(v.get<double>() * 1e6));
    if (v.is_string())
        if (auto d = parse_duration(v.get<std::string>())) return *d;
    ok = throw_error(cx, std::string(what) + ": invalid timeout value: " + v.dump()) && false;
    return std::nullopt;
}
// connect()'s `tls`: {cert, key, password, cacerts (a PEM string or a list)}, as k6 checks it.
inline bool read_tls(JSContext* cx, const nlohmann::json& v, g::connect_options& o) {
    const std::string what = "invalid grpc.connect() parameters: ";
    if (!v.is_object())
        return throw_error(cx, what + "invalid tls value: '" + v.dump() +
                                   "', expected (optional) keys: cert, key, password, and cacerts");
    auto& t = o.tls.emplace();
    for (auto& [k, x] : v.items()) {
        if (k == "cert" || k == "key" || k == "password") {
            if (!x.is_string())
                return throw_error(cx, what + "invalid tls " + k + " value: '" + x.dump() + "', it needs to be " +
                                           (k == "password" ? "a string" : "a PEM formatted string"));
            (k == "cert" ? t.cert : k == "key" ? t.key : t.password) = x.get<std::string>();
        } else if (k == "cacerts") {
            bool ok = x.is_string() || x.is_array();
            if (x.is_array())
                for (auto& e : x) ok &= e.is_string();
            if (!ok)
                return throw_error(cx, what + "invalid tls cacerts value: '" + x.dump() +
                                           "', it needs to be a string or an array of PEM formatted strings");
            if (x.is_string()) t.cacerts.push_back(x.get<std::string>());
            else
                for (auto& e : x) t.cacerts.push_back(e.get<std::string>());
        }  // (other keys: ignored, as k6 ignores them)
    }
    return true;
}
// connect(h, address, paramsJSON)
inline bool n_connect(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.in_init) return throw_error(cx, "connecting to a gRPC server in the init context is not supported");
    auto* c = resource<client_state>(self, args.get(0));
    if (!c) return throw_error(cx, "grpc: not a Client");
    if (!rpc_of(self, *c)) return throw_error(cx, "grpc: no VU to connect for");
    auto& job = c->take();
    job.what = call_job::kind::connect;
    assign_utf8(cx, args.get(1), job.address);
    job.connect_opts = {};
    job.connect_opts.plaintext = false;  // k6's default: TLS
    try {
        auto p = nlohmann::json::parse(to_utf8(cx, args.get(2)));
        for (auto& [k, v] : p.items()) {
            if (k == "plaintext") {
                if (!v.is_boolean()) return job.busy = false, throw_error(cx, "invalid grpc.connect() parameters: invalid plaintext value: '" + v.dump() + "', it needs to be boolean");
                job.connect_opts.plaintext = v.get<bool>();
            } else if (k == "reflect") {
                if (!v.is_boolean()) return job.busy = false, throw_error(cx, "invalid grpc.connect() parameters: invalid reflect value: '" + v.dump() + "', it needs to be boolean");
                job.connect_opts.reflect = v.get<bool>();
            } else if (k == "timeout") {
                bool ok = true;
                auto t = read_timeout(cx, v, "invalid grpc.connect() parameters", ok);
                if (!ok) return job.busy = false, false;
                if (t) job.connect_opts.timeout = *t;
            } else if (k == "reflectMetadata") {
                for (auto& [mk, mv] : v.items()) job.connect_opts.reflect_metadata.emplace_back(mk, mv.is_string() ? mv.get<std::string>() : mv.dump());
            } else if (k == "maxReceiveSize") {
                if (!v.is_number_integer() || v.get<std::int64_t>() <= 0) return job.busy = false, throw_error(cx, "invalid grpc.connect() parameters: invalid maxReceiveSize value: '" + v.dump() + "', it needs to be a positive integer");
                job.connect_opts.max_receive_size = v.get<std::size_t>();
            } else if (k == "tls") {
                if (!read_tls(cx, v, job.connect_opts)) return job.busy = false, false;
            } else if (k == "maxSendSize") {
                // accepted, not enforced (the server enforces its own limit)
            } else {
                job.busy = false;
                return throw_error(cx, "invalid grpc.connect() parameters: unknown connect param: \"" + k + "\"");
            }
        }
    } catch (const std::exception& e) {
        job.busy = false;
        return throw_error(cx, std::string("invalid grpc.connect() parameters: ") + e.what());
    }
    return run_job(self, job, args.rval());
}
// Metadata, tags and timeout of invoke() and new Stream() params.
inline bool read_call_params(JSContext* cx, const std::string& json, g::call_params& p, const char* what) {
    p.md.clear();
    p.tags.clear();
    p.timeout.reset();
    auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return true;
    for (auto& [k, v] : j.items()) {
        if (k == "metadata") {
            if (!v.is_object()) return throw_error(cx, std::string(what) + ": invalid metadata param: must be an object with key-value pairs");
            for (auto& [mk, mv] : v.items()) {
                std::string key = mk;
                for (auto& ch : key) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
                // "-bin": bytes, an ArrayBuffer or a view of one (a typed
                // array), which the JavaScript below sends as {"$bin": [bytes]};
                // a string is taken as its UTF-8 bytes. Differs from k6 v0.48,
                // which takes typed arrays only (an ArrayBuffer or a string:
                // "value must be binary")
                bool binary = g::detail::is_binary_key(key);
                if (binary && mv.is_object() && mv.contains("$bin")) {
                    std::string bytes;
                    for (auto& b : mv["$bin"]) bytes.push_back(static_cast<char>(b.is_number_integer() ? b.get<int>() : 0));
                    p.md.emplace_back(std::move(key), std::move(bytes));
                    continue;
                }
                if (!mv.is_string())
                    return throw_error(cx, std::string(what) + ": invalid metadata param: \"" + mk + "\" value must be " +
                                               (binary ? "binary" : "a string"));
                p.md.emplace_back(std::move(key), mv.get<std::string>());
            }
        } else if (k == "tags") {
            if (v.is_object())
                for (auto& [tk, tv] : v.items()) p.tags.emplace_back(tk, tv.is_string() ? tv.get<std::string>() : tv.dump());
        } else if (k == "timeout") {
            bool ok = true;
            p.timeout = read_timeout(cx, v, what, ok);
            if (!ok) return false;
        } else if (k == "headers") {
            return throw_error(cx, std::string(what) + ": headers param is not supported anymore. Please, use metadata param instead");
        } else {
            return throw_error(cx, std::string(what) + ": unknown param: \"" + k + "\"");
        }
    }
    return true;
}
// invoke(h, method, requestJSON, paramsJSON)
inline bool n_invoke(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.in_init) return throw_error(cx, "invoking RPC methods in the init context is not supported");
    auto* c = resource<client_state>(self, args.get(0));
    if (!c) return throw_error(cx, "grpc: not a Client");
    if (!c->rpc || !c->rpc->was_connected()) return throw_error(cx, "no gRPC connection, you must call connect first");
    auto method = to_utf8(cx, args.get(1));
    if (method.empty()) return throw_error(cx, "method to invoke cannot be empty");
    if (method[0] != '/') method.insert(0, "/");
    auto* m = c->rpc->method(method);
    if (!m) return throw_error(cx, "method \"" + method + "\" not found in file descriptors");
    auto& job = c->take();
    job.what = call_job::kind::invoke;
    job.method = m;
    if (!read_call_params(cx, to_utf8(cx, args.get(3)), job.params, "invalid grpc.invoke() parameters")) {
        job.busy = false;
        return false;
    }
    std::string why;
    if (!m->set->to_binary(m->input_url, to_utf8(cx, args.get(2)), job.request, why)) {
        job.busy = false;
        return throw_error(cx, why);
    }
    return run_job(self, job, args.rval());
}
inline bool n_close(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    args.rval().setUndefined();
    auto* c = resource<client_state>(self, args.get(0));
    if (!c || !c->rpc || self.in_init) return true;
    if (self.host) {  // async VUs: this is the engine's thread
        c->rpc->close();
        return true;
    }
    // a VU's thread: the connection is the engine thread's to close
    auto& job = c->take();
    job.what = call_job::kind::close;
    return run_job(self, job, args.rval());
}
// streamOpen(h, method, paramsJSON) -> stream handle
inline bool n_stream_open(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.in_init) return throw_error(cx, "creating a stream in the init context is not supported");
    auto* c = resource<client_state>(self, args.get(0));
    if (!c) return throw_error(cx, "grpc: not a Client");
    if (!c->rpc || !c->rpc->was_connected()) return throw_error(cx, "no gRPC connection, you must call connect first");
    auto method = to_utf8(cx, args.get(1));
    if (method.empty()) return throw_error(cx, "method to invoke cannot be empty");
    if (method[0] != '/') method.insert(0, "/");
    auto* m = c->rpc->method(method);
    if (!m) return throw_error(cx, "method \"" + method + "\" not found in file descriptors");
    g::call_params p;
    if (!read_call_params(cx, to_utf8(cx, args.get(2)), p, "invalid grpc.Stream() parameters")) return false;
    auto s = std::make_shared<stream_state>(*c->rpc, *m, std::move(p));
    auto* raw = s.get();
    double h = add_resource(self, std::move(s));
    JS::RootedValue ignored(cx);
    if (!run_job(self, raw->open_job, &ignored, true)) return false;
    args.rval().setNumber(h);
    return true;
}
// streamWrite(s, requestJSON) / streamEnd(s)
inline bool stream_send(JSContext* cx, const JS::CallArgs& args, bool end) {
    auto& self = instance::of(cx);
    auto* s = resource<stream_state>(self, args.get(0));
    if (!s) return throw_error(cx, "grpc: not a Stream");
    args.rval().setUndefined();
    if (s->end_asked) return true;  // k6: writes after end() are dropped
    if (end) s->end_asked = true;
    else {
        auto& m = s->call.method();
        std::string bytes, why;
        if (!m.set->to_binary(m.input_url, to_utf8(cx, args.get(1)), bytes, why)) return throw_error(cx, why);
        s->outbox.push_back(std::move(bytes));
    }
    if (s->writer_running) return true;  // the running writer sends it
    s->writer_running = true;
    JS::RootedValue ignored(cx);
    return run_job(self, s->write_job, &ignored, true);
}
inline bool n_stream_write(JSContext* cx, unsigned argc, JS::Value* vp) {
    return stream_send(cx, JS::CallArgsFromVp(argc, vp), false);
}
inline bool n_stream_end(JSContext* cx, unsigned argc, JS::Value* vp) {
    return stream_send(cx, JS::CallArgsFromVp(argc, vp), true);
}
// streamNext(s): the next event (a promise of it for async VUs)
inline bool n_stream_next(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    auto* s = resource<stream_state>(self, args.get(0));
    if (!s) return throw_error(cx, "grpc: not a Stream");
    return run_job(self, s->next_job, args.rval());
}

inline bool install(JSContext* cx, JS::HandleObject lk, const install_args&) {
    static const JSFunctionSpec natives[] = {
        JS_FN("grpcClient", &n_client, 0, 0),           JS_FN("grpcLoad", &n_load, 3, 0),
        JS_FN("grpcLoadProtoset", &n_load_protoset, 2, 0), JS_FN("grpcConnect", &n_connect, 3, 0),
        JS_FN("grpcInvoke", &n_invoke, 4, 0),           JS_FN("grpcClose", &n_close, 1, 0),
        JS_FN("grpcStreamOpen", &n_stream_open, 3, 0),  JS_FN("grpcStreamWrite", &n_stream_write, 2, 0),
        JS_FN("grpcStreamEnd", &n_stream_end, 1, 0),    JS_FN("grpcStreamNext", &n_stream_next, 1, 0),
        JS_FS_END};
    return JS_DefineFunctions(cx, lk, natives);
}

// k6/net/grpc in JavaScript over the natives above, statements in the
// prelude's scope (prelude.hpp).
inline constexpr std::string_view javascript = R"JS(
const grpcJSON = (v, what) => {
  if (v === null || v === undefined) throw new Error(what + ' cannot be nil');
  return JSON.stringify(v);
};
// metadata's binary values (ArrayBuffer, typed arrays) as {"$bin": [bytes]}: JSON has no bytes
const grpcParams = p => JSON.stringify(p === null || p === undefined ? {} : p, function (k, v) {
  if (this && this === (p && p.metadata) && v !== null && typeof v === 'object') {
    if (v instanceof ArrayBuffer) return { '$bin': Array.from(new Uint8Array(v)) };
    if (ArrayBuffer.isView(v)) return { '$bin': Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  }
  return v;
});
const GRPC = Symbol('grpcClient');
class GrpcClient {
  constructor() { Object.defineProperty(this, GRPC, { value: lk.grpcClient() }); }
  load(importPaths, ...files) {
    return lk.grpcLoad(this[GRPC], JSON.stringify((importPaths || []).map(String)), JSON.stringify(files.map(String)));
  }
  loadProtoset(path) { return lk.grpcLoadProtoset(this[GRPC], String(path)); }
  connect(address, params) { return lk.grpcConnect(this[GRPC], String(address), grpcParams(params)); }
  invoke(method, request, params) {
    if (request === null || request === undefined) throw new Error('request cannot be nil');
    return lk.grpcInvoke(this[GRPC], String(method), JSON.stringify(request), grpcParams(params));
  }
  close() { lk.grpcClose(this[GRPC]); }
}
// grpc.Stream(client, method, params): events 'data' (the message),
// 'error' ({code, message, details}) and 'end', as k6's.
class GrpcStream {
  constructor(client, method, params) {
    if (!(client instanceof GrpcClient)) throw new Error('grpc.Stream: the first argument must be a grpc.Client');
    const h = lk.grpcStreamOpen(client[GRPC], String(method), grpcParams(params));
    const on = { data: [], error: [], end: [] };
    Object.defineProperty(this, '__h', { value: h });
    Object.defineProperty(this, '__on', { value: on });
    // The pump: each event to its listeners until the end. A VU on a thread
    // starts it once the opening code has returned (k6's event loop).
    const pump = async () => {
      for (;;) {
        const ev = await lk.grpcStreamNext(h);
        if (ev.type === 'data') { for (const f of on.data) f(ev.message); continue; }
        if (ev.error) {
          if (on.error.length === 0) console.warn('no handlers for error registered, but an error happened: ' + ev.error.message);
          for (const f of on.error) f(ev.error);
        }
        for (const f of on.end) f();
        return;
      }
    };
    if (lk.asyncMode) pump(); else setTimeout(pump, 0);
  }
  on(event, listener) {
    if (!(event in this.__on)) { console.warn("can't register " + event + ' event handler: unknown event'); return; }
    if (typeof listener !== 'function') throw new Error('grpc.Stream.on: the listener must be a function');
    this.__on[event].push(listener);
  }
  write(message) {
    if (message === null || message === undefined) { console.warn("can't send empty message"); return; }
    lk.grpcStreamWrite(this.__h, JSON.stringify(message));
  }
  end() { lk.grpcStreamEnd(this.__h); }
}
const grpcModule = { Client: GrpcClient, Stream: GrpcStream };
['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
 'DataLoss', 'Unauthenticated'].forEach((n, i) => { grpcModule['Status' + n] = i; });
)JS";
inline constexpr std::string_view module_object = "Object.assign({ default: grpcModule }, grpcModule)";

inline const std::vector<std::string>& exports() {
    static const std::vector<std::string> e = [] {
        std::vector<std::string> v{"default", "Client", "Stream"};
        for (auto n : g::status_names) v.push_back("Status" + std::string(n));
        return v;
    }();
    return e;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::grpc_module

#pragma GCC diagnostic pop
