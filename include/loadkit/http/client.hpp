#pragma once
// The HTTP client every VU owns: keep-alive connections, TLS, redirects,
// cookies, timeouts, phase timings and metrics. It speaks HTTP/1.1 itself;
// HTTP/2 is an optional transport behind h2_link.hpp (<loadkit/http2.hpp>)
// that only replaces exchange(): redirects, cookies, hooks and metrics are
// this file's for both.
//
// Why it does not use Beast's http::message: measured here, async_write of a
// Beast request alone cost ~11,000 instructions. This client writes each
// request into a per-client buffer (reused, so no allocation once warm),
// parses the response head in place, and awaits Asio's socket operations with
// awaiters that resume the VU straight from the completion handler. Timeouts
// are not per-request timers (each costs a timer-queue insert and a cancelled
// completion): the thread's sweeper checks deadlines every few milliseconds.
#include <array>
#include <charconv>
#include <tuple>
#include <coroutine>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "../core/config.hpp"
#include "../core/fd_limit.hpp"
#include "../core/io.hpp"
#include "../runtime/context.hpp"
#include "../core/task.hpp"
#include "connection.hpp"
#include "cookies.hpp"
#include "digest.hpp"
#include "message.hpp"
#include "options.hpp"
#include "parser.hpp"
#include "url.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {

inline bool is_redirect(int s) noexcept { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }
struct h2_access;

}  // namespace detail

