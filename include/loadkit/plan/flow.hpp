#pragma once
// YAML flows at run time. A flow is the list of steps a scenario runs on every
// iteration (request, think, loop, group) before its `exec` function. The
// loaders (build.hpp) build these structures once, templates compiled; a
// flow_vu walks them with reused buffers, so a request step costs a template
// render, a request and its checks: no parsing, and no allocation beyond what
// the response needs.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/engine.hpp"
#include "../engine/script.hpp"
#include "../http/client.hpp"
#include "../engine/thresholds.hpp"
#include "../core/log.hpp"
#include "../runtime/checks.hpp"
#include "../runtime/custom_metrics.hpp"
#include "../runtime/groups.hpp"
#include "csv.hpp"
#include "error.hpp"
#include "grpc_steps.hpp"
#include "rules.hpp"
#include "template.hpp"
#include "ws_steps.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

struct request_step {
    std::string name;  // the name tag
    std::string method = "GET";
    text_template url;
    std::vector<std::pair<std::string, text_template>> headers;
    std::optional<text_template> body;
    std::vector<check_rule> checks;
    std::vector<capture_rule> captures;
    bool needs_json = false;   // a check or capture reads the body as JSON
    bool digest_auth = false;  // auth: digest (the URL's credentials answer a Digest challenge)
};
struct think_step {
    nanoseconds min{}, max{};  // equal for a fixed think time
};
struct step;
struct loop_step {
    std::int64_t count = 1;
    std::vector<step> steps;
};
struct group_step {
    std::string name;
    std::vector<step> steps;
};
struct step {
    std::variant<request_step, think_step, loop_step, group_step, ws_step, grpc_step> what;
    position where;
};

struct data_source {
    std::string file;
    feed_mode mode = feed_mode::sequential;
    std::shared_ptr<feeder> rows;
};

// One of a scenario's tasks (Locust's user model, engine/tasks.hpp): a flow
// and/or a script function; each iteration runs one task, flow first.
struct task_plan {
    std::vector<step> flow;
    std::string exec;
    position where;
};

struct scenario_plan {
    std::string name;
    executor exec;
    std::vector<step> flow;
    std::string exec_function, on_start, on_stop;  // script functions by name
    std::map<std::string, std::string> env, tags;
    std::optional<data_source> data;
    position where, exec_where, on_start_where, on_stop_where;
    // Each iteration starts from the VU's jar as it was before its first
    // iteration (what on_start left): k6's behaviour for scripts (a new jar
    // per iteration unless noCookiesReset), set by js::make_plan. A YAML
    // flow keeps its jar for the VU's lifetime (a Locust HttpUser session).
    bool reset_cookies = false;
    // tasks: (weighted or in order) instead of flow/exec; waitTime: after each iteration
    std::vector<task_plan> tasks;
    task_list task_weights;
    loadkit::wait_time wait;
};

// A loaded file: everything a run needs, validated.
struct plan {
    std::string file;
    std::string name = "loadkit";
    std::string target;
    std::string script;  // path of the script module, resolved against the file
    std::map<std::string, std::string> env, tags;
    threshold_set thresholds;
    client_options http;
    std::vector<scenario_plan> scenarios;
    // how long setup() and teardown() may run (k6's setupTimeout/teardownTimeout)
    nanoseconds setup_timeout = std::chrono::seconds(60), teardown_timeout = std::chrono::seconds(60);
};

