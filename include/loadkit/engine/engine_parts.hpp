#pragma once
// The engine's parts that need none of its state (engine_impl.hpp uses them):
// a run's id, the words for an exception and a timeout, the waits of the open
// model's VUs and arrival lanes, and writing a run's report and export.
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <cstdio>
#include <ostream>
#include <string>

#include <unistd.h>  // getentropy

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../core/io.hpp"
#include "../core/task.hpp"
#include "../runtime/context.hpp"
#include "options.hpp"
#include "result.hpp"
#include "scenario_runtime.hpp"
#include "state.hpp"
#include "summary.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

inline std::string make_run_id() {
    // getentropy, not <random>'s random_device: the same kernel source
    // without <random>'s parse in every TU of <loadkit.hpp>
    std::uint64_t r = 0;
    if (::getentropy(&r, sizeof r) != 0) r = 0;
    std::uint64_t v = r ^ static_cast<std::uint64_t>(now_ns());
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}
inline std::string describe_exception(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (const interrupted_error&) {
        return "interrupted";
    } catch (...) {
        return "unknown exception";
    }
}

// k6's wording: "after 60 seconds" (whole seconds, as k6 prints them)
inline std::string seconds_text(nanoseconds d) {
    char b[48];
    std::snprintf(b, sizeof b, "%.f seconds", static_cast<double>(d.count()) / 1e9);
    return b;
}

// Open model: a VU waits here for its lane to hand it an iteration.
struct park {
    vu_context& v;
    arrival_lane& lane;
    bool await_ready() const noexcept { return lane.done; }
    void await_suspend(std::coroutine_handle<> h) {
        v.parked = h;
        lane.idle.push(&v);
    }
    bool await_resume() noexcept {  // true: an iteration was handed over
        v.parked = {};
        return !lane.done && !v.released;
    }
};

// A timer wait that the sweeper cuts short when the run stops.
inline auto sleep_until(boost::asio::steady_timer& t, std::int64_t at_ns) {
    struct awaiter {
        boost::asio::steady_timer& t;
        std::int64_t at;
        bool await_ready() const noexcept { return at <= now_ns(); }
        void await_suspend(std::coroutine_handle<> h) {
            t.expires_at(clock::time_point(nanoseconds(at)));
            t.async_wait(pooled([h](const boost::system::error_code&) { h.resume(); }));
        }
        void await_resume() const noexcept {}
    };
    return awaiter{t, at_ns};
}

inline constexpr std::int64_t wake_coalesce_ns = 100'000;

// An idle VU of the lane, a new one while the lane may create more, or null.
inline vu_context* take_vu(arrival_lane& ln, std::uint64_t max, function_ref<vu_context&(arrival_lane&)> new_vu) {
    if (ln.idle.empty()) {
        if (ln.next_index >= max) return nullptr;
        new_vu(ln);  // parks at once, so it is idle now
    }
    return ln.idle.pop();
}

// Resumes the awaiting coroutine from the back of the event loop's queue.
inline auto yield_to(boost::asio::io_context& ioc) {
    struct awaiter {
        boost::asio::io_context& ioc;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            boost::asio::post(ioc, pooled([h] { h.resume(); }));
        }
        void await_resume() const noexcept {}
    };
    return awaiter{ioc};
}

inline void write_outputs(const options& opts_, run_result& r) {
    std::string printed = r.report;
    if (opts_.handle_summary && opts_.summary.enabled) {
        try {
            nlohmann::json custom = opts_.handle_summary(r.summary);
            if (custom.is_string()) printed = custom.get<std::string>();
            else if (!custom.is_null())
                printed = custom.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        } catch (const std::exception& e) {
            detail::log(log_level::warn, std::string("handle_summary failed, using the default report: ") + e.what());
        }
    }
    r.report = printed;
    if (opts_.print_summary && opts_.summary.enabled && opts_.out) {
        *opts_.out << printed;
        if (!printed.empty() && printed.back() != '\n') *opts_.out << '\n';
        opts_.out->flush();
    }
    if (!opts_.summary_export.empty()) {
        auto text = export_text(r.summary, r.state);
        std::FILE* f = std::fopen(opts_.summary_export.c_str(), "w");
        bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size();
        if (f && std::fclose(f) != 0) ok = false;
        if (!ok) detail::log(log_level::error, "could not write the summary to " + opts_.summary_export);
    }
}


}  // namespace loadkit::inline LOADKIT_ABI::detail
