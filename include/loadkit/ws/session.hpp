#pragma once
// A VU's WebSocket session (Beast's websocket over the engine's own sockets):
// the opening handshake with headers and subprotocols, text and binary
// messages, ping/pong, the closing handshake, and k6's ws_* metrics in the
// thread's metric shard.
//
//   auto ws = co_await loadkit::websocket(http, "ws://127.0.0.1:8080/ws/echo");
//   co_await ws.send("hello");
//   auto& ev = co_await ws.receive(std::chrono::seconds(5));   // ev.kind, ev.data
//   co_await ws.close();
//
// A session reads all the time (one read loop per open session) into a
// bounded inbox, so pings, pongs and the peer's close are seen while the VU
// does something else; receive() takes the next event of the inbox. Writes
// go through an outbox (one write in flight, as Beast allows) so that
// JavaScript's socket.send(), which does not wait, and the DSL's awaited
// send() share one path. Timeouts and interrupts come from the thread's
// sweeper through an io_watch (runtime/context.hpp), as the HTTP client's.
//
// Beast's websocket templates are heavy: this header is not in <loadkit.hpp>;
// include <loadkit/websocket.hpp>.
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../core/io.hpp"
#include "../core/task.hpp"
#include "../http/client.hpp"
#include "../http/resolve.hpp"
#include "../http/tls.hpp"
#include "../http/url.hpp"
#include "../metrics/registry.hpp"
#include "../runtime/context.hpp"
#include "../runtime/custom_metrics.hpp"

namespace loadkit::inline LOADKIT_ABI {

// How a session is opened (k6's ws.connect params).
struct ws_params {
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<std::string> protocols;                     // Sec-WebSocket-Protocol, offered in this order
    std::vector<std::pair<std::string, std::string>> tags;  // added to every ws_* sample of the session
    std::optional<nanoseconds> timeout;                     // of the opening handshake; default: client_options'
};

// What receive() gives: a message, a control frame, the session's end, or
// nothing in time.
enum class ws_kind : std::uint8_t { text, binary, ping, pong, close, error, timeout };

inline std::string_view ws_kind_name(ws_kind k) noexcept {
    static constexpr std::string_view names[] = {"text", "binary", "ping", "pong", "close", "error", "timeout"};
    return names[static_cast<int>(k)];
}

struct ws_event {
    ws_kind kind = ws_kind::timeout;
    std::string data;  // the message, the ping's or pong's payload, the close reason, or the error
    int code = 0;      // close: the peer's close code (1005 when it gave none, 1006 when the connection dropped)
};

namespace detail {

// The bounds of a session: how many events wait unread before the read loop
// pauses, how many writes wait before send() refuses, the largest message.
inline constexpr std::size_t ws_inbox_max = 1024;
inline constexpr std::size_t ws_outbox_max = 4096;
inline constexpr std::size_t ws_message_max = std::size_t{16} << 20;  // Beast's default
// How long close() waits for the peer's closing frame before dropping the connection.
inline constexpr std::int64_t ws_close_wait_ns = 2'000'000'000;

using ws_plain = boost::beast::websocket::stream<socket_t, false>;
using ws_tls = boost::beast::websocket::stream<boost::asio::ssl::stream<socket_t>, false>;

struct ws_state : std::enable_shared_from_this<ws_state> {
    ws_state(client& c) : thread(&c.thread()), vu(c.vu()), opts(&c.settings()) {}
    ~ws_state() { end(); }

    thread_context* thread;
    vu_context* vu;
    const client_options* opts;
    std::unique_ptr<ws_plain> plain;
    std::unique_ptr<ws_tls> tls;
    io_watch watch;

    // what the handshake gave (k6's response: status, headers, error)
    int status = 0;
    std::string error, protocol, url, body;  // body: of a refused upgrade
    std::vector<std::pair<std::string, std::string>> headers;
    bool connecting = false, is_open = false, closing = false, ended = false, reading = false;
    std::int64_t started_ns = 0;