class client {
  public:
    client(detail::thread_context& t, detail::vu_context* vu, const client_options& o)
        : thread_(&t), vu_(vu), opts_(&o), h2_(o.http2 != http2_mode::http1 ? detail::h2_installed : nullptr),
          tls_ctx_(nullptr) {
        // register for the VU (interrupts); the sweeper (timeouts) sees
        // the client while it has a deadline (arm_deadline)
        if (vu_) {
            next_in_vu_ = vu_->clients;
            vu_->clients = this;
        }
        res_.ctx_ = vu_;
    }
    ~client() {
        unlink_deadline();
        if (vu_)
            for (client** p = &vu_->clients; *p; p = &(*p)->next_in_vu_)
                if (*p == this) {
                    *p = next_in_vu_;
                    break;
                }
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // `p` is taken by reference and must outlive the co_await, which a
    // temporary written in the same statement does (the default is a static).
    task<const response&> get(std::string_view url, const params& p = no_params) { return send("GET", url, {}, p); }
    task<const response&> head(std::string_view url, const params& p = no_params) { return send("HEAD", url, {}, p); }
    task<const response&> del(std::string_view url, std::string_view body = {}, const params& p = no_params) {
        return send("DELETE", url, body, p);
    }
    task<const response&> options(std::string_view url, const params& p = no_params) {
        return send("OPTIONS", url, {}, p);
    }
    task<const response&> post(std::string_view url, std::string_view body = {}, const params& p = no_params) {
        return send("POST", url, body, p);
    }
    task<const response&> put(std::string_view url, std::string_view body = {}, const params& p = no_params) {
        return send("PUT", url, body, p);
    }
    task<const response&> patch(std::string_view url, std::string_view body = {}, const params& p = no_params) {
        return send("PATCH", url, body, p);
    }

    // Any method. The VU's before_request/after_request hooks run around it.
    task<const response&> send(std::string_view method, std::string_view url, std::string_view body = {},
                               const params& p = no_params) {
        if (vu_ && vu_->before_request) {
            auto& h = copies();
            h.hooked.name.assign(p.name.empty() ? url : p.name);
            h.hooked.method.assign(method);
            h.hooked.url.assign(url);
            h.hooked.body.assign(body);
            h.hooked.headers.clear();
            for (auto& [k, v] : p.headers) {
                if (k.empty()) break;
                h.hooked.headers.emplace_back(k, v);
            }
            for (auto& [k, v] : p.header_list) h.hooked.headers.emplace_back(k, v);
            vu_->before_request(vu_->hook_self, h.hooked);
            h.hooked_params = p;
            h.hooked_params.name = h.hooked.name;
            h.hooked_params.headers[0] = {};
            h.hooked_params.header_list = h.hooked.headers;
            return perform(h.hooked.method, h.hooked.url, h.hooked.body, h.hooked_params);
        }
        return perform(method, url, body, p);
    }
    // The seed's request object: {name, method, url, headers, body}.
    task<const response&> send(const request& r, const params& p = no_params) {
        auto& given = copies().request_params;
        given = p;
        given.name = r.name;
        given.header_list = r.headers;
        return send(r.method, r.url, r.body, given);
    }

    cookie_jar& cookies() noexcept { return *jar_; }
    // Makes this client use `other`'s cookie jar: the clients a VU adds for
    // its concurrent requests (http.batch, several asyncRequest in flight)
    // share the VU's one jar, as in k6, and its HTTP/2 connections (their
    // requests are streams on one connection, as Go's client makes them).
    // `other` must outlive this client.
    void share_cookies(client& other) noexcept {
        jar_ = other.jar_;
        pool_owner_ = other.pool_owner_;
    }
    const client_options& settings() const noexcept { return *opts_; }
    const response& last() const noexcept { return res_; }
    detail::vu_context* vu() const noexcept { return vu_; }
    detail::thread_context& thread() const noexcept { return *thread_; }

  private:
    friend struct detail::thread_context;
    friend struct detail::vu_context;
    friend struct detail::h2_access;  // the HTTP/2 transport (h2_exchange.hpp)

    // A read or write that ended early (an error, or the peer's EOF): the
    // connection is closed and the request fails with that error's code;
    // fail() itself makes it a timeout, or an interrupt, when that is why.
    void fail_io(detail::connection& c, const detail::sys_error& e, detail::phase p) {
        c.close();
        fail(detail::classify(e ? e : make_error_code(boost::asio::error::eof), p, nullptr),
             e ? e.message() : std::string("eof"));
    }

    // Called by the sweeper when the deadline has passed, and on interrupt.
    void cut() noexcept {
        if (h2_active_) h2_active_->cut();
        if (active_) active_->close();
        if (resolver_) resolver_->cancel();
    }
    void on_timeout() noexcept {
        timed_out_ = true;
        cut();
    }
    bool stop_requested() const noexcept { return timed_out_ || (vu_ && vu_->interrupted); }

    detail::connection& connection_for(const detail::url_parts& u) {
        for (auto& c : conns_)
            if (c->port == u.port && c->secure == u.secure && c->host == u.host) return *c;
        conns_.push_back(std::make_unique<detail::connection>(thread_->ioc, thread_->ring.get()));
        auto& c = *conns_.back();
        c.host.assign(u.host);
        c.port = u.port;
        c.secure = u.secure;  // (its read buffer is made by its first read: connection::read_borrowed)
        return c;
    }

    // A request's deadline: the thread's sweeper times it out then. The
    // sweeper walks only the clients that had one since its last pass (it
    // unlinks those whose request ended), so VUs that sleep, however many,
    // cost it nothing.
    void arm_deadline(std::int64_t at) noexcept {
        deadline_ns_ = at;
        if (swept_) return;
        swept_ = true;
        prev_ = nullptr;
        next_ = thread_->clients;
        if (next_) next_->prev_ = this;
        thread_->clients = this;
    }
    void unlink_deadline() noexcept {
        if (!swept_) return;
        swept_ = false;
        if (prev_) prev_->next_ = next_;
        else thread_->clients = next_;
        if (next_) next_->prev_ = prev_;
        prev_ = next_ = nullptr;
    }

    // Fills res_ with an error (or, for an interrupt, throws).
    void fail(error_code e, std::string_view detail_msg = {}) {
        if (vu_ && vu_->interrupted) {
            deadline_ns_ = 0;
            active_ = nullptr;
            throw interrupted_error{};
        }
        if (timed_out_) e = error_code::request_timeout;
        res_.status = 0;
        res_.status_text = {};
        res_.error_code = e;
        res_.error.assign(describe(e));
        if (!detail_msg.empty() && e != error_code::request_timeout) res_.error.append(": ").append(detail_msg);
    }

    static inline const params no_params{};
    task<const response&> perform(std::string_view method, std::string_view url, std::string_view body,
                                  const params& p);
    struct request_plan;
    request_plan start_request(std::string_view method, std::string_view url, const params& p);

    // one request of perform()'s (method_, `body`, p's headers) on c
    task<bool> exchange(detail::connection& c, const detail::url_parts& u, std::string_view body, const params& p);
    task<bool> open(detail::connection& c);
    const std::vector<detail::tcp::endpoint>* known_endpoints(detail::connection& c);
    enum { connect_go, connect_skip, connect_failed };
    int begin_connect(detail::connection& c, const detail::tcp::endpoint& ep, bool& tried);
    bool end_connect(detail::connection& c, const detail::sys_error& last, bool tried, std::int64_t t1);
    void opened(detail::connection& c, std::int64_t asked_ns) noexcept;
    const detail::tcp::endpoint* single_known_endpoint(detail::connection& c) {
        auto* eps = known_endpoints(c);
        return eps && eps->size() == 1 ? &eps->front() : nullptr;
    }
    // exchange()'s connect of a plain connection to `ep`, as an awaiter: its
    // state is this much of exchange's frame (open() is a frame of its own)
    struct quick_connect {
        client& cl;
        detail::connection& c;
        const detail::tcp::endpoint* ep;
        std::int64_t t1 = 0;
        detail::sys_error ec = boost::asio::error::host_not_found;
        std::size_t n = 0;
        int go = connect_go;
        bool tried = false;
        bool await_ready() {
            cl.res_.timings.blocked = 0;
            t1 = detail::now_ns();
            cl.active_ = &c;
            go = cl.begin_connect(c, *ep, tried);
            return go != connect_go;
        }
        void await_suspend(std::coroutine_handle<> h) {
            c.sock.async_connect(*ep, detail::resume_handler<quick_connect>{this, h});
        }
        bool await_resume() {
            if (go == connect_failed || !cl.end_connect(c, ec, tried, t1)) return false;
            cl.opened(c, t1);
            return true;
        }
    };
    // params.auth 'digest': the Authorization answering the last 401's challenge (not
    // in perform(): its coroutine frame would carry the challenge's strings)
    bool answer_digest(const detail::url_parts& u) {
        detail::digest_challenge ch;
        if (!detail::parse_digest_challenge(res_.header("www-authenticate"), ch)) return false;
        auto& answer = copies().digest_auth;
        answer = detail::digest_authorization(ch, method_, u.target, u.userinfo);
        return !answer.empty();
    }
    task<const std::vector<detail::tcp::endpoint>*> lookup(detail::connection& c, std::string key);
    task<bool> handshake(detail::connection& c, bool by_name, std::int64_t t2);
    // (to method_; t_sent 0: the request was posted, connection::post_write,
    // and its sending time is taken when the answer starts)
    task<bool> read_response(detail::connection& c, std::int64_t t_send, std::int64_t t_sent);
    // When the request started at t_send was sent, as http_req_sending
    // counts it (set here): when the kernel took it (a ring write,
    // connection::written_ns), else at `seen` (0: now); never before t_send.
    std::int64_t sent_at(detail::connection& c, std::int64_t t_send, std::int64_t seen) noexcept {
        std::int64_t t = c.written_ns ? std::exchange(c.written_ns, 0) : seen ? seen : detail::now_ns();
        if (t < t_send) t = t_send;
        res_.timings.sending = t - t_send;
        return t;
    }
    // read_response's rarer parts, coroutines of their own so that their
    // state is in a frame only while they run (at thousands of VUs the
    // frames in flight are most of a VU's memory)
    task<std::size_t> read_long_head(detail::connection& c, std::string_view& win, detail::response_head& h);
    task<bool> read_body(detail::connection& c, const detail::response_head& h, std::string_view rest,
                         std::string* sink);
    void serialize(const detail::url_parts& u, std::string_view method, std::string_view body,
                   std::span<const string_pair> h1, std::span<const std::pair<std::string, std::string>> h2);
    void record();  // this request's metrics, under name_
    bool same_plain_request(std::string_view method, const detail::url_parts& u) const noexcept;
    // A redirect to `location` (relative to res_.url) becomes res_.url; false
    // when it does not resolve. (Not in perform(): its frame would carry the string.)
    bool follow(std::string_view location) {
        std::string next;
        if (!detail::resolve_url(res_.url, location, next)) return false;
        if (res_.redirects == 0) res_.first_url = res_.url, res_.first_method = method_;  // k6's res.request
        res_.url = std::move(next);
        url_fresh_ = false;
        return true;
    }

    // Members in the order a request touches them: the first dozen cache
    // lines are read or written by every request, the rest (connections to
    // other hosts, HTTP/2, hooks' copies, the deadline list) rarely. With
    // fifty VUs a thread's clients do not fit the first-level cache, so a
    // line a request touches is a line it misses (callgrind's cache model).
    detail::thread_context* thread_;
    detail::vu_context* vu_;
    const client_options* opts_;
    // HTTP/2 (null without <loadkit/http2.hpp>): the transport; this
    // client's stream state, the stream in flight and the VU's HTTP/2
    // connections (kept by its first client, pool_owner_) are at the end
    detail::h2_transport* h2_;
    detail::connection* active_ = nullptr;
    std::int64_t deadline_ns_ = 0;
    // When start_request() read the clock, for exchange() to take as the
    // send's start when nothing came between (the usual request: a cached
    // URL on an open connection); 0 once taken, or when the URL was new.
    std::int64_t started_ns_ = 0;
    bool timed_out_ = false;
    bool swept_ = false;            // on the thread's list of clients with a deadline (arm_deadline)
    bool force_expected_ = false;   // that 401 counts as expected, as in k6
    bool head_written_ = false;     // wbuf_ is this hop's (for the request event)
    bool wbuf_plain_ = false;       // wbuf_ holds a request with no headers, body or cookies
    // name_ and method_ are interned again only after they change (a flag
    // each, cleared wherever they are written: comparing them per request
    // cost two memcmp calls)
    bool name_interned_ = false, method_interned_ = false;
    // name_ and res_.url are still what the last request of the cached URL
    // (cached_ref_), named by its URL, set them to: a repeat of it compares
    // neither (start_request). Cleared by anything else that writes them.
    bool url_fresh_ = false;
    // This response's HTTP/1.1 head had no Set-Cookie: perform() skips
    // looking through its headers for one. (Taken and reset per response:
    // the HTTP/2 transport does not set it, so its heads are looked through.)
    bool no_set_cookie_ = false;
    // one-entry caches: most VUs repeat the same request, so the series and
    // the interned name of the last request are almost always the ones needed
    std::uint32_t cached_name_id_ = 0;
    std::uint32_t cached_method_id_ = 0;
    std::uint32_t tags_id_ = 0;  // this request's params.tags, interned
    const expected_statuses* rule_ = nullptr;  // this request's; nullptr: k6's default (response::ok)
    detail::http_key cached_key_{~0u};
    detail::http_series* cached_series_ = nullptr;
    scenario_series* scenario_series_ = nullptr;
    std::size_t bytes_out_ = 0, bytes_in_ = 0;

    response res_;
    // the last URL as given, resolved and split, with its connection: most
    // VUs request the same few URLs, and a memcmp beats parsing them again
    // (cached_abs_, the resolved one, is at the end: a repeat does not read it)
    std::string cached_ref_;
    detail::url_parts cached_parts_;
    detail::connection* cached_conn_ = nullptr;
    cookie_jar* jar_ = &own_jar_;                  // own_jar_, or the VU's first client's (share_cookies)
    cookie_jar* cur_jar_ = &own_jar_;              // this request's: jar_, or its params.jar
    std::span<const request_cookie> req_cookies_;  // this request's params.cookies
    std::string wbuf_;            // this hop's request head, as sent
    std::string_view sent_body_;  // and its body (the caller's, valid while the request runs)
    std::string name_, method_;

    // ---- rarely touched
    std::string cached_abs_;
    // What send() rewrites for a before_request hook, or copies from a
    // request object: most VUs never need it, and it is 1.4 KiB, so it is
    // made on first use rather than carried by every VU's client.
    struct request_copies {
        request hooked;
        params hooked_params, request_params;
        std::string digest_auth;  // params.auth 'digest': the retry's Authorization
    };
    std::unique_ptr<request_copies> copies_;
    request_copies& copies() {
        if (!copies_) copies_ = std::make_unique<request_copies>();
        return *copies_;
    }
    std::vector<std::unique_ptr<detail::connection>> conns_;
    std::unique_ptr<detail::h2_stream_base> h2_stream_;
    detail::h2_stream_base* h2_active_ = nullptr;
    std::vector<std::shared_ptr<detail::h2_session_base>> h2_pool_;
    client* pool_owner_ = this;
    std::uint32_t h2_tags_from_ = ~0u, h2_tags_to_ = 0;  // request tags -> the same with proto:HTTP/2.0
    std::unique_ptr<detail::resolver_t> resolver_;
    detail::tls_setup* tls_ctx_;
    client* prev_ = nullptr;  // the thread's clients with a deadline (arm_deadline)
    client* next_ = nullptr;
    client* next_in_vu_ = nullptr;
    cookie_jar own_jar_;
};

// ---------------------------------------------------------------- implementation

inline void client::serialize(const detail::url_parts& u, std::string_view method, std::string_view body,
                              std::span<const string_pair> h1,
                              std::span<const std::pair<std::string, std::string>> h2) {
    using namespace std::string_view_literals;  // literals: no strlen per append
    auto& w = wbuf_;
    // A request without headers, body or cookies is the same bytes as the last
    // one when its method and URL are: most load tests repeat a few such GETs.
    bool plain = h1.empty() || h1.front().first.empty();
    plain = plain && h2.empty() && body.empty() && cur_jar_->empty() && req_cookies_.empty() && u.userinfo.empty();
    if (plain && wbuf_plain_ && same_plain_request(method, u)) return;
    wbuf_plain_ = false;
    w.clear();
    w.append(method).append(" "sv).append(u.target).append(" HTTP/1.1\r\n"sv);
    bool has_host = false, has_ua = false, has_len = false, has_auth = false;
    bool with_cookies = !cur_jar_->empty() || !req_cookies_.empty();
    std::string_view given_cookie;  // merged into the one Cookie header with the jar's
    auto add = [&](std::string_view k, std::string_view v) {
        if (k.empty() || k.find_first_of(":\r\n") != std::string_view::npos ||
            v.find_first_of("\r\n") != std::string_view::npos)
            return;  // would split the request (header injection): dropped
        switch (k.size()) {
            case 4: has_host |= detail::iequals(k, "host"); break;
            case 6:
                if (with_cookies && given_cookie.empty() && detail::iequals(k, "cookie")) {
                    given_cookie = v;
                    return;
                }
                break;
            case 13: has_auth |= detail::iequals(k, "authorization"); break;
            case 10: has_ua |= detail::iequals(k, "user-agent"); break;
            case 14: has_len |= detail::iequals(k, "content-length"); break;
            default: break;
        }
        w.append(k).append(": "sv).append(v).append("\r\n"sv);
    };
    for (auto& [k, v] : h1) {
        if (k.empty()) break;
        add(k, v);
    }
    for (auto& [k, v] : h2) add(k, v);
    if (!has_host) w.append("Host: "sv).append(u.authority).append("\r\n"sv);
    if (!has_ua && !opts_->user_agent.empty()) w.append("User-Agent: "sv).append(opts_->user_agent).append("\r\n"sv);
    if (with_cookies) {
        auto at = w.size();
        cur_jar_->append_header(w, u.host, u.path(), u.secure, req_cookies_, given_cookie);
        if (res_.redirects == 0 && w.size() > at)  // "Cookie: ...\r\n": its value, for k6's res.request
            res_.sent_cookies.assign(w, at + 8, w.size() - at - 10);
    }
    if (!u.userinfo.empty() && !has_auth) {  // http://user:pass@host/: basic auth, unless the request has its own
        w.append("Authorization: "sv);
        if (copies_ && !copies_->digest_auth.empty()) w.append(copies_->digest_auth);  // the answer to a digest challenge
        else detail::append_basic_auth(w, u.userinfo);
        w.append("\r\n"sv);
    }
    if (!has_len && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")) {
        char num[24];
        auto r = std::to_chars(num, num + sizeof num, body.size());
        w.append("Content-Length: "sv).append(num, r.ptr).append("\r\n"sv);
    }
    w.append("\r\n"sv);
    wbuf_plain_ = plain;
}

// Whether wbuf_, a plain request (request line, Host, the rest), is the one
// for `method` and `u`: its method, target and authority read in place.
inline bool client::same_plain_request(std::string_view method, const detail::url_parts& u) const noexcept {
    constexpr std::string_view mid = " HTTP/1.1\r\nHost: ";
    const std::size_t m = method.size(), t = u.target.size(), a = u.authority.size();
    const char* w = wbuf_.data();
    // (a method, a target and an authority never hold a space or CR: the one
    // after each says the last request's was the same length)
    return wbuf_.size() >= m + 1 + t + mid.size() + a + 2 && w[m] == ' ' && w[m + 1 + t] == ' ' &&
           w[m + 1 + t + mid.size() + a] == '\r' && std::memcmp(w, method.data(), m) == 0 &&
           std::memcmp(w + m + 1, u.target.data(), t) == 0 &&
           std::memcmp(w + m + 1 + t + mid.size(), u.authority.data(), a) == 0;
}

inline task<bool> client::exchange(detail::connection& c, const detail::url_parts& u, std::string_view body,
                                   const params& p) {
    using namespace detail;
    head_written_ = false, sent_body_ = {};  // nothing written yet (a refused connection shows no request)
    for (int attempt = 0;; ++attempt) {
        res_.timings = {};
        // the send starts now, or (nothing awaited since) when the request started
        std::int64_t t_send = std::exchange(started_ns_, 0);
        if (h2_ && (c.h2 || !c.open)) [[unlikely]] {  // HTTP/2 possible: a new connection, or one already
            t_send = 0;
            int r = co_await h2_->exchange(*this, c, u, method_, body, p.headers, p.header_list);
            if (r >= 0) co_return r > 0;
        }
        if (!c.open) {
            t_send = 0;
            // the usual connect (plain, to the one address known now) is
            // this frame's: open()'s would be one more per VU at a run's start
            const tcp::endpoint* ep = c.secure ? nullptr : single_known_endpoint(c);
            if (ep) {
                if (!co_await quick_connect{*this, c, ep}) co_return false;
            } else if (!co_await open(c)) {
                co_return false;
            }
        }
        active_ = &c;
        serialize(u, method_, body, p.headers, p.header_list);
        head_written_ = true, sent_body_ = body;
        if (!t_send) t_send = now_ns();
        // (Writing speculatively before the reactor's own attempt was measured:
        // it moved the read earlier, before the response, and cost a recvfrom.)
        sys_error e;
        std::size_t n;
        std::int64_t t_sent = 0;
        const bool posted = c.post_write(wbuf_, body);  // (on the ring: not awaited, see post_write)
        bool answered = false;
        if (!posted) {
            std::tie(e, n) = co_await c.write(wbuf_, body);
            bytes_out_ += n;
            t_sent = sent_at(c, t_send, 0);
            if (!e) answered = co_await read_response(c, t_send, t_sent);
        } else {
            answered = co_await read_response(c, t_send, 0);
            // the kernel may still hold the request (a socket with less room
            // than post_write assumes): wbuf_ and the body stay until it is
            // done. Answered meanwhile, the rest of the request is not sent
            // (the connection, half-written, closes: as Go's client does)
            if (c.ring_ops > 0) {
                if (answered) c.close();
                co_await c.posted_done();
            }
            c.written_ns = 0;
            std::tie(e, n) = c.posted_result();
            bytes_out_ += n;
        }
        if (e && !answered) {  // the write failed (posted: reported as that, not as the read it ended)
            res_.error_code = error_code::none;
            res_.error.clear();
            if (c.served > 0 && attempt == 0 && !stop_requested()) {
                c.close();
                continue;  // the server dropped an idle kept-alive connection
            }
            fail_io(c, e, phase::write);
            co_return false;
        }
        if (answered) {
            res_.timings.duration = res_.timings.sending + res_.timings.waiting + res_.timings.receiving;
            co_return true;
        }
        if (res_.status == 0 && res_.error_code == error_code::connection_closed && res_.error.empty()) {
            // a kept-alive connection the server had closed before answering: retry once on a new one
            if (attempt == 0) {
                res_.error_code = error_code::none;
                continue;
            }
            fail(error_code::connection_closed);
        }
        res_.timings.duration = now_ns() - t_send;
        co_return false;
    }
}

inline void client::record() {
    if (!vu_) return;
    using namespace detail;
    auto& shard = thread_->shard;
    const std::string_view name = name_;
    if (!name_interned_) {
        cached_name_id_ = shard.strings.intern(name);
        name_interned_ = true;
    }
    if (!method_interned_) {
        cached_method_id_ = shard.strings.intern(res_.method);
        method_interned_ = true;
    }
    bool expected = force_expected_ || (rule_ ? rule_->match(res_.status) : res_.ok());
    http_key k{vu_->scenario_id,
               cached_name_id_,
               cached_method_id_,
               static_cast<std::uint16_t>(res_.status),
               static_cast<std::uint16_t>(res_.error_code),
               expected,
               vu_->group,
               tags_id_};
    if (!(k == cached_key_) || !cached_series_) {
        cached_series_ = &shard.http(k);
        cached_key_ = k;
    }
    auto& s = *cached_series_;
    auto& t = res_.timings;
    ++s.reqs;
    if (!expected) ++s.failed;
    s.duration.record(static_cast<std::uint64_t>(t.duration));
    s.blocked.record(static_cast<std::uint64_t>(t.blocked));
    s.connecting.record(static_cast<std::uint64_t>(t.connecting));
    s.tls_handshaking.record(static_cast<std::uint64_t>(t.tls_handshaking));
    s.sending.record(static_cast<std::uint64_t>(t.sending));
    s.waiting.record(static_cast<std::uint64_t>(t.waiting));
    s.receiving.record(static_cast<std::uint64_t>(t.receiving));
    if (vu_->start_lag >= 0) s.duration_intended.record(static_cast<std::uint64_t>(t.duration + vu_->start_lag));
    if (!scenario_series_) scenario_series_ = &shard.scenario(vu_->scenario_id);
    scenario_series_->data_sent += bytes_out_;
    scenario_series_->data_received += bytes_in_;
    bytes_out_ = bytes_in_ = 0;
    if (thread_->engine && thread_->engine->has_request_listeners) {
        request_info info{
            vu_->scenario,           vu_->id,          name, res_.method, res_.url, res_.status, res_.error_code,
            timings::ms(t.duration), res_.body.size(), &res_,
            head_written_ ? std::string_view(wbuf_) : std::string_view{}, sent_body_};
        head_written_ = false;
        thread_->engine->with_events([&](events& ev) { ev.request.fire(info); });
    }
}

// What perform() starts a request with (start_request), kept small: its
// coroutine frame is one of the few a VU holds during a request.
struct client::request_plan {
    int max_redirects;
    bool use_cache, cached, explicit_name, ok;
};

inline client::request_plan client::start_request(std::string_view method, std::string_view url, const params& p) {
    using namespace detail;
    std::string_view name = p.name;
    std::span<const string_pair> query = p.query;
    nanoseconds timeout = p.timeout.value_or(opts_->timeout);
    request_plan plan{p.redirects < 0 ? opts_->max_redirects : p.redirects, false, false, false, true};
    const bool fresh = std::exchange(url_fresh_, false);
    no_set_cookie_ = false;
    // (most requests repeat the last one's method, name and URL: compared
    // before copied)
    if (!same(method_, method)) method_.assign(method), method_interned_ = false;
    res_.method = method_;
    res_.status = 0;
    res_.status_text = {};
    res_.error_code = error_code::none;
    res_.error.clear();
    res_.body.clear();
    res_.headers_.clear();
    res_.redirects = 0;
    res_.tls_ = nullptr;
    res_.proto = "HTTP/1.1";  // the HTTP/2 transport says otherwise
    res_.timings = {};
    res_.body_discarded = p.discard_body < 0 ? opts_->discard_response_bodies : p.discard_body > 0;
    rule_ = p.expected ? p.expected : opts_->expected ? &*opts_->expected : nullptr;
    timed_out_ = false;
    started_ns_ = now_ns();
    arm_deadline(started_ns_ + timeout.count());
    tags_id_ = 0;
    if (!p.tags[0].first.empty() && vu_)
        tags_id_ = intern_tags(thread_->shard.strings, std::span<const string_pair>(p.tags));
    plan.use_cache = query.empty() || query.front().first.empty();
    plan.cached = plan.use_cache && cached_conn_ && same(url, cached_ref_);
    if (!plan.cached) started_ns_ = 0;  // (resolving the URL is not sending it)
    plan.explicit_name = !name.empty();
    // the last request's URL again, named by it: name_ and res_.url are as it left them
    const bool repeat = fresh && plan.cached && !plan.explicit_name;
    if (!repeat) {
        if (std::string_view n = plan.explicit_name ? name : url; !same(name_, n))
            name_.assign(n), name_interned_ = false;
        // the default name never shows a URL's password (k6 masks it too); the
        // cached URL's parts say whether it has one without searching it again
        if (!plan.explicit_name &&
            (plan.cached ? !cached_parts_.userinfo.empty() : url.find('@') != std::string_view::npos))
            mask_credentials(name_), name_interned_ = false;
    }
    res_.name = name_;
    req_cookies_ = p.cookies;
    cur_jar_ = p.jar ? p.jar : jar_;
    res_.sent_cookies.clear();
    if (plan.cached) {
        if (!repeat && !same(res_.url, cached_abs_)) res_.url.assign(cached_abs_);
        url_fresh_ = !plan.explicit_name;
    } else if (!resolve_url(opts_->base_url, url, res_.url)) {
        res_.url.assign(url);
        fail(error_code::invalid_url, url);
        record();
        deadline_ns_ = 0;
        plan.ok = false;
        return plan;
    }
    if (!plan.use_cache) {
        char sep = res_.url.find('?') == std::string::npos ? '?' : '&';
        for (auto& [k, v] : query) {
            if (k.empty()) break;
            res_.url.push_back(sep);
            sep = '&';
            append_query_escaped(res_.url, k);
            res_.url.push_back('=');
            append_query_escaped(res_.url, v);
        }
    }
    return plan;
}

inline task<const response&> client::perform(std::string_view method, std::string_view url, std::string_view body,
                                             const params& p) {
    using namespace detail;
    if (vu_ && vu_->interrupted) throw interrupted_error{};
    const request_plan plan = start_request(method, url, p);
    if (!plan.ok) co_return res_;
    const bool use_cache = plan.use_cache, cached = plan.cached, explicit_name = plan.explicit_name;
    const int max_redirects = plan.max_redirects;
    for (bool first_hop = true;; first_hop = false) {
        url_parts u;
        connection* conn;
        if (first_hop && cached) {
            u = cached_parts_;
            conn = cached_conn_;
        } else {
            if (!split_url(res_.url, u)) {
                fail(error_code::invalid_url, res_.url);
                record();
                break;
            }
            conn = &connection_for(u);
            if (first_hop && use_cache) {  // remember this URL for the next request
                cached_ref_.assign(url);
                cached_abs_.assign(res_.url);
                split_url(cached_abs_, cached_parts_);
                cached_conn_ = conn;
            }
        }
        auto& c = *conn;
        bool ok = co_await exchange(c, u, body, p);
        active_ = nullptr;
        // params.auth 'digest' (k6's digest transport): a 401 with a Digest
        // challenge is recorded (as expected, as k6 does), then answered once
        if (ok && p.digest_auth && res_.status == 401 && !u.userinfo.empty()) {
            if (answer_digest(u)) {
                res_.error_code = static_cast<error_code>(1401);
                force_expected_ = true;
                record();
                force_expected_ = false;
                res_.headers_.clear();
                res_.body.clear();
                ok = co_await exchange(c, u, body, p);
                active_ = nullptr;
                copies_->digest_auth.clear();
            }
        }
        res_.tls_ = ok && c.secure ? c.tls_state.get() : nullptr;
        if (!ok) {
            if (res_.error_code == error_code::none) fail(error_code::generic);
            record();
            break;
        }
        if (res_.status >= 400) res_.error_code = static_cast<error_code>(1000 + std::min(res_.status, 599));
        const bool no_set_cookie = std::exchange(no_set_cookie_, false);  // (this response's only)
        if (opts_->cookies && !no_set_cookie)
            for (auto& [k, v] : res_.headers_)
                if (k.size() == 10 && iequals_lower(k, "set-cookie")) cur_jar_->store(u.host, u.path(), v);
        record();
        if (!is_redirect(res_.status) || static_cast<int>(res_.redirects) >= max_redirects) break;
        auto location = res_.header("location");
        if (location.empty()) break;
        if (!follow(location)) break;
        ++res_.redirects;
        if (res_.status == 303 || ((res_.status == 301 || res_.status == 302) && method_ == "POST")) {
            method_.assign("GET"), method_interned_ = false;
            res_.method = method_;
            body = {};
        }
        if (!explicit_name) {
            name_.assign(res_.url), name_interned_ = false;
            if (res_.url.find('@') != std::string::npos) mask_credentials(name_);
            res_.name = name_;
        }
        res_.body.clear();
    }
    deadline_ns_ = 0;
    req_cookies_ = {};  // a view into the caller's params, which end with this request
    current_vu = vu_;   // other VUs ran while this one waited
    if (vu_ && vu_->after_request) vu_->after_request(vu_->hook_self, res_);
    co_return res_;
}

}  // namespace loadkit::inline LOADKIT_ABI

#include "dial.hpp"
#include "receive.hpp"
#include "sweep.hpp"
