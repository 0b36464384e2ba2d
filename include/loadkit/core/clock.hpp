// loadkit: header-only C++20 load testing. https://example.invalid/loadkit (MIT)
#pragma once

// The clock every timing, deadline and histogram inside loadkit reads:
// nanoseconds on the steady clock's scale (so a deadline from now_ns() is a
// steady_timer's time_point as it is).
//
// Why not simply steady_clock::now(): a request reads the clock about three
// times (its start, its answer, its iteration's end), and through the vDSO
// each read is a sequence lock, a serialised TSC read (lfence + rdtsc, which
// waits for every load in flight, cache misses included) and a conversion:
// ~24 ns measured in a run, about 2% of a request's whole CPU. Where the
// kernel itself keeps time with the TSC (invariant, synchronised across
// CPUs), the same counter is read here directly, unserialised, and
// converted with a rate measured against the steady clock; each thread
// re-anchors to the steady clock once per millisecond, so the two never
// drift apart by more than one millisecond's rate error (tens of
// nanoseconds, shrinking as the measured interval grows; were the kernel
// to stop trusting the TSC during a run, the re-anchoring still bounds the
// difference by a millisecond's worth). Per thread, the values never go
// backwards. Anywhere else (another architecture, a kernel
// on another clock source, LOADKIT_CLOCK=steady) every read is
// steady_clock::now().

#include "config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <fcntl.h>
#include <unistd.h>
#define LOADKIT_TSC_CLOCK 1
#endif

namespace loadkit::inline LOADKIT_ABI::detail {

inline std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<nanoseconds>(clock::now().time_since_epoch()).count();
}

inline std::int64_t wall_ms() noexcept {
    return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

#if defined(LOADKIT_TSC_CLOCK)

// A thread's conversion: ticks since base_tsc, times ns_per_tick (32.32
// fixed point), plus base_ns; valid for `span` ticks, then anchored again.
// Zero-initialised (no thread_local guard): span 0 sends the first read to
// clock_anchor().
struct tsc_conversion {
    std::uint64_t base_tsc, span, ns_per_tick;
    std::int64_t base_ns;
};
inline thread_local constinit tsc_conversion tsc_now{};

// The process's first anchor: the rate is measured from it, so the longer
// the run the finer the rate. Written once, by use_tsc().
struct tsc_origin {
    std::uint64_t tsc = 0;
    std::int64_t ns = 0;
};
inline tsc_origin clock_origin;

// A steady-clock reading and the TSC at the same moment (the middle of the
// two TSC reads around it; of three tries, the tightest: a thread
// preempted between the reads would blur the pair).
inline void tsc_pair(std::uint64_t& tsc, std::int64_t& ns) noexcept {
    std::uint64_t best = ~std::uint64_t{0};
    tsc = 0, ns = 0;
    for (int i = 0; i < 3; ++i) {
        std::uint64_t a = __builtin_ia32_rdtsc();
        std::int64_t n = steady_ns();
        std::uint64_t b = __builtin_ia32_rdtsc();
        if (b - a < best) best = b - a, tsc = a + (b - a) / 2, ns = n;
    }
}

// Whether the kernel keeps time with the TSC: then the CPU says it is
// invariant, and the kernel found it synchronised across CPUs.
inline bool kernel_clock_is_tsc() noexcept {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(0x80000007u, &a, &b, &c, &d) || !(d & (1u << 8))) return false;  // invariant TSC
    int fd = ::open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[16];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    return n >= 3 && std::string_view(buf, static_cast<std::size_t>(n)).substr(0, 4) == "tsc\n";
}

// Whether now_ns() reads the TSC, decided once per process by whichever
// thread reads first (the static's guard also publishes clock_origin).
inline bool use_tsc() noexcept {
    static const bool tsc = [] {
        const char* v = std::getenv("LOADKIT_CLOCK");
        bool yes = !(v && std::string_view(v) == "steady") && kernel_clock_is_tsc();
        if (yes) tsc_pair(clock_origin.tsc, clock_origin.ns);
        return yes;
    }();
    return tsc;
}