    // ws_* series of this session (its tags are known once the handshake is done)
    std::vector<std::pair<std::string, std::string>> tags;
    custom_series *sent_series = nullptr, *received_series = nullptr, *ping_series = nullptr;
    std::uint32_t scenario = 0, group = 0;

    std::deque<ws_event> inbox;
    std::vector<ws_event> spare;  // events whose strings are reused
    ws_event current;             // what receive() returned last
    std::coroutine_handle<> waiter{}, reader_parked{}, drain_waiter{};
    bool timed_out = false, woken = false;

    struct out_msg {
        ws_kind kind;
        std::string data;
        int code = 0;
    };
    std::deque<out_msg> outbox;
    std::vector<std::string> spare_out;
    bool writing = false;
    std::deque<std::int64_t> pings;  // send times of pings awaiting their pong
    boost::beast::flat_buffer rbuf;

    template <class F>
    decltype(auto) with(F&& f) {
        if (tls) return f(*tls);
        return f(*plain);
    }
    socket_t& lowest() { return tls ? tls->next_layer().next_layer() : plain->next_layer(); }
    void cut() noexcept {
        sys_error ec;
        if (tls || plain) lowest().close(ec);
    }

    // -- metrics: the session's series, found once (its tags do not change)
    custom_series& series(std::string_view name) {
        std::vector<tag_pair> t;
        for (auto& [k, v] : tags) t.emplace_back(k, v);
        auto& shard = thread->shard;
        std::uint32_t tag_id = t.empty() ? 0 : intern_tags(shard.strings, t);
        return shard.custom(custom_key{ids().of(name), scenario, group, tag_id});
    }
    struct metric_ids {
        std::uint32_t connecting, duration, sessions, sent, received, ping;
        std::uint32_t of(std::string_view n) const {
            return n == "ws_connecting"         ? connecting
                   : n == "ws_session_duration" ? duration
                   : n == "ws_sessions"         ? sessions
                   : n == "ws_msgs_sent"        ? sent
                   : n == "ws_msgs_received"    ? received
                                                : ping;
        }
    };
    static const metric_ids& ids() {
        static const metric_ids m = [] {
            metric_ids x{};  // a metric's id is its index in the registry
            auto all = metric_registry::get().all();
            for (std::uint32_t i = 0; i < all.size(); ++i) {
                auto& n = all[i].name;
                if (n == "ws_connecting") x.connecting = i;
                else if (n == "ws_session_duration") x.duration = i;
                else if (n == "ws_sessions") x.sessions = i;
                else if (n == "ws_msgs_sent") x.sent = i;
                else if (n == "ws_msgs_received") x.received = i;
                else if (n == "ws_ping") x.ping = i;
            }
            return x;
        }();
        return m;
    }
    static void count(custom_series& s, double v = 1) {
        ++s.n;
        s.sum += v;
    }
    static void time(custom_series& s, std::int64_t ns) {
        ++s.n;
        s.values.record(static_cast<std::uint64_t>(ns < 0 ? 0 : ns));
    }
    bool recording() const noexcept { return vu != nullptr; }
    // data_sent and data_received: a frame's bytes (its payload and header;
    // a client's frames are masked). The handshake is not counted.
    void count_bytes(std::size_t payload, bool sent) {
        if (!recording()) return;
        std::size_t n = payload + 2 + (payload > 65535 ? 8 : payload > 125 ? 2 : 0) + (sent ? 4 : 0);
        auto& sc = thread->shard.scenario(scenario);
        (sent ? sc.data_sent : sc.data_received) += n;
    }

    // The session is over (closed, dropped, failed, or its owner gone):
    // ws_session_duration, once, as k6 records it from the dial's start.
    void end() noexcept {
        if (ended) return;
        ended = true;
        is_open = false;
        if (thread) thread->unwatch(watch);
        if (recording() && started_ns) {
            try {
                time(series("ws_session_duration"), now_ns() - started_ns);
            } catch (...) {}
        }
        cut();
    }