namespace detail {

using loadkit::detail::vu_context;

// Captures that found nothing (a JSON path the body does not have, a header
// the response lacks): counted here, tagged with the request's name and the
// variable, besides a check row per capture ("login: captured token"), so
// that a flow whose token never arrived says so instead of showing 401s.
inline const std::uint32_t captures_failed_metric =
    loadkit::detail::metric_registry::get().add("captures_failed", metric_kind::counter, false);

// The variables a flow's captures set (in any step: a later iteration reads
// what an earlier one captured), for the loader's unknown-variable check.
inline void captured_variables(const std::vector<step>& steps, std::vector<std::string>& out) {
    for (auto& s : steps) {
        if (auto* r = std::get_if<request_step>(&s.what))
            for (auto& c : r->captures) out.push_back(c.var);
        else if (auto* l = std::get_if<loop_step>(&s.what)) captured_variables(l->steps, out);
        else if (auto* g = std::get_if<group_step>(&s.what)) captured_variables(g->steps, out);
        else if (auto* w = std::get_if<ws_step>(&s.what))
            for (auto& c : w->captures) out.push_back(c.var);
        else if (auto* rpc = std::get_if<grpc_step>(&s.what))
            for (auto& c : rpc->captures) out.push_back(c.var);
    }
}

// The per-VU walker of a scenario's flow.
class flow_vu final : public loadkit::vu_instance {
  public:
    flow_vu(vu_context& ctx, const scenario_plan& sc, script* s)
        : ctx_(ctx),
          sc_(sc),
          http_(*ctx.thread, &ctx, *ctx.thread->engine->http),
          rng_(std::random_device{}() ^ (ctx.id * 0x9E3779B97F4A7C15ull)) {
        // (with tasks, the first task's function says which kind of script VU runs them all)
        if (s) script_ = s->create_vu(ctx, http_, vars_, sc.tasks.empty() ? sc.exec_function : sc.tasks[0].exec);
        has_on_start = script_ && !sc.on_start.empty();
        has_on_stop = script_ && !sc.on_stop.empty();
    }

    task<> on_start() override { return script_->call(sc_.on_start); }
    task<> on_stop() override { return script_->call(sc_.on_stop); }
    task<> iteration() override {
        if (sc_.reset_cookies) reset_cookies();
        row_ = nullptr;
        if (sc_.data) {
            row_ = sc_.data->rows->next();
            if (!row_) throw std::runtime_error("data file " + sc_.data->file + " has no rows left (mode unique)");
        }
        if (!sc_.tasks.empty()) {  // the task the engine picked (vu_context::task)
            auto& t = sc_.tasks[ctx_.task];
            co_await run(t.flow);
            if (script_ && !t.exec.empty()) co_await script_->call(t.exec);
            co_return;
        }
        co_await run(sc_.flow);
        if (ws_.is_open()) co_await ws_.close();  // a flow's session ends with its iteration
        if (script_ && !sc_.exec_function.empty()) co_await script_->call(sc_.exec_function);
    }

    vars_map& vars() noexcept { return vars_; }

  private:
    // The one place the per-iteration jar reset happens, for async VUs and
    // VUs on threads alike (their clients all use http_'s jar). The first
    // call keeps the jar as the baseline; later ones copy it back, which
    // reuses the jar's storage: a cost per iteration, none per request.
    void reset_cookies() {
        auto& jar = http_.cookies();
        if (!cookie_baseline_) cookie_baseline_.emplace(jar);
        else if (!jar.empty() || !cookie_baseline_->empty()) jar = *cookie_baseline_;
    }

    task<> run(const std::vector<step>& steps) {
        for (auto& s : steps) {
            if (auto* r = std::get_if<request_step>(&s.what)) {
                co_await request(*r);
            } else if (auto* t = std::get_if<think_step>(&s.what)) {
                auto d = t->min;
                if (t->max > t->min)
                    d += nanoseconds(std::uniform_int_distribution<std::int64_t>(0, (t->max - t->min).count())(rng_));
                co_await ctx_.wait_until(loadkit::detail::now_ns() + d.count());
            } else if (auto* l = std::get_if<loop_step>(&s.what)) {
                for (std::int64_t i = 0; i < l->count; ++i) co_await run(l->steps);
            } else if (auto* g = std::get_if<group_step>(&s.what)) {
                co_await group(*g);
            } else if (auto* w = std::get_if<ws_step>(&s.what)) {
                co_await websocket(*w);
            } else if (auto* rpc = std::get_if<grpc_step>(&s.what)) {
                co_await grpc(*rpc);
            }
        }
    }

    // k6's group(), as VU::group does it for C++ scenarios (the loader
    // has checked the name).
    task<> group(const group_step& g) {
        return loadkit::detail::in_group(
            ctx_, g.name, [this, &g] { return run(g.steps); }, true);
    }

