#pragma once
// The gRPC client a VU owns: one HTTP/2 connection (wire.hpp), unary calls
// and streams on it, server reflection, deadlines (grpc-timeout and the
// client's own), and k6's metrics: grpc_req_duration per call (tags name,
// method, service, status, url as k6's), grpc_streams,
// grpc_streams_msgs_sent and grpc_streams_msgs_received. Messages are
// protobuf bytes here; descriptors.hpp converts JSON, and any generated
// google::protobuf::Message serializes itself (call()).
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <google/protobuf/message.h>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../runtime/context.hpp"
#include "../runtime/custom_metrics.hpp"
#include "call.hpp"
#include "descriptors.hpp"
#include "reflection.hpp"
#include "status.hpp"
#include "wire.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc {

struct connect_options {
    // h2c with prior knowledge; false: TLS with ALPN h2, verified as the
    // engine's HTTP options say (insecureSkipTLSVerify, tlsCAFile, tlsAuth,
    // tlsVersion, tlsCipherSuites). The C++ default stays plaintext; k6's
    // (and the JS module's and the YAML step's) is TLS.
    bool plaintext = true;
    std::optional<connect_tls> tls;
    bool reflect = false;  // build the descriptors from the server's reflection service
    nanoseconds timeout = std::chrono::seconds(60);
    metadata reflect_metadata;
    std::size_t max_receive_size = detail::default_max_message;
};

struct call_params {
    metadata md;
    std::vector<std::pair<std::string, std::string>> tags;  // "name" renames the call, as in k6
    std::optional<nanoseconds> timeout;                     // default: 2 minutes (k6's)
};

namespace detail {

struct grpc_metrics {
    std::uint32_t duration, streams, sent, received;
    static const grpc_metrics& get() {
        static const grpc_metrics m{
            loadkit::detail::metric_registry::get().add("grpc_req_duration", metric_kind::trend, true),
            loadkit::detail::metric_registry::get().add("grpc_streams", metric_kind::counter, false),
            loadkit::detail::metric_registry::get().add("grpc_streams_msgs_sent", metric_kind::counter, false),
            loadkit::detail::metric_registry::get().add("grpc_streams_msgs_received", metric_kind::counter, false)};
        return m;
    }
};

// Registered before main: thresholds on grpc_* are checked before any VU
// makes a client
[[gnu::used]] inline const bool grpc_metrics_registered = (grpc_metrics::get(), true);

inline constexpr nanoseconds default_call_timeout = std::chrono::minutes(2);

}  // namespace detail

class stream;

class client {
  public:
    client(loadkit::detail::thread_context& t, loadkit::detail::vu_context* vu) : conn_(t, vu) {
        (void)detail::grpc_metrics::get();
    }
    // A VU's gRPC client beside its HTTP client (the C++ DSL: a member of the
    // VU, `loadkit::grpc::client rpc{http};`): its thread, its VU.
    explicit client(loadkit::client& http) : client(http.thread(), http.vu()) {}
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Descriptors to find methods in (load(), loadProtoset(), shared between VUs).
    void add(std::shared_ptr<const descriptor_set> s) { sets_.push_back(std::move(s)); }
    // "/pkg.Service/Method" or "pkg.Service/Method"; null when no set has it.
    const method_info* method(std::string_view path) const {
        std::string_view p = path;
        thread_local std::string slashed;
        if (p.empty() || p[0] != '/') {
            slashed.assign("/").append(p);
            p = slashed;
        }
        for (auto& s : sets_)
            if (auto* m = s->method(p)) return m;
        return nullptr;
    }
    bool has_methods() const noexcept { return !sets_.empty(); }

