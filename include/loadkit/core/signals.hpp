#pragma once
// SIGINT and SIGTERM during a run. The handler only counts (an atomic add is
// all a signal handler may safely do); every thread's sweeper polls the count
// every few milliseconds and turns it into an abort: the first signal stops
// the run gracefully, a second one cuts everything still running at once.
#include <atomic>
#include <csignal>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

struct signal_counter {
    static inline std::atomic<int> count{0};
    static inline std::atomic<int> last{0};
    static_assert(std::atomic<int>::is_always_lock_free);

    static void handler(int sig) {
        last.store(sig, std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
    }
};

}  // namespace loadkit::inline LOADKIT_ABI::detail

namespace loadkit::inline LOADKIT_ABI {

// Installs the counting handler for SIGINT and SIGTERM for its lifetime and
// puts the previous handlers back afterwards (nesting runs is harmless).
class signal_scope {
  public:
    explicit signal_scope(bool enable) : enabled_(enable) {
        if (!enabled_) return;
        struct sigaction sa {};
        sa.sa_handler = &detail::signal_counter::handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~signal_scope() {
        if (!enabled_) return;
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    signal_scope(const signal_scope&) = delete;
    signal_scope& operator=(const signal_scope&) = delete;

  private:
    bool enabled_;
    struct sigaction old_int_ {
    }, old_term_{};
};

// How many SIGINTs and SIGTERMs have come while a signal_scope was installed
// (in this process, ever): a change means someone asked to stop.
inline int signals_received() noexcept { return detail::signal_counter::count.load(); }

}  // namespace loadkit::inline LOADKIT_ABI