    // Appends one template expression's value.
    void resolve(const expression& e, std::string& out) {
        switch (e.kind) {
            case expression::root::vu: out += std::to_string(ctx_.id); return;
            case expression::root::iter: out += std::to_string(ctx_.iteration); return;
            case expression::root::scenario: out += ctx_.scenario; return;
            case expression::root::env: out += loadkit::detail::lookup_env(&ctx_, e.path, {}); return;
            case expression::root::function: render_function(e, out, rng_); return;
            case expression::root::data: append_data(e.path, out); return;
            case expression::root::vars: append_var(e.path, out); return;
            case expression::root::bare:
                if (!append_var(e.path, out)) append_data(e.path, out);
                return;
            default: return;
        }
    }
    // vars.NAME, or vars.NAME.path.into.its.json
    bool append_var(std::string_view path, std::string& out) {
        auto dot = path.find('.');
        auto it = vars_.find(std::string(path.substr(0, dot)));
        if (it == vars_.end()) return false;
        if (dot == std::string_view::npos) {
            out += it->second;
            return true;
        }
        auto j = nlohmann::json::parse(it->second, nullptr, false);
        if (auto* v = loadkit::detail::json_at(j, path.substr(dot + 1))) append_json(*v, out);
        return true;
    }
    bool append_data(std::string_view column, std::string& out) {
        if (!row_ || !sc_.data) return false;
        int c = sc_.data->rows->table().column(column);
        if (c < 0 || static_cast<std::size_t>(c) >= row_->size()) return false;
        out += (*row_)[static_cast<std::size_t>(c)];
        return true;
    }
    static void append_json(const nlohmann::json& v, std::string& out) {
        if (v.is_string()) out += v.get_ref<const std::string&>();
        else out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

    void render(const text_template& t, std::string& out) {
        out.clear();
        t.render(out, [this](const expression& e, std::string& o) { resolve(e, o); });
    }

    task<> request(const request_step& r) {
        req_.name = r.name;
        req_.method = r.method;
        render(r.url, req_.url);
        req_.headers.resize(r.headers.size());
        for (std::size_t i = 0; i < r.headers.size(); ++i) {
            req_.headers[i].first = r.headers[i].first;
            render(r.headers[i].second, req_.headers[i].second);
        }
        if (r.body) render(*r.body, req_.body);
        else req_.body.clear();
        if (script_ && script_->has_before_request()) co_await script_->before_request(req_);
        // (not a ?: of two send() tasks inside co_await: g++ 12 destroys such a temporary twice)
        static const params none{}, digest_auth{.digest_auth = true};
        auto& res = co_await http_.send(req_, r.digest_auth ? digest_auth : none);
        if (script_ && script_->has_after_request()) co_await script_->after_request(res);
        if (r.checks.empty() && r.captures.empty()) co_return;
        nlohmann::json doc;
        if (r.needs_json) doc = nlohmann::json::parse(res.body, nullptr, false);
        for (auto& c : r.checks) loadkit::detail::record_check(&ctx_, c.name, check(c, res, doc));
        for (auto& c : r.captures)
            if (!capture(c, res, doc)) capture_failed("request", r.name, c);
    }

    // A WebSocket step (ws_steps.hpp) on the VU's one session.
    task<> websocket(const ws_step& w) {
        switch (w.what) {
            case ws_step::op::connect: {
                render(w.text, req_.url);
                ws_params p;
                for (auto& [k, t] : w.headers) render(t, p.headers.emplace_back(k, std::string()).second);
                p.protocols = w.protocols;
                if (!w.name.empty()) p.tags.emplace_back("name", w.name);
                p.timeout = w.timeout;
                ws_ = co_await loadkit::websocket(http_, req_.url, p);
                break;
            }
            case ws_step::op::send:
                render(w.text, req_.body);
                if (w.binary) co_await ws_.send_binary(req_.body);  // (not a ?: of two tasks: see request())
                else co_await ws_.send(req_.body);
                break;
            case ws_step::op::receive: {
                const ws_event* ev = nullptr;
                while (ws_.state()) {  // pings and pongs are not messages
                    ev = &co_await ws_.receive(w.timeout.value_or(std::chrono::seconds(5)));
                    if (ev->kind != ws_kind::ping && ev->kind != ws_kind::pong) break;
                }
                bool message = ev && (ev->kind == ws_kind::text || ev->kind == ws_kind::binary);
                static const std::string none;
                const std::string& body = message ? ev->data : none;
                nlohmann::json doc;
                if (w.needs_json && message) doc = nlohmann::json::parse(body, nullptr, false);
                for (auto& c : w.checks) loadkit::detail::record_check(&ctx_, c.name, message && check_message(c, body, doc));
                for (auto& c : w.captures) {  // counted as a request step's captures are
                    bool found = message;
                    if (!message) vars_.erase(c.var);
                    else if (c.from == response_part::body) vars_[c.var] = body;
                    else if (auto* v = loadkit::detail::json_at(doc, c.path)) append_json(*v, vars_[c.var] = {});
                    else vars_.erase(c.var), found = false;
                    if (!record_capture(c, found)) capture_failed("step", "ws_receive", c);
                }
                break;
            }
            case ws_step::op::close: co_await ws_.close(w.code); break;
        }
    }
    // A gRPC step (grpc_steps.hpp) on the VU's gRPC side, made at its first one.
    task<> grpc(const grpc_step& g) {
        if (!grpc_) grpc_ = grpc_installed->make_vu(http_);  // (a plan with a grpc step has it installed)
        render(g.address, req_.url);
        render(g.message, req_.body);
        grpc_md_.resize(g.metadata.size());
        for (std::size_t i = 0; i < g.metadata.size(); ++i) {
            grpc_md_[i].first = g.metadata[i].first;
            render(g.metadata[i].second, grpc_md_[i].second);
        }
        co_await grpc_->call(g, req_.url, req_.body, grpc_md_, grpc_out_);
        if (g.checks.empty() && g.captures.empty()) co_return;
        auto& o = grpc_out_;
        nlohmann::json doc;
        if (g.needs_json) doc = nlohmann::json::parse(o.message, nullptr, false);
        auto header = [&o](const std::string& name) -> const std::string* {  // headers, then trailers
            for (auto* md : {&o.headers, &o.trailers})
                for (auto& [k, v] : *md)
                    if (loadkit::detail::iequals(k, name)) return &v;
            return nullptr;
        };
        for (auto& c : g.checks) {
            bool pass = false;
            if (c.from == response_part::status) pass = c.expected.is_number() && o.status == c.expected.get<double>();
            else if (c.from == response_part::header) pass = header(c.path) && *header(c.path) == scalar_text(c.expected);
            else pass = check_message(c, o.message, doc);
            loadkit::detail::record_check(&ctx_, c.name, pass);
        }
        for (auto& c : g.captures) {  // counted as a request step's captures are
            bool found = true;
            if (c.from == response_part::status) vars_[c.var] = std::to_string(o.status);
            else if (c.from == response_part::body) vars_[c.var] = o.message;
            else if (c.from == response_part::header) {
                auto* v = header(c.path);
                vars_[c.var] = v ? *v : std::string();
                found = v != nullptr;
            } else if (auto* v = loadkit::detail::json_at(doc, c.path)) append_json(*v, vars_[c.var] = {});
            else vars_.erase(c.var), found = false;
            if (c.from != response_part::status && c.from != response_part::body && !record_capture(c, found))
                capture_failed("grpc step", g.name, c);
        }
    }
    static bool check_message(const check_rule& c, const std::string& body, const nlohmann::json& doc) {
        if (c.from == response_part::body) return body.find(scalar_text(c.expected)) != std::string::npos;
        auto* v = loadkit::detail::json_at(doc, c.path);
        if (!v) return false;
        if (v->is_number() && c.expected.is_number()) return v->get<double>() == c.expected.get<double>();
        if (v->is_string() && !c.expected.is_string()) return v->get_ref<const std::string&>() == scalar_text(c.expected);
        return *v == c.expected;
    }

    static std::string scalar_text(const nlohmann::json& v) {
        return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

    static bool check(const check_rule& c, const response& res, const nlohmann::json& doc) {
        switch (c.from) {
            case response_part::status: return c.expected.is_number() && res.status == c.expected.get<double>();
            case response_part::header: return res.header(c.path) == scalar_text(c.expected);
            case response_part::body: return res.body.find(scalar_text(c.expected)) != std::string::npos;
            case response_part::proto: return res.proto == scalar_text(c.expected);
            case response_part::json: {
                auto* v = loadkit::detail::json_at(doc, c.path);
                if (!v) return false;
                if (v->is_number() && c.expected.is_number()) return v->get<double>() == c.expected.get<double>();
                if (v->is_string() && !c.expected.is_string())
                    return v->get_ref<const std::string&>() == scalar_text(c.expected);
                return *v == c.expected;
            }
        }
        return false;
    }
    // False when the capture found nothing (json, header); status and body always find something.
    bool capture(const capture_rule& c, const response& res, const nlohmann::json& doc) {
        switch (c.from) {
            case response_part::status: vars_[c.var] = std::to_string(res.status); return true;
            case response_part::body: vars_[c.var] = res.body; return true;
            case response_part::header: {
                auto v = res.header(c.path);
                vars_[c.var] = std::string(v);
                return record_capture(c, !v.empty());
            }
            case response_part::proto: vars_[c.var] = std::string(res.proto); return true;
            case response_part::json:
                if (auto* v = loadkit::detail::json_at(doc, c.path)) {
                    std::string s;
                    append_json(*v, s);
                    vars_[c.var] = std::move(s);
                    return record_capture(c, true);
                }
                vars_.erase(c.var);  // absent: an empty value, not the previous one
                return record_capture(c, false);
        }
        return true;
    }
    // The capture's check row ("login: captured token"), named once at load time.
    bool record_capture(const capture_rule& c, bool found) {
        return loadkit::detail::record_check(&ctx_, c.check_name, found);
    }
    void capture_failed(std::string_view kind, const std::string& step_name, const capture_rule& c) {
        const loadkit::detail::tag_pair tags[] = {{"name", step_name}, {"capture", c.var}};
        if (ctx_.thread)
            loadkit::detail::record_sample(ctx_.thread->shard, ctx_.scenario_id, ctx_.group, captures_failed_metric,
                                           metric_kind::counter, false, 1, tags);
        loadkit::detail::log_once(log_level::warn, "capture '" + c.var + "' of " + std::string(kind) + " '" + step_name + "' found no " +
                                                       (c.from == response_part::json     ? "json." + c.path
                                                        : c.from == response_part::header ? "header " + c.path
                                                                                          : std::string("message")) +
                                                       " in the response: {{ vars." + c.var +
                                                       " }} is empty; counted in captures_failed, logged once");
    }

    vu_context& ctx_;
    const scenario_plan& sc_;
    client http_;
    std::mt19937_64 rng_;
    vars_map vars_;
    std::unique_ptr<script_vu> script_;
    const std::vector<std::string>* row_ = nullptr;
    loadkit::request req_;                       // reused by every request step
    ws_session ws_;                              // the session of the ws_* steps
    std::optional<cookie_jar> cookie_baseline_;  // sc_.reset_cookies: the jar before the first iteration
    std::unique_ptr<grpc_step_vu> grpc_;         // the grpc steps' connections (before http_ goes)
    std::vector<std::pair<std::string, std::string>> grpc_md_;
    grpc_outcome grpc_out_;
};

class flow_factory final : public loadkit::vu_factory {
  public:
    flow_factory(const scenario_plan& sc, script* s) : sc_(sc), script_(s) {}
    std::unique_ptr<loadkit::vu_instance> create(vu_context& ctx) override {
        return std::make_unique<flow_vu>(ctx, sc_, script_);
    }

  private:
    const scenario_plan& sc_;
    script* script_;
};

}  // namespace detail

// Runs a loaded plan (with its script, if any) to the end, on the engine that
// runs C++ scenarios. `o` carries what the file does not (threads, outputs,
// summary handling, -e values); the plan's name, target, env, tags,
// thresholds and HTTP settings are applied to it.
inline run_result run(const plan& p, options o, script* s = nullptr) {
    o.name = p.name;
    if (o.target.empty()) o.target = p.target;
    for (auto& [k, v] : p.env) o.env.emplace(k, v);  // values already in o (-e) win
    for (auto& [k, v] : p.tags) o.tags.emplace(k, v);
    if (o.thresholds.empty()) o.thresholds = p.thresholds;
    o.http = p.http;
    o.setup_timeout = p.setup_timeout;
    o.teardown_timeout = p.teardown_timeout;
    if (s && s->has_handle_summary() && !o.handle_summary)
        o.handle_summary = [s](const nlohmann::json& j) { return s->handle_summary(j); };
    std::vector<loadkit::scenario_spec> specs;
    for (auto& sc : p.scenarios)
        specs.push_back({sc.name,
                         sc.exec,
                         std::make_shared<detail::flow_factory>(sc, s),
                         {sc.env.begin(), sc.env.end()},
                         {sc.tags.begin(), sc.tags.end()},
                         sc.task_weights,
                         sc.wait});
    loadkit::engine e(o);
    loadkit::engine::hook_fn setup, teardown;
    if (s && s->has_setup()) setup = [s](client& c) { return s->setup(c); };
    if (s && s->has_teardown()) teardown = [s](client& c) { return s->teardown(c); };
    return e.run(specs, setup, teardown);
}

}  // namespace loadkit::inline LOADKIT_ABI::yaml
