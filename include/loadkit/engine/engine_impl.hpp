#pragma once
// The engine's implementation (loadkit::engine in engine.hpp is its public
// face): the worker threads, setup and teardown, the VU loops and arrival
// lanes, the live threshold checks and progress, and the summary.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>  // getentropy

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../http/client.hpp"
#include "../runtime/custom_metrics.hpp"
#include "state.hpp"
#include "summary.hpp"
#include "thresholds.hpp"
#include "../core/cores.hpp"
#include "../core/task.hpp"
#include "../runtime/context.hpp"
#include "executors.hpp"
#include "segment.hpp"
#include "options.hpp"
#include "result.hpp"
#include "scenario_runtime.hpp"
#include "control.hpp"
#include "engine_parts.hpp"
#include "vu.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

class engine_impl {
  public:
    using hook_fn = std::function<task<>(client&)>;

    explicit engine_impl(options& o) : opts_(o) {}

    // The run's control: options::control, or the engine's own.
    run_control& control() noexcept { return opts_.control ? *opts_.control : own_control_; }

    // Stops the run from outside (another thread, a signal handler's thread,
    // an event listener): iterations in flight get their gracefulStop.
    void abort(std::string reason, bool immediate = false) {
        state_.abort(std::move(reason), abort_kind::external, immediate);
    }

