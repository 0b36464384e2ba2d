#pragma once
// Running out of file descriptors shows in a run only as failed connects
// (error 1210), one per request: the cause is said once, on stderr, with
// the limit and how to raise it. Called only when a connect has failed
// (never on a request's normal path); the once-flag keeps it one exchange.
#include <atomic>
#include <cerrno>
#include <cstdio>

#include <sys/resource.h>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// True for EMFILE/ENFILE ("Too many open files" in this process / the system).
inline bool is_out_of_descriptors(int err) noexcept { return err == EMFILE || err == ENFILE; }

inline void warn_out_of_descriptors(int err) noexcept {
    static std::atomic<bool> said{false};
    if (said.load(std::memory_order_relaxed) || said.exchange(true)) return;
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    if (err == ENFILE)
        std::fputs(
            "loadkit: too many open files in the system (ENFILE): connects fail; raise fs.file-max or use fewer VUs\n",
            stderr);
    else if (r.rlim_cur == RLIM_INFINITY)
        std::fputs("loadkit: too many open files: connects fail; raise ulimit -n or use fewer VUs\n", stderr);
    else
        std::fprintf(stderr,
                     "loadkit: too many open files: connects fail; raise ulimit -n (now %llu) or use fewer VUs\n",
                     static_cast<unsigned long long>(r.rlim_cur));
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