    // -- the inbox
    ws_event& push(ws_kind k) {
        if (!spare.empty()) {
            inbox.push_back(std::move(spare.back()));
            spare.pop_back();
        } else inbox.emplace_back();
        auto& e = inbox.back();
        e.kind = k;
        e.data.clear();
        e.code = 0;
        return e;
    }
    // Wakes the VU waiting in receive() (posted: the caller may be inside a
    // Beast operation, such as its control-frame callback).
    void wake() {
        if (!waiter || woken) return;
        woken = true;
        boost::asio::post(thread->ioc, pooled([self = shared_from_this()] {
                              auto h = self->waiter;
                              self->waiter = {};
                              self->woken = false;
                              if (h) h.resume();
                          }));
    }
    void wake_drain() {
        if (auto h = std::exchange(drain_waiter, {})) boost::asio::post(thread->ioc, pooled([h] { h.resume(); }));
    }

    // The read loop: every message and control frame into the inbox, until
    // the session ends.
    static task<> read_loop(std::shared_ptr<ws_state> self) {
        auto& s = *self;
        namespace ws = boost::beast::websocket;
        s.reading = true;
        for (;;) {
            if (s.inbox.size() >= ws_inbox_max) {
                struct park {
                    ws_state& s;
                    bool await_ready() const noexcept { return false; }
                    void await_suspend(std::coroutine_handle<> h) noexcept { s.reader_parked = h; }
                    void await_resume() const noexcept {}
                };
                co_await park{s};
                continue;
            }
            s.rbuf.clear();
            auto [ec, n] = co_await io([&](auto h) { s.with([&](auto& w) { w.async_read(s.rbuf, std::move(h)); }); });
            if (!ec) {
                bool text = s.with([](auto& w) { return w.got_text(); });
                auto& e = s.push(text ? ws_kind::text : ws_kind::binary);
                auto d = s.rbuf.data();
                e.data.assign(static_cast<const char*>(d.data()), d.size());
                if (s.received_series) count(*s.received_series);
                s.count_bytes(d.size(), false);
                s.wake();
                continue;
            }
            // the end: the peer's close (a clean closing handshake), or a drop
            if (ec == ws::error::closed) {
                auto& e = s.push(ws_kind::close);
                auto r = s.with([](auto& w) { return w.reason(); });
                e.code = r.code == ws::close_code::none ? 1005 : static_cast<int>(r.code);
                e.data.assign(r.reason.data(), r.reason.size());
            } else {
                if (!s.closing && !s.ended) {  // k6: 'error', then 'close' with 1006
                    auto& err = s.push(ws_kind::error);
                    if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated)
                        err.data = "websocket: close 1006 (abnormal closure): unexpected EOF";  // k6's words
                    else err.data = "websocket: " + ec.message();
                }
                auto& e = s.push(ws_kind::close);
                e.code = 1006;
            }
            break;
        }
        s.reading = false;
        s.end();
        s.wake();
        s.wake_drain();
    }