    // Connects to host:port (HTTP/2 with prior knowledge, or over TLS with
    // ALPN h2 unless o.plaintext); with reflect, asks the server for its
    // services' descriptors. False: error() says why (a failed TLS handshake
    // in grpc-go's words), and calls fail as Unavailable, counted.
    task<bool> connect(std::string_view address, const connect_options& o = {}) {
        error_.clear();
        opts_ = o;
        auto colon = address.rfind(':');
        if (colon == std::string_view::npos || colon == 0) {
            error_ = "invalid address " + std::string(address) + ": expected host:port";
            co_return false;
        }
        std::uint32_t port = 0;
        for (char c : address.substr(colon + 1)) port = c >= '0' && c <= '9' ? port * 10 + (c - '0') : 1u << 20;
        if (port == 0 || port > 65535) {
            error_ = "invalid address " + std::string(address) + ": bad port";
            co_return false;
        }
        host_.assign(address.substr(0, colon));
        if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') host_ = host_.substr(1, host_.size() - 2);
        addr_.assign(address);
        authority_.assign(address);
        std::int64_t deadline = loadkit::detail::now_ns() + o.timeout.count();
        if (!co_await conn_.connect(host_, static_cast<std::uint16_t>(port), o.plaintext ? nullptr : &o.tls,
                                    o.timeout, error_))
            co_return false;
        if (o.reflect) {
            bool reflected = co_await reflect(deadline);
            if (!reflected) {
                conn_.close();
                co_return false;
            }
        }
        co_return true;
    }
    const std::string& error() const noexcept { return error_; }
    bool connected() const noexcept { return conn_.is_open(); }
    // connect() succeeded once and close() was not called since (calls
    // connect again when the connection went away)
    bool was_connected() const noexcept { return conn_.was_connected(); }
    const std::string& address() const noexcept { return addr_; }
    void close() noexcept { conn_.close(); }

    // A unary call with the request's bytes; the answer (and its timing) in `out`.
    task<> invoke(const method_info& m, std::string_view request, const call_params& p, response& out) {
        std::int64_t t0 = loadkit::detail::now_ns();
        nanoseconds timeout = p.timeout.value_or(detail::default_call_timeout);
        std::int64_t deadline = t0 + timeout.count();
        detail::call_state st;
        st.reset(out, opts_.max_receive_size);
        auto& s = wire_;
        co_await ensure_connected();
        if (!conn_.is_open()) {
            st.fail(status_code::unavailable, error_.empty() ? "no connection, you must call connect first" : error_);
        } else if (!co_await s.start(request_headers(m, p, timeout), deadline, wbuf_)) {
            st.fail(status_code::unavailable, s.error.empty() ? "cannot start the call" : s.error);
        } else {
            wbuf_.clear();
            detail::append_frame_header(wbuf_, request.size());
            wbuf_.append(request);
            if (!co_await s.send(wbuf_, true)) fail_stream(s, st);
            else co_await receive(s, st, [&](std::string_view msg) {
                out.message.assign(msg);
                out.has_message = true;
                return true;
            });
        }
        if (s.timed_out || (!st.done() && loadkit::detail::now_ns() >= deadline)) st.fail(status_code::deadline_exceeded, "context deadline exceeded");
        s.cancel();  // (ended already: disarms its timer)
        if (out.ok() && !out.has_message && !st.failed())
            st.fail(status_code::internal, "server returned no response message");
        out.duration_ns = loadkit::detail::now_ns() - t0;
        record(m, p, out.status, out.duration_ns);
        co_return;
    }
    task<const response&> invoke(std::string_view path, std::string_view request, const call_params& p = {}) {
        const method_info* m = method(path);
        if (!m) throw std::invalid_argument("method \"" + std::string(path) + "\" not found in file descriptors");
        co_await invoke(*m, request, p, res_);
        co_return res_;
    }
    // JSON in, JSON out (response::message holds the JSON when ok()).
    task<const response&> invoke_json(std::string_view path, std::string_view json, const call_params& p = {}) {
        const method_info* m = method(path);
        if (!m) throw std::invalid_argument("method \"" + std::string(path) + "\" not found in file descriptors");
        std::string err;
        if (!m->set->to_binary(m->input_url, json, req_bytes_, err)) throw std::invalid_argument(err);
        co_await invoke(*m, req_bytes_, p, res_);
        if (!res_.has_message) {
            res_.message.clear();
        } else if (!m->set->to_json(m->output_url, res_.message, json_, err)) {
            res_.status = static_cast<int>(status_code::internal);
            res_.error = err;
        } else {
            std::swap(res_.message, json_);
        }
        co_return res_;
    }
    // Generated (or any) messages: returns the status; `reply` is parsed when OK.
    task<int> call(std::string_view path, const google::protobuf::Message& request, google::protobuf::Message& reply,
                   const call_params& p = {}) {
        const method_info* m = method(path);
        method_info adhoc;
        if (!m) {  // generated types carry their own descriptors: no load() needed
            adhoc.path.assign(path[0] == '/' ? "" : "/").append(path);
            auto slash = adhoc.path.find('/', 1);
            adhoc.service = adhoc.path.substr(1, slash - 1);
            adhoc.name = adhoc.path.substr(slash + 1);
            m = &adhoc;
        }
        request.SerializeToString(&req_bytes_);
        co_await invoke(*m, req_bytes_, p, res_);
        if (res_.ok() && !reply.ParseFromString(res_.message)) {
            res_.status = static_cast<int>(status_code::internal);
            res_.error = "cannot parse the response message as " + reply.GetTypeName();
        }
        co_return res_.status;
    }
    const response& last() const noexcept { return res_; }

