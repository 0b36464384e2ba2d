#pragma once
// One keep-alive connection of a VU's client (plain TCP or TLS over it), and
// how a failed socket operation maps to k6's error codes.
#include <cstddef>
#include <cstdint>
#include <array>
#include <cassert>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <string>

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "../core/config.hpp"
#include "../core/error_code.hpp"
#include "../core/fd_limit.hpp"
#include "../core/io.hpp"
#include "../core/task.hpp"
#include "../core/uring.hpp"
#include "h2_link.hpp"
#include "tls.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

using tcp = boost::asio::ip::tcp;
using sys_error = boost::system::error_code;

// A connection's read buffer starts small (most response heads fit 2 KiB)
// and doubles for a longer head, up to Go's limit on response heads, which
// is k6's (10 MiB: a 1 MiB header is a normal response there, and here).
inline constexpr std::size_t initial_read_buffer = 2048;
inline constexpr std::size_t usual_read_buffer = 64 * 1024;  // past this, given back after the response
inline constexpr std::size_t max_response_head = std::size_t{10} << 20;

// Sockets bound to io_context's own executor type rather than
// any_io_executor: no type-erased executor work on every completion.
using socket_t = boost::asio::basic_stream_socket<tcp, boost::asio::io_context::executor_type>;
using resolver_t = boost::asio::ip::basic_resolver<tcp, boost::asio::io_context::executor_type>;

struct connection;

// A send or receive on a plain connection through the thread's io_uring
// (core/uring.hpp), awaited as Asio's (error, bytes). A send goes on after
// a partial write until everything is sent, as asio::async_write does.
// It lives in its connection (connection::ring_state), made when the first
// operation goes through a ring: the awaiters in the coroutine frames stay
// small (every co_await site of a frame has its own awaiter, and frames are
// the largest part of a VU in a request).
struct ring_io : uring_op {
    connection* c = nullptr;
    std::coroutine_handle<> h;
    std::size_t n = 0;
    std::uint64_t seq = 0;  // the ring's submission that carries it (uring::submitted_at)
    ::iovec iov[2];         // a receive's buffer; a send's head and body
    unsigned niov = 0;
    // how it ended: 0, an errno, or end_of_stream (an int beside the other
    // small members, not a 24-byte error_code: this is allocated per
    // connection, 88 bytes instead of 112, a 96-byte malloc chunk instead of
    // 128, and that keeps the memory per VU within 5 KiB)
    int err = 0;
    static constexpr int end_of_stream = -1;
    bool send = false;
    bool select = false;  // a receive into a buffer the ring picks (uring::has_buffers)
    bool poll_first = false;  // a receive that waits for readiness before it tries (read_borrowed)
    int picked = -1;      // that buffer, once the receive completed
    sys_error error() const noexcept {  // (Asio's errors are errno values)
        if (err == end_of_stream) return boost::asio::error::eof;
        return err ? sys_error(err, boost::system::system_category()) : sys_error{};
    }
    void submit();
    static void complete(uring_op* o, int res, unsigned flags);
};

// A plain HTTP/1.1 connection's receive on io_uring, armed once for many
// responses (IORING_RECV_MULTISHOT into the ring's buffers): the kernel
// receives whenever bytes arrive, with no operation to queue and no poll to
// arm per response (that was 3.5% of a request's CPU). Bytes that arrive
// while nobody reads (rare: a VU reads as soon as it has asked) wait in a
// list of the ring's buffers; what ended it (the peer closed, an error)
// comes after them. Ended for want of a free buffer (ENOBUFS), it is armed
// again by the next read. A connection that closes lets it go: cancelled,
// its last completion deletes it, resuming first a coroutine still waiting
// on it (with operation_aborted).
struct multishot_recv : uring_op, pooled_frame {  // (from the thread's pool: made once per connection)
    uring* ring;
    connection* c;  // null once let go
    std::coroutine_handle<> waiter;
    std::int16_t head = -1, tail = -1;  // the chunks waiting (uring::chunk_next)
    std::uint32_t offset = 0;  // bytes of the first already taken
    sys_error ended{};         // what ended it, once the chunks are read
    bool armed = false;
    std::uint8_t unread = 0;   // chunks come with no reader waiting, since one last waited
    static constexpr std::uint8_t max_unread = 4;
    multishot_recv(uring* r, connection* owner) : ring(r), c(owner) { done = &complete; }
    bool ready() const noexcept { return head >= 0 || ended; }
    // What a read gets once no chunk waits: how it ended, or (let go while
    // a coroutine waited) operation_aborted
    sys_error end_error() const noexcept { return ended ? ended : sys_error(boost::asio::error::operation_aborted); }
    std::string_view front() const noexcept {
        auto id = static_cast<unsigned>(head);
        return {ring->buffer(id) + offset, ring->chunk_len(id) - offset};
    }
    void consume(std::size_t n) noexcept {
        offset += static_cast<std::uint32_t>(n);
        if (offset < ring->chunk_len(static_cast<unsigned>(head))) return;
        auto id = static_cast<unsigned>(head);
        auto next = ring->chunk_next(id);
        head = next == uring::no_chunk ? std::int16_t{-1} : static_cast<std::int16_t>(next);
        if (head < 0) tail = -1;
        offset = 0;
        ring->give_back(id);
    }
    void clear() noexcept {
        while (head >= 0) consume(ring->chunk_len(static_cast<unsigned>(head)));
    }
    void arm(bool poll_first);  // (on its connection's socket)
    // The request a reader waits to be answered was not sent (a posted
    // write failed, connection::post_write): the reader learns it now, not
    // at its request's timeout. Nothing if bytes or an end already wait.
    void fail_waiter(int err) {
        if (!waiter || ready()) return;
        ended = sys_error(err, boost::system::system_category());
        auto h = std::exchange(waiter, {});
        ring->unhold();
        h.resume();
    }
    static void complete(uring_op* o, int res, unsigned flags);
};

