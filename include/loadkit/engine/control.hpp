#pragma once
// Steering a run while it goes (k6's REST API, Locust's web UI): pause,
// resume, scale an externally-controlled scenario, stop (as a first SIGINT)
// and abort (as a second one), and the run's status. A run_control is made by
// whoever steers (the runner, a test) and given to the engine through
// options::control, or taken from loadkit::engine::control(); any thread may
// call it, before, during or after the run. Each action is recorded with its
// time for the summary's "control" list (timeline.hpp's control_action).
//
// Nothing here is on the request path: a pause is one relaxed load per
// iteration in a VU's loop, and resume/scale wake waiting VUs through the
// sweepers that already run every 10 ms (engine_state::wake_gen).
//
// How it differs from k6 v0.48 (lib/execution.go, execution/scheduler.go):
//  - k6 refuses to pause after the start unless every scenario is
//    externally-controlled; loadkit pauses any run. Running iterations
//    finish; no new one starts. Time-based schedules go on while paused (a
//    30 s constant-vus still ends at 30 s; arrivals due while paused are not
//    started and not counted as dropped); externally-controlled's clock stops
//    while paused, as in k6.
//  - a paused run still ends on a stop, on a signal, and at its scenarios'
//    ends; a pause before the start (--paused) waits before setup(), as k6.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../runtime/context.hpp"
#include "scenario_runtime.hpp"
#include "timeline.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {
class engine_impl;
}

// k6's execution status numbers (lib.ExecutionStatus), as /v1/status gives them.
namespace run_status {
inline constexpr int created = 0, paused_before_run = 4, started = 5, setup = 6, running = 7, teardown = 8, ended = 9,
                     interrupted = 10;
}

// A run's state, as /v1/status and `loadkit status` show it.
struct control_status {
    int status = run_status::created;
    bool paused = false;
    std::int64_t vus = 0, vus_max = 0;
    bool stopped = false;  // a stop or an abort was asked (or the run was aborted otherwise)
    bool running = false;  // started and not ended
    bool tainted = false;  // a threshold is failing (k6's "tainted"), as of the last check
    bool aborted = false;  // loadkit's: cut at once (abort, a second signal)
};

// What an action answered: ok, or why not and the HTTP status k6's API gives for it.
struct control_outcome {
    bool ok = true;
    int http_status = 200;
    std::string title, detail;  // k6's error "title" and "detail"
    static control_outcome error(int status, std::string title, std::string detail) {
        return {false, status, std::move(title), std::move(detail)};
    }
};

class run_control {
  public:
    run_control() = default;
    run_control(const run_control&) = delete;
    run_control& operator=(const run_control&) = delete;

    // `by` names who asked ("api", "cli", "dashboard", "code"...), for the record.
    control_outcome pause(std::string_view by = "code") {
        std::lock_guard lock(mu_);
        if (ended()) return ended_error("Pause error");
        if (paused_.load()) return control_outcome::error(500, "Pause error", "the test run is already paused");
        paused_.store(true);
        paused_at_ns_ = detail::now_ns();
        record("pause", by);
        return {};
    }
    control_outcome resume(std::string_view by = "code") {
        std::lock_guard lock(mu_);
        if (ended()) return ended_error("Pause error");
        if (!paused_.load()) return control_outcome::error(500, "Pause error", "the test run is not paused");
        paused_.store(false);
        // externally-controlled's clock stood still while paused (not a pause before the start)
        if (runtimes_)
            for (auto& sc : *runtimes_) sc.plan.extend(detail::now_ns() - std::max(paused_at_ns_, sc.plan.start_ns()));
        record("resume", by);
        wake();
        return {};
    }
    // The first externally-controlled scenario's VUs (k6's rule): `vus` of
    // at most `max_vus`, which may rise over the starting maxVUs, never below.
    control_outcome scale(std::optional<std::int64_t> vus, std::optional<std::int64_t> max_vus,
                          std::string_view by = "code") {
        std::lock_guard lock(mu_);
        const char* title = "Config update error";
        if (ended()) return ended_error(title);
        if (!vus && !max_vus) return control_outcome::error(400, title, "give vus, vus-max or both");
        if (!controlled_)
            return control_outcome::error(500, "Execution config error",
                                          "scaling needs an externally-controlled scenario, and this run has none");
        auto new_max = max_vus.value_or(max_vus_);
        auto new_vus = vus.value_or(std::min(vus_, new_max));
        if (new_vus < 0) return control_outcome::error(400, title, "the number of VUs must not be negative");
        if (new_max < start_max_vus_)
            return control_outcome::error(400, title,
                                          "maxVUs must not go below the starting maxVUs (" +
                                              std::to_string(start_max_vus_) + "), got " + std::to_string(new_max));
        if (new_max > max_scale_vus)
            return control_outcome::error(400, title, "maxVUs must not exceed " + std::to_string(max_scale_vus));
        if (new_vus > new_max)
            return control_outcome::error(
                400, title,
                "vus (" + std::to_string(new_vus) + ") must not exceed maxVUs (" + std::to_string(new_max) + ")");
        vus_ = new_vus;
        if (new_max > max_vus_) {
            vus_max_.fetch_add(new_max - max_vus_);
            max_vus_ = new_max;
        }
        if (runtimes_) apply_scale();
        record("scale", by, {{"vus", new_vus}, {"vus-max", new_max}});
        wake();
        return {};
    }
    // A graceful stop, as a first SIGINT: no new iterations, those in flight
    // get their gracefulStop, teardown and the summary follow (exit 103, k6's
    // code for a stop from its REST API).
    control_outcome stop(std::string_view by = "code") { return end_run(by, false); }
    // At once, as a second SIGINT: iterations in flight are cut.
    control_outcome abort(std::string_view by = "code") { return end_run(by, true); }