    // The write loop: the outbox, one frame at a time.
    static task<> write_loop(std::shared_ptr<ws_state> self) {
        auto& s = *self;
        namespace ws = boost::beast::websocket;
        s.writing = true;
        while (!s.outbox.empty() && !s.ended) {
            auto& m = s.outbox.front();
            sys_error ec;
            if (m.kind == ws_kind::text || m.kind == ws_kind::binary) {
                bool text = m.kind == ws_kind::text;
                auto [e, n] = co_await io([&](auto h) {
                    s.with([&](auto& w) {
                        w.text(text);
                        w.async_write(boost::asio::buffer(m.data), std::move(h));
                    });
                });
                ec = e;
                if (!ec && s.sent_series) count(*s.sent_series);
                if (!ec) s.count_bytes(m.data.size(), true);
            } else if (m.kind == ws_kind::ping || m.kind == ws_kind::pong) {
                ws::ping_data pd(m.data.data(), std::min<std::size_t>(m.data.size(), ws::ping_data::static_capacity));
                if (m.kind == ws_kind::ping) s.pings.push_back(now_ns());
                auto [e, n] = co_await io([&](auto h) {
                    s.with([&](auto& w) {
                        if (m.kind == ws_kind::ping) w.async_ping(pd, std::move(h));
                        else w.async_pong(pd, std::move(h));
                    });
                });
                ec = e;
            } else if (m.kind == ws_kind::close) {
                s.closing = true;
                ws::close_reason r(static_cast<std::uint16_t>(m.code));
                r.reason = m.data;
                s.watch.deadline_ns = now_ns() + ws_close_wait_ns;  // the peer's answer, or a drop
                auto [e, n] = co_await io([&](auto h) { s.with([&](auto& w) { w.async_close(r, std::move(h)); }); });
                ec = e;
                if (!ec && !s.reading) s.end();
            }
            s.spare_out.push_back(std::move(m.data));
            s.outbox.pop_front();
            if (ec && !s.ended && !s.closing) {
                auto& e = s.push(ws_kind::error);
                e.data = ec.message();
                s.wake();
                s.cut();  // the read loop ends the session
            }
        }
        s.writing = false;
        s.wake_drain();
    }

    // Queues a frame; false when the session is not open or the outbox is full.
    bool enqueue(ws_kind k, std::string_view data, int code = 0) {
        if (!is_open || closing || outbox.size() >= ws_outbox_max) return false;
        out_msg m{k, {}, code};
        if (!spare_out.empty()) {
            m.data = std::move(spare_out.back());
            spare_out.pop_back();
        }
        m.data.assign(data);
        if (k == ws_kind::close) closing = true;
        outbox.push_back(std::move(m));
        return true;
    }
    // Starts the write loop when idle (for callers that do not wait: JavaScript).
    void kick() {
        if (writing || outbox.empty()) return;
        writing = true;
        spawn(write_loop(shared_from_this()), [](std::exception_ptr) {});
    }

    void on_control(boost::beast::websocket::frame_type k, boost::beast::string_view payload) {
        namespace ws = boost::beast::websocket;
        if (k == ws::frame_type::ping) {
            push(ws_kind::ping).data.assign(payload.data(), payload.size());  // Beast answers it
            wake();
        } else if (k == ws::frame_type::pong) {
            if (!pings.empty()) {  // the oldest ping's round trip (k6 matches by payload; ours are in order)
                if (ping_series) time(*ping_series, now_ns() - pings.front());
                pings.pop_front();
            }
            push(ws_kind::pong).data.assign(payload.data(), payload.size());
            wake();
        }
    }

    static void fire(void* p, bool interrupted) {
        auto& s = *static_cast<ws_state*>(p);
        if (interrupted || s.connecting || s.closing) {
            s.cut();  // the read loop, or the handshake, ends with an error
            if (interrupted) s.wake();
            return;
        }
        s.timed_out = true;
        s.wake();
    }

