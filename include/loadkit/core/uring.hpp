#pragma once
// One io_uring per worker thread, without liburing: the ring is set up with
// the raw system calls and <linux/io_uring.h> (the kernel's headers, always
// there on Linux), so `#include <loadkit.hpp>` gains no library.
//
// Why not Asio's io_uring backend: it is chosen at compile time
// (BOOST_ASIO_HAS_IO_URING changes every Asio type), and the runner must
// choose at run time, falling back to epoll where the kernel (or a seccomp
// profile, or kernel.io_uring_disabled) refuses. So the ring carries the
// hot path, sends and receives on plain connections, and Asio keeps
// everything rare (connects, timers, DNS, TLS, posted work):
//
//   - a coroutine queues its operation (an SQE) and suspends; nothing enters
//     the kernel yet;
//   - the thread waits in io_uring_enter, which in one call submits every
//     queued operation and sleeps until one completes (DEFER_TASKRUN: the
//     kernel finishes operations only then, in a batch, on this thread);
//   - completions resume their coroutines directly (an operation is a
//     function and its state, kept by its connection: nothing is allocated
//     per operation);
//   - a receive names no buffer: the kernel takes one from the thread's ring
//     of provided buffers when the bytes arrive, so a connection waiting for
//     its response (an idle VU) holds no read buffer;
//   - a plain HTTP/1.1 connection's receive is armed once and stays armed
//     between responses (a multishot receive, connection.hpp's
//     multishot_recv): no receive to queue and no poll to arm per response;
//     elsewhere the first receive of a response waits for readiness before
//     it tries (IORING_RECVSEND_POLL_FIRST: the answer is almost never there
//     yet, and a receive that tries first pays a tcp_recvmsg for nothing);
//   - a connected socket has a slot in the ring's registered-file table, so
//     an operation does not look its descriptor up (register_file);
//   - Asio's own epoll descriptor is one more operation in the ring (a
//     poll): when a timer fires or another thread posts, the ring wakes and
//     the loop runs Asio's ready handlers (io_context::poll).
//
// Why the ring waits and not epoll: the ring's descriptor in Asio's epoll set
// was tried first. Without DEFER_TASKRUN a wakeup was lost now and then (a
// run hung); with it, the kernel's eventfd signal came up to 15 ms late
// (p99 7 ms at one VU). Waiting in io_uring_enter is the kernel's own path.
//
// Asio keeps its epoll descriptor private; the loop finds it once per thread
// in /proc/self/fdinfo (the epoll set that holds a descriptor it just gave
// Asio). Without /proc, or when the kernel refuses a ring, the thread stays
// on epoll. The mode is one per process: LOADKIT_IO=epoll forces epoll.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "config.hpp"

#include <dirent.h>
#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace loadkit::inline LOADKIT_ABI::detail {

// An operation in the ring: the completion calls `done` with the kernel's
// result (bytes, or -errno) and the CQE's flags. The awaiter that owns it
// lives in the suspended coroutine's frame until then.
struct uring_op {
    void (*done)(uring_op*, int res, unsigned flags) = nullptr;
};

// The epoll descriptor of `ioc`'s reactor: the epoll set in this process
// that holds a descriptor registered with `ioc` a moment ago. -1 if unknown.
inline int asio_epoll_fd(boost::asio::io_context& ioc) {
    int probe = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (probe < 0) return -1;
    boost::asio::posix::stream_descriptor d(ioc);
    boost::system::error_code ec;
    d.assign(probe, ec);  // Asio adds it to its epoll set now
    if (ec) {
        ::close(probe);
        return -1;
    }
    int found = -1;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(dir)) {
            int fd = -1;
            std::string_view name(e->d_name);
            if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{} || fd == probe) continue;
            char link[64] = {};
            auto path = "/proc/self/fd/" + std::string(name);
            auto n = ::readlink(path.c_str(), link, sizeof link - 1);
            if (n <= 0 || std::string_view(link, static_cast<std::size_t>(n)) != "anon_inode:[eventpoll]") continue;
            std::ifstream info("/proc/self/fdinfo/" + std::string(name));
            std::string line;
            int lines = 0;
            while (lines++ < 4096 && std::getline(info, line)) {  // (bounded: a line per registered descriptor)
                // "tfd:        3 events: ..." (the number right-aligned)
                if (line.compare(0, 4, "tfd:") != 0) continue;
                auto at = line.find_first_not_of(' ', 4);
                int tfd = -1;
                if (at != std::string::npos) std::from_chars(line.data() + at, line.data() + line.size(), tfd);
                if (tfd == probe) found = fd;
            }
            if (found >= 0) break;
        }
        ::closedir(dir);
    }
    d.close(ec);  // (closes probe, leaving Asio's set)
    return found;
}

