#pragma once
// loadkit::js::script: a JavaScript module (k6's script format) as the
// engine's `loadkit::script`. Its exported functions are the VU code, the
// hooks and setup/teardown/handleSummary; its `options` become a plan (see
// options.hpp). Construct it on the thread that will run the engine and call
// handleSummary: its init context (the parent runtime) lives there.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "async.hpp"
#include "context.hpp"
#include "errors.hpp"
#include "instance.hpp"
#include "loader.hpp"
#include "program.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"
#include "summary_data.hpp"
#include "transform.hpp"
#include "vu_thread.hpp"

namespace loadkit::inline LOADKIT_ABI::js {

struct load_options {
    using env_map = std::map<std::string, std::string, std::less<>>;
    load_options() = default;
    load_options(env_map e, summary_options s = {}) : env(std::move(e)), summary(std::move(s)) {}
    env_map env;  // -e values: __ENV in the init context
    // handleSummary's data.options and the trend values of data.metrics (summary_data.hpp)
    summary_options summary;
};

namespace detail {

// The engine's side of a JavaScript VU: commands go to the VU's own thread.
class js_vu final : public loadkit::script_vu {
  public:
    js_vu(program& p, ld::vu_context& ctx, client& http, vars_map& vars)
        : thread_(p, &ctx, &vars), http_(http), ctx_(ctx), prog_(p) {
        ctx.interrupt_self = this;
        ctx.on_interrupt = [](void* self) { static_cast<js_vu*>(self)->thread_.interrupt(); };
    }
    ~js_vu() override {
        ctx_.on_interrupt = nullptr;
        ctx_.interrupt_self = nullptr;
    }
    task<> call(std::string_view function) override {
        auto& b = thread_.link();
        b.cmd = bridge::command::call;
        b.function.assign(function);
        return thread_.drive(http_);
    }
    bool has_before_request() const noexcept override { return prog_.exports("beforeRequest"); }
    bool has_after_request() const noexcept override { return prog_.exports("afterRequest"); }
    task<> before_request(request& r) override {
        auto& b = thread_.link();
        b.cmd = bridge::command::before;
        b.req = &r;
        return thread_.drive(http_);
    }
    task<> after_request(const response& r) override {
        auto& b = thread_.link();
        b.cmd = bridge::command::after;
        b.res = &r;
        return thread_.drive(http_);
    }

  private:
    vu_thread thread_;
    client& http_;
    ld::vu_context& ctx_;
    program& prog_;
};

}  // namespace detail

class script final : public loadkit::script {
  public:
    // Compiles the module and its imports and runs its init code once (for
    // `options` and the list of exports). Throws script_error with
    // FILE:LINE:COL on a syntax error or an exception in init code.
    explicit script(const std::string& path, load_options o = {}) : owner_(std::this_thread::get_id()) {
        detail::init_process();
        std::error_code ec;
        auto abs = std::filesystem::absolute(path, ec).lexically_normal();
        if (!std::filesystem::is_regular_file(abs, ec)) throw script_error(path + ": cannot open the script");
        prog_.main = abs;
        prog_.dir = abs.parent_path();
        prog_.env = std::move(o.env);
        summary_ = std::move(o.summary);
        cx_ = JS_NewContext(detail::heap_max_bytes);
        if (!cx_) throw script_error("cannot create a JavaScript context");
        prog_.parent = JS_GetRuntime(cx_);
        try {
            detail::setup_context(cx_, 4u << 20);  // the calling thread's stack (8 MB by default)
            detail::transform_program(cx_, prog_);
            init_ = std::make_unique<detail::instance>(cx_, prog_, nullptr);
            if (!detail::boot(*init_)) throw script_error(init_->error);
            JSAutoRealm realm(cx_, init_->global);
            JS::Rooted<JS::IdVector> ids(cx_, JS::IdVector(cx_));
            if (!JS_Enumerate(cx_, init_->ns, &ids)) throw script_error(detail::take_exception(cx_));
            JS::RootedValue key(cx_), val(cx_);
            JS::RootedId id(cx_);
            for (std::size_t i = 0; i < ids.length(); ++i) {
                id = ids[i];
                if (!JS_IdToValue(cx_, id, &key) || !JS_GetPropertyById(cx_, init_->ns, id, &val))
                    throw script_error(detail::take_exception(cx_));
                auto name = detail::to_utf8(cx_, key);
                if (val.isObject() && JS_ObjectIsFunction(&val.toObject())) {
                    prog_.functions.insert(name);
                    JS::RootedValue is_async(cx_), out(cx_);
                    JS::RootedValueArray<1> args(cx_);
                    args[0].set(val);
                    if (init_->loadkit_helper("isAsync", &is_async) &&
                        JS_CallFunctionValue(cx_, nullptr, is_async, args, &out) && out.isTrue())
                        prog_.async_functions.insert(name);
                }
                if (name == "options" && val.isObject()) {
                    auto text = init_->stringify(val);
                    if (JS_IsExceptionPending(cx_))
                        throw script_error(path + ": options: " + detail::take_exception(cx_));
                    prog_.options = nlohmann::json::parse(text, nullptr, false);
                    if (prog_.options.is_discarded()) throw script_error(path + ": the exported options are not JSON");
                }
            }
        } catch (...) {
            init_.reset();
            prog_.modules.clear();
            prog_.prelude = nullptr;
            JS_DestroyContext(cx_);
            throw;
        }
    }
    ~script() override {
        control_.reset();
        init_.reset();
        prog_.modules.clear();  // stencils before the runtime they were compiled in
        prog_.prelude = nullptr;
        JS_DestroyContext(cx_);
    }
    script(const script&) = delete;
    script& operator=(const script&) = delete;