    detail::wire_conn& wire() noexcept { return conn_; }

  private:
    friend class stream;

    // The connection went away (the server closed it, or a timed-out call
    // was its only stream): connect again, as grpc-go does, before a call.
    task<> ensure_connected() {
        if (conn_.is_open() || !conn_.was_connected()) co_return;
        std::string why;
        bool ok = co_await conn_.reconnect(why);
        if (!ok) error_ = why;
    }

    const metadata& request_headers(const method_info& m, const call_params& p, nanoseconds timeout) {
        hdrs_.clear();
        hdrs_.emplace_back(":method", "POST");
        hdrs_.emplace_back(":scheme", opts_.plaintext ? "http" : "https");
        hdrs_.emplace_back(":path", m.path);
        hdrs_.emplace_back(":authority", authority_);
        hdrs_.emplace_back("content-type", "application/grpc");
        hdrs_.emplace_back("te", "trailers");
        hdrs_.emplace_back("user-agent", "loadkit-grpc");
        char buf[16];
        hdrs_.emplace_back("grpc-timeout", std::string(detail::format_timeout(timeout.count(), buf)));
        for (auto& [k, v] : p.md) {
            if (detail::is_reserved_header(k)) continue;
            auto& kv = hdrs_.emplace_back(k, std::string());
            if (detail::is_binary_key(k)) detail::base64_encode(v, kv.second);
            else kv.second = v;
        }
        return hdrs_;
    }
    static void fail_stream(detail::wire_stream& s, detail::call_state& st) {
        if (s.timed_out) st.fail(status_code::deadline_exceeded, "context deadline exceeded");
        else if (s.reset_code) st.fail(detail::from_reset(s.reset_code), "stream terminated by RST_STREAM with error code: " + std::to_string(s.reset_code));
        else st.fail(status_code::unavailable, s.error.empty() ? "connection closed" : s.error);
    }
    // Reads the answer to its end (trailers, a reset or a lost connection).
    template <class F>
    static task<> receive(detail::wire_stream& s, detail::call_state& st, F on_message) {
        while (!st.done()) {
            auto ev = co_await s.next();
            switch (ev) {
                case detail::wire_stream::event::headers:
                    if (!st.on_headers(s.http_status, s.fields, s.end_stream)) s.cancel();
                    break;
                case detail::wire_stream::event::data:
                    if (!st.on_data(s.data, on_message)) s.cancel();
                    break;
                case detail::wire_stream::event::trailers: st.on_trailers(s.fields); break;
                case detail::wire_stream::event::reset:
                case detail::wire_stream::event::closed: fail_stream(s, st); break;
            }
        }
    }

    void record(const method_info& m, const call_params& p, int status, std::int64_t ns) {
        auto* vu = conn_.vu();
        if (!vu) return;
        std::string_view name = m.path;
        for (auto& [k, v] : p.tags)
            if (k == "name") name = v;
        url_.assign(addr_).append(m.path);
        loadkit::detail::tag_pair tags[16];
        std::size_t n = 0;
        tags[n++] = {"name", name};
        tags[n++] = {"method", m.name};
        tags[n++] = {"service", m.service};
        tags[n++] = {"status", status_text(status)};
        tags[n++] = {"url", url_};
        for (auto& [k, v] : p.tags)
            if (k != "name" && n < 16) tags[n++] = {k, v};
        loadkit::detail::record_sample(conn_.thread().shard, vu->scenario_id, vu->group, detail::grpc_metrics::get().duration,
                                       metric_kind::trend, true, static_cast<double>(ns) / 1e6, {tags, n});
    }
    void count(std::uint32_t metric, const method_info& m, const call_params& p) {
        auto* vu = conn_.vu();
        if (!vu) return;
        std::string_view name = m.path;
        for (auto& [k, v] : p.tags)
            if (k == "name") name = v;
        loadkit::detail::tag_pair tags[16];
        std::size_t n = 0;
        tags[n++] = {"name", name};
        tags[n++] = {"method", m.name};
        tags[n++] = {"service", m.service};
        for (auto& [k, v] : p.tags)
            if (k != "name" && n < 16) tags[n++] = {k, v};
        loadkit::detail::record_sample(conn_.thread().shard, vu->scenario_id, vu->group, metric, metric_kind::counter,
                                       false, 1, {tags, n});
    }