class uring {
  public:
    // Null when the kernel refuses (too old, io_uring disabled, seccomp) or
    // Asio's epoll descriptor cannot be found: the caller stays on epoll.
    // Call on the thread that will run the loop (SINGLE_ISSUER binds the
    // ring to its creator).
    static std::unique_ptr<uring> open(boost::asio::io_context& ioc, unsigned entries = 1024) {
        std::unique_ptr<uring> r(new uring(ioc));
        if (!r->setup(entries)) return nullptr;
        return r;
    }
    ~uring() {
        if (enter_flags_) {  // (per thread: fails harmlessly on another one, whose exit lets it go)
            io_uring_rsrc_update up{};
            up.offset = static_cast<unsigned>(enter_fd_);
            ::syscall(__NR_io_uring_register, fd_, IORING_UNREGISTER_RING_FDS, &up, 1);
        }
        if (fd_ >= 0) ::close(fd_);  // first: the kernel lets go of the buffer ring with it
        if (bufs_) ::munmap(bufs_, buffers_bytes());
        if (sqes_) ::munmap(sqes_, sqes_bytes_);
        if (ring_) ::munmap(ring_, ring_bytes_);
    }
    uring(const uring&) = delete;
    uring& operator=(const uring&) = delete;

    // A free SQE, zeroed, for `op`; the queue is submitted first when full.
    // Submitted by the loop's next io_uring_enter.
    io_uring_sqe* prepare(uring_op* op) {
        io_uring_sqe* s = next_sqe();
        s->user_data = reinterpret_cast<std::uintptr_t>(op);
        if (in_flight_++ == 0) work_.emplace(ioc_.get_executor());  // run() goes on while the ring has work
        return s;
    }

    // Keeps run() going while something the ring does not count must still
    // complete (a coroutine waiting on a background operation; a let-go
    // multishot receive whose cancellation must be reaped to free it).
    void hold() {
        if (in_flight_++ == 0) work_.emplace(ioc_.get_executor());
    }
    void unhold() {
        if (--in_flight_ == 0) work_.reset();
    }

    // An operation that does not keep run() going (a multishot receive
    // armed on an idle kept-alive connection: the run must end around it).
    io_uring_sqe* prepare_background(uring_op* op) {
        io_uring_sqe* s = next_sqe();
        s->user_data = reinterpret_cast<std::uintptr_t>(op) | background_bit;
        return s;
    }

    // Cancels one background operation (its completion comes, -ECANCELED).
    void cancel_background(uring_op* op) {
        io_uring_sqe* s = next_sqe();
        s->opcode = IORING_OP_ASYNC_CANCEL;
        s->addr = reinterpret_cast<std::uintptr_t>(op) | background_bit;
        s->user_data = quiet_tag;
    }

    // Chunks of received bytes waiting for their reader, as lists through
    // the ring's buffers (a buffer is in at most one list): each buffer's
    // next one (no_chunk: none) and how many bytes it holds.
    static constexpr std::uint16_t no_chunk = 0xffff;
    std::uint16_t& chunk_next(unsigned id) noexcept { return chunk_next_[id]; }
    std::uint32_t& chunk_len(unsigned id) noexcept { return chunk_len_[id]; }