    task<bool> connect(std::string_view given_url, const ws_params& p);
};

inline task<bool> ws_state::connect(std::string_view given_url, const ws_params& p) {
    namespace ws = boost::beast::websocket;
    url.assign(given_url);
    scenario = vu ? vu->scenario_id : 0;
    group = vu ? vu->group : 0;
    tags.clear();
    tags.emplace_back("url", url);
    for (auto& t : p.tags)
        if (!t.first.empty()) tags.emplace_back(t);
    started_ns = now_ns();
    watch.vu = vu;
    watch.self = this;
    watch.fire = &ws_state::fire;
    thread->watch(watch);
    connecting = true;

    auto failed = [&](std::string why) {
        connecting = false;
        error = std::move(why);
        if (vu && vu->interrupted) {
            end();
            throw interrupted_error{};
        }
        if (recording()) {
            count(series("ws_sessions"));
            time(series("ws_connecting"), now_ns() - started_ns);
        }
        return false;
    };

    // ws://h/p and wss://h/p are split as http:// and https:// URLs
    // (a relative URL resolves against the client's base URL, as a request's)
    std::string as_http;
    if (url.starts_with("ws://")) as_http = "http://" + url.substr(5);
    else if (url.starts_with("wss://")) as_http = "https://" + url.substr(6);
    else if (is_absolute_url(url) || !resolve_url(opts->base_url, url, as_http))
        co_return failed("invalid URL (want ws://, wss:// or a path): " + url);
    url_parts u;
    if (!split_url(as_http, u)) co_return failed("invalid URL: " + url);
    watch.deadline_ns = started_ns + p.timeout.value_or(opts->timeout).count();

    // endpoints: an IP literal, the thread's DNS cache, or a lookup (as the
    // HTTP client's: http/resolve.hpp)
    std::string host(u.host);
    const std::vector<tcp::endpoint>* eps = known_endpoints(*thread, host, u.port);
    if (!eps) {
        resolver_t r(thread->ioc.get_executor());
        std::string key = thread->dns_key, why;
        auto list = co_await lookup_endpoints(r, host, u.port, why);
        if (list.empty()) co_return failed("lookup " + host + ": " + why);
        eps = &remember_endpoints(*thread, std::move(key), std::move(list));
    }
    sys_error literal;
    boost::asio::ip::make_address(host, literal);
    bool by_name = literal.failed();  // (SNI, and which identity TLS verifies)

    if (vu && vu->interrupted) co_return failed("interrupted");
    if (u.secure) tls = std::make_unique<ws_tls>(thread->ioc.get_executor(), tls_context(*opts).ctx);
    else plain = std::make_unique<ws_plain>(thread->ioc.get_executor());
    sys_error last;
    bool connected = false;
    // k6's --local-ips, as the HTTP client's (client::open)
    bool bind_local = !opts->local_ips.empty();
    auto source = bind_local ? opts->local_ips.at(vu ? vu->local_id : 0) : boost::asio::ip::address{};
    for (auto& ep : *eps) {
        auto& sock = lowest();
        sys_error e2;
        if (sock.is_open()) sock.close(e2);
        if (bind_local) {
            if (ep.address().is_v6() != source.is_v6()) continue;
            if (auto be = bind_source(sock, source, ep))
                co_return failed("dial: bind " + source.to_string() + ": " + be.message());
        }
        auto [e, n] = co_await io([&](auto h) { sock.async_connect(ep, std::move(h)); });
        if (!e) {
            connected = true;
            break;
        }
        last = e;
        if (vu && vu->interrupted) break;
    }
    if (!connected) co_return failed(last ? "dial: " + last.message() : std::string("dial failed"));
    if (vu && vu->interrupted) co_return failed("interrupted");
    {
        sys_error e2;
        lowest().set_option(tcp::no_delay(true), e2);
    }
    if (tls) {
        SSL* ssl = tls->next_layer().native_handle();
        if (by_name) SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI: names only
        if (!opts->insecure_skip_tls_verify) {
            if (!by_name) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
            else SSL_set1_host(ssl, host.c_str());
        }
        auto& setup = tls_context(*opts);
        if (!setup.identities.empty()) setup.apply(ssl, host);
        auto [e, n] = co_await io(
            [&](auto h) { tls->next_layer().async_handshake(boost::asio::ssl::stream_base::client, std::move(h)); });
        if (e) co_return failed("tls: " + e.message());
    }
    // the opening handshake, with the params' headers and subprotocols
    ws::response_type res;
    with([&](auto& w) {
        w.read_message_max(ws_message_max);
        w.auto_fragment(false);
        w.set_option(ws::stream_base::decorator([&p, this](ws::request_type& req) {
            if (!opts->user_agent.empty()) req.set(boost::beast::http::field::user_agent, opts->user_agent);
            for (auto& [k, v] : p.headers)
                if (!k.empty() && k.find_first_of(":\r\n") == std::string::npos &&
                    v.find_first_of("\r\n") == std::string::npos)
                    req.set(k, v);
            std::string protos;
            for (auto& pr : p.protocols) protos.append(protos.empty() ? "" : ", ").append(pr);
            if (!protos.empty()) req.set(boost::beast::http::field::sec_websocket_protocol, protos);
        }));
        w.control_callback([this](ws::frame_type k, boost::beast::string_view payload) { on_control(k, payload); });
    });
    std::string authority(u.authority), target(u.target);
    auto [he, hn] = co_await io(
        [&](auto h) { with([&](auto& w) { w.async_handshake(res, authority, target, std::move(h)); }); });
    status = res.result_int();
    for (auto& f : res) headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    body = std::move(res.body());
    if (status) {
        tags.emplace_back("status", std::to_string(status));
        protocol.assign(res[boost::beast::http::field::sec_websocket_protocol]);
        if (!protocol.empty()) tags.emplace_back("subproto", protocol);  // k6 tags an empty one too
    }
    if (he) {
        co_return failed(status && status != 101 ? "websocket: bad handshake (status " + std::to_string(status) + ")"
                                                 : "handshake: " + he.message());
    }
    connecting = false;
    watch.deadline_ns = 0;
    is_open = true;
    if (recording()) {
        count(series("ws_sessions"));
        time(series("ws_connecting"), now_ns() - started_ns);
        sent_series = &series("ws_msgs_sent");
        received_series = &series("ws_msgs_received");
        ping_series = &series("ws_ping");
    }
    spawn(read_loop(shared_from_this()), [](std::exception_ptr) {});
    co_return true;
}

}  // namespace detail

