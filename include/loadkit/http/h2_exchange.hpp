#pragma once
// The HTTP client's requests over HTTP/2: which connection (ALPN's choice, or
// prior knowledge for h2c), the VU's one connection per origin shared by its
// clients (http.batch's and async requests' streams run side by side on it),
// and one request as a stream. Everything around the exchange (redirects,
// cookies, digest and basic auth, hooks, timeouts, metrics) is the client's,
// the same code as HTTP/1.1: the request head is even built by the client's
// own serialize() and read back as HTTP/2 headers, so a header rule lives in
// one place.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "client.hpp"
#include "h2_session.hpp"
#include "url.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// The reason phrase HTTP/2 leaves out (RFC 9113 8.3.2), for status_text as
// Go's client makes it; "" for a status without a common one.
inline std::string_view h2_reason(int status) noexcept {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 413: return "Request Entity Too Large";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "";
    }
}

struct h2_access final : h2_transport {
    // A session for `c`'s origin: r = 1 with the session, 0 when opening
    // the connection failed (the error is in the client), -1 for HTTP/1.1.
    struct pick {
        std::shared_ptr<h2_session> s;
        int r = 1;
        bool opened = false;  // this call opened the connection
    };

    static task<pick> acquire(client& cl, connection& c, bool prior_knowledge) {
        if (c.h2) {
            auto s = std::static_pointer_cast<h2_session>(c.h2);
            if (s->usable()) co_return pick{std::move(s), 1};
            c.h2.reset();
        }
        if (c.open || (!c.secure && !prior_knowledge)) co_return pick{nullptr, -1};
        auto& pool = cl.pool_owner_->h2_pool_;
        for (;;) {  // the VU's connection to this origin, when one is open or being opened
            std::shared_ptr<h2_session> found;
            for (auto it = pool.begin(); it != pool.end();) {
                auto* s = static_cast<h2_session*>(it->get());
                if (s->st == h2_session::state::failed || (s->st == h2_session::state::ready && !s->usable())) {
                    it = pool.erase(it);
                    continue;
                }
                if (s->port == c.port && s->secure == c.secure && s->host == c.host)
                    found = std::static_pointer_cast<h2_session>(*it);
                ++it;
            }
            if (!found) break;
            if (found->st == h2_session::state::opening) {
                co_await found->opened();
                continue;
            }
            if (found->st == h2_session::state::http1) co_return pick{nullptr, -1};
            c.h2 = found;
            co_return pick{std::move(found), 1};
        }
        auto s = std::make_shared<h2_session>(cl.thread_->ioc);
        s->host = c.host, s->port = c.port, s->secure = c.secure;
        pool.push_back(s);
        bool ok = false;
        try {
            ok = co_await cl.open(c);  // DNS, connect, TLS with ALPN: this request's timings
        } catch (...) {
            s->settle(h2_session::state::failed);
            throw;
        }
        if (!ok) {
            s->settle(h2_session::state::failed);
            co_return pick{nullptr, 0};
        }
        if (c.secure && !c.alpn_h2) {  // the server chose http/1.1: this connection goes on as one
            s->settle(h2_session::state::http1);
            co_return pick{nullptr, -1};
        }
        if (!s->start(c)) {
            s->settle(h2_session::state::failed);
            cl.fail(error_code::http2_connection, "could not start an HTTP/2 session");
            co_return pick{nullptr, 0};
        }
        c.h2 = s;
        s->settle(h2_session::state::ready);
        co_return pick{std::move(s), 1, true};
    }

    // k6 tags every HTTP sample with its proto; here HTTP/2 samples carry
    // proto:HTTP/2.0 with the request's own tags, and HTTP/1.1 samples no
    // proto tag (which keeps HTTP/1.1's series and outputs as they were). One
    // comparison per request once the client has seen its tag set.
    static void tag_proto(client& cl) {
        if (!cl.vu_ || (cl.tags_id_ == cl.h2_tags_to_ && cl.h2_tags_from_ != ~0u)) return;  // (a redirect's next hop)
        if (cl.tags_id_ != cl.h2_tags_from_) {
            auto& strings = cl.thread_->shard.strings;
            std::string_view canonical = cl.tags_id_ ? strings.name(cl.tags_id_) : std::string_view{};
            tag_pair pairs[16];
            std::size_t n = 0;
            while (!canonical.empty() && n < 15) {  // "k\x1fv\x1ek\x1fv" back into pairs
                auto end = canonical.find('\x1e');
                auto one = canonical.substr(0, end);
                auto sep = one.find('\x1f');
                pairs[n++] = {one.substr(0, sep), sep == std::string_view::npos ? "" : one.substr(sep + 1)};
                canonical = end == std::string_view::npos ? std::string_view{} : canonical.substr(end + 1);
            }
            pairs[n++] = {"proto", "HTTP/2.0"};
            cl.h2_tags_from_ = cl.tags_id_;
            cl.h2_tags_to_ = intern_tags(strings, std::span<const tag_pair>(pairs, n));
        }
        cl.tags_id_ = cl.h2_tags_to_;
    }

