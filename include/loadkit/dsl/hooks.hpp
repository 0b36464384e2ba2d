#pragma once
// Diagnostics for the C++ DSL's hooks. The DSL finds hooks by name at compile
// time, so a hook with the wrong signature (`void on_start(const Token&)`) or
// a misspelled name (`onStop`) would compile and never run. These checks
// turn both into one static_assert that shows the expected signature.
//
// What is caught: a member with a hook's exact name whose signature does not
// fit; and a member named like one of the near-misses listed below (case,
// camelCase, a missing or swapped letter, a plural). A member can be seen
// when `&T::name` is valid: a data member, or a function with one overload
// (two overloads of a misspelled name go unseen; a hook's own name is also
// checked by calling it). Near-misses that are ordinary words (start, stop,
// begin, iterate) are not listed: a VU may well have such members.
#include <concepts>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../engine/tasks.hpp"
#include "../http/client.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

template <class U, class D>
concept valid_vu_hook_on_start = requires(U& u, const D& d) {
    { u.on_start(d) } -> std::same_as<task<>>;
}
|| requires(U& u) {
    { u.on_start() } -> std::same_as<task<>>;
};
template <class U, class D>
concept valid_vu_hook_on_stop = requires(U& u, const D& d) {
    { u.on_stop(d) } -> std::same_as<task<>>;
}
|| requires(U& u) {
    { u.on_stop() } -> std::same_as<task<>>;
};
template <class U, class D>
concept valid_vu_hook_iteration = requires(U& u, const D& d) {
    { u.iteration(d) } -> std::same_as<task<>>;
}
|| requires(U& u) {
    { u.iteration() } -> std::same_as<task<>>;
};

// "member `X` is not a hook": a near-miss of a hook's name.
#define LOADKIT_NEAR_MISS(T, NAME, HOOK)                                                          \
    static_assert(                                                                                \
        !requires { &T::NAME; }, "loadkit: the member `" #NAME "` looks like a misspelled hook; " \
                                 "the hook is `" HOOK "` (rename it, or it never runs)")

// Checks a VU type's hooks (test::scenario instantiates it).
template <class U, class D>
constexpr bool check_vu_hooks() {
    if constexpr (requires { &U::on_start; })
        static_assert(valid_vu_hook_on_start<U, D>,
                      "loadkit: VU hook on_start has the wrong signature; expected "
                      "`loadkit::task<> on_start(const Data&)` or `loadkit::task<> on_start()` "
                      "(Data: what the scenario's setup() returns)");
    if constexpr (requires { &U::on_stop; })
        static_assert(valid_vu_hook_on_stop<U, D>,
                      "loadkit: VU hook on_stop has the wrong signature; expected "
                      "`loadkit::task<> on_stop(const Data&)` or `loadkit::task<> on_stop()`");
    if constexpr (requires { &U::iteration; })
        static_assert(valid_vu_hook_iteration<U, D>,
                      "loadkit: VU function iteration has the wrong signature; expected "
                      "`loadkit::task<> iteration(const Data&)` or `loadkit::task<> iteration()`");
    if constexpr (requires { &U::before_request; })
        static_assert(
            requires(U & u, request & q) { u.before_request(q); },
            "loadkit: VU hook before_request has the wrong signature; expected "
            "`void before_request(loadkit::request&)`");
    if constexpr (requires { &U::after_request; })
        static_assert(
            requires(U & u, const response& r) { u.after_request(r); },
            "loadkit: VU hook after_request has the wrong signature; expected "
            "`void after_request(const loadkit::response&)`");
    if constexpr (requires { &U::wait_time; })
        static_assert(
            requires { wait_time{U::wait_time}; },
            "loadkit: VU member wait_time must be a `static constexpr loadkit::wait_time` "
            "(loadkit::between(1s, 5s), loadkit::constant(2s), ...)");
    LOADKIT_NEAR_MISS(U, onStart, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, OnStart, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, on_Start, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, onstart, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, on_stat, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, on_strat, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, on_star, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, on_starts, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, on_started, "loadkit::task<> on_start(const Data&)");
    LOADKIT_NEAR_MISS(U, onStop, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, OnStop, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, on_Stop, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, onstop, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, on_stp, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, on_sotp, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, on_stops, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, on_stopped, "loadkit::task<> on_stop(const Data&)");
    LOADKIT_NEAR_MISS(U, Iteration, "loadkit::task<> iteration(const Data&)");
    LOADKIT_NEAR_MISS(U, iterations, "loadkit::task<> iteration(const Data&)");
    LOADKIT_NEAR_MISS(U, iteraton, "loadkit::task<> iteration(const Data&)");
    LOADKIT_NEAR_MISS(U, itteration, "loadkit::task<> iteration(const Data&)");
    LOADKIT_NEAR_MISS(U, beforeRequest, "void before_request(loadkit::request&)");
    LOADKIT_NEAR_MISS(U, BeforeRequest, "void before_request(loadkit::request&)");
    LOADKIT_NEAR_MISS(U, before_requests, "void before_request(loadkit::request&)");
    LOADKIT_NEAR_MISS(U, before_reqest, "void before_request(loadkit::request&)");
    LOADKIT_NEAR_MISS(U, befor_request, "void before_request(loadkit::request&)");
    LOADKIT_NEAR_MISS(U, before_Request, "void before_request(loadkit::request&)");
    LOADKIT_NEAR_MISS(U, afterRequest, "void after_request(const loadkit::response&)");
    LOADKIT_NEAR_MISS(U, AfterRequest, "void after_request(const loadkit::response&)");
    LOADKIT_NEAR_MISS(U, after_requests, "void after_request(const loadkit::response&)");
    LOADKIT_NEAR_MISS(U, after_reqest, "void after_request(const loadkit::response&)");
    LOADKIT_NEAR_MISS(U, after_Request, "void after_request(const loadkit::response&)");
    LOADKIT_NEAR_MISS(U, after_response, "void after_request(const loadkit::response&)");
    LOADKIT_NEAR_MISS(U, waitTime, "static constexpr loadkit::wait_time wait_time");
    LOADKIT_NEAR_MISS(U, wait_times, "static constexpr loadkit::wait_time wait_time");
    LOADKIT_NEAR_MISS(U, Tasks, "static auto tasks()");
    return true;
}