struct connection {
    explicit connection(boost::asio::io_context& ioc, uring* r = nullptr) : sock(ioc.get_executor()), ring(r) {}
    ~connection() {
        cancel_ring_ops();
        // a posted write still in the ring (its request unwound by an
        // exception before it was done): its completion frees its state
        if (ring_ops > 0 && ring_state && !duplex) {
            ring_state[0].c = nullptr;
            ring_state.release();
        }
        let_go_multishot();
        let_go_slot();
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    std::string host;
    std::uint16_t port = 0;
    bool secure = false;

    socket_t sock;  // plain connections
    std::unique_ptr<boost::asio::ssl::stream<socket_t>> tls;
    std::shared_ptr<const tls_info> tls_state;  // what its handshake negotiated (shared with an HTTP/2 session)
    bool open = false;
    std::uint64_t served = 0;  // responses read since connect

    std::string rbuf;  // read buffer; its size is its capacity
    std::size_t rlen = 0;
    std::string head;  // the current response head; header views point here

    // HTTP/2: the session this connection's requests go on (this client's,
    // or one another client of the VU opened), or null for HTTP/1.1; and
    // whether ALPN chose h2 in the last handshake.
    std::shared_ptr<h2_session_base> h2;
    bool alpn_h2 = false;

    // The thread's io_uring, or null (epoll; or not run by the engine's
    // threads). TLS connections always go through Asio (OpenSSL's stream).
    uring* ring = nullptr;
    unsigned ring_ops = 0;  // this connection's operations in the ring
    int ring_slot = -1;     // the socket's slot in the ring's registered files (uring::register_file), or -1
    // Its operation in the ring; an HTTP/2 session's connection (duplex)
    // has two, a receive and a send at once, an HTTP/1.1 one takes turns.
    std::unique_ptr<ring_io[]> ring_state;
    bool duplex = false;
    int borrowed = -1;  // the ring's buffer read_borrowed() returned, until release_borrowed()
    // Its multishot receive (plain HTTP/1.1 on a ring with buffers), made by
    // the first read; and how many of its bytes read_borrowed() returned.
    multishot_recv* ms = nullptr;
    std::uint32_t ms_taken = 0;
    bool multishot() const noexcept { return ring && !tls && !duplex && ring->has_buffers(); }
    // When the ring's last write was taken whole by the kernel (0: not a
    // ring write): the request's "sending" ends there, not when the loop
    // next looked, so http_req_sending/waiting mean what they mean on epoll.
    std::int64_t written_ns = 0;
    // Likewise when the ring's last receive was seen complete (the turn's
    // uring::reaped_at; 0: not a ring receive): a response's first byte.
    std::int64_t received_ns = 0;

    socket_t& lowest() { return tls ? tls->next_layer() : sock; }
    void close() noexcept {
        sys_error ec;
        // an operation in the ring holds the socket: cancel it, or a pending
        // receive would outlive the descriptor (it ends with operation_aborted)
        cancel_ring_ops();
        let_go_multishot();
        let_go_slot();  // (else the ring's table would keep the socket open)
        lowest().close(ec);
        open = false;
        rlen = 0;
        release_borrowed();
    }

    // A plain socket the ring carries from now on (after its connect):
    // registered in the ring's table, for its operations to name.
    void join_ring() {
        if (ring && !tls && ring_slot < 0) ring_slot = ring->register_file(sock.native_handle());
    }
    void let_go_slot() noexcept {
        if (ring_slot >= 0) ring->unregister_file(std::exchange(ring_slot, -1));
    }
    // Names the socket in a ring operation: by its registered slot
    // (IOSQE_FIXED_FILE) once it has one, else by its descriptor.
    void name_socket(io_uring_sqe* s) {
        s->fd = ring_slot >= 0 ? ring_slot : sock.native_handle();
        if (ring_slot >= 0) s->flags |= IOSQE_FIXED_FILE;
    }

    // An operation in the ring holds the socket: cancelled at once (a
    // coroutine awaits it), or, for a multishot receive alone, with the
    // next submission (no system call for a connection that just closes).
    void cancel_ring_ops() {
        if (!lowest().is_open()) return;
        if (ring_ops > 0) ring->cancel_fd(lowest().native_handle());
        else if (ms && ms->armed) ring->cancel_background(ms);
    }

    // Its multishot receive goes (after cancel_ring_ops while armed): deleted
    // now, or by its last completion.
    void let_go_multishot() noexcept {
        if (!ms) return;
        ms_taken = 0;
        ms->clear();
        if (ms->armed) {  // (one hold while let go: its last completion must be reaped, and frees it)
            ms->c = nullptr;
            if (!ms->waiter) ring->hold();
        } else {
            delete ms;
        }
        ms = nullptr;
    }

    // The ring's buffer that read_borrowed()'s bytes are in goes back to
    // the ring (nothing for a read into rbuf).
    void release_borrowed() noexcept {
        if (borrowed >= 0) ring->give_back(static_cast<unsigned>(std::exchange(borrowed, -1)));
        if (ms_taken) ms->consume(std::exchange(ms_taken, 0));
    }

    // (a read on a multishot connection: the receive armed, its chunks or end awaited)
    multishot_recv* multishot_read() {
        release_borrowed();
        if (!ms) ms = new multishot_recv(ring, this);
        return ms;
    }
    // (a coroutine waiting keeps the loop going: the receive is a background operation)
    void multishot_wait(std::coroutine_handle<> h, bool poll_first) {
        ms->unread = 0;
        if (!ms->armed) ms->arm(poll_first);
        ms->waiter = h;
        ring->hold();
    }

    // Awaits a write of every byte of `head` then `body` (Send), or a read
    // of some bytes into `head`: (error, bytes), through the ring on a plain
    // connection, else Asio.
    template <bool Send>
    struct io_op {
        connection& c;
        boost::asio::mutable_buffer head, body;
        sys_error ec{};  // Asio's result
        std::size_t n = 0;
        ring_io* r = nullptr;  // or the ring's
        multishot_recv* m = nullptr;  // or the connection's multishot receive
        using handler = resume_handler<io_op>;
        bool await_ready() {
            if constexpr (!Send)
                if (c.multishot()) return (m = c.multishot_read())->ready();
            return false;
        }
        void await_suspend(std::coroutine_handle<> h) {
            if (m) return c.multishot_wait(h, false);
            if (c.ring && !c.tls) {
                r = c.ring_start(h, Send, false, head, body);
                return;
            }
            if constexpr (Send) {
                std::array<boost::asio::const_buffer, 2> b{head, body};
                if (c.tls) boost::asio::async_write(*c.tls, b, handler{this, h});
                else boost::asio::async_write(c.sock, b, handler{this, h});
            } else {
                if (c.tls) c.tls->async_read_some(head, handler{this, h});
                else c.sock.async_read_some(head, handler{this, h});
            }
        }
        std::pair<sys_error, std::size_t> await_resume() noexcept {
            if (m) {  // a copy of what waits, as a receive into `head` would have
                if (m->head < 0) return {m->end_error(), 0};
                auto got = m->front();
                std::size_t k = std::min(got.size(), head.size());
                std::memcpy(head.data(), got.data(), k);
                m->consume(k);
                return {sys_error{}, k};
            }
            return r ? std::pair{r->error(), r->n} : std::pair{ec, n};
        }
    };
    // (nothing to write completes at once, as Asio's async_write does)
    io_op<true> write(std::string_view head, std::string_view body = {}) {
        return {*this, mutable_view(head), mutable_view(body)};
    }

    // A write nobody waits for: on a plain HTTP/1.1 connection whose answer
    // comes by its multishot receive, the request is queued and the VU goes
    // straight on to wait for the answer, in the same turn. Awaited, the
    // write's completion woke the VU once more per request, a turn later,
    // and that wake touched its state again after other VUs had pushed it
    // out of the cache. False where it does not apply (the caller awaits
    // write()). The kernel reads `head` and `body` until posted_done():
    // await it before they change, and before the connection is used for
    // another request; posted_result() then says how it went. It ends as a
    // write() would: every byte, or an error (which also ends the wait of a
    // reader of this connection, multishot_recv::fail_waiter). Only for a
    // request that fits in a socket's first send buffer (tcp_wmem's 16 KiB):
    // the kernel takes it whole when it is submitted, so its answer never
    // comes while it is still being sent. A bigger one is awaited, as on
    // epoll: an early answer (a 413 before the body was read) then reads
    // the same on both.
    static constexpr std::size_t posted_max = 16 * 1024;
    bool post_write(std::string_view head, std::string_view body) {
        if (!multishot() || ring_ops != 0 || head.size() + body.size() > posted_max) return false;
        ring_start({}, true, false, mutable_view(head), mutable_view(body));
        return true;
    }
    struct posted_done_op {
        connection& c;
        bool await_ready() const noexcept { return c.ring_ops == 0; }
        void await_suspend(std::coroutine_handle<> h) const noexcept { c.ring_state[0].h = h; }
        void await_resume() const noexcept {}
    };
    posted_done_op posted_done() noexcept { return {*this}; }
    std::pair<sys_error, std::size_t> posted_result() const noexcept {
        return {ring_state[0].error(), ring_state[0].n};
    }
    io_op<false> read_some(char* p, std::size_t n) { return {*this, {p, n}, {}}; }

    // Awaits some bytes (at most `max`), wherever they are: (error, bytes).
    // On a ring with buffers, in one the kernel picks when they arrive (no
    // buffer is held while waiting); else in rbuf. The bytes stay valid
    // until release_borrowed(), the next read_borrowed() or close().
    struct borrow_op {
        connection& c;
        std::size_t max;
        bool poll_first = false;
        sys_error ec{};
        std::size_t n = 0;
        ring_io* r = nullptr;
        multishot_recv* m = nullptr;
        using handler = resume_handler<borrow_op>;
        bool await_ready() {
            if (c.multishot()) return (m = c.multishot_read())->ready();
            return false;
        }
        void await_suspend(std::coroutine_handle<> h) {
            if (m) return c.multishot_wait(h, poll_first);
            c.release_borrowed();
            if (c.ring && !c.tls && c.ring->has_buffers()) {
                r = c.ring_start(h, false, true, {nullptr, std::min<std::size_t>(max, uring::buffer_size)}, {},
                                 poll_first);
                return;
            }
            if (c.rbuf.size() < initial_read_buffer) c.rbuf.resize(initial_read_buffer);
            boost::asio::mutable_buffer b(c.rbuf.data(), std::min(max, c.rbuf.size()));
            if (c.ring && !c.tls) r = c.ring_start(h, false, false, b, {});
            else if (c.tls) c.tls->async_read_some(b, handler{this, h});
            else c.sock.async_read_some(b, handler{this, h});
        }
        std::pair<sys_error, std::string_view> await_resume() noexcept {
            if (m) {  // the first chunk waiting (taken when released), or what ended the receive
                if (m->head < 0) return {m->end_error(), {}};
                auto got = m->front().substr(0, max);
                if (m->c) c.ms_taken = static_cast<std::uint32_t>(got.size());
                return {sys_error{}, got};
            }
            if (!r) return {ec, {c.rbuf.data(), n}};
            if (r->picked < 0) return {r->error(), {c.rbuf.data(), r->err ? 0 : r->n}};
            c.borrowed = std::exchange(r->picked, -1);
            return {r->error(), {c.ring->buffer(static_cast<unsigned>(c.borrowed)), r->n}};
        }
    };
    // `answer_start`: the first bytes of an answer just asked for. On the
    // ring the receive then waits for them before it tries: they are almost
    // never there yet (measured on loopback, nginx on the other core: 93% of
    // such receives found nothing), and a receive that tries first and finds
    // nothing costs a whole tcp_recvmsg, then waits anyway (wrk's epoll loop
    // reads only when told: this made our receive path cost more than its).
    borrow_op read_borrowed(std::size_t max = std::size_t(-1), bool answer_start = false) {
        return {*this, max, answer_start};
    }

  private:
    ring_io* ring_start(std::coroutine_handle<> h, bool send, bool select, boost::asio::mutable_buffer head,
                        boost::asio::mutable_buffer body, bool poll_first = false) {
        assert(duplex || ring_ops == 0);  // HTTP/1.1: a send, then a receive
        if (!ring_state) [[unlikely]] {
            ring_state = std::make_unique<ring_io[]>(duplex ? 2 : 1);
            for (int i = 0; i < (duplex ? 2 : 1); ++i) {
                ring_state[i].c = this;
                ring_state[i].done = &ring_io::complete;
            }
        }
        ring_io* r = &ring_state[duplex && send ? 1 : 0];
        r->h = h;
        r->err = 0;
        r->n = 0;
        r->send = send;
        r->select = select;
        r->poll_first = poll_first;
        r->picked = -1;
        unsigned k = 0;
        if (head.size()) r->iov[k++] = {head.data(), head.size()};
        if (body.size()) r->iov[k++] = {body.data(), body.size()};
        r->niov = k;
        r->submit();
        return r;
    }
    // (the kernel and Asio take a send's buffers as mutable; never written)
    static boost::asio::mutable_buffer mutable_view(std::string_view v) noexcept {
        return {const_cast<char*>(v.data()), v.size()};
    }
};

inline void ring_io::submit() {
    io_uring_sqe* s = c->ring->prepare(this);
    seq = c->ring->submit_seq() + 1;
    if (niov == 0) {  // nothing to send (or no room to read into): done at once, as with Asio
        s->opcode = IORING_OP_NOP;
        ++c->ring_ops;
        return;
    }
    c->name_socket(s);
    if (niov == 1) {
        s->opcode = send ? IORING_OP_SEND : IORING_OP_RECV;
        s->addr = reinterpret_cast<std::uintptr_t>(iov[0].iov_base);  // (0 with select: the kernel's pick)
        s->len = static_cast<unsigned>(iov[0].iov_len);
        if (send) s->msg_flags = MSG_NOSIGNAL;
        else if (poll_first) s->ioprio = IORING_RECVSEND_POLL_FIRST;
        if (select) {
            s->flags |= IOSQE_BUFFER_SELECT;
            s->buf_group = uring::buffer_group;
        }
    } else {  // (a request's head and body)
        s->opcode = IORING_OP_SENDMSG;  // reads always have one buffer
        ::msghdr* msg = c->ring->message_for(s);  // (read by the kernel when it takes the SQE)
        *msg = {};
        msg->msg_iov = iov;
        msg->msg_iovlen = niov;
        s->addr = reinterpret_cast<std::uintptr_t>(msg);
        s->msg_flags = MSG_NOSIGNAL;
    }
    ++c->ring_ops;
}

inline void ring_io::complete(uring_op* o, int res, unsigned flags) {
    auto* self = static_cast<ring_io*>(o);
    if (!self->c) {  // a posted write whose connection went first (~connection): nobody to tell
        delete[] self;
        return;
    }
    --self->c->ring_ops;
    if (self->select) {
        // every buffer in use at that moment: again with the next submission
        // (buffers go back as soon as the completions holding them are handled)
        if (res == -ENOBUFS && self->c->sock.is_open()) {
            self->submit();
            return;
        }
        if (flags & IORING_CQE_F_BUFFER) {
            self->picked = static_cast<int>(flags >> IORING_CQE_BUFFER_SHIFT);
            if (res <= 0) self->c->ring->give_back(static_cast<unsigned>(std::exchange(self->picked, -1)));
        }
    }
    if (res < 0) {
        self->err = -res;
    } else if (res == 0 && !self->send && self->niov > 0) {
        self->err = ring_io::end_of_stream;
    } else if (self->niov > 0) {
        self->n += static_cast<std::size_t>(res);
        if (!self->send) self->c->received_ns = self->c->ring->reaped_at();
        if (self->send) {  // a partial write: the rest goes again
            auto k = static_cast<std::size_t>(res);
            unsigned i = 0;
            while (i < self->niov && k >= self->iov[i].iov_len) k -= self->iov[i++].iov_len;
            if (i < self->niov) {
                if (i == 1) self->iov[0] = self->iov[1];
                self->niov -= i;
                self->iov[0].iov_base = static_cast<char*>(self->iov[0].iov_base) + k;
                self->iov[0].iov_len -= k;
                if (self->c->sock.is_open()) {
                    self->submit();
                    return;
                }
                self->err = ECANCELED;  // (Asio's operation_aborted)
            }
            self->c->written_ns = self->c->ring->submitted_at(self->seq);
        }
    }
    if (auto h = std::exchange(self->h, {})) h.resume();
    else if (self->err && self->c->ms) self->c->ms->fail_waiter(self->err);  // (a posted write failed)
}

inline void multishot_recv::arm(bool poll_first) {
    io_uring_sqe* s = ring->prepare_background(this);  // (an idle connection's receive keeps no run going)
    s->opcode = IORING_OP_RECV;
    c->name_socket(s);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = uring::buffer_group;
    s->ioprio = IORING_RECV_MULTISHOT | (poll_first ? IORING_RECVSEND_POLL_FIRST : 0);
    armed = true;
}

inline void multishot_recv::complete(uring_op* o, int res, unsigned flags) {
    auto* self = static_cast<multishot_recv*>(o);
    if (!(flags & IORING_CQE_F_MORE)) self->armed = false;
    int id = (flags & IORING_CQE_F_BUFFER) ? static_cast<int>(flags >> IORING_CQE_BUFFER_SHIFT) : -1;
    if (res > 0 && id >= 0 && self->c) {
        auto u = static_cast<unsigned>(id);
        self->ring->chunk_len(u) = static_cast<std::uint32_t>(res);
        self->ring->chunk_next(u) = uring::no_chunk;
        if (self->tail >= 0) {
            self->ring->chunk_next(static_cast<unsigned>(self->tail)) = static_cast<std::uint16_t>(u);
        } else {
            self->head = static_cast<std::int16_t>(id);
            self->c->received_ns = self->ring->reaped_at();  // (a response's first bytes)
        }
        self->tail = static_cast<std::int16_t>(id);
        // bytes nobody asked for piling up (a server that talks unasked):
        // they must not take the thread's buffers from other connections
        if (!self->waiter && self->armed && ++self->unread > max_unread) {
            self->ring->cancel_background(self);
            self->unread = 0;
        }
    } else {
        if (id >= 0) self->ring->give_back(static_cast<unsigned>(id));
        if (res == 0) self->ended = boost::asio::error::eof;
        // (ENOBUFS: no buffer was free; ECANCELED while kept: too much
        // unread. Both end it for now, and the next read arms it again.)
        else if (res < 0 && res != -ENOBUFS && (res != -ECANCELED || !self->c))
            self->ended = sys_error(-res, boost::system::system_category());
    }
    if (!self->c) {  // let go: the waiting coroutine (if any) learns it was aborted; the last completion deletes
        if (self->armed) return;
        auto h = std::exchange(self->waiter, {});
        self->ring->unhold();  // (the waiter's hold, or let_go_multishot's)
        if (h) h.resume();
        delete self;
        return;
    }
    if (!self->waiter) return;
    if (!self->ready()) {  // ended for want of a buffer, and a reader waits: again (buffers come back meanwhile)
        if (!self->armed) self->arm(false);
        return;
    }
    auto h = std::exchange(self->waiter, {});
    self->ring->unhold();
    h.resume();
}

enum class phase { connect, handshake, write, read };  // (DNS failures are always dns_failed)

inline error_code classify(const sys_error& ec, phase p, SSL* ssl) {
    namespace ae = boost::asio::error;
    if (ec == ae::connection_refused) return error_code::connection_refused;
    if (ec == ae::connection_reset) return error_code::connection_reset;
    if (ec == ae::broken_pipe) return error_code::broken_pipe;
    if (ec == ae::timed_out) return p == phase::connect ? error_code::dial_timeout : error_code::tcp_error;
    if (p == phase::handshake || ec.category() == boost::asio::error::get_ssl_category()) {
        if (ssl) {
            long v = SSL_get_verify_result(ssl);
            if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
                return error_code::tls_hostname_mismatch;
            if (v != X509_V_OK) return error_code::tls_unknown_authority;
        }
        if (p == phase::handshake || ec != boost::asio::ssl::error::stream_truncated) return error_code::tls_error;
    }
    if (ec == ae::eof || ec == boost::asio::ssl::error::stream_truncated) return error_code::connection_closed;
    if (p == phase::connect) {
        if (ec.category() == boost::system::system_category() && is_out_of_descriptors(ec.value()))
            warn_out_of_descriptors(ec.value());
        return error_code::dial_failed;
    }
    return error_code::tcp_error;
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