    // Server reflection: list the services, then the files defining each
    // (and the files those import), into a descriptor set of this client's.
    task<bool> reflect(std::int64_t deadline);

    detail::wire_conn conn_;
    detail::wire_stream wire_{conn_};  // unary calls' stream, reused
    connect_options opts_;
    std::vector<std::shared_ptr<const descriptor_set>> sets_;
    std::string host_, addr_, authority_, error_, url_;
    metadata hdrs_;
    std::string wbuf_, req_bytes_, json_;
    response res_;
};

// A client-, server- or bidi-streaming call (a unary one works too). Writes
// and reads may run at once (two coroutines); one of each at a time.
class stream {
  public:
    stream(client& c, const method_info& m, call_params p = {})
        : c_(c), m_(m), p_(std::move(p)), s_(c.conn_) {}
    stream(const stream&) = delete;
    // No grpc_streams* samples (reflection's own stream).
    void quiet() noexcept { quiet_ = true; }

    // Opens the stream (the first write or read does it too).
    task<bool> open() {
        if (state_ == state::opening) co_await opened{*this};  // a write and a read started at once
        if (state_ != state::fresh) co_return state_ != state::failed;
        state_ = state::opening;
        t0_ = loadkit::detail::now_ns();
        st_.reset(res_, c_.opts_.max_receive_size);
        nanoseconds timeout = p_.timeout.value_or(nanoseconds(0));
        deadline_ = timeout.count() > 0 ? t0_ + timeout.count() : 0;
        std::string err;
        co_await c_.ensure_connected();
        if (!c_.conn_.is_open()) {
            st_.fail(status_code::unavailable, "no gRPC connection, you must call connect first");
        } else if (!co_await s_.start(c_.request_headers(m_, p_, timeout.count() > 0 ? timeout : std::chrono::hours(24 * 365)),
                                      deadline_, err)) {
            st_.fail(status_code::unavailable, s_.error.empty() ? err : s_.error);
        }
        if (!quiet_) c_.count(detail::grpc_metrics::get().streams, m_, p_);
        state_ = st_.done() ? state::failed : state::open;
        for (auto h : waiters_) boost::asio::post(c_.conn_.thread().ioc, [h] { h.resume(); });
        waiters_.clear();
        co_return state_ == state::open;
    }
    // Sends one message (protobuf bytes); false once the stream has ended.
    task<bool> write(std::string_view msg) {
        bool is_open = co_await open();
        if (!is_open || half_closed_ || st_.done()) co_return false;
        wbuf_.clear();
        detail::append_frame_header(wbuf_, msg.size());
        wbuf_.append(msg);
        if (!co_await s_.send(wbuf_, false)) co_return false;
        if (!quiet_) c_.count(detail::grpc_metrics::get().sent, m_, p_);
        co_return true;
    }
    // Half-closes: the server sees the end of the requests.
    task<> close_send() {
        bool is_open = co_await open();
        if (!is_open || half_closed_ || st_.done()) co_return;
        half_closed_ = true;
        co_await s_.send({}, true);
    }
    // The next message into `msg`; false at the end (status() and the
    // response's trailers say how it ended).
    task<bool> read(std::string& msg) {
        if (!co_await open()) co_return false;
        while (queue_pos_ >= queue_.size()) {
            queue_.clear();
            queue_pos_ = 0;
            if (st_.done()) {
                finish();
                co_return false;
            }
            auto ev = co_await s_.next();
            switch (ev) {
                case detail::wire_stream::event::headers:
                    if (!st_.on_headers(s_.http_status, s_.fields, s_.end_stream)) s_.cancel();
                    break;
                case detail::wire_stream::event::data:
                    if (!st_.on_data(s_.data, [&](std::string_view m) {
                            queue_.emplace_back(m);
                            return true;
                        }))
                        s_.cancel();
                    break;
                case detail::wire_stream::event::trailers: st_.on_trailers(s_.fields); break;
                case detail::wire_stream::event::reset:
                case detail::wire_stream::event::closed: client::fail_stream(s_, st_); break;
            }
            if (s_.timed_out) st_.fail(status_code::deadline_exceeded, "context deadline exceeded");
        }
        msg = std::move(queue_[queue_pos_++]);
        if (!quiet_) c_.count(detail::grpc_metrics::get().received, m_, p_);
        co_return true;
    }
    // Cancels the call (RST_STREAM CANCEL).
    void cancel() {
        s_.cancel();
        st_.fail(status_code::cancelled, "canceled");
    }
    bool ended() const noexcept { return st_.done() && queue_pos_ >= queue_.size(); }
    const response& result() const noexcept { return res_; }
    int status() const noexcept { return res_.status; }
    const method_info& method() const noexcept { return m_; }

