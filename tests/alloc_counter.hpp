#pragma once
// Allocation counting, per thread: a replacement operator new that counts
// into allocations_on_this_thread, so a test reads only its own thread's
// allocations (Catch's, servers' and other threads' do not count). Not under
// AddressSanitizer, whose allocator must own every allocation: there
// LOADKIT_COUNT_ALLOCATIONS is 0 and the tests that read the counter are left
// out.
//
// A replacement operator new must be defined in exactly one TU of a binary:
// include this header from one TU per test binary only, and first in that TU
// (before any other include), so that the pragma below covers all the code
// the TU inlines.
//
// The replacement operator new/delete below pair malloc with free, which is
// correct; g++ 12 still warns when it inlines them into library code.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define LOADKIT_COUNT_ALLOCATIONS 0
#else
#define LOADKIT_COUNT_ALLOCATIONS 1
#endif
#if LOADKIT_COUNT_ALLOCATIONS
namespace {
thread_local std::uint64_t allocations_on_this_thread = 0;
}
void* operator new(std::size_t n) {
    ++allocations_on_this_thread;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
