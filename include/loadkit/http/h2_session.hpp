#pragma once
// An HTTP/2 connection (RFC 9113) on the engine's own socket, and the streams
// on it: the layer the HTTP client's HTTP/2 requests and gRPC calls share.
//
// nghttp2 does the framing, HPACK and flow control through callbacks and
// nghttp2_session_mem_recv/mem_send; it has no thread, timer or loop of its
// own. The session reads with one coroutine while any stream is open (none
// stays pending on an idle connection, so a thread's io_context still runs
// out of work at the end of a run), and writes with another whenever
// nghttp2 has frames to send. Events of a stream (response headers, DATA,
// trailers, the end) are noted inside nghttp2's callbacks and the awaiting
// coroutines are resumed after mem_recv returns, never from inside nghttp2.
//
// The stream API (what gRPC is built on):
//
//   std::shared_ptr<h2_session> s = ...;   // h2_exchange.hpp's h2_connect()
//   h2_stream st;                           // reusable: its buffers stay warm
//   st.open(*s, "POST", "https", "host:443", "/pkg.Svc/Method",
//           {{"content-type", "application/grpc"}, {"te", "trailers"}}, false);
//   st.write(frame1);                       // DATA, copied; any number of times
//   st.write(frame2, true);                 // the last one ends the request side
//   while (!st.done()) {                    // done(): closed, nothing left unread
//       co_await st.wait();                 // until something new arrived
//       if (st.has_headers()) ... st.status(), st.headers()
//       consume st.data(), then st.data().clear()   // DATA so far
//   }
//   st.trailers(); st.error();              // error_code::none when it ended well
//   st.reset();                             // RST_STREAM(CANCEL): gives up
//
// Header names are sent lowercased; connection-specific headers (Connection,
// Keep-Alive, Transfer-Encoding, Upgrade, Proxy-Connection, Host) are
// dropped (Host becomes :authority when `authority` is empty). Views from
// headers()/trailers() stay valid until the stream is opened again.
// Timeouts are the caller's: cut() (or reset()) ends a stream from outside,
// e.g. from the thread's sweeper.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "../core/config.hpp"
#include "../core/error_code.hpp"
#include "../core/io.hpp"
#include "../core/task.hpp"
#include "connection.hpp"
#include "h2_link.hpp"
#include "message.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

class h2_session;

// k6's code for an HTTP/2 error: base, or base + 1 + the RFC's code (0..13).
inline error_code h2_error(error_code base, std::uint32_t h2_code) noexcept {
    return static_cast<error_code>(static_cast<int>(base) + (h2_code <= 13 ? 1 + static_cast<int>(h2_code) : 0));
}

class h2_stream final : public h2_stream_base {
  public:
    h2_stream() = default;
    ~h2_stream() override { reset(); }
    h2_stream(const h2_stream&) = delete;
    h2_stream& operator=(const h2_stream&) = delete;

    // Opens a stream (sends HEADERS; with end_stream, no DATA follows). False
    // when the session takes no new stream (closed, or after GOAWAY): then
    // error() says why. A stream still open is reset first.
    bool open(h2_session& s, std::string_view method, std::string_view scheme, std::string_view authority,
              std::string_view path, std::span<const std::pair<std::string_view, std::string_view>> headers,
              bool end_stream);
    // Queues DATA (copied); with end_stream, the request side ends after it.
    void write(std::string_view data, bool end_stream = false);
    // Waits until something happened since the last wait (headers, DATA,
    // trailers, the end); at once when it already has.
    auto wait() noexcept {
        struct awaiter {
            h2_stream* s;
            bool await_ready() noexcept {
                bool r = s->changed_ || !s->attached_;
                s->changed_ = false;
                return r;
            }
            void await_suspend(std::coroutine_handle<> h) noexcept { s->waiter_ = h; }
            void await_resume() noexcept { s->changed_ = false; }
        };
        return awaiter{this};
    }
    // Ends the stream from our side (RST_STREAM with `code`, CANCEL by default).
    void reset(std::uint32_t code = NGHTTP2_CANCEL) noexcept;
    // The sweeper's timeout or a VU's interrupt: reset, and wake the waiter.
    void cut() noexcept override;

