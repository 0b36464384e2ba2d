#pragma once
// Awaiting Asio operations from a loadkit::task without asio::awaitable: the
// completion handler stores the result in the awaiter (which lives in the
// suspended coroutine's frame) and resumes the coroutine directly. Handlers
// are two pointers, and the operation's state comes from the per-thread
// frame pool (pool_allocator), so no operation calls malloc.
#include <coroutine>
#include <cstddef>
#include <utility>

#include <boost/asio/bind_allocator.hpp>
#include <boost/system/error_code.hpp>

#include "config.hpp"
#include "task.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

using sys_error = boost::system::error_code;

// An Asio completion handler that stores the result in `out->ec` and
// `out->n` (an awaiter in the suspended coroutine's frame) and resumes `h`.
template <class Out>
struct resume_handler {
    Out* out;
    std::coroutine_handle<> h;
    using allocator_type = pool_allocator<void>;
    allocator_type get_allocator() const noexcept { return {}; }
    void operator()(const sys_error& e, std::size_t k = 0) const {
        out->ec = e;
        out->n = k;
        h.resume();
    }
};

// Awaits an Asio operation whose handler is (error_code) or (error_code, n).
template <class Init>
struct io_awaiter {
    Init init;
    sys_error ec{};
    std::size_t n = 0;

    using handler = resume_handler<io_awaiter>;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { init(handler{this, h}); }
    std::pair<sys_error, std::size_t> await_resume() const noexcept { return {ec, n}; }
};
template <class Init>
io_awaiter<Init> io(Init i) {
    return io_awaiter<Init>{std::move(i)};
}

// A completion handler whose operation state comes from the per-thread pool.
template <class F>
auto pooled(F f) {
    return boost::asio::bind_allocator(pool_allocator<void>{}, std::move(f));
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