    run_result run(std::vector<scenario_spec>& specs, hook_fn setup, hook_fn teardown) {
        run_result result;
        // ---- validate everything before any load
        if (specs.empty()) throw config_error("no scenarios: add at least one");
        for (std::size_t i = 0; i < specs.size(); ++i) {
            if (specs[i].name.empty()) throw config_error("a scenario needs a name");
            for (std::size_t j = 0; j < i; ++j)
                if (specs[j].name == specs[i].name)
                    throw config_error("two scenarios are named '" + specs[i].name + "'");
            schedule::validate(specs[i].name, specs[i].exec);
            validate_user_model(specs[i], opts_);
        }
        for (auto& e : metric_registry::get().errors()) throw config_error(e);
        // this instance's share: global counts kept for VU ids, scaled ones run
        stripe_ = make_stripe(opts_.segment);
        global_max_vus_.clear();
        for (auto& s : specs) global_max_vus_.push_back(schedule::max_vus(s.exec));
        std::vector<scenario_spec> scaled = specs;
        for (auto& s : scaled) scale_executor(s.exec, stripe_);
        if (opts_.run_thresholds) thresholds_ = parse_thresholds(opts_.thresholds);
        if (!opts_.target.empty()) {
            url_parts u;
            if (!split_url(opts_.target, u))
                throw config_error("target '" + opts_.target + "' is not an http:// or https:// URL");
        }
        int nthreads = opts_.threads > 0 ? opts_.threads : available_cores();

        state_.events = &opts_.events;
        state_.has_request_listeners = !opts_.events.request.empty();
        http_ = opts_.http;
        state_.http = &http_;
        state_.env.clear();
        state_.env.insert(opts_.env.begin(), opts_.env.end());
        if (!opts_.target.empty()) http_.base_url = opts_.target;
        for (auto& s : specs) state_.scenario_names.push_back(s.name);

        summary_input in;
        in.name = opts_.name;
        in.run_id = make_run_id();
        for (auto& s : specs) in.scenarios.push_back(s.name);
        for (auto& t : thresholds_)
            if (!t.selector.filter.empty()) in.submetrics.push_back(t.selector.text());
        in.started_ms = wall_ms();
        started_ns_ = now_ns();
        name_budget::global().reset();  // distinct names are counted per run (before any shard interns one)
        {
            auto& o = orphan_metrics::get();
            std::lock_guard lock(o.mu);
            o.shard = std::make_unique<metrics_shard>();
        }
        signal_scope signals(opts_.handle_signals);
        state_.signals_seen.store(signal_counter::count.load());

        thread_context control(&state_, -1);
        std::vector<std::unique_ptr<thread_context>> workers;
        for (int i = 0; i < nthreads; ++i) workers.push_back(std::make_unique<thread_context>(&state_, i));
        state_.started_ns = started_ns_;
        state_.workers.clear();
        for (auto& w : workers) state_.workers.push_back(w.get());
        struct forget_workers {  // the threads go when run() returns
            engine_state& s;
            ~forget_workers() { s.workers.clear(); }
        } forget{state_};

        test_info info{opts_.name, in.run_id, http_.base_url, nullptr};
        state_.with_events([&](events& ev) { ev.test_start.fire(info); });

        // ---- the run's control; a pause before the start (--paused) waits here, before setup (as k6)
        auto& ctl = this->control();
        {
            std::vector<executor> execs;
            std::int64_t total = 0;
            for (auto& s : scaled) {
                execs.push_back(s.exec);
                total += schedule::max_vus(s.exec, stripe_);
            }
            // a descriptor per VU's connection: the soft limit raised, said now if it still binds
            if (opts_.run_vus) warn_if_fd_limit_binds(raise_fd_limit(), static_cast<std::uint64_t>(total));
            ctl.attach(state_, started_ns_, execs, total);
        }
        struct detach_control {  // whatever happens, the control forgets this run's state
            run_control& c;
            engine_state& s;
            ~detach_control() {
                std::lock_guard lock(s.mu);
                c.add_signals(s.signal_actions);
                c.detach(s.stopping.load() ? run_status::interrupted : run_status::ended);
            }
        } detach_ctl{ctl, state_};
        if (opts_.start_paused && opts_.run_vus) ctl.start_paused("option");
        bool started = ctl.wait_if_paused(state_);
        ctl.set_status(run_status::setup);

        // ---- setup, once, before any VU
        bool setup_ok = started, timed_out = false;
        std::string failure;
        if (started && setup && opts_.run_setup) {
            auto err = run_on_control(control, setup, opts_.setup_timeout, timed_out);
            if (err) {
                setup_ok = false;
                failure = timed_out ? "setup() execution timed out after " + seconds_text(opts_.setup_timeout)
                                    : "setup() failed: " + describe_exception(err);
                detail::log(log_level::error, failure);
                state_.abort(failure, timed_out ? abort_kind::setup_timeout : abort_kind::setup_failed, true);
            }
        }

        // ---- the VUs
        merged_metrics merged;
        if (setup_ok && !state_.aborted() && opts_.run_vus) {
            ctl.set_status(run_status::running);
            run_scenarios(scaled, workers, control, merged);
        }
        ctl.set_status(run_status::teardown);

        // ---- teardown, once, even on abort (not when setup failed: there is no data to give it)
        if (setup_ok && teardown && opts_.run_teardown) {
            // teardown's own requests must not be cut by the abort's deadlines
            state_.hard_stop_ns.store(std::numeric_limits<std::int64_t>::max());
            state_.abort_at_ns.store(std::numeric_limits<std::int64_t>::max());
            state_.in_teardown.store(true);
            auto err = run_on_control(control, teardown, opts_.teardown_timeout, timed_out);
            state_.in_teardown.store(false);
            if (err && timed_out) {
                auto why = "teardown() execution timed out after " + seconds_text(opts_.teardown_timeout);
                detail::log(log_level::error, why);
                state_.abort(why, abort_kind::teardown_timeout, true);
            } else if (err) {
                detail::log(log_level::error, "teardown() failed: " + describe_exception(err));
            }
        }

        // ---- the summary
        in.ended_ms = wall_ms();
        for (auto& w : workers) merged.add(w->shard, state_.scenario_names);
        add_control_side(merged, control, specs);
        {
            std::lock_guard lock(state_.mu);
            in.aborted = state_.abort_reason;
        }
        if (opts_.run_thresholds) {
            bool passed = true;
            in.thresholds = evaluate_thresholds(thresholds_, merged,
                                                static_cast<double>(in.ended_ms - in.started_ms) / 1000.0, passed);
            in.thresholds_passed = passed;
        }
        std::vector<std::string> lines;
        int max_total = 0;
        for (auto& s : scaled) max_total += schedule::max_vus(s.exec, stripe_);
        // which event mechanism carried the requests (core/uring.hpp): every
        // worker thread's ring, or epoll where the kernel gave none
        bool rings = std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->ring != nullptr; });
        lines.push_back("scenarios: " + std::to_string(specs.size()) + ", " + std::to_string(max_total) + " max VUs, " +
                        std::to_string(nthreads) + (nthreads == 1 ? " thread, " : " threads, ") +
                        (rings ? "io_uring" : "epoll") +
                        (stripe_.whole() ? "" : ", execution segment " + opts_.segment.text()));
        for (auto& s : specs)  // as written: the whole test's schedule
            lines.push_back("  * " + s.name + ": " + std::string(executor_name(s.exec)) + ", " +
                            schedule::describe(s.exec));
        in.trend_stats = opts_.summary.trend_stats;
        {
            std::lock_guard lock(state_.mu);
            ctl.add_signals(state_.signal_actions);
            state_.signal_actions.clear();
        }
        auto actions = ctl.actions();
        if (!actions.empty()) lines.push_back("control: " + control_actions_text(actions));
        result.summary = build_summary(in, merged);
        if (!actions.empty()) result.summary["control"] = control_actions_json(actions);
        result.aborted = in.aborted;
        result.thresholds_passed = in.thresholds_passed;
        result.report = console_report(result.summary, merged, lines, opts_.summary);
        {
            run_state_info si{opts_.name,    in.run_id,       stripe_.whole() ? "" : opts_.segment.text(),
                              in.started_ms, in.ended_ms,     in.aborted,
                              in.scenarios,  opts_.thresholds};  // (even unjudged here: a merge judges them)
            result.state = export_state(merged, si);
        }

        info.summary = &result.summary;
        state_.with_events([&](events& ev) { ev.test_stop.fire(info); });

        write_outputs(opts_, result);
        result.metrics = std::make_shared<const merged_metrics>(std::move(merged));

        auto kind = static_cast<abort_kind>(state_.kind.load());
        if (kind == abort_kind::external) result.code = exit_code::external_abort;
        else if (kind == abort_kind::api) result.code = exit_code::stopped_from_api;
        else if (kind == abort_kind::setup_timeout) result.code = exit_code::setup_timeout;
        else if (kind == abort_kind::teardown_timeout) result.code = exit_code::teardown_timeout;
        else if (!setup_ok || kind == abort_kind::setup_failed || kind == abort_kind::vu_init)
            result.code = exit_code::script_error;
        else if (kind == abort_kind::script) result.code = exit_code::aborted_by_script;
        else if (kind == abort_kind::internal) result.code = exit_code::internal_error;
        else if (kind == abort_kind::thresholds || !result.thresholds_passed)
            result.code = exit_code::thresholds_failed;
        return result;
    }

  private:
    // An exception that reached an event loop (a worker's, or the control
    // thread's during the run) instead of ending the process: the run is
    // aborted as by a first SIGINT (in-flight iterations get their
    // gracefulStop, teardown runs, the summary is written) with a reason that
    // names it, and the exit code is 109. `worker` is the worker's index, -1
    // for the control thread, -2 for a worker not known. Never throws: it
    // runs in a catch block, perhaps out of memory.
    void internal_error(int worker, std::exception_ptr e) noexcept {
        try {
            auto reason = "internal error on " +
                          (worker == -1 ? std::string("the control thread")
                           : worker < 0 ? std::string("a worker")
                                        : "worker " + std::to_string(worker + 1)) +
                          ": " + describe_exception(e);
            detail::log(log_level::error, reason);
            state_.abort(std::move(reason), abort_kind::internal);
        } catch (...) {
            try {
                state_.abort("internal error", abort_kind::internal);
            } catch (...) {
                state_.stopping.store(true);  // no memory left even for the reason: stop all the same
            }
        }
    }

    // Runs setup or teardown on the calling thread, with a client of its own.
    // A signal cuts it (it is a running "VU" with no gracefulStop), and so
    // does `timeout` (zero or less: none); `timed_out` says which.
    std::exception_ptr run_on_control(thread_context& control, hook_fn& fn, nanoseconds timeout, bool& timed_out) {
        vu_context v;
        v.thread = &control;
        v.scenario_id = 0;
        v.running = true;
        if (timeout.count() > 0) v.set_hard_deadline(now_ns() + timeout.count());
        client c(control, &v, http_);
        control.vus.push_back(&v);
        current_vu = &v;
        auto err = run_blocking(control, fn(c));
        current_vu = nullptr;
        control.vus.clear();
        timed_out = err && v.interrupted && now_ns() >= v.hard_deadline;
        return err;
    }
    // What every merge adds to the workers' shards (summary, snapshots, the
    // last progress report): the control thread's shard (setup, teardown),
    // samples recorded outside any VU, and the scenario and run tags.
    void add_control_side(merged_metrics& m, thread_context& control, const std::vector<scenario_spec>& specs) {
        m.add(control.shard, state_.scenario_names);
        {
            auto& o = orphan_metrics::get();
            std::lock_guard lock(o.mu);
            m.add(*o.shard, state_.scenario_names);
        }
        m.run_tags = {opts_.tags.begin(), opts_.tags.end()};
        for (auto& s : specs) m.scenario_tags[s.name] = s.tags;
    }

    // Every thread's shard merged, for live thresholds and progress. Each
    // worker merges its own shard on its own thread (a post, off the hot
    // path), so no shard is read while it is written. Null when a worker
    // stayed busy in user code for a whole second (the caller tries later).
    std::shared_ptr<merged_metrics> take_snapshot(std::vector<std::unique_ptr<thread_context>>& workers,
                                                  thread_context& control, const std::vector<scenario_spec>& specs,
                                                  const merged_metrics& gauges) {
        struct snapshot {
            std::mutex mu;
            std::condition_variable cv;
            std::shared_ptr<merged_metrics> m = std::make_shared<merged_metrics>();
            std::size_t pending = 0;
            std::deque<std::function<void()>> answers;  // one per worker, run once on its thread
        };
        auto snap = std::make_shared<snapshot>();
        snap->pending = workers.size();
        for (auto& w : workers) {
            auto done = std::make_shared<bool>(false);  // touched on the worker's thread only
            auto& answer = snap->answers.emplace_back(
                [s = snap.get(), w = w.get(), names = &state_.scenario_names, done] {
                if (*done) return;
                *done = true;
                std::lock_guard lock(s->mu);
                s->m->add(w->shard, *names);
                if (--s->pending == 0) s->cv.notify_one();
            });
            {  // also answerable from a JavaScript interrupt while the loop is stuck
                std::lock_guard lock(w->snapshot_mu);
                w->snapshot_wanted = &answer;
                w->snapshot_pending.store(true, std::memory_order_release);
            }
            boost::asio::post(w->ioc, [snap, w = w.get(), &answer] {
                std::lock_guard lock(w->snapshot_mu);  // not at the same time as the interrupt's answer
                answer();
            });
        }
        bool complete;
        {
            std::unique_lock lock(snap->mu);
            complete = snap->cv.wait_for(lock, std::chrono::seconds(1), [&] { return snap->pending == 0; });
        }
        for (auto& w : workers) {  // no answer after this returns (the handler still owns `snap`)
            std::lock_guard lock(w->snapshot_mu);
            w->snapshot_wanted = nullptr;
            w->snapshot_pending.store(false);
        }
        if (!complete) return nullptr;
        auto m = snap->m;
        add_control_side(*m, control, specs);
        m->vus = gauges.vus;
        m->vus_max = gauges.vus_max;
        return m;
    }

    // abortOnFail thresholds on a snapshot: a failure stops the run gracefully.
    void check_thresholds_live(const merged_metrics& m) {
        auto elapsed = now_ns() - started_ns_;
        bool passed = true;
        std::string failure;
        evaluate_thresholds(thresholds_, m, static_cast<double>(elapsed) / 1e9, passed, true, elapsed, &failure);
        if (!passed) {
            // at once, as k6: iterations in flight are interrupted (k6 v0.48
            // ends there, not after their gracefulStop)
            detail::log(log_level::warn, "threshold crossed with abortOnFail, stopping: " + failure);
            state_.abort("threshold crossed: " + failure, abort_kind::thresholds, true);
        }
    }

    void report_progress(const merged_metrics& m, const std::deque<scenario_runtime>& runtimes, std::int64_t t0,
                         bool final) {
        progress p;
        p.final = final;
        p.metrics = &m;
        p.elapsed_secs = static_cast<double>(now_ns() - t0) / 1e9;
        for (auto& sc : runtimes) {
            scenario_progress s;
            s.name = sc.name;
            s.active_vus = sc.active.load(std::memory_order_relaxed);
            s.max_vus = sc.max_vus;
            auto end = sc.plan.live_end_ns();  // (externally-controlled's moves with pauses; none: 0)
            s.end_secs = end >= sc.plan.start_ns() + no_end_ns ? 0.0 : static_cast<double>(end - t0) / 1e9;
            p.total_secs = std::max(p.total_secs, s.end_secs);
            if (auto it = m.scenarios.find(sc.name); it != m.scenarios.end()) {
                s.iterations = it->second.iterations;
                s.dropped_iterations = it->second.dropped;
            }
            for (auto& [t, r] : m.http)
                if (t.scenario == sc.name) {
                    s.requests += r.reqs;
                    s.failed_requests += r.failed;
                }
            p.scenarios.push_back(std::move(s));
        }
        try {
            opts_.on_progress(p);
        } catch (const std::exception& e) {
            detail::log_once(log_level::warn, std::string("on_progress failed: ") + e.what());
        }
    }

    // Every VU runs this: the seed's lifecycle around the executor's decisions.
    task<> vu_main(vu_context& v, scenario_runtime& sc, arrival_lane* lane) {
        auto& st = state_;
        auto& stats = v.thread->shard.scenario(sc.id);
        std::unique_ptr<vu_instance> inst;
        bool started = false;
        std::uint64_t done = 0;
        std::int64_t not_before = 0;  // the wait time (tasks.hpp): when the next iteration may start
        // one iteration's end is the next one's decision time and start (0: read the clock)
        std::int64_t now = 0;
        bool idle = false;            // scaled down: not counted among the active VUs
        // k6's preAllocatedVUs are initialized before the run: build their
        // instances now, so that a VU first used in the middle of the run (a
        // burst) does not allocate on the request path. Being built is not
        // being started: on_start and user_start still wait for an iteration.
        if (lane && v.index < static_cast<std::uint64_t>(sc.pre_allocated)) inst = create_vu(v, sc);
        for (;;) {
            if (st.stopping.load(std::memory_order_relaxed)) break;
            if (lane) {
                if (!co_await park{v, *lane}) break;
                v.set_hard_deadline(sc.plan.end_ns() + sc.plan.graceful_stop_ns());
                now = now_ns();
                v.start_lag = std::max<std::int64_t>(0, now - v.intended_start);
            } else {
                if (!now) now = now_ns();
                decision d;
                bool paused = st.paused->load(std::memory_order_relaxed) && now < sc.plan.end_ns();
                if (paused) {
                    // paused (control.hpp): until a resume wakes it (the sweeper), or the schedule's end
                    d = {decision::wait, sc.plan.end_ns(), 0};
                } else {
                    d = sc.paced(not_before, now, done);  // the wait time, before next() claims an iteration
                    if (d.kind != decision::wait) d = sc.plan.next(v.index, done, now);
                }
                if (d.kind == decision::stop) break;
                if (!paused && d.idle != idle && started) {  // externally-controlled: scaled down (or up again)
                    idle = d.idle;
                    st.active_vus.fetch_add(idle ? -1 : 1, std::memory_order_relaxed);
                    sc.active.fetch_add(idle ? -1 : 1, std::memory_order_relaxed);
                }
                if (d.kind == decision::wait) {
                    now = 0;
                    try {
                        co_await v.wait_until(d.at);
                    } catch (const interrupted_error&) {
                        v.interrupted = false;
                    }
                    continue;
                }
                v.set_hard_deadline(d.deadline);
            }
            if (!started) {
                now = 0;
                if (!inst) inst = create_vu(v, sc);
                if (!inst) break;
                started = true;
                st.active_vus.fetch_add(1, std::memory_order_relaxed);
                sc.active.fetch_add(1, std::memory_order_relaxed);
                st.with_events([&](events& ev) { ev.user_start.fire(user_info{v.id, sc.name, 0}); });
                if (inst->has_on_start) co_await guarded_hook(v, *inst, true);
            }
            v.running = true;
            // k6's exec.scenario.iterationInInstance / iterationInTest: in the
            // order iterations start, the instance's numbers striped over the
            // whole test as its VUs are
            v.scenario_iteration = sc.info.started.fetch_add(1, std::memory_order_relaxed);
            v.scenario_iteration_in_test = sc.vu_stripe->global(v.scenario_iteration);
            if (sc.picker) v.task = sc.picker.pick(v.rng, v.task_seq);
            const auto t0 = now ? now : now_ns();
            now = 0;  // (set again by an iteration that ends)
            current_vu = &v;
            bool completed = true;
            try {
                co_await inst->iteration();
                now = now_ns();
                ++stats.iterations;
                stats.iteration_duration.record(static_cast<std::uint64_t>(now - t0));
            } catch (const interrupted_error&) {
                ++stats.interrupted;
                completed = false;
            } catch (const script_abort&) {
                ++stats.interrupted;
                completed = false;
            } catch (const std::exception& e) {
                now = now_ns();
                ++stats.iterations;
                ++stats.failed;
                stats.iteration_duration.record(static_cast<std::uint64_t>(now - t0));
                detail::log_once(log_level::warn, "scenario '" + sc.name + "': iteration failed: " + e.what());
            } catch (...) {
                ++stats.iterations;
                ++stats.failed;
                detail::log_once(log_level::warn,
                                 "scenario '" + sc.name + "': iteration failed with a non-standard exception");
            }
            if (sc.wait) not_before = next_start(sc.wait, t0, now ? now : now_ns(), v.rng);  // not in iteration_duration
            v.thread->count_iteration(completed);
            v.running = false;
            v.interrupted = false;
            v.hard_deadline = std::numeric_limits<std::int64_t>::max();
            v.start_lag = -1;
            ++done;
            ++v.iteration;
        }
        if (started) {
            if (inst->has_on_stop) co_await guarded_hook(v, *inst, false);
            st.with_events([&](events& ev) { ev.user_stop.fire(user_info{v.id, sc.name, done}); });
            if (!idle) {
                st.active_vus.fetch_sub(1, std::memory_order_relaxed);
                sc.active.fetch_sub(1, std::memory_order_relaxed);
            }
        }
        inst.reset();
    }

    // The VU type's instance, or null (logged once) when its constructor throws.
    // A VU that cannot be made (its constructor threw, a script's VU could not
    // start) stops the run, as k6 stops when a VU's init fails: a test that
    // silently runs fewer VUs than it says would report numbers nobody asked
    // for. The VUs already running finish their iterations (gracefulStop),
    // teardown runs, and the exit code is 107.
    std::unique_ptr<vu_instance> create_vu(vu_context& v, scenario_runtime& sc) {
        std::string why;
        try {
            auto made = sc.factory->create(v);
            state_.initialized_vus.fetch_add(1, std::memory_order_relaxed);
            return made;
        } catch (const std::exception& e) {
            why = e.what();
        } catch (...) {
            why = "unknown exception";
        }
        auto reason = "scenario '" + sc.name + "': could not create VU " + std::to_string(v.id) + ": " + why;
        detail::log_once(log_level::error, reason);
        state_.abort(reason, abort_kind::vu_init);
        return nullptr;
    }

    // on_start / on_stop: a failure is a warning, never an abort (the seed).
    task<> guarded_hook(vu_context& v, vu_instance& inst, bool start) {
        const char* which = start ? "on_start" : "on_stop";
        v.running = true;
        v.ignore_global_stop = !start;  // on_stop gets its own grace after an abort
        if (!start) v.set_hard_deadline(now_ns() + opts_.on_stop_grace.count());
        current_vu = &v;
        try {
            if (start) co_await inst.on_start();
            else co_await inst.on_stop();
        } catch (const interrupted_error&) {
            detail::log_once(log_level::warn, std::string(which) + " was interrupted");
        } catch (const std::exception& e) {
            detail::log_once(log_level::warn, std::string(which) + " failed (the run goes on): " + e.what());
        } catch (...) {
            detail::log_once(log_level::warn, std::string(which) + " failed (the run goes on)");
        }
        v.running = false;
        v.interrupted = false;
        v.ignore_global_stop = false;
    }

    // Open model: starts this lane's share of the scenario's iterations on
    // schedule. An iteration that finds no idle VU gets a new one while the
    // lane may create more, and is dropped otherwise: it is never delayed, so
    // the schedule does not bend to the target (no coordinated omission).
    task<> arrivals(arrival_lane& ln, function_ref<vu_context&(arrival_lane&)> new_vu) {
        auto& sc = *ln.sc;
        auto& stats = ln.w->shard.scenario(sc.id);
        ln.w->stop_timers.push_back(&ln.timer);
        auto max = static_cast<std::uint64_t>(sc.max_vus);
        std::int64_t last_wake = 0;
        // An exception here (a new VU out of memory) aborts the run and must
        // still release the lane's parked VUs below, or they wait forever and
        // the run never ends.
        try {
            for (std::uint64_t k = ln.lane;; k += ln.lanes) {
                auto off = sc.plan.arrival_offset(k);
                if (off < 0 || state_.stopping.load(std::memory_order_relaxed)) break;
                std::int64_t at = sc.plan.start_ns() + off;
                while (at > now_ns()) {  // (a loop: a resume or a scale may wake the timer early)
                    // Re-arming the timer for every arrival was a third of the
                    // generator's CPU at 70k arrivals/s (timerfd_settime): wake at
                    // most every wake_coalesce_ns and start what is due then. An
                    // arrival is never early, at most that late, and its lateness
                    // is in http_req_duration_intended.
                    co_await sleep_until(ln.timer, std::max(at, last_wake + wake_coalesce_ns));
                    last_wake = now_ns();
                    if (state_.stopping.load(std::memory_order_relaxed)) break;
                }
                if (state_.paused->load(std::memory_order_relaxed)) {
                    // paused (control.hpp): arrivals due meanwhile are not
                    // started, and not counted as dropped (nobody asked for them)
                    while (state_.paused->load() && !state_.stopping.load() && now_ns() < sc.plan.end_ns())
                        co_await sleep_until(ln.timer, now_ns() + 100'000'000);
                    k = sc.plan.last_due(k, ln.lanes, now_ns() - sc.plan.start_ns());
                    continue;
                }
                if (state_.stopping.load(std::memory_order_relaxed)) break;
                vu_context* v = take_vu(ln, max, new_vu);
                if (!v && at + wake_coalesce_ns < now_ns()) {
                    // Late, and every VU busy: the responses that would free one
                    // may already be waiting. Let the event loop run them once
                    // before dropping (measured: 2-4% drops became about 1% at
                    // 100k/s in catch-up bursts).
                    co_await yield_to(ln.w->ioc);
                    if (state_.stopping.load(std::memory_order_relaxed)) break;
                    v = take_vu(ln, max, new_vu);
                }
                if (!v) {
                    // No VU is free now, so none is for any other iteration due by
                    // now: drop them all at once (counted, not walked one by one).
                    auto last = sc.plan.last_due(k, ln.lanes, now_ns() - sc.plan.start_ns());
                    stats.dropped += (last - k) / ln.lanes + 1;
                    k = last;
                    continue;
                }
                v->intended_start = at;
                v->parked.resume();
            }
        } catch (...) {
            internal_error(ln.w->index, std::current_exception());
        }
        ln.done = true;
        auto& timers = ln.w->stop_timers;
        timers.erase(std::remove(timers.begin(), timers.end(), &ln.timer), timers.end());
        ln.release_idle();
    }

    void run_scenarios(std::vector<scenario_spec>& specs, std::vector<std::unique_ptr<thread_context>>& workers,
                       thread_context& control, merged_metrics& merged) {
        // start a little in the future so every thread sees the same t0
        std::int64_t t0 = now_ns() + 2'000'000;
        std::deque<scenario_runtime> runtimes;
        std::uint64_t next_vu = 1;
        int total_vus = 0;
        for (std::size_t i = 0; i < specs.size(); ++i) {
            runtimes.emplace_back(specs[i], static_cast<std::uint32_t>(i + 1), t0, next_vu, stripe_, &opts_);
            runtimes.back().first_local_id = static_cast<std::uint64_t>(total_vus) + 1;
            next_vu += static_cast<std::uint64_t>(global_max_vus_[i]);
            total_vus += runtimes.back().max_vus;
        }
        std::size_t nthreads = workers.size();
        // each thread's VU contexts live in its own deque (stable addresses)
        std::vector<std::deque<vu_context>> contexts(nthreads);
        std::vector<std::vector<vu_context*>> closed_vus(nthreads);
        std::deque<arrival_lane> lanes;
        std::vector<std::vector<arrival_lane*>> thread_lanes(nthreads);
        auto make_vu = [&](std::size_t t, scenario_runtime& sc, std::uint64_t index) -> vu_context& {
            auto& w = *workers[t];
            auto& v = contexts[t].emplace_back();
            v.thread = &w;
            v.scenario_id = sc.id;
            v.scenario = sc.name;
            v.index = index;
            v.id = sc.first_vu_id + sc.vu_stripe->global(index);
            v.local_id = sc.first_local_id + index;
            v.graceful_stop_ns = sc.plan.graceful_stop_ns();
            v.env = sc.env;
            v.scenario_state = &sc.info;
            v.rng = sc.seed ^ (v.id * 0xD1B54A32D192ED03ull);
            w.vus.push_back(&v);
            return v;
        };
        std::uint64_t rr = 0;
        for (auto& sc : runtimes) {
            if (sc.open) {
                auto d = std::min<std::uint64_t>(nthreads, static_cast<std::uint64_t>(sc.max_vus));
                for (std::uint64_t j = 0; j < d; ++j) {
                    auto t = (rr + j) % nthreads;
                    thread_lanes[t].push_back(&lanes.emplace_back(sc, *workers[t], contexts[t], j, d));
                }
                rr += d;
                continue;
            }
            for (int k = 0; k < sc.max_vus; ++k, ++rr)
                closed_vus[rr % nthreads].push_back(&make_vu(rr % nthreads, sc, static_cast<std::uint64_t>(k)));
        }
        // Coroutines still running: VUs and arrival lanes. Counted down as each
        // ends (not from inside them: whatever happens in a VU, the run must end).
        std::atomic<int> remaining{static_cast<int>(lanes.size())};
        for (auto& c : closed_vus) remaining += static_cast<int>(c.size());
        // An exception out of a VU's or a lane's coroutine (outside the
        // iteration, whose exceptions are failed iterations) is an internal error.
        auto ended = [this, &remaining, &control](std::exception_ptr e) noexcept {
            if (e) internal_error(current_vu && current_vu->thread ? current_vu->thread->index : -2, e);
            if (remaining.fetch_sub(1) == 1) {
                try {
                    boost::asio::post(control.ioc, [&control] { control.stop_sweeper(); });
                } catch (...) {
                    control.ioc.stop();  // (out of memory) the control loop still returns
                }
            }
        };
        // open model: a new VU for a lane (on the lane's thread), parked at once
        auto lane_vu = [&](arrival_lane& ln) -> vu_context& {
            auto t = static_cast<std::size_t>(ln.w->index);
            auto& v = make_vu(t, *ln.sc, ln.next_index);
            ln.next_index += ln.lanes;
            remaining.fetch_add(1);
            try {
                spawn(vu_main(v, *ln.sc, &ln), ended);
            } catch (...) {  // it did not start (out of memory): it will not end either
                ended(nullptr);
                throw;
            }
            return v;
        };
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < nthreads; ++t) {
            auto& w = *workers[t];
            // posted from here, before the thread starts: so it runs before the
            // stop_sweeper posted below, even when there is nothing to run (an
            // execution segment with no VUs of its own)
            boost::asio::post(w.ioc, [&, t] {
                // what has not started when an exception comes (it goes on to
                // the thread's catch) will not end: counted as ended here
                std::size_t unstarted = closed_vus[t].size() + thread_lanes[t].size(), lanes_started = 0;
                try {
                    w.start_sweeper();
                    for (auto* v : closed_vus[t]) {
                        spawn(vu_main(*v, runtimes[v->scenario_id - 1], nullptr), ended);
                        --unstarted;
                    }
                    for (auto* ln : thread_lanes[t]) {
                        auto pre = static_cast<std::uint64_t>(ln->sc->pre_allocated);
                        while (ln->next_index < pre) lane_vu(*ln);
                        spawn(arrivals(*ln, lane_vu), ended);
                        --unstarted;
                        ++lanes_started;
                    }
                } catch (...) {
                    // the VUs already made for a lane that did not start leave
                    for (auto i = lanes_started; i < thread_lanes[t].size(); ++i) thread_lanes[t][i]->release_idle();
                    for (; unstarted > 0; --unstarted) ended(nullptr);
                    throw;
                }
                // a thread without VUs keeps its sweeper too: it answers threshold
                // snapshots and signals until the run ends
            });
            // An exception out of a handler (not from a coroutine: those keep
            // theirs) is caught here, not per request: the run is aborted and
            // the loop goes on, so this thread's VUs take the abort path too.
            threads.emplace_back([this, &w] {
                w.start_ring();  // on this thread: the ring is bound to the thread that made it
                for (;;) {
                    try {
                        w.run_loop();
                        return;
                    } catch (...) {
                        internal_error(w.index, std::current_exception());
                    }
                    try {
                        if (w.sweeping) w.start_sweeper();  // it may be the sweeper that threw
                    } catch (...) {}
                }
            });
        }
        // the run's control may add VUs to an externally-controlled scenario
        // (maxVUs raised): asked on any thread, done on the control loop,
        // each new VU made and started on its worker's thread
        auto grow = [&](scenario_runtime& sc, int new_max) {
            boost::asio::post(control.ioc, [&, s = &sc, new_max] {
                if (remaining.load() == 0 || state_.stopping.load()) return;
                for (int k = s->max_vus; k < new_max; ++k, ++rr) {
                    auto t = rr % nthreads;
                    remaining.fetch_add(1);
                    boost::asio::post(workers[t]->ioc, [&, s, t, k] {
                        try {
                            spawn(vu_main(make_vu(t, *s, static_cast<std::uint64_t>(k)), *s, nullptr), ended);
                        } catch (...) {
                            ended(std::current_exception());
                        }
                    });
                }
                total_vus += new_max - s->max_vus;
                s->max_vus = new_max;
                merged_metrics::sample(merged.vus_max, total_vus);
            });
        };
        auto& ctl = this->control();
        ctl.attach_run(runtimes, grow);
        struct detach_run_guard {
            run_control& c;
            ~detach_run_guard() { c.detach_run(); }
        } detach_guard{ctl};

        // the control loop: the vus gauge, and waiting for every VU to end
        merged_metrics::sample(merged.vus_max, total_vus);
        control.ioc.restart();
        if (remaining.load() > 0) {
            control.sweeping = true;
            // the first sample once VUs have had a moment to start, then every 100 ms
            bool first = true;
            bool failed = false;  // an exception left the loop: only the vus gauge and the wait go on
            bool live_thresholds = std::any_of(thresholds_.begin(), thresholds_.end(),
                                               [](auto& t) { return t.abort_on_fail; });
            auto next_check = now_ns() + opts_.threshold_period.count();
            auto next_progress = now_ns() + opts_.progress_period.count();
            std::function<void()> tick = [&] {
                auto now = now_ns();
                if (!first && !state_.stopping.load() && any_scheduled(runtimes, now))  // (k6's: see there)
                    merged_metrics::sample(merged.vus, static_cast<double>(state_.active_vus.load()));
                first = false;
                bool check = !failed && live_thresholds && !state_.stopping.load() && now >= next_check;
                bool report = !failed && opts_.on_progress && now >= next_progress;
                if (check || report) {
                    if (auto snap = take_snapshot(workers, control, specs, merged)) {
                        if (!thresholds_.empty()) {  // k6's "tainted", for the control's status
                            bool ok = true;
                            evaluate_thresholds(thresholds_, *snap, static_cast<double>(now - started_ns_) / 1e9, ok);
                            ctl.set_tainted(!ok);
                        }
                        if (check) check_thresholds_live(*snap);
                        if (report) report_progress(*snap, runtimes, t0, false);
                    }
                    if (check) next_check = now_ns() + opts_.threshold_period.count();
                    if (report) next_progress = now_ns() + opts_.progress_period.count();
                }
                if (!control.sweeping) return;
                control.sweep_timer.expires_after(std::chrono::milliseconds(100));
                control.sweep_timer.async_wait([&](const boost::system::error_code& ec) {
                    if (!ec) tick();
                });
            };
            // An exception on this thread during the run (a snapshot's merge
            // out of memory, anything on_progress throws that is not a
            // std::exception) aborts the run like one on a worker; the loop
            // goes on waiting for the VUs, which take the abort path.
            for (bool again = false;; again = true) {
                try {
                    if (!again || control.sweeping) tick();
                    control.ioc.run();
                    break;
                } catch (...) {
                    internal_error(-1, std::current_exception());
                    failed = true;
                }
            }
            if (merged.vus.count == 0)
                merged_metrics::sample(merged.vus, static_cast<double>(state_.active_vus.load()));
        }
        ctl.detach_run();  // before the control loop runs again (below, and teardown's): no more growing
        // the workers have no work left once their VUs are done and their sweepers stop
        for (auto& w : workers) boost::asio::post(w->ioc, [p = w.get()] { p->stop_sweeper(); });
        for (auto& t : threads) t.join();
        // The last VU to end posted stop_sweeper to the control loop, maybe
        // after the loop had decided it had nothing to wait for (every VU done
        // before it started). Run it now: left queued, it ran inside
        // teardown's loop (run_blocking) and stopped that loop's sweeper, so
        // that a teardown waiting on another thread (a JavaScript one) found
        // an empty loop and was reported as "did not complete" unrun.
        control.ioc.restart();
        control.ioc.poll();
        control.stop_sweeper();
        for (auto& w : workers) w->vus.clear();
        if (opts_.on_progress) {  // the workers have stopped: their shards can be read here
            merged_metrics m;
            for (auto& w : workers) m.add(w->shard, state_.scenario_names);
            add_control_side(m, control, specs);
            m.vus = merged.vus;
            m.vus_max = merged.vus_max;
            try {
                report_progress(m, runtimes, t0, true);
            } catch (...) {
                internal_error(-1, std::current_exception());
            }
        }
    }

    options& opts_;
    run_control own_control_;
    client_options http_;  // the run's client defaults (target as base URL); VUs read them through state_.http
    engine_state state_;
    std::vector<parsed_threshold> thresholds_;
    std::int64_t started_ns_ = 0;
    stripe stripe_;
    std::vector<int> global_max_vus_;
};

}  // namespace loadkit::inline LOADKIT_ABI::detail
