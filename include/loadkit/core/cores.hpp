#pragma once
// How many worker threads a run gets by default: one per core it may use.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#ifdef __linux__
#include <sched.h>

#include "config.hpp"
#endif

namespace loadkit::inline LOADKIT_ABI::detail {

// The cores this process may use: its CPU affinity and its cgroup's CPU quota
// (a container's limit), not the machine's count.
inline int available_cores() {
    int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef __linux__
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) n = std::max(1, CPU_COUNT(&set));
    // cgroup v2: "QUOTA PERIOD" or "max PERIOD" (stdio: <fstream> would cost
    // every TU of <loadkit.hpp> its parse for one read)
    if (std::FILE* quota = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {
        char q[64] = {};
        double period = 0;
        if (std::fscanf(quota, "%63s %lf", q, &period) == 2 && std::string_view(q) != "max" && period > 0) {
            double cores = std::ceil(std::strtod(q, nullptr) / period);
            if (cores >= 1) n = std::min(n, static_cast<int>(cores));
        }
        std::fclose(quota);
    }
#endif
    return n;
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