    // Receives into buffers the kernel picks when the data arrives (a
    // provided buffer ring, kernel 5.19+): a connection waiting for its
    // response holds no buffer, so an idle VU costs no read buffer. Null
    // where the kernel has no buffer rings (the connection reads into its own).
    // A receive asks for group `buffer_group` (IOSQE_BUFFER_SELECT); its
    // completion names the buffer (IORING_CQE_F_BUFFER); give_back() returns
    // it once its bytes are used. -ENOBUFS: all buffers are in use right now.
    //
    // Why the ring holds only some of the free buffers: the kernel takes
    // buffers in the ring's order, so a ring holding all 256 used each one
    // once every 256 responses, always cold: the kernel's copy missed the
    // cache on every line it wrote, and the parser again. Free buffers wait
    // on a stack (the last given back is the next posted) and the ring is
    // topped up before each enter to `ring_goal_` entries, doubled whenever
    // a receive finds it empty: it settles at what one turn takes, and the
    // same few buffers stay warm. And why the buffers are 64 bytes apart
    // more than their size: page-aligned, every response's first lines fell
    // in the same few sets of the first-level cache.
    static constexpr unsigned buffer_count = 256, buffer_size = 4096, buffer_group = 0;
    static constexpr std::size_t buffer_stride = buffer_size + 64;
    bool has_buffers() const noexcept { return bufs_ != nullptr; }
    char* buffer(unsigned id) const noexcept { return buffer_base_ + std::size_t{id} * buffer_stride; }
    void give_back(unsigned id) noexcept {
        if (free_count_ < buffer_count) free_bufs_[free_count_++] = static_cast<std::uint16_t>(id);
    }

    // Registered files: a connected socket gets a slot in the ring's own
    // descriptor table, and its operations name the slot (IOSQE_FIXED_FILE),
    // so the kernel does not look the descriptor up and take and drop a
    // reference to its file per operation (fget/fput: ~2% of a request's
    // CPU, measured). The table is changed by operations in the ring
    // (IORING_OP_FILES_UPDATE, done when submitted, in order): no system
    // call per connection. -1: no slot (the table is full, or there is
    // none): the operations name the descriptor.
    int register_file(int fd) {
        if (free_slots_.empty()) return -1;
        int slot = free_slots_.back();
        free_slots_.pop_back();
        update_slot(slot, fd);
        return slot;
    }
    // The slot's file is let go (the table holds a reference to the
    // socket: until then a closed descriptor's connection stays open). The
    // slot is free at once: a later update is submitted after this one.
    void unregister_file(int slot) {
        update_slot(slot, -1);
        free_slots_.push_back(slot);
    }

    // A message header for `s`'s SENDMSG, valid until the SQE is submitted:
    // the kernel copies it then (IORING_FEAT_SUBMIT_STABLE), so one per SQE
    // slot serves, and no connection carries its own.
    ::msghdr* message_for(const io_uring_sqe* s) noexcept { return &msgs_[static_cast<std::size_t>(s - sqes_)]; }

    // Cancels every operation on `fd`, now (before the descriptor is closed:
    // an operation in the ring holds the socket, so closing the descriptor
    // alone would not end a pending receive). Each ends with -ECANCELED.
    void cancel_fd(int fd) {
        io_uring_sqe* s = next_sqe();
        s->opcode = IORING_OP_ASYNC_CANCEL;
        s->fd = fd;
        s->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
        s->user_data = quiet_tag;
        enter(0, 0);
    }

    // Runs Asio's handlers and the ring's completions until neither has
    // work left (as io_context::run). Exceptions from handlers propagate,
    // as from run(); call again to go on.
    void run() {
        for (;;) {
            if (ioc_.stopped() && in_flight_ > 0) ioc_.restart();
            // Every turn: Asio's handlers may have been posted from here
            // (outside a handler Asio does not wake its reactor for them),
            // and its reactor may have events. One epoll_wait(0) per turn,
            // shared by every completion of the turn.
            ioc_.poll();
            if (ioc_.stopped() && in_flight_ == 0) return;
            arm_asio();
            wait();
            reap();
        }
    }

