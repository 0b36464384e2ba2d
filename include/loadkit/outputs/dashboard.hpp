#pragma once
// The live dashboard: the HTML report's page (outputs/html.hpp), kept up to
// date while the test runs, on a live_server (GET / and GET /events):
//
//   loadkit::live_server server("127.0.0.1:5665");
//   loadkit::dashboard dash(server, {.name = o.name, .thresholds = o.thresholds});
//   // the control API's routes go on the same server here (control_api.hpp)
//   server.start();
//   o.on_progress = [&](const loadkit::progress& p) { dash.update(p); };
//   auto r = t.run();
//   dash.finish(results);   // the report's data: the page becomes the report
//
// One template, one set of charts: every snapshot is rendered by the
// report's own section functions (detail::html::sections: the same cards,
// SVG charts, tables, badges) into one server-sent event, and the page swaps
// each section's content for the new one. So the page at the end IS the
// report (`--report` writes the same sections from the same data), and the
// page needs no chart library and loads nothing. The renderer runs in
// update(), on the engine's main thread once per progress_period, off the
// request path; the server's thread only copies the event to open streams.
//
// An event ("snapshot" while the run goes on, "final" once, at the end) is
// one JSON object:
//   {"state": "running"|"ending"|"finished", "final": false, "elapsed": 3.0,
//    "total": 6.0, "vus": 4, "vus_max": 4, "reqs": 812, "rps": 270.5,
//    "failed": 3, "iterations": 406, "p50": 1.2, "p95": 3.4, "p99": 5.6,
//    "timeline": [...], "requests": [...], "checks": [...],
//    "thresholds": [...], "thresholds_passed": true,
//    "html": {"lk-header": "...", "lk-cards": "...", ...}}
// (latencies in ms over the last interval, null when it had no request;
// reqs/failed/iterations cumulative; the timeline, requests, checks and
// thresholds in the summary's and timeline_recorder's shapes; thresholds are
// judged on what has been measured so far).
//
// The page's buttons call the control API on the same origin (k6's REST
// API: PATCH /v1/status, outputs/control_api.hpp); without those routes they
// say the API is not there. Unlike k6's web dashboard (a separate Preact
// app, with its own metrics aggregation, that fetches its UI bundle), this
// page is the report itself and carries no script from elsewhere.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../engine/options.hpp"
#include "../engine/summary.hpp"
#include "../engine/thresholds.hpp"
#include "../engine/timeline.hpp"
#include "html.hpp"
#include "live_server.hpp"