// An open (or failed) WebSocket session of a VU: movable, one owner. Ends
// the session (dropping the connection) when destroyed while open.
class ws_session {
  public:
    ws_session() = default;
    explicit ws_session(std::shared_ptr<detail::ws_state> s) : s_(std::move(s)) {}
    ws_session(ws_session&&) noexcept = default;
    ws_session& operator=(ws_session&& o) noexcept {
        if (this != &o) {
            drop();
            s_ = std::move(o.s_);
        }
        return *this;
    }
    ~ws_session() { drop(); }

    // The handshake: 101 and ok() when open; else the HTTP status (0: no
    // response) and error().
    bool ok() const noexcept { return s_ && s_->status == 101 && s_->error.empty(); }
    int status() const noexcept { return s_ ? s_->status : 0; }
    std::string_view error() const noexcept { return s_ ? std::string_view(s_->error) : "no session"; }
    std::string_view protocol() const noexcept { return s_ ? std::string_view(s_->protocol) : ""; }
    std::string_view header(std::string_view name) const noexcept {
        if (s_)
            for (auto& [k, v] : s_->headers)
                if (detail::iequals(k, name)) return v;
        return {};
    }
    const std::vector<std::pair<std::string, std::string>>& headers() const {
        static const std::vector<std::pair<std::string, std::string>> none;
        return s_ ? s_->headers : none;
    }
    bool is_open() const noexcept { return s_ && s_->is_open; }

    // Sends a text (or binary) message; true once written.
    task<bool> send(std::string_view text) { return write(ws_kind::text, text); }
    task<bool> send_binary(std::string_view bytes) { return write(ws_kind::binary, bytes); }
    // Sends a ping; its pong comes as an event, and its round trip is ws_ping.
    task<bool> ping(std::string_view payload = {}) { return write(ws_kind::ping, payload); }