// Checks a scenario type's setup and teardown (test<S> instantiates it).
template <class S, class D>
constexpr bool check_scenario_hooks() {
    if constexpr (requires { &S::setup; })
        static_assert(
            requires(client & c) { S::setup(c); }, "loadkit: scenario hook setup has the wrong signature; expected "
                                                   "`static loadkit::task<Data> setup(loadkit::client&)`");
    if constexpr (requires { &S::teardown; })
        static_assert(
            requires(client & c, const D& d) {
                { S::teardown(c, d) } -> std::same_as<task<>>;
            } ||
                requires(client & c) {
                    { S::teardown(c) } -> std::same_as<task<>>;
                },
            "loadkit: scenario hook teardown has the wrong signature; expected "
            "`static loadkit::task<> teardown(loadkit::client&, const Data&)` "
            "(or `static loadkit::task<> teardown(loadkit::client&)` without setup data)");
    LOADKIT_NEAR_MISS(S, setUp, "static loadkit::task<Data> setup(loadkit::client&)");
    LOADKIT_NEAR_MISS(S, SetUp, "static loadkit::task<Data> setup(loadkit::client&)");
    LOADKIT_NEAR_MISS(S, Setup, "static loadkit::task<Data> setup(loadkit::client&)");
    LOADKIT_NEAR_MISS(S, set_up, "static loadkit::task<Data> setup(loadkit::client&)");
    LOADKIT_NEAR_MISS(S, tearDown, "static loadkit::task<> teardown(loadkit::client&, const Data&)");
    LOADKIT_NEAR_MISS(S, TearDown, "static loadkit::task<> teardown(loadkit::client&, const Data&)");
    LOADKIT_NEAR_MISS(S, Teardown, "static loadkit::task<> teardown(loadkit::client&, const Data&)");
    LOADKIT_NEAR_MISS(S, tear_down, "static loadkit::task<> teardown(loadkit::client&, const Data&)");
    return true;
}

#undef LOADKIT_NEAR_MISS

}  // namespace loadkit::inline LOADKIT_ABI::detail
