// bench_floor: what the kernel alone costs per request, the floor under any
// io_uring HTTP/1.1 client on this machine. It keeps `--vus` keep-alive
// connections to 127.0.0.1:PORT busy with one GET each, and does nothing
// else: no parsing beyond checking each response's first bytes, no clock, no
// metrics, no coroutines, no Asio. The kernel features are bench_get's
// (a ring per thread with DEFER_TASKRUN, sends from the submission queue, a
// multishot receive per connection into a provided buffer ring, registered
// files), so benchmarks/compare_wrk can say how much of bench_get's CPU per
// request is the kernel's loopback TCP path (the floor) and how much is
// loadkit's own work above it.
//
//   bench_floor --port 8080 --vus 50 --requests 1000000 [--layers parse,metrics,coroutines] [--touch N]
//
// --layers adds loadkit's own pieces on the floor, one at a time or
// together, to measure what each costs in place (with the cache misses it
// causes, which callgrind's instruction counts miss): `parse`, each response
// head parsed by the client's parser into a header index and copied out of
// the receive buffer, as read_response does; `metrics`, three clock reads and
// eight histogram records per request, as a request's timings are recorded;
// `coroutines`, each connection driven by five nested coroutines of the
// library's task type, as a VU's vu_main > iteration > perform > exchange >
// read_response. --touch N writes N cache lines (at most 128) of a block
// of the connection's own per response (the lines a VU's state spreads over).
//
// Responses must all be as long as the first (benchmarks/compare_wrk's nginx
// answers a fixed "hello, world"): each is checked to start with "HTTP/1.1 2"
// where the previous one ended, and any surprise (an error, a short or
// different response) ends the run with exit code 1. Prints one JSON line:
// {"requests": N, "seconds": S, "req_per_s": R}. Linux only, no liburing.
#include <loadkit/core/clock.hpp>
#include <loadkit/core/task.hpp>
#include <loadkit/http/parser.hpp>
#include <loadkit/metrics/histogram.hpp>

#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void die(const char* what, long err = 0) {
    if (err) std::fprintf(stderr, "bench_floor: %s: %s\n", what, std::strerror(static_cast<int>(-err)));
    else std::fprintf(stderr, "bench_floor: %s\n", what);
    std::exit(1);
}

class ring {
  public:
    explicit ring(unsigned entries) {
        io_uring_params p{};
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 8;
        fd_ = static_cast<int>(::syscall(__NR_io_uring_setup, entries, &p));
        if (fd_ < 0) die("io_uring_setup", -errno);
        std::size_t bytes = std::max<std::size_t>(p.sq_off.array + p.sq_entries * sizeof(unsigned),
                                                  p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe));
        auto* r = static_cast<char*>(
            ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING));
        void* s = ::mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe), PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES);
        if (r == MAP_FAILED || s == MAP_FAILED) die("mmap of the ring", -errno);
        sqes_ = static_cast<io_uring_sqe*>(s);
        sq_ktail_ = reinterpret_cast<unsigned*>(r + p.sq_off.tail);
        sq_khead_ = reinterpret_cast<unsigned*>(r + p.sq_off.head);
        sq_mask_ = *reinterpret_cast<unsigned*>(r + p.sq_off.ring_mask);
        sq_entries_ = p.sq_entries;
        sq_array_ = reinterpret_cast<unsigned*>(r + p.sq_off.array);
        cq_khead_ = reinterpret_cast<unsigned*>(r + p.cq_off.head);
        cq_ktail_ = reinterpret_cast<unsigned*>(r + p.cq_off.tail);
        cq_mask_ = *reinterpret_cast<unsigned*>(r + p.cq_off.ring_mask);
        cqes_ = reinterpret_cast<io_uring_cqe*>(r + p.cq_off.cqes);
        tail_ = submitted_ = *sq_ktail_;
    }
    int fd() const { return fd_; }
    io_uring_sqe* sqe() {
        if (tail_ - __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE) >= sq_entries_) enter(0);
        unsigned slot = tail_ & sq_mask_;
        sq_array_[slot] = slot;
        io_uring_sqe* s = &sqes_[slot];
        std::memset(s, 0, sizeof *s);
        ++tail_;
        return s;
    }
    // Submits what is queued; with wait, also sleeps until a completion.
    void enter(unsigned wait) {
        __atomic_store_n(sq_ktail_, tail_, __ATOMIC_RELEASE);
        long r = ::syscall(__NR_io_uring_enter, fd_, tail_ - submitted_, wait, wait ? IORING_ENTER_GETEVENTS : 0,
                           nullptr, 0);
        if (r < 0 && errno != EINTR && errno != EBUSY) die("io_uring_enter", -errno);
        if (r > 0) submitted_ += static_cast<unsigned>(r);
    }
    template <class F>
    void reap(F&& f) {
        unsigned head = *cq_khead_, tail = __atomic_load_n(cq_ktail_, __ATOMIC_ACQUIRE);
        for (; head != tail; ++head) f(cqes_[head & cq_mask_]);
        __atomic_store_n(cq_khead_, head, __ATOMIC_RELEASE);
    }

  private:
    int fd_ = -1;
    io_uring_sqe* sqes_ = nullptr;
    io_uring_cqe* cqes_ = nullptr;
    unsigned *sq_khead_, *sq_ktail_, *sq_array_, *cq_khead_, *cq_ktail_;
    unsigned sq_mask_ = 0, sq_entries_ = 0, cq_mask_ = 0, tail_ = 0, submitted_ = 0;
};