    task<int> exchange(client& cl, connection& c, const url_parts& u, std::string_view method, std::string_view body,
                       std::span<const string_pair> h1,
                       std::span<const std::pair<std::string, std::string>> h2) override {
        bool prior = cl.opts_->http2 == http2_mode::prior_knowledge;
        if (!c.h2 && (c.open || (!c.secure && !prior))) co_return -1;
        auto& res = cl.res_;
        for (int attempt = 0;; ++attempt) {
            auto p = co_await acquire(cl, c, prior);
            if (p.r <= 0) co_return p.r;
            auto& s = *p.s;
            res.proto = "HTTP/2.0";
            c.tls_state = s.conn.tls_state;  // res.tls(): the shared connection's
            tag_proto(cl);
            // the client's own request head (every header rule), as HTTP/2 headers
            cl.serialize(u, method, body, h1, h2);
            cl.head_written_ = true, cl.sent_body_ = body;
            if (!cl.h2_stream_) cl.h2_stream_ = std::make_unique<h2_stream>();
            auto& st = static_cast<h2_stream&>(*cl.h2_stream_);
            auto& hv = st.request_headers;
            hv.clear();
            std::string_view head = cl.wbuf_;
            for (auto nl = head.find("\r\n"); nl != std::string_view::npos;) {
                auto from = nl + 2;
                nl = head.find("\r\n", from);
                if (nl == std::string_view::npos || nl == from) break;
                auto line = head.substr(from, nl - from);
                auto colon = line.find(':');
                if (colon == std::string_view::npos) continue;
                auto v = line.substr(colon + 1);
                while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
                hv.emplace_back(line.substr(0, colon), v);
            }
            st.set_sink(res.body_discarded ? nullptr : &res.body, res.body_discarded);
            res.body.clear();
            std::int64_t t_send = now_ns();
            auto& t = res.timings;
            if (!st.open(s, method, u.secure ? "https" : "http", {}, u.target, hv, body.empty())) {
                c.h2.reset();
                if (attempt == 0) continue;  // it closed meanwhile: once more, on a new connection
                cl.fail(st.error(), "the HTTP/2 connection takes no new stream");
                t.duration = now_ns() - t_send;
                co_return 0;
            }
            if (!body.empty()) st.write(body, true);
            cl.h2_active_ = &st;
            while (!st.done()) co_await st.wait();
            cl.h2_active_ = nullptr;
            current_vu = cl.vu_;  // other VUs ran meanwhile
            cl.bytes_out_ += st.bytes_out, cl.bytes_in_ += st.bytes_in;
            std::int64_t sent = st.t_sent ? st.t_sent : t_send;
            t.sending = sent - t_send;
            if (!st.ended_well() || cl.stop_requested()) {
                // not processed (refused past a GOAWAY, as nginx sends after
                // http2_max_requests), or a kept connection the server had
                // closed: once more on a new one, as Go's client does
                bool retry = st.refused() || (!p.opened && st.error() == error_code::connection_closed && !st.bytes_in);
                if (retry && attempt == 0 && !cl.stop_requested()) {
                    c.h2.reset();
                    res.timings = {};
                    continue;
                }
                auto e = st.error() == error_code::none ? error_code::connection_closed : st.error();
                std::string msg;
                if (e != error_code::request_timeout && st.h2_code())
                    msg = "HTTP/2 error code " + std::to_string(st.h2_code());
                cl.fail(e, msg);  // a timeout or an interrupt, when that is why
                t.duration = now_ns() - t_send;
                co_return 0;
            }
            std::int64_t first = st.t_first ? st.t_first : st.t_end;
            t.waiting = first - sent;
            t.receiving = st.t_end - first;
            t.duration = t.sending + t.waiting + t.receiving;
            res.status = st.status();
            res.status_text = h2_reason(st.status());
            auto hs = st.headers();
            res.headers_.assign(hs.begin(), hs.end());
            co_return 1;
        }
    }

    // The stream API's way in (gRPC): the VU's HTTP/2 connection to `url`'s
    // origin ("https://host:port" or "http://host:port"), opened through `cl`
    // (its DNS cache, TLS options, timeout, and the connections its VU's
    // requests share). Plain http:// is h2c with prior knowledge; over TLS,
    // a server that does not choose h2 by ALPN fails. Null on failure, with
    // the error in cl.last() (error_code and error).
    static task<std::shared_ptr<h2_session>> connect(client& cl, std::string_view url) {
        auto& res = cl.res_;
        res.status = 0, res.error_code = error_code::none, res.error.clear();
        res.timings = {};
        url_parts u;
        std::string abs;
        if (!resolve_url(cl.opts_->base_url, url, abs) || !split_url(abs, u)) {
            cl.fail(error_code::invalid_url, url);
            co_return nullptr;
        }
        auto& c = cl.connection_for(u);
        if (c.open && !c.h2) c.close();  // an HTTP/1.1 connection: HTTP/2 needs its own
        cl.timed_out_ = false;
        cl.arm_deadline(now_ns() + cl.opts_->timeout.count());
        pick p;
        try {
            p = co_await acquire(cl, c, true);
        } catch (...) {
            cl.deadline_ns_ = 0;
            throw;
        }
        cl.deadline_ns_ = 0;
        cl.active_ = nullptr;
        if (p.r < 0) {
            c.close();
            cl.fail(error_code::http2_connection, "the server did not choose HTTP/2 (ALPN)");
        }
        co_return std::move(p.s);
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::detail

namespace loadkit::inline LOADKIT_ABI {
// The stream API's entry point (see h2_session.hpp and h2_access::connect).
inline task<std::shared_ptr<detail::h2_session>> h2_connect(client& cl, std::string_view url) {
    return detail::h2_access::connect(cl, url);
}
}  // namespace loadkit::inline LOADKIT_ABI
