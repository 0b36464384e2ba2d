#pragma once
// The C++ DSL. A scenario is a type; its hooks are optional members found at
// compile time:
//
//   struct Shop : loadkit::Scenario<Shop, Token> {
//     static loadkit::task<Token> setup(loadkit::client&);               // once, before any VU
//     static loadkit::task<> teardown(loadkit::client&, const Token&);   // once, after the run, even on abort
//     struct User : loadkit::VU<Shop> {
//       loadkit::task<> on_start(const Token&);    // before this VU's first iteration
//       loadkit::task<> iteration(const Token&);   // the exec function (required)
//       loadkit::task<> on_stop(const Token&);     // after its last iteration; skipped if it never iterated
//       void before_request(loadkit::request&);    // around every request of this VU's client
//       void after_request(const loadkit::response&);
//     };
//   };
//
// Every hook that takes the setup data may also be written without it. A hook
// with the wrong signature or a misspelled name fails the build (hooks.hpp).
// Instead of iteration(), a VU may list weighted tasks, and have a wait time
// between iterations (Locust's user model: dsl/tasks.hpp).
#include <concepts>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../core/config.hpp"
#include "../engine/engine.hpp"
#include "../http/client.hpp"
#include "../runtime/checks.hpp"
#include "../runtime/custom_metrics.hpp"
#include "../runtime/groups.hpp"
#include "../core/task.hpp"
#include "hooks.hpp"
#include "tasks.hpp"

namespace loadkit::inline LOADKIT_ABI {

// Base of a scenario type; Data is what setup() returns (shared read-only).
template <class Derived, class Data = std::monostate>
struct Scenario {
    using data_type = Data;
};

namespace detail {
inline thread_local vu_context* constructing_vu = nullptr;
}  // namespace detail

// k6's check(): each named predicate is counted as a pass or a fail (the
// `checks` rate and the summary's per-check rows). Returns true if all passed.
inline bool check(const response& r, std::initializer_list<detail::named_check<response>> checks) {
    return detail::run_checks(r.context(), r, checks);
}

// Base of a VU type. Its members are what k6 scripts reach through globals:
// the VU's HTTP client, __VU, __ITER, the scenario name, sleep and check.
template <class S>
class VU {
  private:
    detail::vu_context* ctx_;

  public:
    VU() : ctx_(detail::constructing_vu), http(*ctx_->thread, ctx_, *ctx_->thread->engine->http) {}
    VU(const VU&) = delete;
    VU& operator=(const VU&) = delete;

    client http;  // this VU's client: keep-alive connections and cookie jar of its own

    std::uint64_t id() const noexcept { return ctx_->id; }  // k6's __VU (1-based)
    // k6's __ITER: this VU's iteration in its scenario, from 0 (not named
    // iteration(): that is the name of the VU's exec function)
    std::uint64_t iteration_index() const noexcept { return ctx_->iteration; }
    std::string_view scenario() const noexcept { return ctx_->scenario; }

    // k6's __ENV: the scenario's env, then options::env, then the process
    // environment; `fallback` when none has `key`.
    std::string_view env(std::string_view key, std::string_view fallback = {}) const {
        return detail::lookup_env(ctx_, key, fallback);
    }

    // Think time; cut short (by an interrupted_error) only when the run stops.
    auto sleep(nanoseconds d) { return ctx_->wait_until(detail::now_ns() + d.count()); }

    template <class T>
    bool check(const T& value, std::initializer_list<detail::named_check<std::type_identity_t<T>>> checks) {
        return detail::run_checks(ctx_, value, checks);
    }

    // k6's group(): runs `body` (a callable returning task<>) with the group
    // tag set to "::name" (nested: "::outer::inner") on every sample it makes,
    // and records its duration in group_duration.
    //   co_await group("checkout", [&]() -> loadkit::task<> { co_await http.post("/cart"); });
    // A name with "::" throws std::invalid_argument (when awaited).
    template <class F>
    task<> group(std::string_view name, F body) {
        return detail::in_group(*ctx_, name, std::move(body));
    }

    // Stops the whole run now (k6's exec.test.abort): teardown still runs, the
    // summary records the reason, and the exit code is aborted_by_script.
    [[noreturn]] void abort_test(std::string reason) {
        ctx_->thread->engine->abort(std::move(reason), detail::abort_kind::script, true);
        throw detail::script_abort{};
    }