    bool has_headers() const noexcept { return headers_done_; }
    int status() const noexcept { return status_; }
    std::span<const std::pair<std::string_view, std::string_view>> headers() { return views(false); }
    std::span<const std::pair<std::string_view, std::string_view>> trailers() { return views(true); }
    // DATA received and not yet cleared by the caller (unless sent to a sink)
    std::string& data() noexcept { return data_; }
    // DATA goes to `sink` instead (appended; null with `discard`: counted, not kept)
    void set_sink(std::string* sink, bool discard) noexcept { sink_ = sink, discard_ = discard; }
    // closed and nothing left to wait for
    bool done() const noexcept { return !attached_ && !changed_; }
    bool ended_well() const noexcept { return remote_end_ && err_ == error_code::none; }
    // the server did not process it (refused by GOAWAY's last stream id, or
    // never sent): safe to send again on another connection
    bool refused() const noexcept { return refused_; }
    error_code error() const noexcept { return err_; }
    std::uint32_t h2_code() const noexcept { return h2_code_; }  // the RST_STREAM/GOAWAY code, if any
    // timestamps (now_ns): the request's last frame handed to the socket, the
    // response's first frame, the stream's end; bytes of frames each way
    std::int64_t t_sent = 0, t_first = 0, t_end = 0;
    std::size_t bytes_out = 0, bytes_in = 0;
    std::int32_t id() const noexcept { return id_; }
    // scratch for the caller's request headers (kept warm between requests)
    std::vector<std::pair<std::string_view, std::string_view>> request_headers;

  private:
    friend class h2_session;
    struct hdr {
        std::uint32_t name, name_len, value, value_len;
        bool trailer;
    };
    std::span<const std::pair<std::string_view, std::string_view>> views(bool trailers) {
        views_.clear();
        for (auto& h : hdrs_)
            if (h.trailer == trailers)
                views_.emplace_back(std::string_view(arena_.data() + h.name, h.name_len),
                                    std::string_view(arena_.data() + h.value, h.value_len));
        return views_;
    }
    void notify() noexcept;
    void finish(error_code e, std::uint32_t code) noexcept;

    std::shared_ptr<h2_session> session_;
    std::int32_t id_ = -1;
    bool attached_ = false;  // in the session's list: open, or queued by nghttp2
    bool changed_ = false, queued_ = false;
    std::coroutine_handle<> waiter_{};
    int status_ = 0;
    bool headers_done_ = false, remote_end_ = false, sent_end_ = false, refused_ = false;
    error_code err_ = error_code::none;
    std::uint32_t h2_code_ = 0;
    std::string arena_;  // header names and values
    std::vector<hdr> hdrs_;
    std::vector<std::pair<std::string_view, std::string_view>> views_;
    std::string data_;
    std::string* sink_ = nullptr;
    bool discard_ = false;
    std::string out_;  // DATA to send
    std::size_t out_off_ = 0;
    bool out_end_ = false, deferred_ = false;
    std::string nv_arena_;  // the request's header names (lowercased) and values
    std::vector<nghttp2_nv> nv_;
};

class h2_session final : public h2_session_base, public std::enable_shared_from_this<h2_session> {
  public:
    enum class state : unsigned char { opening, ready, http1, failed };

    explicit h2_session(boost::asio::io_context& ioc) : conn(ioc) {}
    ~h2_session() override {
        if (s_) nghttp2_session_del(s_);
        conn.close();
    }

    std::string host;  // the origin, for the VU's pool
    std::uint16_t port = 0;
    bool secure = false;
    state st = state::opening;
    connection conn;  // the socket, taken over from the client's connection