    // The next event: a message, a ping or pong, the session's end (close,
    // after an error event when it dropped), or a timeout event when nothing
    // came in `timeout`. After the close event, every call gives it again.
    // Throws interrupted_error when the VU is cut (the session is dropped).
    task<const ws_event&> receive(nanoseconds timeout = std::chrono::seconds(60)) {
        auto& s = *s_;
        if (s.inbox.empty() && !s.ended) {
            s.timed_out = false;
            s.watch.deadline_ns = detail::now_ns() + timeout.count();
            struct wait {
                detail::ws_state& s;
                bool await_ready() const noexcept { return false; }
                void await_suspend(std::coroutine_handle<> h) noexcept { s.waiter = h; }
                void await_resume() const noexcept {}
            };
            while (s.inbox.empty() && !s.ended && !s.timed_out && !(s.vu && s.vu->interrupted)) co_await wait{s};
            s.watch.deadline_ns = 0;
            if (s.vu) detail::current_vu = s.vu;
        }
        if (s.vu && s.vu->interrupted) {
            s.end();
            throw interrupted_error{};
        }
        if (!s.inbox.empty()) {
            s.spare.push_back(std::move(s.current));
            s.current = std::move(s.inbox.front());
            s.inbox.pop_front();
            if (s.reader_parked && s.inbox.size() < detail::ws_inbox_max / 2)
                if (auto h = std::exchange(s.reader_parked, {})) h.resume();
        } else if (s.ended) {
            if (s.current.kind != ws_kind::close) {
                s.current.kind = ws_kind::close;
                s.current.code = 1006;
                s.current.data.clear();
            }
        } else {
            s.current.kind = ws_kind::timeout;
            s.current.data.clear();
            s.current.code = 0;
        }
        co_return s.current;
    }

    // The closing handshake with `code` (k6's default for socket.close() is
    // 1001; RFC 6455's normal closure is 1000): sends the close frame, waits
    // (up to 2 s) for the peer's, and ends the session.
    task<> close(int code = 1000, std::string_view reason = {}) {
        if (!s_ || s_->ended) co_return;
        auto self = s_;
        if (self->enqueue(ws_kind::close, reason, code)) co_await drain();
        self->end();
    }

    // For front ends that do not wait on writes (JavaScript's socket.send):
    // queues a frame and returns at once; false when the session is not open
    // or too many writes wait.
    bool post(ws_kind k, std::string_view data, int code = 0) {
        if (!s_ || !s_->enqueue(k, data, code)) return false;
        s_->kick();
        return true;
    }
    // Waits until every queued write is done.
    task<> drain() {
        auto self = s_;
        if (!self) co_return;
        if (!self->writing && !self->outbox.empty()) {
            self->writing = true;
            co_await detail::ws_state::write_loop(self);
        }
        struct wait {
            detail::ws_state& s;
            bool await_ready() const noexcept { return !s.writing; }
            void await_suspend(std::coroutine_handle<> h) noexcept { s.drain_waiter = h; }
            void await_resume() const noexcept {}
        };
        while (self->writing) co_await wait{*self};
        if (self->vu) detail::current_vu = self->vu;
    }

    // The state, for front ends (JavaScript's socket).
    detail::ws_state* state() const noexcept { return s_.get(); }

  private:
    task<bool> write(ws_kind k, std::string_view data) {
        if (!s_ || !s_->enqueue(k, data)) co_return false;
        co_await drain();
        co_return s_->is_open;
    }
    void drop() noexcept {
        if (s_) {
            // a wake already posted must not resume a frame that is gone
            s_->waiter = {};
            s_->drain_waiter = {};
            s_->end();
        }
        s_.reset();
    }
    std::shared_ptr<detail::ws_state> s_;
};

// Opens a WebSocket session on the VU of `http` (its thread, metrics, TLS
// options and timeout). A failed handshake gives a session that is not ok()
// (ws_sessions and ws_connecting count it, as in k6).
inline task<ws_session> websocket(client& http, std::string_view url, const ws_params& p = {}) {
    auto s = std::make_shared<detail::ws_state>(http);
    co_await s->connect(url, p);
    co_return ws_session(std::move(s));
}

}  // namespace loadkit::inline LOADKIT_ABI
