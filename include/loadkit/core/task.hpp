#pragma once
// task<T>: the coroutine type VU code is written in.
//
// Why not asio::awaitable: a task must be able to return references (a VU's
// response lives in the VU and is handed out by reference, so a request never
// copies it), and every frame comes from a per-thread recycling allocator so a
// steady-state iteration allocates nothing.
//
// Tasks are lazy. Awaiting one runs it inline; if it finishes without
// suspending, the awaiter does not suspend either, and if it suspends (I/O),
// its completion later resumes the awaiter. This keeps the stack flat without
// relying on symmetric transfer's tail calls, which AddressSanitizer and -O0
// builds do not make: a VU whose iterations never wait would otherwise grow
// the stack by two frames per iteration until it overflowed.
#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <functional>
#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {
namespace detail {

// Size-classed free lists, one set per thread. Frames freed on another thread
// simply join that thread's lists; the memory is never returned while the
// thread lives, which is the point: the steady state never calls malloc.
class frame_pool {
  public:
    // 16-byte classes: a class holds its peak number of frames for the
    // thread's life, and a run's start has every VU's frames in flight at
    // once, so rounding is paid per VU (64-byte classes cost ~100 B a VU).
    // Every caller gives the size back when it frees (coroutine frames get
    // a sized operator delete, allocators know theirs): no header per block.
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 256;  // blocks up to 4 KiB are pooled

    static void* allocate(std::size_t n) {
        std::size_t c = size_class(n);
        if (c >= classes) return checked(std::malloc(n));
        node*& head = heads[c];
        if (head) {
            node* p = head;
            head = p->next;
            return p;
        }
        if (state == fresh) [[unlikely]] own();
        return checked(std::malloc(c * granule));
    }
    static void deallocate(void* p, std::size_t n) noexcept {
        std::size_t c = size_class(n);
        if (c >= classes) return std::free(p);
        if (state != owned) [[unlikely]] {
            if (state == exiting) return std::free(p);  // (another thread_local's destructor, after the pool's)
            own();  // a thread may free frames it never allocated: they stay its
        }
        auto* b = static_cast<node*>(p);
        b->next = heads[c];
        heads[c] = b;
    }