namespace loadkit::inline LOADKIT_ABI {

struct dashboard_options {
    std::string name = "loadkit";          // the run's name (options::name)
    loadkit::threshold_set thresholds;     // judged on every snapshot, "so far"
    std::size_t max_points = 600;          // the live timeline's points before coarsening
    std::vector<std::string> trend_stats;  // the summary's extra percentiles (options::summary.trend_stats)
};

namespace detail {

// The page's controls and its script: the only parts the report does not have.
inline constexpr const char* dashboard_controls =
    R"lk(<div class="panel" id="lk-controls" style="display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:16px;padding:10px 14px">
<b style="margin-right:8px">Control</b>
<button type="button" data-act="pause">Pause</button>
<button type="button" data-act="stop">Stop</button>
<button type="button" data-act="abort">Abort</button>
<label style="margin-left:12px">VUs <input id="lk-vus" type="number" min="0" step="1" style="width:80px"></label>
<button type="button" data-act="scale">Scale</button>
<span id="lk-control-msg" style="margin-left:12px"></span>
<span id="lk-conn" style="margin-left:auto">connecting</span>
</div>
<style>#lk-controls button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; } #lk-controls button:disabled { opacity: .45; cursor: default; } #lk-conn, #lk-control-msg { color: var(--muted); } #lk-control-msg.err { color: var(--bad); }</style>
)lk";

inline constexpr const char* dashboard_script = R"lk(<script>
(function () {
  var body = document.body, over = false, updates = 0;
  var msg = document.getElementById('lk-control-msg'), conn = document.getElementById('lk-conn');
  var buttons = document.querySelectorAll('#lk-controls button'), paused = false;
  function say(text, bad) { msg.textContent = text; msg.className = bad ? 'err' : ''; }
  function apply(d) {
    var html = d.html || {};
    for (var id in html) { var el = document.getElementById(id); if (el) el.innerHTML = html[id]; }
    updates += 1;
    body.dataset.updates = updates;
    body.dataset.state = d.state || '';
    conn.textContent = d.final ? 'run over' : 'live, ' + Math.floor(d.elapsed || 0) + ' s';
    if (d.final) buttons.forEach(function (b) { b.disabled = true; });
  }
  function handle(e) {
    try { apply(JSON.parse(e.data)); } catch (x) { say('bad event: ' + x, true); }
  }
  var es = new EventSource('events');
  es.addEventListener('snapshot', handle);
  es.addEventListener('final', function (e) { over = true; es.close(); handle(e); });
  es.onerror = function () { if (!over) conn.textContent = 'connection lost, retrying'; };

  // k6's REST API on this origin: its error documents are shown as they come
  function errorText(status, text) {
    try {
      var j = JSON.parse(text), e = (j.errors || [])[0];
      if (e) return status + ' ' + (e.title || '') + (e.detail ? ': ' + e.detail : '');
    } catch (x) {}
    return status + ' ' + text.slice(0, 200);
  }
  function status(j) {
    var a = j && j.data && j.data.attributes;
    if (!a) return;
    paused = !!a.paused;
    document.querySelector('[data-act=pause]').textContent = paused ? 'Resume' : 'Pause';
    var vus = document.getElementById('lk-vus');
    if (document.activeElement !== vus && a.vus !== undefined) vus.value = a.vus;
  }
  function call(method, attrs, done) {
    var init = { method: method, headers: { 'Content-Type': 'application/json' } };
    if (attrs) init.body = JSON.stringify({ data: { type: 'status', id: 'default', attributes: attrs } });
    fetch('v1/status', init).then(function (r) {
      return r.text().then(function (t) {
        if (!r.ok) {
          if (r.status === 404) buttons.forEach(function (b) { b.disabled = true; });
          say(r.status === 404 ? 'the control API is not served here' : errorText(r.status, t), true);
          return;
        }
        var j = null;
        try { j = JSON.parse(t); } catch (x) {}
        status(j);
        if (done) say(done);
      });
    }).catch(function (x) { say(String(x), true); });
  }
  buttons.forEach(function (b) {
    b.addEventListener('click', function () {
      var act = b.dataset.act;
      if (act === 'pause') call('PATCH', { paused: !paused }, paused ? 'resumed' : 'paused');
      else if (act === 'stop') call('PATCH', { stopped: true }, 'stopping (as Ctrl-C)');
      else if (act === 'abort') call('PATCH', { aborted: true }, 'aborted');
      else if (act === 'scale') {
        var n = parseInt(document.getElementById('lk-vus').value, 10);
        if (!(n >= 0)) { say('VUs: a whole number', true); return; }
        call('PATCH', { vus: n }, 'scaled to ' + n + ' VUs');
      }
    });
  });
  call('GET', null, null);
})();
</script>
)lk";

}  // namespace detail

class dashboard {
  public:
    // Adds GET / (the page) and GET /events (its event stream) to `server`,
    // which must outlive this and be started by the caller.
    dashboard(live_server& server, dashboard_options o)
        : server_(server), opts_(std::move(o)), timeline_(opts_.max_points) {
        if (!opts_.thresholds.empty()) thresholds_ = detail::parse_thresholds(opts_.thresholds);
        for (auto& t : thresholds_)
            if (!t.selector.filter.empty()) submetrics_.push_back(t.selector.text());
        nlohmann::json empty{{"name", opts_.name}, {"progress", {{"state", "starting"}}}};
        shared_->page = std::make_shared<const std::string>(render_page(empty, detail::html::sections(empty)));
        // (the handler holds what it reads: it may run until the server stops, after this is gone)
        server_.route("GET", "/", [shared = shared_](const live_request&) {
            std::shared_ptr<const std::string> p;
            {
                std::lock_guard lock(shared->mu);
                p = shared->page;
            }
            return live_response{200, "text/html; charset=utf-8", *p, {}};
        });
        server_.event_stream("/events");
    }
    dashboard(const dashboard&) = delete;
    dashboard& operator=(const dashboard&) = delete;