    // Takes a connected socket out of Asio's epoll set: its reads and
    // writes go through the ring from now on, and every response would
    // otherwise also wake Asio's reactor for nothing. (Asio's own removal
    // when the socket closes then finds it gone, which it ignores.)
    void forget(int fd) noexcept { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

    // When the kernel took an operation: a send that completed at once
    // completed inside the io_uring_enter that submitted it, though its
    // completion is seen only after the loop's wait. `seq` is
    // submit_seq() + 1 read when the operation was prepared (the enter that
    // submits it); returns that enter's start, or now if it went later.
    std::uint64_t submit_seq() const noexcept { return submit_seq_; }
    std::int64_t submitted_at(std::uint64_t seq) const noexcept {
        return seq == submit_seq_ ? submit_ns_ : now_ns();
    }

    // When the completions being handled now were there to see: the end
    // of the io_uring_enter that produced them (the kernel finishes a whole
    // turn's receives in it). A response's first byte is timed by it, not
    // by when the loop got to its completion: the 20th completion of a
    // turn would otherwise wait for the first 19 VUs' work, and the clock
    // is read once per turn, not once per response.
    std::int64_t reaped_at() const noexcept { return reaped_ns_; }

  private:
    // user_data of completions that need nothing (cancellations, file-table
    // updates) and of the poll on Asio's epoll: never an operation's address
    static constexpr std::uint64_t quiet_tag = 1, asio_tag = 2;
    static constexpr std::uintptr_t background_bit = 1;             // (operations are aligned: bit 0 is free)

    void update_slot(int slot, int fd) {
        io_uring_sqe* s = next_sqe();
        s->opcode = IORING_OP_FILES_UPDATE;
        s->fd = -1;
        s->off = static_cast<std::uint64_t>(slot);
        s->len = 1;
        int* from = &slot_fds_[static_cast<std::size_t>(s - sqes_)];  // (read when the SQE is submitted)
        *from = fd;
        s->addr = reinterpret_cast<std::uintptr_t>(from);
        s->user_data = quiet_tag;
    }

    // The registered-file table: as many slots as the process may have
    // descriptors (the kernel's own bound), at most 64 Ki. Without it (an
    // older kernel): no slots.
    void setup_files() {
        ::rlimit lim{};
        if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
        auto n = static_cast<unsigned>(std::min<::rlim_t>(lim.rlim_cur, 65536));
        io_uring_rsrc_register reg{};
        reg.nr = n;
        reg.flags = IORING_RSRC_REGISTER_SPARSE;
        if (n == 0 || ::syscall(__NR_io_uring_register, fd_, IORING_REGISTER_FILES2, &reg, sizeof reg) != 0) return;
        free_slots_.resize(n);
        for (unsigned i = 0; i < n; ++i) free_slots_[i] = static_cast<int>(n - 1 - i);  // (slot 0 first)
    }

    explicit uring(boost::asio::io_context& ioc) : ioc_(ioc) {}

    io_uring_sqe* next_sqe() {
        if (sq_tail_ - __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE) >= sq_entries_) enter(0, 0);
        // The kernel has copied an SQE once it is submitted, so each batch
        // reuses the first slots (warm in the cache) rather than walking the
        // whole array: the SQ ring's index array says which slot is next.
        // (Slots not yet submitted are the cursor's last `pending`, mod the
        // size: never handed out again before they go.)
        unsigned slot = sqe_cursor_++ & sq_mask_;
        sq_array_[sq_tail_ & sq_mask_] = slot;
        io_uring_sqe* s = &sqes_[slot];
        std::memset(s, 0, sizeof *s);
        ++sq_tail_;
        return s;
    }