    control_status status() const {
        control_status s;
        s.status = status_.load();
        s.paused = paused_.load();
        s.vus_max = vus_max_.load();
        s.tainted = tainted_.load();
        std::lock_guard lock(mu_);
        if (st_) {
            s.vus = st_->active_vus.load();
            s.stopped = st_->stopping.load();
            s.aborted = st_->force_stop.load() || st_->hard_stop_ns.load() != std::numeric_limits<std::int64_t>::max();
        } else {
            s.stopped = stop_asked_ || s.status == run_status::interrupted;
            s.aborted = abort_asked_;
        }
        s.running = s.status >= run_status::started && s.status < run_status::ended;
        return s;
    }
    bool paused() const noexcept { return paused_.load(); }
    // Every action so far, oldest first.
    std::vector<control_action> actions() const {
        std::lock_guard lock(mu_);
        return actions_;
    }
    // The most VUs a scale may ask for (each is a coroutine and a VU instance).
    static constexpr std::int64_t max_scale_vus = 1'000'000;

  private:
    friend class detail::engine_impl;
    using runtimes = std::deque<detail::scenario_runtime>;

    control_outcome end_run(std::string_view by, bool at_once) {
        std::lock_guard lock(mu_);
        if (ended()) return ended_error("Stop error");
        record(at_once ? "abort" : "stop", by);
        std::string reason = std::string(at_once ? "aborted" : "stopped") + " through the run's control (" +
                             std::string(by) + ")";
        if (st_) {
            if (at_once) st_->force_stop.store(true);
            st_->abort(reason, detail::abort_kind::api, at_once);
            if (at_once) st_->hard_stop_ns.store(detail::now_ns());
        } else {
            stop_asked_ = true;
            abort_asked_ = abort_asked_ || at_once;
        }
        cv_.notify_all();
        return {};
    }
    bool ended() const { return status_.load() >= run_status::ended; }
    static control_outcome ended_error(const char* title) {
        return control_outcome::error(409, title, "the test run has ended");
    }
    void record(std::string_view action, std::string_view by, nlohmann::json detail = nullptr) {
        control_action a;
        a.t = started_ns_ ? static_cast<double>(detail::now_ns() - started_ns_) / 1e9 : 0.0;
        a.time_ms = detail::wall_ms();
        a.action = action;
        a.by = by;
        a.detail = std::move(detail);
        actions_.push_back(std::move(a));
    }
    void wake() {
        if (st_) st_->wake_gen.fetch_add(1);
        cv_.notify_all();
    }
    // The target count into the scenario (its share of it, with a segment),
    // and more VUs when maxVUs rose. Under mu_, runtimes_ set.
    void apply_scale() {
        auto& sc = (*runtimes_)[controlled_index_];
        sc.plan.set_target_vus(sc.vu_stripe->scale(vus_));
        auto local_max = static_cast<int>(sc.vu_stripe->scale(max_vus_));
        if (local_max > grown_to_ && grow_) {
            grow_(sc, local_max);
            grown_to_ = local_max;
        }
    }

