#pragma once
// File descriptors: a connected VU holds one, and the soft limit is often
// 1024. The limit is raised to the hard limit when a run starts (Go's
// runtime does the same at start, so k6's runs have it too), and a limit
// that still binds is said once, before any load. Running out shows in a
// run only as failed connects (error 1210), one per request: the cause is
// said once, on stderr, with the limit and how to raise it. Called only
// when a connect has failed (never on a request's normal path); the
// once-flag keeps it one exchange.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>

#include <dirent.h>
#include <sys/resource.h>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

// Raises this process's soft RLIMIT_NOFILE to its hard limit (needs no
// privilege); returns the soft limit now (UINT64_MAX: unlimited). The
// runner calls it at start, the engine when a run starts.
inline std::uint64_t raise_fd_limit() noexcept {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return UINT64_MAX;
    if (r.rlim_cur != RLIM_INFINITY && (r.rlim_max == RLIM_INFINITY || r.rlim_cur < r.rlim_max)) {
        rlimit n = r;
        n.rlim_cur = r.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &n) == 0) r = n;
    }
    return r.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(r.rlim_cur);
}

}  // namespace loadkit::inline LOADKIT_ABI

namespace loadkit::inline LOADKIT_ABI::detail {

// Descriptors open now (/proc/self/fd's entries; 0 when it cannot be read).
inline std::uint64_t open_descriptors() noexcept {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return 0;
    std::uint64_t n = 0;
    while (auto* e = ::readdir(d))
        if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n > 0 ? n - 1 : 0;  // not the directory's own
}

// At a run's start: when `vus` VUs with `per_vu` connections each (and the
// descriptors open now) do not fit under `limit`, says so on stderr, once
// per run, before any load. Returns whether it binds.
inline bool warn_if_fd_limit_binds(std::uint64_t limit, std::uint64_t vus, std::uint64_t per_vu = 1) noexcept {
    if (limit == UINT64_MAX || vus == 0) return false;
    std::uint64_t open = open_descriptors();
    std::uint64_t need = vus * per_vu + open;
    if (need <= limit) return false;
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    char hard[32] = "unlimited";
    if (r.rlim_max != RLIM_INFINITY)
        std::snprintf(hard, sizeof hard, "%llu", static_cast<unsigned long long>(r.rlim_max));
    std::fprintf(stderr,
                 "loadkit: up to %llu VUs need about %llu file descriptors (%llu connection%s each, %llu open now), "
                 "but this process may open %llu (ulimit -n; hard limit %s): connects past it fail (error 1210); "
                 "raise the hard limit (ulimit -Hn, systemd's LimitNOFILE) or use fewer VUs\n",
                 static_cast<unsigned long long>(vus), static_cast<unsigned long long>(need),
                 static_cast<unsigned long long>(per_vu), per_vu == 1 ? "" : "s",
                 static_cast<unsigned long long>(open), static_cast<unsigned long long>(limit),
                 hard);
    return true;
}

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