    // Takes over `c`'s open socket (TLS or plain) and starts the session
    // (the connection preface and SETTINGS). False when nghttp2 refuses.
    bool start(connection& c) {
        // (a multishot receive armed on the socket would take the session's
        // bytes: cancelled now, not with the next submission)
        if (c.ms && c.ms->armed && c.lowest().is_open()) c.ring->cancel_fd(c.lowest().native_handle());
        c.let_go_multishot();
        conn.host = c.host, conn.port = c.port, conn.secure = c.secure;
        conn.ring = c.ring;  // a plain socket left Asio's epoll set when it connected (uring::forget)
        conn.duplex = true;  // its reader and its writer each have an operation in flight
        if (c.tls) conn.tls = std::move(c.tls);
        else conn.sock = std::move(c.sock), conn.ring_slot = std::exchange(c.ring_slot, -1);
        conn.tls_state = c.tls_state;
        conn.open = true;
        c.open = false, c.rlen = 0;
        conn.rbuf.resize(16 * 1024);
        nghttp2_session_callbacks* cb = nullptr;
        if (nghttp2_session_callbacks_new(&cb) != 0) return false;
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
        nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
        nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
        int rv = nghttp2_session_client_new(&s_, cb, this);
        nghttp2_session_callbacks_del(cb);
        if (rv != 0) return false;
        // windows as Go's client opens them (4 MiB a stream, 1 GiB the
        // connection): a load test reads as fast as the server sends
        nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 4 << 20},
                                       {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 10 << 20}};
        if (nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, iv, 3) != 0) return false;
        nghttp2_session_set_local_window_size(s_, NGHTTP2_FLAG_NONE, 0, 1 << 30);
        st = state::ready;
        flush();
        return true;
    }
    // takes new streams: not closed, no GOAWAY, stream ids left
    bool usable() const noexcept {
        return st == state::ready && !dead_ && !goaway_ && s_ && nghttp2_session_check_request_allowed(s_);
    }
    std::size_t streams() const noexcept { return streams_.size(); }

    // Waiting for a session another client is opening (state opening).
    auto opened() noexcept {
        struct awaiter {
            h2_session* s;
            bool await_ready() const noexcept { return s->st != state::opening; }
            void await_suspend(std::coroutine_handle<> h) { s->open_waiters_.push_back(h); }
            void await_resume() const noexcept {}
        };
        return awaiter{this};
    }
    // The opener is done (ready, http1 or failed): its waiters go on.
    void settle(state s) {
        st = s;
        auto w = std::move(open_waiters_);
        for (auto h : w) h.resume();
    }

    // Closes the connection: every open stream fails with `e`.
    void fail_all(error_code e, std::uint32_t code = 0) noexcept {
        dead_ = true;
        conn.close();
        while (!streams_.empty()) streams_.back()->finish(e, code);  // finish() detaches
        wake();
    }

    // Hands nghttp2's pending frames to the socket (one write in flight).
    void flush() {
        if (writing_ || dead_ || !s_ || !nghttp2_session_want_write(s_)) return;
        writing_ = true;
        spawn(write_loop(shared_from_this()), [](std::exception_ptr) {});
    }

  private:
    friend class h2_stream;

    void attach(h2_stream* st) {
        streams_.push_back(st);
        st->attached_ = true;
        if (!reading_) {
            reading_ = true;
            spawn(read_loop(shared_from_this()), [](std::exception_ptr) {});
        }
    }
    void detach(h2_stream* st) noexcept {
        auto it = std::find(streams_.begin(), streams_.end(), st);
        if (it != streams_.end()) {
            *it = streams_.back();
            streams_.pop_back();
        }
        st->attached_ = false;
        if (st->queued_) {
            auto r = std::find(ready_.begin(), ready_.end(), st);
            if (r != ready_.end()) ready_.erase(r);
            st->queued_ = false;
        }
    }
    // Resumes the streams' waiters noted during mem_recv (or a failure).
    void wake() {
        while (!ready_.empty()) {
            auto* st = ready_.back();
            ready_.pop_back();
            st->queued_ = false;
            if (auto h = std::exchange(st->waiter_, {})) h.resume();
        }
    }

    static task<> read_loop(std::shared_ptr<h2_session> self) {
        auto& s = *self;
        while (!s.dead_ && !s.streams_.empty()) {
            auto [e, n] = co_await s.conn.read_some(s.conn.rbuf.data(), s.conn.rbuf.size());
            if (s.dead_) break;
            if (e || n == 0) {
                // after a GOAWAY, the server's close ends what it did not answer
                s.fail_all(
                    s.goaway_ ? h2_error(error_code::http2_goaway, s.goaway_code_) : error_code::connection_closed,
                    s.goaway_code_);
                break;
            }
            auto rv = nghttp2_session_mem_recv(s.s_, reinterpret_cast<const std::uint8_t*>(s.conn.rbuf.data()), n);
            if (rv < 0) {
                s.fail_all(
                    h2_error(error_code::http2_connection,
                             rv == NGHTTP2_ERR_FLOW_CONTROL ? NGHTTP2_FLOW_CONTROL_ERROR : NGHTTP2_PROTOCOL_ERROR),
                    NGHTTP2_PROTOCOL_ERROR);
                break;
            }
            s.flush();
            s.wake();
            if (!nghttp2_session_want_read(s.s_) && !nghttp2_session_want_write(s.s_)) {
                s.fail_all(s.local_goaway_ ? h2_error(error_code::http2_connection, s.local_goaway_code_)
                                           : h2_error(error_code::http2_goaway, s.goaway_code_));
                break;
            }
        }
        s.reading_ = false;
    }
    static task<> write_loop(std::shared_ptr<h2_session> self) {
        auto& s = *self;
        while (!s.dead_) {
            s.wbuf_.clear();
            for (;;) {
                const std::uint8_t* p = nullptr;
                auto n = nghttp2_session_mem_send(s.s_, &p);
                if (n < 0) {
                    s.fail_all(h2_error(error_code::http2_connection, NGHTTP2_INTERNAL_ERROR));
                    s.writing_ = false;
                    co_return;
                }
                if (n == 0) break;
                s.wbuf_.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
                if (s.wbuf_.size() >= 64 * 1024) break;
            }
            if (s.wbuf_.empty()) break;
            auto [e, n] = co_await s.conn.write(s.wbuf_);
            (void)n;
            if (s.dead_) break;
            if (e) {
                s.fail_all(error_code::connection_closed);
                break;
            }
            s.wake();  // streams whose last frame went out (t_sent)
        }
        s.writing_ = false;
    }

    static h2_stream* stream_of(nghttp2_session* ns, std::int32_t id) noexcept {
        return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(ns, id));
    }
    static int on_begin_headers(nghttp2_session* ns, const nghttp2_frame* f, void*) {
        if (auto* st = stream_of(ns, f->hd.stream_id); st && !st->t_first) st->t_first = now_ns();
        return 0;
    }
    static int on_header(nghttp2_session* ns, const nghttp2_frame* f, const std::uint8_t* name, std::size_t nlen,
                         const std::uint8_t* value, std::size_t vlen, std::uint8_t, void*) {
        auto* st = stream_of(ns, f->hd.stream_id);
        if (!st || f->hd.type != NGHTTP2_HEADERS) return 0;
        std::string_view n(reinterpret_cast<const char*>(name), nlen), v(reinterpret_cast<const char*>(value), vlen);
        if (n == ":status") {
            int code = 0;
            for (char ch : v) code = code * 10 + (ch - '0');
            st->status_ = code;
            return 0;
        }
        if (!n.empty() && n[0] == ':') return 0;
        auto at = static_cast<std::uint32_t>(st->arena_.size());
        st->arena_.append(n).append(v);
        st->hdrs_.push_back({at, static_cast<std::uint32_t>(nlen), at + static_cast<std::uint32_t>(nlen),
                             static_cast<std::uint32_t>(vlen), st->headers_done_});
        return 0;
    }
    static int on_frame_recv(nghttp2_session* ns, const nghttp2_frame* f, void* self) {
        auto& s = *static_cast<h2_session*>(self);
        if (f->hd.type == NGHTTP2_GOAWAY) {
            s.goaway_ = true;
            s.goaway_code_ = f->goaway.error_code;
            return 0;
        }
        if (f->hd.stream_id == 0) return 0;
        auto* st = stream_of(ns, f->hd.stream_id);
        if (!st) return 0;
        st->bytes_in += f->hd.length + 9;
        if (f->hd.type == NGHTTP2_HEADERS) {
            if (!st->headers_done_ && st->status_ >= 100 && st->status_ < 200) {
                // an interim response (100 Continue, 103): dropped, as HTTP/1.1 drops it
                st->status_ = 0;
                st->hdrs_.clear();
                st->arena_.clear();
            } else {
                st->headers_done_ = true;
            }
        }
        if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
            st->remote_end_ = true;
        st->notify();
        return 0;
    }
    static int on_data(nghttp2_session* ns, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t len,
                       void*) {
        auto* st = stream_of(ns, id);
        if (!st) return 0;
        if (!st->t_first) st->t_first = now_ns();
        if (st->sink_) st->sink_->append(reinterpret_cast<const char*>(data), len);
        else if (!st->discard_) st->data_.append(reinterpret_cast<const char*>(data), len);
        st->notify();
        return 0;
    }
    static int on_stream_close(nghttp2_session* ns, std::int32_t id, std::uint32_t code, void* self) {
        auto& s = *static_cast<h2_session*>(self);
        auto* st = stream_of(ns, id);
        if (!st) return 0;
        nghttp2_session_set_stream_user_data(ns, id, nullptr);
        if (st->remote_end_) st->finish(error_code::none, code);  // the whole response came
        else if (code == NGHTTP2_REFUSED_STREAM) {  // past a GOAWAY's last stream, or refused: not processed
            st->refused_ = true;
            if (s.goaway_) st->finish(h2_error(error_code::http2_goaway, s.goaway_code_), s.goaway_code_);
            else st->finish(h2_error(error_code::http2_stream, code), code);
        } else st->finish(h2_error(error_code::http2_stream, code), code);
        return 0;
    }
    static int on_frame_send(nghttp2_session* ns, const nghttp2_frame* f, void* self) {
        auto& s = *static_cast<h2_session*>(self);
        if (f->hd.type == NGHTTP2_GOAWAY) {
            s.local_goaway_ = true;
            s.local_goaway_code_ = f->goaway.error_code;
        }
        if (f->hd.stream_id == 0) return 0;
        auto* st = stream_of(ns, f->hd.stream_id);
        if (!st) return 0;
        st->bytes_out += f->hd.length + 9;
        if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            st->sent_end_ = true;
            st->t_sent = now_ns();
        }
        return 0;
    }
    static int on_frame_not_send(nghttp2_session* ns, const nghttp2_frame* f, int, void* self) {
        auto& s = *static_cast<h2_session*>(self);
        if (f->hd.type != NGHTTP2_HEADERS) return 0;
        auto* st = stream_of(ns, f->hd.stream_id);
        if (!st) return 0;
        nghttp2_session_set_stream_user_data(ns, f->hd.stream_id, nullptr);
        st->refused_ = true;
        st->finish(s.goaway_ ? h2_error(error_code::http2_goaway, s.goaway_code_)
                             : h2_error(error_code::http2_stream, NGHTTP2_REFUSED_STREAM),
                   NGHTTP2_REFUSED_STREAM);
        return 0;
    }

    nghttp2_session* s_ = nullptr;
    std::vector<h2_stream*> streams_, ready_;
    std::vector<std::coroutine_handle<>> open_waiters_;
    std::string wbuf_;
    bool reading_ = false, writing_ = false, dead_ = false;
    bool goaway_ = false, local_goaway_ = false;
    std::uint32_t goaway_code_ = 0, local_goaway_code_ = 0;
};