    // ---- the engine's side (engine_impl)
    // Before setup: the run's state; the executors tell which scenario scale() steers.
    void attach(detail::engine_state& st, std::int64_t started_ns, const std::vector<executor>& execs,
                std::int64_t total_max_vus) {
        std::lock_guard lock(mu_);
        st_ = &st;
        started_ns_ = started_ns;
        st.paused = &paused_;
        vus_max_.store(total_max_vus);
        controlled_ = false;
        for (std::size_t i = 0; i < execs.size() && !controlled_; ++i)
            if (auto* x = std::get_if<externally_controlled>(&execs[i])) {
                controlled_ = true;
                controlled_index_ = i;
                start_max_vus_ = max_vus_ = std::max(x->max_vus, x->vus);
                vus_ = x->vus;
            }
        if (stop_asked_) {
            if (abort_asked_) st.force_stop.store(true);
            st.abort("stopped through the run's control before the start", detail::abort_kind::api, abort_asked_);
        }
    }
    // While the VUs run: the scenarios, and how to add VUs to one (on its threads).
    void attach_run(runtimes& r, std::function<void(detail::scenario_runtime&, int)> grow) {
        std::lock_guard lock(mu_);
        runtimes_ = &r;
        grow_ = std::move(grow);
        if (controlled_) {
            grown_to_ = r[controlled_index_].max_vus;
            apply_scale();
        }
    }
    void detach_run() {
        std::lock_guard lock(mu_);
        runtimes_ = nullptr;
        grow_ = nullptr;
    }
    void detach(int final_status) {
        std::lock_guard lock(mu_);
        if (st_) {
            stop_asked_ = st_->stopping.load();
            abort_asked_ = abort_asked_ || st_->force_stop.load();
            st_->paused = &detail::engine_state::never_paused;
        }
        st_ = nullptr;
        status_.store(final_status);
        cv_.notify_all();
    }
    // A pause before the start (--paused): wait for resume, a stop or a
    // signal (polled: the signal handler only counts). False: stopped.
    bool wait_if_paused(detail::engine_state& st) {
        std::unique_lock lock(mu_);
        if (!paused_.load()) return !st.stopping.load();
        status_.store(run_status::paused_before_run);
        while (paused_.load() && !st.stopping.load()) {
            cv_.wait_for(lock, std::chrono::milliseconds(50));
            lock.unlock();
            st.poll_signals();
            lock.lock();
        }
        return !st.stopping.load();
    }
    void set_status(int s) { status_.store(s); }
    void set_tainted(bool t) { tainted_.store(t); }
    void start_paused(std::string_view by) {
        std::lock_guard lock(mu_);
        if (paused_.load()) return;
        paused_.store(true);
        paused_at_ns_ = detail::now_ns();
        record("pause", by);
    }
    // Signals that stopped the run, into the record (at the end).
    void add_signals(const std::vector<detail::engine_state::signal_action>& list) {
        std::lock_guard lock(mu_);
        for (auto& s : list) {
            control_action a;
            a.t = static_cast<double>(s.at_ns - started_ns_) / 1e9;
            a.time_ms = detail::wall_ms() - (detail::now_ns() - s.at_ns) / 1'000'000;
            a.action = s.at_once ? "abort" : "stop";
            a.by = "signal";
            a.detail = {{"signal", s.name}};
            actions_.push_back(std::move(a));
        }
        std::stable_sort(actions_.begin(), actions_.end(), [](auto& x, auto& y) { return x.t < y.t; });
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::atomic<bool> paused_{false};
    std::atomic<int> status_{run_status::created};
    std::atomic<bool> tainted_{false};
    std::atomic<std::int64_t> vus_max_{0};
    detail::engine_state* st_ = nullptr;  // while run() runs
    runtimes* runtimes_ = nullptr;        // while the VUs run
    std::function<void(detail::scenario_runtime&, int)> grow_;
    std::int64_t started_ns_ = 0, paused_at_ns_ = 0;
    bool stop_asked_ = false, abort_asked_ = false;
    // the externally-controlled scenario (k6: the first one)
    bool controlled_ = false;
    std::size_t controlled_index_ = 0;
    std::int64_t vus_ = 0, max_vus_ = 0, start_max_vus_ = 0;
    int grown_to_ = 0;  // VUs made for it in this instance
    std::vector<control_action> actions_;
};

// k6's /v1/status document (JSON:API) for `s`, with loadkit's "aborted".
inline nlohmann::json status_json(const control_status& s) {
    return {{"data",
             {{"type", "status"},
              {"id", "default"},
              {"attributes",
               {{"status", s.status},
                {"paused", s.paused},
                {"vus", s.vus},
                {"vus-max", s.vus_max},
                {"stopped", s.stopped},
                {"running", s.running},
                {"tainted", s.tainted},
                {"aborted", s.aborted}}}}}};
}

}  // namespace loadkit::inline LOADKIT_ABI