  private:
    enum class state { fresh, opening, open, failed };
    struct opened {
        stream& s;
        bool await_ready() const noexcept { return s.state_ != state::opening; }
        void await_suspend(std::coroutine_handle<> h) { s.waiters_.push_back(h); }
        void await_resume() const noexcept {}
    };
    std::vector<std::coroutine_handle<>> waiters_;
    // The end: grpc_req_duration for the whole stream, as k6's (grpc-go's
    // stats handler times every RPC, reflection's too).
    void finish() {
        if (recorded_) return;
        recorded_ = true;
        res_.duration_ns = loadkit::detail::now_ns() - t0_;
        c_.record(m_, p_, res_.status, res_.duration_ns);
    }
    client& c_;
    const method_info& m_;
    call_params p_;
    detail::wire_stream s_;
    detail::call_state st_;
    response res_;
    state state_ = state::fresh;
    bool half_closed_ = false, recorded_ = false, quiet_ = false;
    std::int64_t t0_ = 0, deadline_ = 0;
    std::string wbuf_;
    std::vector<std::string> queue_;
    std::size_t queue_pos_ = 0;
};

inline task<bool> client::reflect(std::int64_t deadline) {
    using namespace detail;
    auto set = std::make_shared<descriptor_set>();
    method_info rm;
    rm.path = reflection_method;
    rm.service = "grpc.reflection.v1alpha.ServerReflection";
    rm.name = "ServerReflectionInfo";
    call_params p;
    p.md = opts_.reflect_metadata;
    p.timeout = nanoseconds(std::max<std::int64_t>(1, deadline - loadkit::detail::now_ns()));
    auto fail = [&](std::string why) {
        error_ = "can't list services: " + std::move(why);
        return false;
    };
    {
        stream s(*this, rm, p);
        s.quiet();
        std::string msg;
        reflection_answer a;
        // (each co_await its own statement: g++ 12 mis-destroys temporaries of a co_await inside || )
        bool sent = co_await s.write(reflection_request(reflection_ask::list_services, "*"));
        bool got = false;
        if (sent) got = co_await s.read(msg);
        if (!got)
            co_return fail(s.result().error.empty() ? "the server answered nothing" : s.result().error);
        if (!parse_reflection_response(msg, a)) co_return fail("malformed reflection response");
        if (a.error_code) co_return fail(a.error_message);
        std::vector<std::string> wanted;  // files still to fetch, by symbol or by name
        for (auto& svc : a.services) {
            if (svc.rfind("grpc.reflection.", 0) == 0) continue;
            a.files.clear();
            sent = co_await s.write(reflection_request(reflection_ask::file_containing_symbol, svc));
            got = false;
            if (sent) got = co_await s.read(msg);
            if (!got || !parse_reflection_response(msg, a))
                co_return fail("no descriptor for " + svc);
            if (a.error_code) co_return fail(svc + ": " + a.error_message);
            for (auto& f : a.files) {
                google::protobuf::FileDescriptorProto fd;
                if (!fd.ParseFromString(f)) co_return fail("malformed file descriptor for " + svc);
                if (set->has_file(fd.name())) continue;
                set->add_serialized(f);
                for (auto& dep : fd.dependency()) wanted.push_back(dep);
            }
        }
        // imports the server did not send along: ask for them by name
        for (std::size_t i = 0; i < wanted.size() && i < 1000; ++i) {
            if (set->has_file(wanted[i]) ||
                google::protobuf::DescriptorPool::generated_pool()->FindFileByName(wanted[i]))
                continue;
            a.files.clear();
            sent = co_await s.write(reflection_request(reflection_ask::file_by_filename, wanted[i]));
            got = false;
            if (sent) got = co_await s.read(msg);
            if (!got || !parse_reflection_response(msg, a) || a.error_code)
                co_return fail("cannot get " + wanted[i] + " by reflection");
            for (auto& f : a.files) {
                google::protobuf::FileDescriptorProto fd;
                if (!fd.ParseFromString(f) || set->has_file(fd.name())) continue;
                set->add_serialized(f);
                for (auto& dep : fd.dependency()) wanted.push_back(dep);
            }
        }
        co_await s.close_send();
        while (co_await s.read(msg)) {
        }
    }
    try {
        set->build();
    } catch (const std::exception& e) {
        co_return fail(e.what());
    }
    sets_.insert(sets_.begin(), std::move(set));
    co_return true;
}

}  // namespace loadkit::inline LOADKIT_ABI::grpc