// ---------------------------------------------------------------- h2_stream

inline void h2_stream::notify() noexcept {
    changed_ = true;
    if (waiter_ && !queued_ && session_) {
        queued_ = true;
        session_->ready_.push_back(this);
    }
}

inline void h2_stream::finish(error_code e, std::uint32_t code) noexcept {
    if (!attached_) return;
    if (err_ == error_code::none) err_ = e;
    if (e != error_code::none) h2_code_ = code;
    t_end = now_ns();
    notify();
    bool queued = queued_;
    session_->detach(this);
    if (queued) {  // detach() took it off the ready list: keep it there, to be woken
        queued_ = true;
        session_->ready_.push_back(this);
    }
}

inline bool h2_stream::open(h2_session& s, std::string_view method, std::string_view scheme, std::string_view authority,
                            std::string_view path,
                            std::span<const std::pair<std::string_view, std::string_view>> headers, bool end_stream) {
    reset();
    session_ = s.shared_from_this();
    id_ = -1;
    changed_ = queued_ = false;
    waiter_ = {};
    status_ = 0;
    headers_done_ = remote_end_ = sent_end_ = refused_ = false;
    err_ = error_code::none;
    h2_code_ = 0;
    arena_.clear(), hdrs_.clear(), data_.clear();
    out_.clear(), out_off_ = 0, out_end_ = end_stream, deferred_ = false;
    t_sent = t_first = t_end = 0;
    bytes_out = bytes_in = 0;
    if (!s.usable()) {
        err_ = s.goaway_ ? h2_error(error_code::http2_goaway, s.goaway_code_) : error_code::connection_closed;
        return false;
    }
    // the header block: names lowercased into one arena, then the nv array
    // pointing into it (the arena no longer moves)
    nv_arena_.clear();
    nv_.clear();
    std::string_view host;
    struct span_ref {
        std::size_t n, nl, v, vl;
    };
    span_ref refs[64];
    std::size_t count = 0;
    std::vector<span_ref> more;
    auto add = [&](std::string_view k, std::string_view v, bool lower) {
        span_ref r{nv_arena_.size(), k.size(), 0, v.size()};
        for (char c : k) nv_arena_.push_back(lower && c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c);
        r.v = nv_arena_.size();
        nv_arena_.append(v);
        if (count < 64) refs[count++] = r;
        else more.push_back(r);
    };
    add(":method", method, false);
    add(":scheme", scheme, false);
    std::size_t authority_at = count;
    add(":authority", authority, false);
    add(":path", path, false);
    for (auto& [k, v] : headers) {
        if (k.empty()) continue;
        auto skip = [&](std::string_view n) { return k.size() == n.size() && iequals(k, n); };
        if (skip("host")) {
            host = v;
            continue;
        }
        if (skip("connection") || skip("keep-alive") || skip("proxy-connection") || skip("transfer-encoding") ||
            skip("upgrade"))
            continue;
        add(k, v, true);
    }
    if (authority.empty() && !host.empty()) {  // Host: as :authority
        refs[authority_at].v = nv_arena_.size();
        refs[authority_at].vl = host.size();
        nv_arena_.append(host);
    }
    auto push = [&](const span_ref& r) {
        nv_.push_back({reinterpret_cast<std::uint8_t*>(nv_arena_.data() + r.n),
                       reinterpret_cast<std::uint8_t*>(nv_arena_.data() + r.v), r.nl, r.vl, NGHTTP2_NV_FLAG_NONE});
    };
    for (std::size_t i = 0; i < count; ++i) push(refs[i]);
    for (auto& r : more) push(r);
    nghttp2_data_provider prd;
    prd.source.ptr = this;
    prd.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len, std::uint32_t* flags,
                           nghttp2_data_source* src, void*) -> ssize_t {
        auto* st = static_cast<h2_stream*>(src->ptr);
        std::size_t n = std::min(len, st->out_.size() - st->out_off_);
        std::memcpy(buf, st->out_.data() + st->out_off_, n);
        st->out_off_ += n;
        if (st->out_off_ == st->out_.size()) {
            st->out_.clear(), st->out_off_ = 0;
            if (st->out_end_) *flags |= NGHTTP2_DATA_FLAG_EOF;
            else if (n == 0) {
                st->deferred_ = true;
                return NGHTTP2_ERR_DEFERRED;
            }
        }
        return static_cast<ssize_t>(n);
    };
    auto id = nghttp2_submit_request(s.s_, nullptr, nv_.data(), nv_.size(), end_stream ? nullptr : &prd, this);
    if (id < 0) {
        err_ = error_code::http2_connection;
        session_.reset();
        return false;
    }
    id_ = id;
    s.attach(this);
    s.flush();
    return true;
}