// The buffers the kernel receives into (IORING_REGISTER_PBUF_RING): each is
// posted back as soon as its completion is handled.
class buffers {
  public:
    static constexpr unsigned count = 256, size = 4096;
    explicit buffers(int ring_fd) {
        mem_ = static_cast<char*>(::mmap(nullptr, count * sizeof(io_uring_buf) + std::size_t{count} * size,
                                         PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (mem_ == MAP_FAILED) die("mmap of the buffers", -errno);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uintptr_t>(mem_);
        reg.ring_entries = count;
        reg.bgid = 0;
        if (::syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_PBUF_RING, &reg, 1) != 0)
            die("no provided buffer rings (kernel 5.19+)", -errno);
        for (unsigned i = 0; i < count; ++i) give_back(i);
    }
    const char* at(unsigned id) const { return mem_ + count * sizeof(io_uring_buf) + std::size_t{id} * size; }
    void give_back(unsigned id) {
        auto* b = reinterpret_cast<io_uring_buf*>(mem_) + (tail_ & (count - 1));
        b->addr = reinterpret_cast<std::uintptr_t>(at(id));
        b->len = size;
        b->bid = static_cast<std::uint16_t>(id);
        ++tail_;
        __atomic_store_n(reinterpret_cast<std::uint16_t*>(mem_ + 14), tail_, __ATOMIC_RELEASE);
    }

  private:
    char* mem_ = nullptr;
    std::uint16_t tail_ = 0;
};

int connect_loopback(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket", -errno);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect to 127.0.0.1", -errno);
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

// The length of the first response, asked for on a connection of its own
// (blocking): the head up to its empty line plus Content-Length.
std::size_t response_length(int port, std::string_view request) {
    int s = connect_loopback(port);
    timeval tv{5, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::send(s, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        die("send of the first request", -errno);
    std::string got;
    char buf[4096];
    for (;;) {
        auto end = got.find("\r\n\r\n");
        if (end != std::string::npos) {
            std::string head = got.substr(0, end + 2);
            for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            auto at = head.find("\r\ncontent-length:");
            if (!head.starts_with("http/1.1 2") || at == std::string::npos)
                die("the first response is not a 2xx with a Content-Length");
            std::size_t total = end + 4 + std::strtoull(head.c_str() + at + 17, nullptr, 10);
            if (total > buffers::size) die("responses over 4 KiB are not what this measures");
            ::close(s);
            return total;
        }
        if (got.size() > 65536) die("no end of the first response's head in 64 KiB");
        auto n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0) die("the first response did not come", n < 0 ? -errno : 0);
        got.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

int main(int argc, char** argv) {
    constexpr const char* usage =
        "usage: bench_floor --port PORT --vus N --requests N [--layers parse,metrics,coroutines] [--touch LINES]";
    long port = 0, vus = 0, requests = 0, touch = 0;
    bool parse = false, metrics = false, coroutines = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view k = argv[i], arg = argv[i + 1];
        if (k == "--layers") {
            while (!arg.empty()) {
                auto comma = arg.find(',');
                auto layer = arg.substr(0, comma);
                if (layer == "parse") parse = true;
                else if (layer == "metrics") metrics = true;
                else if (layer == "coroutines") coroutines = true;
                else die("--layers takes parse, metrics and coroutines, comma-separated");
                arg = comma == std::string_view::npos ? std::string_view{} : arg.substr(comma + 1);
            }
            continue;
        }
        char* end = nullptr;
        long v = std::strtol(argv[i + 1], &end, 10);
        if (*end || v < 0 || (v == 0 && k != "--touch")) die("values must be positive integers");
        if (k == "--port") port = v;
        else if (k == "--vus") vus = v;
        else if (k == "--requests") requests = v;
        else if (k == "--touch") {
            if (v > 128) die("--touch takes at most 128 lines");
            touch = v;
        } else die(usage);
    }
    if (argc % 2 == 0 || port < 1 || port > 65535 || vus < 1 || vus > 60000 || requests < 1) die(usage);
    ::alarm(3600);  // a target that stops answering must not hang the benchmark forever

    const std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
    const std::size_t length = response_length(static_cast<int>(port), request);

    ring r(1024);
    buffers bufs(r.fd());
    std::vector<int> fds(static_cast<std::size_t>(vus));
    for (auto& fd : fds) fd = connect_loopback(static_cast<int>(port));
    io_uring_rsrc_register files{};
    files.nr = static_cast<unsigned>(vus);
    files.data = reinterpret_cast<std::uintptr_t>(fds.data());
    if (::syscall(__NR_io_uring_register, r.fd(), IORING_REGISTER_FILES2, &files, sizeof files) != 0)
        die("registering the sockets", -errno);

    // user_data: connection index * 2, + 1 for a send
    auto send = [&](std::size_t i) {
        io_uring_sqe* s = r.sqe();
        s->opcode = IORING_OP_SEND;
        s->fd = static_cast<int>(i);
        s->flags = IOSQE_FIXED_FILE;
        s->addr = reinterpret_cast<std::uintptr_t>(request.data());
        s->len = static_cast<unsigned>(request.size());
        s->msg_flags = MSG_NOSIGNAL;
        s->user_data = i * 2 + 1;
    };
    auto arm = [&](std::size_t i) {
        io_uring_sqe* s = r.sqe();
        s->opcode = IORING_OP_RECV;
        s->fd = static_cast<int>(i);
        s->flags = IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
        s->ioprio = IORING_RECV_MULTISHOT;
        s->buf_group = 0;
        s->user_data = i * 2;
    };
    // A connection's own state: the bytes of its current response received,
    // and what the layers keep per VU.
    struct connection_state {
        std::size_t have = 0;
        std::vector<std::pair<std::string_view, std::string_view>> headers;
        std::string head;
        std::coroutine_handle<> waiter;  // (coroutines) the innermost one, waiting for the response
        std::unique_ptr<char[]> lines;   // (--touch)
    };
    std::vector<connection_state> conns(fds.size());
    for (auto& c : conns) {
        if (parse) {
            c.headers.reserve(16);
            c.head.reserve(512);
        }
        if (touch) c.lines = std::make_unique<char[]>(static_cast<std::size_t>(touch) * 64);
    }
    struct {
        loadkit::histogram timings[8];
        std::uint64_t requests = 0, bytes_in = 0;
    } series;
    long done = 0, sent = 0;

    auto layers = [&](connection_state& c, const char* b, std::size_t n) {
        if (parse) {
            loadkit::detail::response_head h;
            auto len = loadkit::detail::parse_response_head(std::string_view(b, n), h, c.headers);
            if (len <= 0) die("a response head the parser refused");
            c.head.assign(b, static_cast<std::size_t>(len));
            for (auto& [k, v] : c.headers) {  // (the views follow the head out of the buffer)
                k = std::string_view(c.head.data() + (k.data() - b), k.size());
                v = std::string_view(c.head.data() + (v.data() - b), v.size());
            }
        }
        if (metrics) {
            auto t0 = loadkit::detail::now_ns(), t1 = loadkit::detail::now_ns(), t2 = loadkit::detail::now_ns();
            ++series.requests;
            series.bytes_in += n;
            for (int k = 0; k < 8; ++k) series.timings[k].record(static_cast<std::uint64_t>(t2 - t0 + (t1 - t0) * k));
        }
        for (long k = 0; k < touch; ++k) c.lines[k * 64] += 1;
    };

    // (coroutines) a VU: five nested coroutines; the innermost sends and
    // waits, the completion resumes it, and the outermost starts the next
    struct response_awaiter {
        connection_state& c;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept { c.waiter = h; }
        void await_resume() const noexcept {}
    };
    auto read_response = [&](std::size_t i) -> loadkit::task<bool> {
        send(i);
        ++sent;
        co_await response_awaiter{conns[i]};
        co_return true;
    };
    auto exchange = [&](std::size_t i) -> loadkit::task<bool> { co_return co_await read_response(i); };
    auto perform = [&](std::size_t i) -> loadkit::task<bool> { co_return co_await exchange(i); };
    auto iteration = [&](std::size_t i) -> loadkit::task<> { co_await perform(i); };
    auto vu = [&](std::size_t i) -> loadkit::task<> {
        while (sent < requests) co_await iteration(i);
    };

    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < fds.size() && sent < requests; ++i) {
        arm(i);
        if (coroutines) {
            loadkit::detail::spawn(vu(i), [](std::exception_ptr e) {
                if (e) die("a VU's coroutine threw");
            });
        } else {
            send(i);
            ++sent;
        }
    }
    while (done < requests) {
        r.enter(1);
        r.reap([&](const io_uring_cqe& c) {
            std::size_t i = static_cast<std::size_t>(c.user_data / 2);
            if (c.user_data & 1) {
                if (c.res != static_cast<int>(request.size())) die("a send failed or was short", c.res < 0 ? c.res : 0);
                return;
            }
            if (c.res == -ENOBUFS) return arm(i);  // (every buffer in use: armed again, the bytes wait)
            if (c.res <= 0) die("a receive ended", c.res);
            auto id = c.flags >> IORING_CQE_BUFFER_SHIFT;
            const char* b = bufs.at(id);
            std::size_t n = static_cast<std::size_t>(c.res);
            auto& conn = conns[i];
            if (conn.have == 0 && (n < 10 || std::memcmp(b, "HTTP/1.1 2", 10) != 0)) die("not a 2xx response");
            if (!(c.flags & IORING_CQE_F_MORE)) arm(i);
            if (conn.have == 0 && n == length) layers(conn, b, n);  // (a response in one piece, as nginx's come)
            bufs.give_back(id);
            conn.have += n;
            if (conn.have > length) die("responses of different lengths");
            if (conn.have < length) return;
            conn.have = 0;
            ++done;
            if (coroutines) {
                if (auto h = std::exchange(conn.waiter, {})) h.resume();
            } else if (sent < requests) {
                send(i);
                ++sent;
            }
        });
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"requests\": %ld, \"seconds\": %.6f, \"req_per_s\": %.1f}\n", done, s, done / s);
    return 0;
}