    // One of the engine's snapshots (options::on_progress, its main thread):
    // renders the event and hands it to the server. The last one
    // (progress::final) says "ending": finish() says the run is over.
    void update(const progress& p) {
        if (!p.metrics) return;
        const auto now = detail::wall_ms();
        if (!started_ms_) started_ms_ = now - static_cast<std::int64_t>(p.elapsed_secs * 1000);
        timeline_.add(*p.metrics, p.elapsed_secs);

        detail::summary_input in;
        in.name = opts_.name;
        in.started_ms = started_ms_;
        in.ended_ms = now;
        for (auto& s : p.scenarios) in.scenarios.push_back(s.name);
        in.submetrics = submetrics_;
        in.trend_stats = opts_.trend_stats;
        if (!thresholds_.empty()) {
            bool passed = true;
            in.thresholds = detail::evaluate_thresholds(thresholds_, *p.metrics, p.elapsed_secs, passed);
            in.thresholds_passed = passed;
        }
        auto results = detail::build_summary(in, *p.metrics);
        results["timeline"] = timeline_.json();
        results["requests"] = requests_table(*p.metrics);
        const auto& last = results["timeline"].empty() ? nlohmann::json() : results["timeline"].back();
        results["progress"] = {{"state", p.final ? "ending" : "running"},
                               {"elapsed_secs", p.elapsed_secs},
                               {"total_secs", p.total_secs},
                               {"vus", p.metrics->vus.last},
                               {"rps", last.value("rps", 0.0)}};
        publish(results, p.final ? "ending" : "running", "snapshot", p.elapsed_secs, p.total_secs);
        last_ = std::move(results);
    }

    // The run's end with the report's data (the summary with "timeline" and
    // "requests", as html_report takes it): the "final" event, after which
    // the page shows what the report shows.
    void finish(const nlohmann::json& results) {
        double secs = results.is_object() ? results.value("duration_secs", 0.0) : 0.0;
        publish(results.is_object() ? results : nlohmann::json::object(), "finished", "final", secs, secs);
    }
    // The same without a summary: the last snapshot's data, as final.
    void finish() {
        auto r = last_.is_object() ? last_ : nlohmann::json{{"name", opts_.name}};
        r.erase("progress");
        finish(r);
    }

    // What GET / serves now.
    std::string page() const {
        std::lock_guard lock(shared_->mu);
        return *shared_->page;
    }
    // Events published so far.
    std::size_t events() const {
        std::lock_guard lock(shared_->mu);
        return shared_->events;
    }

  private:
    static std::string render_page(const nlohmann::json& results, detail::html::section_list parts) {
        return detail::html::page(results, {"loadkit live", detail::dashboard_controls, detail::dashboard_script},
                                  std::move(parts));
    }

    void publish(const nlohmann::json& results, const char* state, const char* event, double elapsed, double total) {
        namespace h = detail::html;
        nlohmann::json e;
        e["state"] = state;
        e["final"] = std::string_view(event) == "final";
        e["elapsed"] = elapsed;
        e["total"] = total;
        auto agg = [&](const char* metric, const char* key) {
            auto v = h::num(h::at(h::metric_agg(results, metric), key));
            return v ? nlohmann::json(*v) : nlohmann::json();
        };
        e["vus"] = agg("vus", "last");
        e["vus_max"] = agg("vus_max", "last");
        e["reqs"] = agg("http_reqs", "count");
        e["failed"] = agg("http_req_failed", "sum");
        e["iterations"] = agg("iterations", "count");
        const auto* tl = h::at(results, "timeline");
        const nlohmann::json* point = tl && tl->is_array() && !tl->empty() ? &tl->back() : nullptr;
        for (auto* k : {"rps", "p50", "p95", "p99"})
            e[k] = point && point->contains(k) ? (*point)[k] : nlohmann::json();
        for (auto* k : {"timeline", "requests", "checks", "thresholds"})
            e[k] = h::at(results, k) ? *h::at(results, k) : nlohmann::json::array();
        e["thresholds_passed"] = results.value("thresholds_passed", true);
        auto parts = h::sections(results);
        auto& html = e["html"] = nlohmann::json::object();
        for (auto& [id, part] : parts) html[id] = part;
        auto text = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        // a page opened now starts from this state: the shell with this snapshot in it
        auto page = std::make_shared<const std::string>(render_page(results, std::move(parts)));
        {
            std::lock_guard lock(shared_->mu);
            shared_->page = std::move(page);
            ++shared_->events;
        }
        server_.publish(event, std::move(text));
    }

    live_server& server_;
    dashboard_options opts_;
    std::vector<detail::parsed_threshold> thresholds_;
    std::vector<std::string> submetrics_;
    timeline_recorder timeline_;
    std::int64_t started_ms_ = 0;
    struct shared_state {  // what the server's thread reads
        std::mutex mu;
        std::shared_ptr<const std::string> page;
        std::size_t events = 0;
    };
    std::shared_ptr<shared_state> shared_ = std::make_shared<shared_state>();
    nlohmann::json last_;  // the last snapshot's data (for finish())
};

}  // namespace loadkit::inline LOADKIT_ABI