    detail::vu_context& context() noexcept { return *ctx_; }
};

namespace detail {

template <class S>
concept has_setup = requires(client& c) {
    {S::setup(c)};
};
template <class S, class D>
concept has_teardown = requires(client& c, const D& d) {
    { S::teardown(c, d) } -> std::same_as<task<>>;
};
// a scenario without setup data may leave the data out
template <class S>
concept has_plain_teardown = requires(client& c) {
    { S::teardown(c) } -> std::same_as<task<>>;
};

template <class U, class D>
task<> call_iteration(U& u, const D& d) {
    if constexpr (requires {
                      { u.iteration(d) } -> std::same_as<task<>>;
                  })
        return u.iteration(d);
    else return u.iteration();
}

template <class U, class D>
struct exec_fn {
    task<> (U::*with_data)(const D&) = nullptr;
    task<> (U::*plain)() = nullptr;
};

template <class U, class D>
concept has_iteration = requires(U& u, const D& d) {
    { u.iteration(d) } -> std::same_as<task<>>;
}
|| requires(U& u) {
    { u.iteration() } -> std::same_as<task<>>;
};

template <class U>
concept has_tasks = requires {
    U::tasks();
};

template <class U, class D>
struct dsl_vu final : vu_instance {
    const D* data;
    exec_fn<U, D> exec;
    const std::vector<task_def<U, D>>* tasks;  // the VU type's tasks (vu_context::task says which runs)
    const vu_context* ctx;
    U user;
    dsl_vu(const D* d, exec_fn<U, D> e, const std::vector<task_def<U, D>>* t, const vu_context* c)
        : data(d), exec(e), tasks(t), ctx(c) {
        has_on_start = requires(U & u, const D& x) { u.on_start(x); }
        || requires(U & u) { u.on_start(); };
        has_on_stop = requires(U & u, const D& x) { u.on_stop(x); }
        || requires(U & u) { u.on_stop(); };
    }
    task<> iteration() override {
        if (tasks && !tasks->empty()) {
            auto& t = (*tasks)[ctx->task];
            return t.with_data ? (user.*t.with_data)(*data) : (user.*t.plain)();
        }
        if (exec.with_data) return (user.*exec.with_data)(*data);
        if (exec.plain) return (user.*exec.plain)();
        if constexpr (has_iteration<U, D>) return call_iteration(user, *data);
        else throw std::logic_error("no exec function");  // scenario() does not allow this
    }
    task<> on_start() override {
        if constexpr (requires {
                          { user.on_start(*data) } -> std::same_as<task<>>;
                      })
            return user.on_start(*data);
        else if constexpr (requires {
                               { user.on_start() } -> std::same_as<task<>>;
                           })
            return user.on_start();
        else return vu_instance::on_start();
    }
    task<> on_stop() override {
        if constexpr (requires {
                          { user.on_stop(*data) } -> std::same_as<task<>>;
                      })
            return user.on_stop(*data);
        else if constexpr (requires {
                               { user.on_stop() } -> std::same_as<task<>>;
                           })
            return user.on_stop();
        else return vu_instance::on_stop();
    }
};

template <class U, class D>
struct dsl_factory final : vu_factory {
    dsl_factory(const std::optional<D>* d, exec_fn<U, D> e) : data(d), exec(e) {
        if constexpr (has_tasks<U>)
            if (!e.with_data && !e.plain) tasks = U::tasks().tasks;  // a named exec function wins
    }
    const std::optional<D>* data;
    exec_fn<U, D> exec;
    std::vector<task_def<U, D>> tasks;

    std::unique_ptr<vu_instance> create(vu_context& ctx) override {
        constructing_vu = &ctx;
        struct reset {
            ~reset() { constructing_vu = nullptr; }
        } r;
        auto p = std::make_unique<dsl_vu<U, D>>(&**data, exec, &tasks, &ctx);
        if constexpr (requires(U & u, request & q) { u.before_request(q); }) {
            ctx.hook_self = &p->user;
            ctx.before_request = [](void* self, request& q) { static_cast<U*>(self)->before_request(q); };
        }
        if constexpr (requires(U & u, const response& q) { u.after_request(q); }) {
            ctx.hook_self = &p->user;
            ctx.after_request = [](void* self, const response& q) { static_cast<U*>(self)->after_request(q); };
        }
        return p;
    }
};

}  // namespace detail

// A load test: one setup/teardown (from S), any number of scenarios, each
// with its own executor and VU type.
template <class S>
class test {
  public:
    using data_type = typename S::data_type;

