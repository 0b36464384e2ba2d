#pragma once
// How much memory this process may still take, and roughly what a VU costs,
// so that a VU count that cannot fit is refused before any VU is allocated
// (a run that dies of std::bad_alloc halfway through its allocations tells
// nothing and leaves a core dump). An estimate on purpose: it only has to
// catch counts that are off by orders of magnitude, never a run that fits.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <sys/resource.h>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

// Bytes a VU takes at least, rounded up from measurements (the runner's peak
// RSS with 20,000 YAML VUs less that with 1: 6.4 KB each; with 5,000 async
// JavaScript VUs of a small script: 11.4 KB each). A VU's context and
// coroutine frame; a JavaScript VU adds its objects in the realm. A lower
// bound on purpose: what it refuses can never fit.
inline std::uint64_t vu_memory_estimate(bool js) { return js ? std::uint64_t{16} << 10 : std::uint64_t{8} << 10; }

struct memory_budget {
    std::uint64_t bytes = 0;  // 0: unknown (nothing is refused then)
    std::string source;       // which limit it is: "RLIMIT_AS (ulimit -v)", "cgroup memory.max", "MemAvailable"
};

// "12 KiB", "3.5 GiB"
inline std::string memory_text(double bytes) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) {
        bytes /= 1024;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 || bytes >= 100 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

namespace detail::memory_impl {
// A "Key:   123 kB" line of a /proc file, in bytes; 0 when absent.
inline std::uint64_t proc_kb(const char* file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':')
            return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10) * 1024;
    return 0;
}
inline std::uint64_t file_number(const std::string& path, bool& unlimited) {
    std::ifstream in(path);
    std::string s;
    unlimited = false;
    if (!(in >> s)) return 0;
    if (s == "max") {
        unlimited = true;
        return 0;
    }
    return std::strtoull(s.c_str(), nullptr, 10);
}
}  // namespace detail::memory_impl

// The least of: what RLIMIT_AS leaves of the address space, what the cgroup
// (v2) memory.max leaves, and the system's MemAvailable.
inline memory_budget available_memory() {
    memory_budget b;
    auto take = [&](std::uint64_t bytes, const char* source) {
        if (bytes > 0 && (b.bytes == 0 || bytes < b.bytes)) {
            b.bytes = bytes;
            b.source = source;
        }
    };
    if (auto avail = detail::memory_impl::proc_kb("/proc/meminfo", "MemAvailable"))
        take(avail, "MemAvailable in /proc/meminfo");
    rlimit as{};
    if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
        auto used = detail::memory_impl::proc_kb("/proc/self/status", "VmSize");
        take(as.rlim_cur > used ? as.rlim_cur - used : 1, "the address-space limit, ulimit -v");
    }
    // cgroup v2: "0::/path" in /proc/self/cgroup
    std::ifstream cg("/proc/self/cgroup");
    std::string line;
    while (std::getline(cg, line)) {
        if (line.compare(0, 3, "0::") != 0) continue;
        auto dir = "/sys/fs/cgroup" + line.substr(3);
        bool unlimited = false, u2 = false;
        auto max = detail::memory_impl::file_number(dir + "/memory.max", unlimited);
        auto current = detail::memory_impl::file_number(dir + "/memory.current", u2);
        if (!unlimited && max > 0)
            take(max > current ? max - current : 1, "the container's memory limit, cgroup memory.max");
    }
    return b;
}

}  // namespace loadkit::inline LOADKIT_ABI
