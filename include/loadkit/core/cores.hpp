#pragma once
// How many worker threads a run gets by default: one per core it may use.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#ifdef __linux__
#include <sched.h>
#endif

namespace loadkit::detail {

// The cores this process may use: its CPU affinity and its cgroup's CPU quota
// (a container's limit), not the machine's count.
inline int available_cores() {
    int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef __linux__
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) n = std::max(1, CPU_COUNT(&set));
    std::ifstream quota("/sys/fs/cgroup/cpu.max");  // cgroup v2: "QUOTA PERIOD" or "max PERIOD"
    std::string q;
    double period = 0;
    if (quota >> q >> period && q != "max" && period > 0) {
        double cores = std::ceil(std::strtod(q.c_str(), nullptr) / period);
        if (cores >= 1) n = std::min(n, static_cast<int>(cores));
    }
#endif
    return n;
}

}  // namespace loadkit::detail