    explicit test(options o = {}) : opts_(std::move(o)) {
        static_assert(detail::check_scenario_hooks<S, data_type>());  // a misspelled setup/teardown fails here
    }

    // A scenario whose VUs are U and whose exec function is U::iteration.
    template <class U = typename S::User>
    test& scenario(std::string name, executor e, scenario_options so = {}) {
        static_assert(detail::has_iteration<U, data_type> || detail::has_tasks<U>,
                      "a VU type needs `loadkit::task<> iteration(const Data&)` or `loadkit::task<> iteration()`, "
                      "or tasks (`static auto tasks()`), or name its exec function: "
                      "scenario(name, executor, &User::browse)");
        return add(std::move(name), std::move(e), detail::exec_fn<U, data_type>{}, std::move(so));
    }
    // A scenario whose exec function is another member of its VU type (k6's
    // `exec`): scenario("browse", constant_vus{...}, &Shop::User::browse).
    template <class U>
    test& scenario(std::string name, executor e, task<> (U::*exec)(const data_type&), scenario_options so = {}) {
        return add(std::move(name), std::move(e), detail::exec_fn<U, data_type>{exec, nullptr}, std::move(so));
    }
    template <class U>
    test& scenario(std::string name, executor e, task<> (U::*exec)(), scenario_options so = {}) {
        return add(std::move(name), std::move(e), detail::exec_fn<U, data_type>{nullptr, exec}, std::move(so));
    }

    options& settings() noexcept { return opts_; }
    loadkit::events& events() noexcept { return opts_.events; }

    // Runs the test to the end and returns its summary and exit code. Throws
    // config_error, before any load, when the configuration is invalid.
    run_result run() {
        engine e(opts_);
        {
            std::lock_guard lock(mu_);
            running_ = &e;
        }
        struct clear {
            test* t;
            ~clear() {
                std::lock_guard lock(t->mu_);
                t->running_ = nullptr;
            }
        } c{this};
        data_.reset();
        if (!opts_.run_setup) default_data();
        return e.run(
            specs_, [this](client& http) { return do_setup(http); },
            [this](client& http) { return do_teardown(http); });
    }

    // Stops a running test from another thread: iterations in flight get
    // their gracefulStop, then on_stop, teardown and the summary run.
    void abort(std::string reason = "aborted") {
        std::lock_guard lock(mu_);
        if (running_) running_->abort(std::move(reason));
    }

    const std::optional<data_type>& data() const noexcept { return data_; }

  private:
    template <class U>
    test& add(std::string name, executor e, detail::exec_fn<U, data_type> exec, scenario_options so) {
        static_assert(detail::check_vu_hooks<U, data_type>());
        auto f = std::make_shared<detail::dsl_factory<U, data_type>>(&data_, exec);
        specs_.push_back(
            {std::move(name), std::move(e), f, {so.env.begin(), so.env.end()}, {so.tags.begin(), so.tags.end()}});
        auto& spec = specs_.back();
        if constexpr (detail::has_tasks<U>)
            if (!f->tasks.empty()) spec.tasks = U::tasks().info();
        // the wait time: the scenario's, else the VU type's (Locust's class attribute)
        if constexpr (requires { wait_time{U::wait_time}; }) spec.wait = U::wait_time;
        if (so.wait) spec.wait = *so.wait;
        return *this;
    }

    // setup() ran elsewhere (a test split over machines): the VUs and
    // teardown get the data type's default. (Out of line: inlined into run(),
    // g++ 12 warns that the optional's string may be used uninitialized.)
    [[gnu::noinline]] void default_data() {
        if constexpr (std::is_default_constructible_v<data_type>) data_.emplace();
        else throw config_error("options::run_setup is false, but the setup data type cannot be default-constructed");
    }
    task<> do_setup(client& http) {
        if constexpr (detail::has_setup<S>) data_.emplace(co_await S::setup(http));
        else data_.emplace();
    }
    task<> do_teardown(client& http) {
        if constexpr (detail::has_teardown<S, data_type>) co_await S::teardown(http, *data_);
        else if constexpr (detail::has_plain_teardown<S>) co_await S::teardown(http);
        co_return;
    }

    options opts_;
    std::vector<scenario_spec> specs_;
    std::optional<data_type> data_;
    std::mutex mu_;
    engine* running_ = nullptr;
};

// One scenario named "default" running S::User.
template <class S>
run_result run(executor e, options o = {}) {
    test<S> t(std::move(o));
    t.scenario("default", std::move(e));
    return t.run();
}

}  // namespace loadkit::inline LOADKIT_ABI