    // The exported `options` (k6's), or null.
    const nlohmann::json& options() const noexcept { return prog_.options; }
    std::string path() const { return prog_.main.string(); }
    // What setup() returned, as JSON text ("null" before setup or without one).
    const std::string& setup_data() const noexcept { return prog_.setup_json; }
    std::string setup_data_json() const override { return prog_.setup_json; }
    // Checked here: VUs parse it with JSON.parse, which must not fail later.
    void set_setup_data_json(std::string json) override {
        if (nlohmann::json::parse(json, nullptr, false).is_discarded())
            throw std::invalid_argument("setup data is not valid JSON");
        prog_.setup_json = std::move(json);
    }

    // Whether the JIT compiles (process-wide; see detail::set_jit): call
    // before the run with whether every scenario's exec function is async.
    void use_jit(bool on) { detail::set_jit(cx_, on); }
    bool is_async(std::string_view function) const { return prog_.async_functions.count(function) > 0; }
    // Whether VUs running `function` (empty: a YAML flow calling the
    // script's hooks) are async VUs: the function is async, or the script
    // was rewritten to await (transform.hpp), which makes every function
    // that blocks async and leaves the others nothing to wait for.
    bool runs_async(std::string_view function) const {
        return prog_.transformed || (!function.empty() && is_async(function));
    }
    // Why the script's synchronous VUs run on threads ("" when rewritten).
    const std::string& threads_reason() const noexcept { return prog_.transform_note; }
    bool rewritten() const noexcept { return prog_.transformed; }
    // Whether async VUs of a thread share the script's module instances,
    // and why not when they do not.
    bool shares_modules() const noexcept { return prog_.shared_modules; }
    const std::string& own_modules_reason() const noexcept { return prog_.share_note; }

    bool has_function(std::string_view name) const override { return prog_.exports(name); }
    bool has_setup() const override { return prog_.exports("setup"); }
    bool has_teardown() const override { return prog_.exports("teardown"); }
    task<> setup(client& c) override { return run_control(c, detail::bridge::command::setup); }
    task<> teardown(client& c) override { return run_control(c, detail::bridge::command::teardown); }
    // k6's exec.test.options (JSON), set by make_plan.
    void set_test_options(const nlohmann::json& o) { prog_.test_options = o.dump(); }
    // A scenario whose exec function is async (or rewritten to be: see
    // transform.hpp) runs its VUs in the one realm of their worker thread
    // (async.hpp); any other VU gets a thread.
    std::unique_ptr<script_vu> create_vu(loadkit::detail::vu_context& vu, client& http, vars_map& vars,
                                         std::string_view exec_function) override {
        if (runs_async(exec_function)) return std::make_unique<detail::async_vu>(prog_, vu, http, vars);
        return std::make_unique<detail::js_vu>(prog_, vu, http, vars);
    }
    bool has_handle_summary() const override { return prog_.exports("handleSummary"); }
    // handleSummary(data) in the init context: a string, an object, or null
    // (summary_data.hpp: data serves the seed's and k6's readers; an output
    // map's files are written here, its stdout returned to print).
    nlohmann::json handle_summary(const nlohmann::json& data) override {
        if (std::this_thread::get_id() != owner_)
            throw std::logic_error("handleSummary must run on the thread that loaded the script");
        JSAutoRealm realm(cx_, init_->global);
        auto view = detail::resolve_summary_view(summary_, prog_.options);
        view.setup_json = prog_.setup_json;
        view.has_setup = prog_.exports("setup");
        view.has_teardown = prog_.exports("teardown");
        return detail::call_handle_summary(*init_, data, view);
    }
    // Where handleSummary's data.options and trend values come from (the
    // command line's --summary-trend-stats, --summary-time-unit, --no-color).
    summary_options& summary() noexcept { return summary_; }
    void use_summary_options(const loadkit::summary_options& o, bool no_color) override {
        summary_.trend_stats = o.trend_stats;
        summary_.time_unit = o.time_unit;
        if (no_color) summary_.no_color = true;
    }

  private:
    // setup() or teardown() on the control thread. The engine's control VU
    // (the client's) is cut by a signal or by setupTimeout/teardownTimeout:
    // that interrupts the JavaScript too, even a busy loop.
    task<> run_control(client& c, detail::bridge::command cmd) {
        auto& t = control();
        t.link().cmd = cmd;
        auto* v = c.vu();
        struct unhook {
            loadkit::detail::vu_context* v;
            ~unhook() {
                if (v) v->on_interrupt = nullptr, v->interrupt_self = nullptr;
            }
        } guard{v};
        if (v) {
            v->interrupt_self = &t;
            v->on_interrupt = [](void* self) { static_cast<detail::vu_thread*>(self)->interrupt(); };
        }
        co_await t.drive(c);
    }
    detail::vu_thread& control() {
        if (!control_) control_ = std::make_unique<detail::vu_thread>(prog_, nullptr, nullptr);
        return *control_;
    }

    detail::program prog_;
    JSContext* cx_ = nullptr;
    std::unique_ptr<detail::instance> init_;      // the init context: options, exports, handleSummary
    std::unique_ptr<detail::vu_thread> control_;  // setup and teardown
    std::thread::id owner_;
    summary_options summary_;
};

}  // namespace loadkit::inline LOADKIT_ABI::js