  private:
    struct node {
        node* next;
    };
    static std::size_t size_class(std::size_t n) noexcept { return (std::max<std::size_t>(n, 1) + granule - 1) / granule; }
    static void* checked(void* raw) {
        if (!raw) throw std::bad_alloc();
        return raw;
    }
    // The lists are a plain thread_local array (constant-initialized, no
    // destructor): reaching them is one thread-pointer offset, where a
    // thread_local with a destructor goes through an init-guard call on every
    // frame's allocation and release (about 4 per request: 63 instructions, measured). The
    // blocks go back to malloc at thread exit through `owner`, a thread_local
    // with a destructor that a thread touches once: the first time it takes
    // a block from malloc or keeps one in its lists (`state` says whether it has).
    enum : unsigned char { fresh, owned, exiting };
    static inline thread_local constinit node* heads[classes] = {};
    static inline thread_local constinit unsigned char state = fresh;
    struct owner_t {
        bool touched;  // (zero-initialized, as every thread_local)
        ~owner_t() {
            state = exiting;
            for (auto*& h : heads)
                while (h) std::free(std::exchange(h, h->next));
        }
    };
    static inline thread_local owner_t owner;
    static void own() noexcept {
        owner.touched = true;  // (the first use registers its destructor)
        state = owned;
    }
};

// The same pool as a standard allocator: Asio allocates each operation's state
// through its handler's associated allocator, and its own per-thread cache
// keeps only two blocks, which a VU's socket op, its lane's timer and the
// sweeper's timer already exceed (measured: 96 mallocs per 1,000 open-model
// iterations before this, 0 after).
template <class T>
struct pool_allocator {
    using value_type = T;
    pool_allocator() noexcept = default;
    template <class U>
    pool_allocator(const pool_allocator<U>&) noexcept {}  // NOLINT: rebinding
    T* allocate(std::size_t n) { return static_cast<T*>(frame_pool::allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { frame_pool::deallocate(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const pool_allocator<U>&) const noexcept {
        return true;
    }
};

struct pooled_frame {
    static void* operator new(std::size_t n) { return frame_pool::allocate(n); }
    static void operator delete(void* p, std::size_t n) noexcept { frame_pool::deallocate(p, n); }
};

struct promise_base : pooled_frame {
    std::coroutine_handle<> continuation = std::noop_coroutine();
    std::exception_ptr error;
    // inline: being run from its awaiter's await_suspend; finished_inline: it
    // completed there; detached: it suspended and its awaiter suspended too.
    enum class run_state : unsigned char { idle, running_inline, finished_inline, detached } state = run_state::idle;

    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            auto& p = h.promise();
            if (p.state == run_state::running_inline) {
                p.state = run_state::finished_inline;  // the awaiter will just carry on
                return std::noop_coroutine();
            }
            return p.continuation;
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] task;

namespace detail {
template <class T>
struct task_promise : promise_base {
    using stored = std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>;
    alignas(stored) unsigned char storage[sizeof(stored)];
    bool has_value = false;

    task<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& v) {
        if constexpr (std::is_reference_v<T>) new (storage) stored(std::addressof(v));
        else new (storage) stored(std::forward<U>(v));
        has_value = true;
    }
    T take() {
        if (error) std::rethrow_exception(error);
        auto* s = std::launder(reinterpret_cast<stored*>(storage));
        if constexpr (std::is_reference_v<T>) return static_cast<T>(**s);
        else return std::move(*s);
    }
    ~task_promise() {
        if (has_value) std::launder(reinterpret_cast<stored*>(storage))->~stored();
    }
};
template <>
struct task_promise<void> : promise_base {
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() {
        if (error) std::rethrow_exception(error);
    }
};
}  // namespace detail

template <class T>
class [[nodiscard]] task {
  public:
    using promise_type = detail::task_promise<T>;
    using handle = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    explicit task(handle h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    ~task() { destroy(); }

    bool valid() const noexcept { return static_cast<bool>(h_); }

    auto operator co_await() && noexcept {
        struct awaiter {
            handle h;
            bool await_ready() noexcept { return !h || h.done(); }
            bool await_suspend(std::coroutine_handle<> c) noexcept {
                auto& p = h.promise();
                p.continuation = c;
                p.state = detail::promise_base::run_state::running_inline;
                h.resume();
                if (p.state == detail::promise_base::run_state::finished_inline) return false;  // done: no suspension
                p.state = detail::promise_base::run_state::detached;
                return true;
            }
            T await_resume() { return h.promise().take(); }
        };
        return awaiter{h_};
    }
    auto operator co_await() & noexcept { return std::move(*this).operator co_await(); }

    handle release() noexcept { return std::exchange(h_, {}); }

  private:
    void destroy() noexcept {
        if (h_) h_.destroy();
    }
    handle h_{};
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

// A fire-and-forget root coroutine: starts at once, frees itself when done.
// The engine starts every VU, setup and teardown through one of these.
struct detached {
    struct promise_type : pooled_frame {
        detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// Runs t to completion, then calls done(std::exception_ptr) (null on success).
template <class Done>
detached spawn(task<> t, Done done) {
    std::exception_ptr err;
    try {
        co_await std::move(t);
    } catch (...) {
        err = std::current_exception();
    }
    done(err);
}

// A non-owning, non-allocating reference to a callable, used where an API
// takes a predicate (checks) and a std::function would allocate.
template <class Sig>
class function_ref;
template <class R, class... A>
class function_ref<R(A...)> {
  public:
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, function_ref> && std::is_invocable_r_v<R, F&, A...>)
        function_ref(F&& f)
    noexcept  // NOLINT: implicit by design
        : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))), call_([](void* o, A... a) -> R {
              return std::invoke(*static_cast<std::remove_reference_t<F>*>(o), std::forward<A>(a)...);
          }) {}
    R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

  private:
    void* obj_;
    R (*call_)(void*, A...);
};

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