    bool setup(unsigned entries) {
        epoll_fd_ = asio_epoll_fd(ioc_);
        if (epoll_fd_ < 0) return false;
        io_uring_params p{};
        // DEFER_TASKRUN: the kernel finishes completed operations only when
        // this thread waits for them, in one batch, never interrupting it.
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                  IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = entries * 8;  // many receives complete per turn at thousands of VUs
        fd_ = static_cast<int>(::syscall(__NR_io_uring_setup, entries, &p));
        if (fd_ < 0) return false;
        if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_SINGLE_MMAP) ||
            !(p.features & IORING_FEAT_SUBMIT_STABLE))
            return false;
        ring_bytes_ = std::max<std::size_t>(p.sq_off.array + p.sq_entries * sizeof(unsigned),
                                            p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe));
        void* r = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                         IORING_OFF_SQ_RING);
        if (r == MAP_FAILED) return false;
        ring_ = r;
        sqes_bytes_ = p.sq_entries * sizeof(io_uring_sqe);
        void* s = ::mmap(nullptr, sqes_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                         IORING_OFF_SQES);
        if (s == MAP_FAILED) return false;
        sqes_ = static_cast<io_uring_sqe*>(s);
        msgs_ = std::make_unique<::msghdr[]>(p.sq_entries);
        slot_fds_ = std::make_unique<int[]>(p.sq_entries);
        auto* base = static_cast<char*>(ring_);
        sq_khead_ = reinterpret_cast<unsigned*>(base + p.sq_off.head);
        sq_ktail_ = reinterpret_cast<unsigned*>(base + p.sq_off.tail);
        sq_mask_ = *reinterpret_cast<unsigned*>(base + p.sq_off.ring_mask);
        sq_entries_ = p.sq_entries;
        sq_array_ = reinterpret_cast<unsigned*>(base + p.sq_off.array);  // (written per SQE: next_sqe)
        sq_tail_ = submitted_ = *sq_ktail_;
        cq_khead_ = reinterpret_cast<unsigned*>(base + p.cq_off.head);
        cq_ktail_ = reinterpret_cast<unsigned*>(base + p.cq_off.tail);
        cq_mask_ = *reinterpret_cast<unsigned*>(base + p.cq_off.ring_mask);
        cqes_ = reinterpret_cast<io_uring_cqe*>(base + p.cq_off.cqes);
        setup_buffers();
        setup_files();
        register_ring();
        return true;
    }

    // The ring's own descriptor registered with this thread (kernel 5.18+):
    // each io_uring_enter then names it by index, and the kernel skips
    // looking the descriptor up and counting a reference to its file, which
    // costs an atomic on a shared line per enter in a threaded process.
    // Refused (an old kernel, 16 rings already on this thread): the plain fd.
    void register_ring() {
        enter_fd_ = fd_;
        io_uring_rsrc_update up{};
        up.offset = ~0u;  // (any free index)
        up.data = static_cast<std::uint64_t>(fd_);
        if (::syscall(__NR_io_uring_register, fd_, IORING_REGISTER_RING_FDS, &up, 1) != 1) return;
        enter_fd_ = static_cast<int>(up.offset);
        enter_flags_ = IORING_ENTER_REGISTERED_RING;
    }

    // The buffer ring's entries, then the buffers, in one mapping (pages are
    // touched only as buffers are first used). Without it: no buffers.
    std::size_t buffers_bytes() const noexcept {
        return buffer_count * sizeof(io_uring_buf) + std::size_t{buffer_count} * buffer_stride;
    }
    void setup_buffers() {
        void* m = ::mmap(nullptr, buffers_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return;
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uintptr_t>(m);
        reg.ring_entries = buffer_count;
        reg.bgid = buffer_group;
        if (::syscall(__NR_io_uring_register, fd_, IORING_REGISTER_PBUF_RING, &reg, 1) != 0) {
            ::munmap(m, buffers_bytes());
            return;
        }
        bufs_ = m;
        buffer_base_ = static_cast<char*>(m) + buffer_count * sizeof(io_uring_buf);
        for (unsigned i = buffer_count; i-- > 0;) give_back(i);  // (buffer 0 on top)
        top_up();
    }

    // Posts free buffers until the ring holds ring_goal_ (the kernel's
    // taking is counted from the completions that name a buffer); the tail
    // is published once.
    void top_up() noexcept {
        if (!bufs_) return;
        std::uint16_t tail = buf_tail_;
        // (more taken than posted: a completion counted after an empty
        // ring's resync below; the ring is empty then)
        if (static_cast<std::uint16_t>(tail - bufs_taken_) > buffer_count) bufs_taken_ = tail;
        while (static_cast<std::uint16_t>(tail - bufs_taken_) < ring_goal_ && free_count_ > 0) {
            unsigned id = free_bufs_[--free_count_];
            auto* b = reinterpret_cast<io_uring_buf*>(bufs_) + (tail & (buffer_count - 1));
            b->addr = reinterpret_cast<std::uintptr_t>(buffer(id));
            b->len = buffer_size;
            b->bid = static_cast<std::uint16_t>(id);
            ++tail;
        }
        if (tail == buf_tail_) return;
        buf_tail_ = tail;
        // the ring's tail overlays the first entry's last 16 bits (io_uring_buf_ring)
        __atomic_store_n(reinterpret_cast<std::uint16_t*>(static_cast<char*>(bufs_) + 14), buf_tail_,
                         __ATOMIC_RELEASE);
    }

    // Submits what is queued (with GETEVENTS, also waits for `wait`
    // completions; `arg`: io_uring_getevents_arg with EXT_ARG).
    void enter(unsigned wait, unsigned flags, const io_uring_getevents_arg* arg = nullptr) {
        unsigned pending = sq_tail_ - submitted_;
        if (pending == 0 && !flags) return;
        top_up();
        note_submit(pending);
        __atomic_store_n(sq_ktail_, sq_tail_, __ATOMIC_RELEASE);
        long r = ::syscall(__NR_io_uring_enter, enter_fd_, pending, wait, flags | enter_flags_, arg,
                           arg ? sizeof *arg : 0);
        reaped_ns_ = now_ns();  // (a submission too may complete operations: a receive whose bytes were there)
        // SUBMIT_ALL: the kernel takes every queued SQE (a bad one fails in
        // its own CQE) unless it refuses as a whole (EBUSY: completions must
        // be reaped first; EINTR: a signal); what it did not take is
        // submitted by the next enter
        if (r > 0) submitted_ += static_cast<unsigned>(r);
        if (submitted_ == sq_tail_) sqe_cursor_ = 0;  // next_sqe() starts again from the first (warm) slot
    }

    // Submits what is queued and sleeps until something completes, or at
    // most max_sleep: work another thread posts to Asio does not wake
    // Asio's epoll (it believes nobody sleeps in it), so such work waits at
    // most that long (the run's sweeper, every 10 ms, wakes the loop too).
    static constexpr long max_sleep_ns = 2'000'000;
    void wait() {
        __kernel_timespec ts{0, max_sleep_ns};
        io_uring_getevents_arg arg{};
        arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
        enter(1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg);
    }

    void note_submit(unsigned pending) noexcept {
        if (pending == 0) return;
        ++submit_seq_;
        submit_ns_ = now_ns();
    }

    // Asio's epoll descriptor, polled once (re-armed each turn after poll()).
    void arm_asio() {
        if (asio_armed_) return;
        asio_armed_ = true;
        io_uring_sqe* s = next_sqe();
        s->opcode = IORING_OP_POLL_ADD;
        s->fd = epoll_fd_;
        s->poll32_events = POLLIN;
        s->user_data = asio_tag;
    }

    void reap() {
        for (;;) {
            unsigned head = *cq_khead_;
            if (head == __atomic_load_n(cq_ktail_, __ATOMIC_ACQUIRE)) return;
            io_uring_cqe c = cqes_[head & cq_mask_];
            __atomic_store_n(cq_khead_, head + 1, __ATOMIC_RELEASE);
            if (c.user_data == quiet_tag) continue;
            if (c.user_data == asio_tag) {  // the next turn's poll() runs what is due
                asio_armed_ = false;
                continue;
            }
            if (c.flags & IORING_CQE_F_BUFFER) ++bufs_taken_;
            if (c.res == -ENOBUFS) {  // the ring was empty: every posted buffer was taken; more next time
                bufs_taken_ = buf_tail_;
                ring_goal_ = static_cast<std::uint16_t>(std::min<unsigned>(buffer_count, ring_goal_ * 2u));
            }
            auto ud = static_cast<std::uintptr_t>(c.user_data);
            if (!(ud & background_bit) && !(c.flags & IORING_CQE_F_MORE) && --in_flight_ == 0) work_.reset();
            auto* op = reinterpret_cast<uring_op*>(ud & ~background_bit);
            op->done(op, c.res, c.flags);
        }
    }

    boost::asio::io_context& ioc_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    int fd_ = -1, epoll_fd_ = -1;
    int enter_fd_ = -1;          // what io_uring_enter names: fd_, or its registered index (register_ring)
    unsigned enter_flags_ = 0;   // IORING_ENTER_REGISTERED_RING when registered
    void* ring_ = nullptr;
    std::size_t ring_bytes_ = 0, sqes_bytes_ = 0;
    io_uring_sqe* sqes_ = nullptr;
    std::unique_ptr<::msghdr[]> msgs_;  // message_for()
    std::unique_ptr<int[]> slot_fds_;   // an update_slot()'s descriptor, per SQE slot
    std::vector<int> free_slots_;       // of the registered-file table
    io_uring_cqe* cqes_ = nullptr;
    unsigned *sq_khead_ = nullptr, *sq_ktail_ = nullptr, *cq_khead_ = nullptr, *cq_ktail_ = nullptr;
    unsigned sq_mask_ = 0, cq_mask_ = 0, sq_entries_ = 0;
    unsigned* sq_array_ = nullptr;
    unsigned sq_tail_ = 0, submitted_ = 0, sqe_cursor_ = 0;
    std::size_t in_flight_ = 0;
    std::uint64_t submit_seq_ = 0;
    std::int64_t submit_ns_ = 0, reaped_ns_ = 0;
    bool asio_armed_ = false;
    void* bufs_ = nullptr;  // the provided buffer ring (null: none)
    char* buffer_base_ = nullptr;
    std::uint16_t chunk_next_[buffer_count];  // chunk_next()
    std::uint32_t chunk_len_[buffer_count];
    std::uint16_t free_bufs_[buffer_count];  // give_back(), top_up()
    unsigned free_count_ = 0;
    std::uint16_t buf_tail_ = 0, bufs_taken_ = 0;  // posted to / taken from the buffer ring, mod 2^16
    std::uint16_t ring_goal_ = 32;                 // top_up(); doubled by an empty ring, at most buffer_count
};

// Which event mechanism the run's hot path uses. Decided once per process:
// LOADKIT_IO=epoll forces epoll; otherwise io_uring where the kernel gives
// a ring with what loadkit needs, else epoll.
enum class io_mode { epoll, io_uring };

inline io_mode io_backend() {
    static const io_mode m = [] {
        const char* v = std::getenv("LOADKIT_IO");
        if (v && std::string_view(v) == "epoll") return io_mode::epoll;
        boost::asio::io_context probe{1};
        return uring::open(probe, 8) ? io_mode::io_uring : io_mode::epoll;
    }();
    return m;
}

inline std::string_view io_backend_name() { return io_backend() == io_mode::io_uring ? "io_uring" : "epoll"; }

}  // namespace loadkit::inline LOADKIT_ABI::detail

namespace loadkit::inline LOADKIT_ABI {

// The event mechanism the engine's threads send and receive with:
// "io_uring" where the kernel gives one, else (or with LOADKIT_IO=epoll) "epoll".
inline std::string_view io_mechanism() { return detail::io_backend_name(); }

}  // namespace loadkit::inline LOADKIT_ABI