// A thread's next conversion, anchored at (tsc, ns) at the measured rate
// (ns per tick, 32.32), replacing `c` (span 0: none) at a read whose TSC
// said `t`. It never says less than `c` returned (per thread, time does not
// go backwards): ahead of the steady clock, it goes on from where `c` got
// to, slower for the next millisecond by as much, so that the two meet at
// its end (an offset kept instead would add up over a run).
inline tsc_conversion reanchored(const tsc_conversion& c, std::uint64_t t, std::uint64_t tsc, std::int64_t ns,
                                 std::uint64_t rate) noexcept {
    // one millisecond of ticks (and never so many that ticks * ns_per_tick overflows)
    std::uint64_t span = static_cast<std::uint64_t>((static_cast<unsigned __int128>(1'000'000) << 32) / rate) + 1;
    span = std::min(span, (std::uint64_t{1} << 62) / rate);
    tsc_conversion next{tsc, span, rate, ns};
    if (c.span) {
        // the most `c` returned: a read's ticks were under its span (a TSC
        // behind base_tsc, read on another CPU, added none)
        const std::uint64_t d = static_cast<std::int64_t>(t - c.base_tsc) < 0 ? 0 : std::min(t - c.base_tsc, c.span);
        const auto said = c.base_ns + static_cast<std::int64_t>((d * c.ns_per_tick) >> 32);
        if (said > ns) {
            next.base_ns = said;
            auto slow = static_cast<std::uint64_t>((static_cast<unsigned __int128>(said - ns) << 32) / span);
            next.ns_per_tick = slow < rate / 2 ? rate - slow : rate / 2;
        }
    }
    return next;
}

// The slow path of now_ns(): the first read on a thread, and one read per
// millisecond after. Anchors the thread's conversion to the steady clock,
// with the rate measured from the process's first anchor (the longer the
// run, the finer).
[[gnu::noinline]] inline std::int64_t clock_anchor() noexcept {
    if (!use_tsc()) return steady_ns();
    const std::uint64_t t = __builtin_ia32_rdtsc();
    std::uint64_t tsc;
    std::int64_t ns;
    tsc_pair(tsc, ns);
    const std::int64_t since_ns = ns - clock_origin.ns;
    const std::uint64_t since_tsc = tsc - clock_origin.tsc;
    // for the first millisecond of the process the rate is not known well
    // enough: the steady clock is read as it is (the thread's span stays 0)
    if (since_ns < 1'000'000 || since_tsc == 0) return ns;
    const auto rate = static_cast<std::uint64_t>((static_cast<unsigned __int128>(since_ns) << 32) / since_tsc);
    if (rate == 0) return ns;
    tsc_now = reanchored(tsc_now, t, tsc, ns, rate);
    return tsc_now.base_ns;  // (every later read's TSC is past `tsc`: it says at least this)
}

// One clock read, as nanoseconds on the steady clock's scale. (A thread
// on the steady clock keeps span 0: it reads no TSC, only the steady clock
// through clock_anchor.)
inline std::int64_t now_ns() noexcept {
    const tsc_conversion& c = tsc_now;
    if (c.span) [[likely]] {
        const std::uint64_t d = __builtin_ia32_rdtsc() - c.base_tsc;
        if (d < c.span) [[likely]]
            return c.base_ns + static_cast<std::int64_t>((d * c.ns_per_tick) >> 32);
    }
    return clock_anchor();
}

#else

inline std::int64_t now_ns() noexcept { return steady_ns(); }
inline bool use_tsc() noexcept { return false; }

#endif

}  // namespace loadkit::inline LOADKIT_ABI::detail

namespace loadkit::inline LOADKIT_ABI {

// What loadkit's timings are read from: "tsc" (the CPU's time-stamp counter,
// kept to the steady clock; where the kernel itself keeps time with it) or
// "steady" (std::chrono::steady_clock; LOADKIT_CLOCK=steady forces it).
inline std::string_view clock_source() noexcept { return detail::use_tsc() ? "tsc" : "steady"; }

}  // namespace loadkit::inline LOADKIT_ABI
