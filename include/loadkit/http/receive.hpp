#pragma once
// How a client reads a response on an HTTP/1.1 connection: its head parsed
// where the bytes landed, then the body (Content-Length, chunked, or until
// the connection ends).
// Included by client.hpp, whose private members these are.
#include "../core/config.hpp"
#include "client.hpp"

namespace loadkit::inline LOADKIT_ABI {

// Reads one response (skipping 1xx interim ones) into res_.
//
// Bytes arrive "borrowed" (connection::read_borrowed): on io_uring, in a
// buffer the kernel picks when they arrive, so a VU waiting for its answer
// holds no read buffer; they are used where they are (the head parsed in
// place, the body copied to res_.body), and only a head longer than one
// read is gathered in the connection's own buffer (rbuf).
inline task<bool> client::read_response(detail::connection& c, std::int64_t t_send, std::int64_t t_sent) {
    using namespace detail;
    struct give_back {  // whatever the exit (fail() may throw on an interrupt)
        connection& c;
        ~give_back() { c.release_borrowed(); }
    } at_exit{c};
    std::int64_t t_first = 0;
    // a head that grew the buffer past its usual size (a rare, huge header)
    // gives the memory back before the next response: a VU does not keep
    // megabytes per connection after one such answer
    if (c.rlen == 0 && c.rbuf.size() > detail::usual_read_buffer) [[unlikely]] {
        c.rbuf.resize(detail::initial_read_buffer);
        c.rbuf.shrink_to_fit();
        c.head.clear();
        c.head.shrink_to_fit();
    }
    for (;;) {
        // the head, parsed in place (one pass finds its end too): usually
        // all of it came in one read
        response_head h;
        std::string_view win(c.rbuf.data(), c.rlen);  // bytes left after a 1xx response, or the read's
        if (win.empty()) {
            auto [e, got] = co_await c.read_borrowed(std::size_t(-1), !t_first);
            if (e || got.empty()) {
                // the peer closed a kept-alive connection before answering: the caller may retry
                if (c.served > 0 && !stop_requested() &&
                    (e == boost::asio::error::eof || e == boost::asio::error::connection_reset ||
                     e == boost::asio::ssl::error::stream_truncated)) {
                    c.close();
                    res_.error_code = error_code::connection_closed;
                    co_return false;
                }
                fail_io(c, e, phase::read);
                co_return false;
            }
            if (!t_first) {
                std::int64_t seen = c.received_ns ? std::exchange(c.received_ns, 0) : now_ns();
                if (!t_sent) t_sent = sent_at(c, t_send, seen);  // posted: taken before its answer came
                t_first = std::max(t_sent, seen);
            }
            bytes_in_ += got.size();
            win = got;
        }
        auto r = parse_response_head(win, h, res_.headers_);
        if (r < 0) {
            fail(error_code::malformed_response, "invalid status line or header");
            c.close();
            co_return false;
        }
        std::size_t head_len = static_cast<std::size_t>(r);
        if (head_len == 0 && (head_len = co_await read_long_head(c, win, h)) == 0) co_return false;
        // the head moves out of the read buffer (which the body may reuse);
        // the header views move with it
        if (c.head.size() != head_len) c.head.resize(head_len);  // (usually the last head's size: no work)
        std::memcpy(c.head.data(), win.data(), head_len);
        auto rebase = [from = win.data(), to = c.head.data()](std::string_view v) {
            return v.empty() ? v : std::string_view(to + (v.data() - from), v.size());
        };
        for (auto& [k, v] : res_.headers_) {
            k = rebase(k);
            v = rebase(v);
        }
        h.reason = rebase(h.reason);
        std::string_view rest = win.substr(head_len);  // (borrowed, or in rbuf)
        c.rlen = 0;
        if (h.status >= 100 && h.status < 200 && h.status != 101) {  // interim: drop it, read the real one
            if (c.rbuf.size() < rest.size()) c.rbuf.resize(std::max(initial_read_buffer, rest.size()));
            std::memmove(c.rbuf.data(), rest.data(), rest.size());
            c.rlen = rest.size();
            c.release_borrowed();
            continue;
        }
        res_.status = h.status;
        res_.status_text = h.reason;
        no_set_cookie_ = !h.set_cookie;
        res_.timings.waiting = t_first - t_sent;
        std::string* sink = res_.body_discarded ? nullptr : &res_.body;
        bool no_body = same(method_, "HEAD") || h.status == 204 || h.status == 304 || h.status == 101;
        bool until_eof = !no_body && h.content_length < 0 && !h.chunked;  // HTTP/1.0 style: ends with the connection
        if (no_body) {
        } else if (h.content_length >= 0 && rest.size() >= static_cast<std::size_t>(h.content_length)) {
            if (sink) sink->assign(rest.data(), static_cast<std::size_t>(h.content_length));  // the usual: all here
        } else if (!co_await read_body(c, h, rest, sink)) {
            co_return false;
        }
        res_.timings.receiving = now_ns() - t_first;
        if (h.close || until_eof) c.close();
        else {
            c.rlen = 0;
            ++c.served;
        }
        co_return true;
    }
}

// A head longer than one read: `win` (its start) is gathered in rbuf and
// read on until the head ends. Returns its length, 0 on failure (res_ says).
inline task<std::size_t> client::read_long_head(detail::connection& c, std::string_view& win,
                                                detail::response_head& h) {
    using namespace detail;
    if (win.data() != c.rbuf.data()) {
        if (c.rbuf.size() < std::max(initial_read_buffer, 2 * win.size()))
            c.rbuf.resize(std::max(initial_read_buffer, 2 * win.size()));
        std::memcpy(c.rbuf.data(), win.data(), win.size());
    }
    c.rlen = win.size();
    c.release_borrowed();
    for (;;) {
        if (c.rlen == c.rbuf.size()) {
            if (c.rbuf.size() >= detail::max_response_head) {
                fail(error_code::malformed_response, "response head over 10 MiB");
                // closed like every other failure: left open with a full buffer,
                // every later request on it failed the same way without any I/O
                c.close();
                co_return 0;
            }
            c.rbuf.resize(std::min(c.rbuf.size() * 2, detail::max_response_head));
        }
        auto [e, n] = co_await c.read_some(c.rbuf.data() + c.rlen, c.rbuf.size() - c.rlen);
        if (e || n == 0) {
            fail_io(c, e, phase::read);
            co_return 0;
        }
        bytes_in_ += n;
        // re-parse only when a line may have ended: a server trickling a
        // head byte by byte must not make this quadratic
        bool fresh = std::memchr(c.rbuf.data() + c.rlen, '\n', n) != nullptr;
        c.rlen += n;
        win = {c.rbuf.data(), c.rlen};
        if (!fresh) continue;
        auto r = parse_response_head(win, h, res_.headers_);
        if (r < 0) {
            fail(error_code::malformed_response, "invalid status line or header");
            c.close();
            co_return 0;
        }
        if (r > 0) co_return static_cast<std::size_t>(r);
    }
}

// The body past what came with the head (`rest`, borrowed or in rbuf):
// into `sink`, or read and dropped when null.
inline task<bool> client::read_body(detail::connection& c, const detail::response_head& h, std::string_view rest,
                                    std::string* sink) {
    using namespace detail;
    if (h.content_length >= 0) {
        auto cl = static_cast<std::size_t>(h.content_length);
        std::size_t have = std::min(rest.size(), cl);
        // The body grows as it arrives, from a reservation of at most 16 MiB:
        // reserving the announced length up front made a bogus Content-Length
        // (say 10^15) throw bad_alloc out of the request (a failed iteration,
        // no http_reqs sample) instead of failing the request.
        if (sink) {
            sink->reserve(std::min<std::size_t>(cl, std::size_t{16} << 20));
            sink->assign(rest.data(), have);
        }
        c.release_borrowed();
        while (have < cl) {
            sys_error e;
            std::size_t n;
            if (sink) {  // straight into the body
                sink->resize(std::min(cl, std::max(sink->capacity(), have + 64 * 1024)));
                std::tie(e, n) = co_await c.read_some(sink->data() + have, sink->size() - have);
            } else {  // read and let go
                std::string_view got;
                std::tie(e, got) = co_await c.read_borrowed(cl - have);
                n = got.size();
                c.release_borrowed();
            }
            if (e || n == 0) {
                if (sink) sink->resize(have);  // what arrived, not the zeroed room after it
                fail_io(c, e, phase::read);
                co_return false;
            }
            have += n;
            bytes_in_ += n;
        }
        co_return true;
    }
    if (h.chunked) {
        chunked_decoder chunked;
        std::size_t used = 0;
        auto r = chunked.feed(rest, used, sink);
        while (r == chunked_decoder::result::need_more) {
            auto [e, got] = co_await c.read_borrowed();
            if (e || got.empty()) {
                fail_io(c, e, phase::read);
                co_return false;
            }
            bytes_in_ += got.size();
            r = chunked.feed(got, used, sink);
        }
        if (r == chunked_decoder::result::error) {
            fail(error_code::malformed_response, "invalid chunked encoding");
            c.close();
            co_return false;
        }
        co_return true;
    }
    // HTTP/1.0 style: the body ends with the connection
    if (sink) sink->assign(rest.data(), rest.size());
    for (;;) {
        auto [e, got] = co_await c.read_borrowed();
        if (!got.empty()) {
            bytes_in_ += got.size();
            if (sink) sink->append(got.data(), got.size());
        }
        if (e == boost::asio::error::eof || e == boost::asio::ssl::error::stream_truncated) co_return true;
        if (e) {
            fail_io(c, e, phase::read);
            co_return false;
        }
    }
}

}  // namespace loadkit::inline LOADKIT_ABI