inline void h2_stream::write(std::string_view data, bool end_stream) {
    if (!attached_ || out_end_) return;
    out_.append(data);
    out_end_ = end_stream;
    if (deferred_) {
        deferred_ = false;
        nghttp2_session_resume_data(session_->s_, id_);
    }
    session_->flush();
}

inline void h2_stream::reset(std::uint32_t code) noexcept {
    if (!session_) return;
    auto s = std::move(session_);
    if (attached_) {
        if (id_ > 0) {
            nghttp2_session_set_stream_user_data(s->s_, id_, nullptr);
            nghttp2_submit_rst_stream(s->s_, NGHTTP2_FLAG_NONE, id_, code);
        }
        s->detach(this);
        try {
            s->flush();
        } catch (...) {}
    }
    waiter_ = {};
}

inline void h2_stream::cut() noexcept {
    if (!attached_ || !session_) return;
    auto s = session_;  // kept: finish() may leave the last reference here
    if (id_ > 0) {
        nghttp2_session_set_stream_user_data(s->s_, id_, nullptr);
        nghttp2_submit_rst_stream(s->s_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    }
    finish(error_code::request_timeout, NGHTTP2_CANCEL);
    // resumed from the loop, not from inside the sweeper's walk over clients
    if (queued_) {
        auto it = std::find(s->ready_.begin(), s->ready_.end(), this);
        if (it != s->ready_.end()) s->ready_.erase(it);
        queued_ = false;
    }
    auto h = std::exchange(waiter_, {});
    // a read would wait for a server that has nothing more to say: with no
    // other stream the connection closes (the next request opens another)
    if (s->streams() == 0) s->fail_all(error_code::request_timeout);
    else {
        try {
            s->flush();
        } catch (...) {}
    }
    if (h) boost::asio::post(s->conn.sock.get_executor(), [h] { h.resume(); });
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
