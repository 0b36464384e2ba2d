#pragma once
// `--out prometheus=HOST:PORT`: the run's cumulative metrics as a Prometheus
// text endpoint (exposition format 0.0.4, what Prometheus scrapes by
// default), served on GET /metrics while the test runs.
//
//   loadkit::prometheus_output prom("127.0.0.1:9464");   // port 0: any free port, prom.port() tells
//   opts.on_progress = [&](const loadkit::progress& p) { prom.update(*p.metrics); };
//   auto result = t.run();
//   prom.linger(30s);   // until Prometheus has scraped the final values (bounded)
//
// update() renders the text on the caller's thread (the engine's main thread,
// once per progress_period, off the hot path) and swaps it in under a mutex;
// the server's one thread (Boost.Beast, connections handled asynchronously,
// keep-alive) only copies a shared_ptr<const std::string> per scrape.
//
// Naming: k6's metric names without a prefix, so queries read as with k6's
// Prometheus outputs (k6's remote-write adds `k6_`; here nothing is added):
//   http_reqs_total, http_req_failed_total (failed requests; the rate is
//     sum(rate(http_req_failed_total)) / sum(rate(http_reqs_total)))   counters
//   http_req_duration_seconds, http_req_waiting_seconds,
//     iteration_duration_seconds, group_duration_seconds              histograms
//   iterations_total, iterations_failed_total, iterations_interrupted_total,
//     dropped_iterations_total, data_sent_bytes_total,
//     data_received_bytes_total                                        counters (label scenario)
//   checks_total{check, scenario, result="pass"|"fail"}                counter
//   vus, vus_max                                                       gauges
//   custom metrics by kind: counter NAME_total; gauge NAME (the last
//     value); rate NAME_total{result="true"|"false"}; trend a histogram,
//     NAME_seconds for time trends, NAME (in the metric's own unit) otherwise
// HTTP series carry scenario, name, method, status, expected_response, and
// group and error_code when set (k6's `url` is left out: it is `name` again),
// then the request's own tags, the scenario's tags and the run's tags; the
// first of a name wins (as in the summary's tag filters). Empty values are
// left out (Prometheus treats them as absent). Tag names are sanitised to
// [a-zA-Z_][a-zA-Z0-9_]* (other characters become '_', a leading digit gets
// a '_' before it); names starting with "__" (reserved) and "le" are dropped.
// Label values are escaped (\\, \", \n) and made valid UTF-8 (Prometheus
// rejects a whole scrape otherwise). Series that end up with the same labels
// are summed, so every series is unique; families are sorted, each with one
// # HELP and # TYPE and all its samples together.
//
// Histogram buckets are boundaries of the engine's own log-linear buckets
// (histogram.hpp), so every `le` count is exact, not interpolated: for time
// trends, 4 per power of two (prometheus_format::buckets_per_power) from
// 2^13 ns to 2^36 ns, i.e. le = 2^k * (1 + j/4) - 1 ns written in seconds
// (0.000008191, 0.000010239, ... 68.719476735), then +Inf: 94 buckets. An
// engine bucket holds whole nanoseconds [lo, lo + 2^m - 1], so "<= lo - 1 ns"
// is the only exact cut at lo. Other trends use the same rule in thousandths
// of their unit, from 0 to 2^40 - 1 thousandths. The set never changes between
// scrapes or runs.
#include <algorithm>
#include <bit>
#include <chrono>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../metrics/histogram.hpp"
#include "../metrics/registry.hpp"
#include "../engine/summary.hpp"
#include "listen.hpp"

namespace loadkit::inline LOADKIT_ABI {

struct prometheus_format {
    int buckets_per_power = 4;  // histogram buckets per power of two: 1, 2, 4, ... 64
    bool all_http_timings =
        false;  // also http_req_blocked/connecting/tls_handshaking/sending/receiving/duration_intended
};

namespace detail {

// ------------------------------------------------------------ bucket boundaries

// A histogram's `le` values: inclusive upper bounds in histogram units (ns, or
// thousandths for value trends) and the same as label text (seconds, units).
struct prom_buckets {
    std::vector<std::uint64_t> le;
    std::vector<std::string> text;
};

// v / 10^decimals, exactly, without trailing zeros.
inline std::string prom_decimal(std::uint64_t v, int decimals) {
    std::string s = std::to_string(v);
    if (decimals <= 0) return s;
    auto d = static_cast<std::size_t>(decimals);
    if (s.size() <= d) s.insert(0, d + 1 - s.size(), '0');
    s.insert(s.size() - d, 1, '.');
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

inline int prom_per_power(int per_power) {
    return static_cast<int>(std::bit_floor(static_cast<unsigned>(std::clamp(per_power, 1, 64))));
}

// le = 2^k * (1 + j/per_power) - 1 for k in [first, last), then 2^last - 1.
// Each 2^k * (1 + j/p) is the first value of an engine bucket: below 128 a
// bucket is one value wide, above it the power 2^k is cut in 64 buckets of
// 2^(k-6), and 2^k * j/p is a multiple of that for p <= 64. So no engine bucket
// straddles an le, and a bucket's count goes wholly to the first le >= its top.
inline prom_buckets make_prom_buckets(int per_power, int first_power, int last_power, int decimals) {
    prom_buckets b;
    const std::uint64_t p = static_cast<std::uint64_t>(prom_per_power(per_power));
    for (int k = first_power; k <= last_power; ++k) {
        const std::uint64_t base = std::uint64_t{1} << k;
        for (std::uint64_t j = 0; j < (k == last_power ? 1 : p); ++j) {
            if ((base * (p + j)) % p) continue;  // not a whole value (tiny powers)
            std::uint64_t le = base * (p + j) / p - 1;
            if (!b.le.empty() && le <= b.le.back()) continue;
            b.le.push_back(le);
            b.text.push_back(prom_decimal(le, decimals));
        }
    }
    return b;
}
// Time trends: ns, 2^13 ns (8.2 us) to 2^36 ns (68.7 s), in seconds.
inline prom_buckets prom_time_buckets(int per_power) { return make_prom_buckets(per_power, 13, 36, 9); }
// Other trends: thousandths, 0 to 2^40 - 1 thousandths (1.1e9), in the metric's unit.
inline prom_buckets prom_value_buckets(int per_power) { return make_prom_buckets(per_power, 0, 40, 3); }

// ------------------------------------------------------------ text pieces

inline bool prom_name_char(char c, bool first) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}
// A label or metric name from a tag's or metric's: invalid characters become '_'.
inline std::string prom_sanitize_name(std::string_view n) {
    std::string s;
    if (n.empty()) return s;
    if (!prom_name_char(n[0], true) && prom_name_char(n[0], false)) s += '_';  // a leading digit
    for (char c : n) s += prom_name_char(c, false) ? c : '_';
    return s;
}

// Appends v as valid UTF-8: invalid bytes become U+FFFD.
template <class Put>
void prom_utf8(std::string_view v, Put put) {
    auto u = [&](std::size_t i) { return static_cast<unsigned char>(v[i]); };
    for (std::size_t i = 0; i < v.size();) {
        unsigned char c = u(i);
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
        if (c < 0x80) len = 1;
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) {
            len = 3;
            lo = 0xA0;
        } else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) {
            len = 3;
            hi = 0x9F;
        }  // no surrogates
        else if (c >= 0xEE && c <= 0xEF)
            len = 3;
        else if (c == 0xF0) {
            len = 4;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) {
            len = 4;
            hi = 0x8F;
        }
        bool ok = len > 0 && i + len <= v.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            unsigned char b = u(i + k);
            ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        }
        if (!ok) {
            put(std::string_view("\xEF\xBF\xBD"), false);
            ++i;
            continue;
        }
        put(v.substr(i, len), len == 1);
        i += len;
    }
}

// A label value, escaped per the text format: backslash, double quote, newline.
inline void prom_escape_label(std::string& out, std::string_view v) {
    prom_utf8(v, [&](std::string_view ch, bool ascii) {
        if (ascii && ch[0] == '\\') out += "\\\\";
        else if (ascii && ch[0] == '"') out += "\\\"";
        else if (ascii && ch[0] == '\n') out += "\\n";
        else out += ch;
    });
}
// HELP text: backslash and newline.
inline void prom_escape_help(std::string& out, std::string_view v) {
    prom_utf8(v, [&](std::string_view ch, bool ascii) {
        if (ascii && ch[0] == '\\') out += "\\\\";
        else if (ascii && ch[0] == '\n') out += "\\n";
        else out += ch;
    });
}

inline std::string prom_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char b[40];
    auto r = std::to_chars(b, b + sizeof b, v);
    return std::string(b, r.ptr);
}
inline std::string prom_value(std::uint64_t v) { return std::to_string(v); }

// A series' labels: the first of a name wins, empty values are left out.
class prom_labels {
  public:
    using tag_map = std::map<std::string, std::string, std::less<>>;
    // A label loadkit sets (a valid name).
    void add(std::string_view name, std::string_view value) {
        if (value.empty() || taken(name)) return;
        l_.emplace_back(std::string(name), std::string(value));
    }
    // A user's tag: the name sanitised; reserved names ("__*", "le") dropped.
    void add_tag(std::string_view name, std::string_view value) {
        auto n = prom_sanitize_name(name);
        if (n.empty() || n.starts_with("__") || n == "le") return;
        add(n, value);
    }
    // The canonical string of a sample's own tags (key \x1f value, pairs split by \x1e).
    void add_canonical(std::string_view c) {
        while (!c.empty()) {
            auto end = c.find('\x1e');
            auto pair = c.substr(0, end);
            auto sep = pair.find('\x1f');
            if (sep != std::string_view::npos) add_tag(pair.substr(0, sep), pair.substr(sep + 1));
            c = end == std::string_view::npos ? std::string_view{} : c.substr(end + 1);
        }
    }
    void add_map(const tag_map* m) {
        if (m)
            for (auto& [k, v] : *m) add_tag(k, v);
    }
    // `a="x",b="y"`, sorted by name (the same set always gives the same text).
    std::string str() {
        std::sort(l_.begin(), l_.end());
        std::string s;
        for (auto& [k, v] : l_) {
            if (!s.empty()) s += ',';
            s += k;
            s += "=\"";
            prom_escape_label(s, v);
            s += '"';
        }
        return s;
    }

  private:
    bool taken(std::string_view n) const {
        for (auto& [k, v] : l_)
            if (k == n) return true;
        return false;
    }
    std::vector<std::pair<std::string, std::string>> l_;
};

// A histogram in `le` buckets: per-bucket counts (the last above every le).
struct prom_hist {
    std::vector<std::uint64_t> counts;
    double sum = 0;  // histogram units
    void add(const histogram& h, const prom_buckets& b) {
        if (counts.empty()) counts.assign(b.le.size() + 1, 0);
        h.for_each_bucket([&](std::uint64_t, std::uint64_t hi, std::uint64_t k) {
            counts[static_cast<std::size_t>(std::lower_bound(b.le.begin(), b.le.end(), hi) - b.le.begin())] += k;
        });
        sum += h.sum();
    }
};

class prom_writer {
  public:
    std::string out;

    // Starts a family: # HELP and # TYPE. False (and a comment) when one of
    // the names its samples use is taken by an earlier family.
    bool family(const std::string& name, std::string_view type, std::string_view help) {
        std::vector<std::string> names{name};
        if (type == "histogram") names.insert(names.end(), {name + "_bucket", name + "_sum", name + "_count"});
        for (auto& n : names)
            if (taken_.count(n)) {
                out += "# loadkit: '" + name + "' left out: the name " + n + " is taken\n";
                return false;
            }
        taken_.insert(names.begin(), names.end());
        out += "# HELP " + name + " ";
        prom_escape_help(out, help);
        out += "\n# TYPE " + name + " ";
        out += type;
        out += '\n';
        return true;
    }
    void sample(std::string_view name, std::string_view labels, const std::string& value) {
        out += name;
        if (!labels.empty()) {
            out += '{';
            out += labels;
            out += '}';
        }
        out += ' ';
        out += value;
        out += '\n';
    }
    // `per_unit`: histogram units per reported unit (1e9 ns per second); dividing
    // keeps sums short (150000 ns is 0.00015, not 0.00015000000000000001).
    void histogram(const std::string& name, const std::string& labels, const prom_hist& h, const prom_buckets& b,
                   double per_unit) {
        std::string pre = labels.empty() ? std::string() : labels + ",";
        std::uint64_t cum = 0;
        for (std::size_t i = 0; i < b.le.size(); ++i) {
            if (!h.counts.empty()) cum += h.counts[i];
            sample(name + "_bucket", pre + "le=\"" + b.text[i] + "\"", prom_value(cum));
        }
        if (!h.counts.empty()) cum += h.counts.back();
        sample(name + "_bucket", pre + "le=\"+Inf\"", prom_value(cum));
        sample(name + "_sum", labels, prom_value(h.sum / per_unit));
        sample(name + "_count", labels, prom_value(cum));
    }

  private:
    std::set<std::string, std::less<>> taken_;
};

// ------------------------------------------------------------ the text

// The exposition text (format 0.0.4) of cumulative metrics.
inline std::string prometheus_text(const merged_metrics& m, const prometheus_format& f = {}) {
    const auto time_b = prom_time_buckets(f.buckets_per_power);
    auto scenario_tags = [&](const std::string& sc) -> const prom_labels::tag_map* {
        auto it = m.scenario_tags.find(sc);
        return it == m.scenario_tags.end() ? nullptr : &it->second;
    };
    prom_writer w;

    // ---- HTTP
    using row = merged_metrics::http_row;
    struct timing {
        const char* family;
        histogram row::*field;
        const char* help;
    };
    std::vector<timing> timings{
        {"http_req_duration_seconds", &row::duration,
         "Time from sending a request to the end of its response (k6's http_req_duration)"},
        {"http_req_waiting_seconds", &row::waiting, "Time to the first byte of a response (k6's http_req_waiting)"}};
    if (f.all_http_timings) {
        timings.push_back(
            {"http_req_blocked_seconds", &row::blocked, "Time waiting for a free connection (k6's http_req_blocked)"});
        timings.push_back({"http_req_connecting_seconds", &row::connecting,
                           "Time establishing TCP connections (k6's http_req_connecting)"});
        timings.push_back({"http_req_tls_handshaking_seconds", &row::tls_handshaking,
                           "Time in TLS handshakes (k6's http_req_tls_handshaking)"});
        timings.push_back({"http_req_sending_seconds", &row::sending, "Time sending requests (k6's http_req_sending)"});
        timings.push_back(
            {"http_req_receiving_seconds", &row::receiving, "Time receiving responses (k6's http_req_receiving)"});
        timings.push_back(
            {"http_req_duration_intended_seconds", &row::duration_intended,
             "Duration from each request's scheduled time (open model, k6's http_req_duration_intended)"});
    }
    struct http_acc {
        std::uint64_t reqs = 0, failed = 0;
        std::vector<prom_hist> t;
    };
    std::map<std::string, http_acc> http;
    for (auto& [t, r] : m.http) {
        prom_labels l;
        for (auto& [k, v] : http_sample_tags(t)) l.add(k, v);
        l.add_canonical(t.tags);
        l.add_map(scenario_tags(t.scenario));
        l.add_map(&m.run_tags);
        auto& a = http[l.str()];
        a.reqs += r.reqs;
        a.failed += r.failed;
        a.t.resize(timings.size());
        for (std::size_t i = 0; i < timings.size(); ++i) a.t[i].add(r.*(timings[i].field), time_b);
    }
    if (w.family("http_reqs_total", "counter", "HTTP requests made (k6's http_reqs)"))
        for (auto& [l, a] : http) w.sample("http_reqs_total", l, prom_value(a.reqs));
    if (w.family("http_req_failed_total", "counter",
                 "HTTP requests that failed (k6's http_req_failed rate: its share of http_reqs_total)"))
        for (auto& [l, a] : http) w.sample("http_req_failed_total", l, prom_value(a.failed));
    for (std::size_t i = 0; i < timings.size(); ++i)
        if (w.family(timings[i].family, "histogram", timings[i].help))
            for (auto& [l, a] : http) w.histogram(timings[i].family, l, a.t[i], time_b, 1e9);

    // ---- per scenario
    struct scenario_acc {
        std::uint64_t iterations = 0, failed = 0, interrupted = 0, dropped = 0, sent = 0, received = 0;
        prom_hist duration;
    };
    std::map<std::string, scenario_acc> scenarios;
    for (auto& [name, s] : m.scenarios) {
        prom_labels l;
        l.add("scenario", name);
        l.add_map(scenario_tags(name));
        l.add_map(&m.run_tags);
        auto& a = scenarios[l.str()];
        a.iterations += s.iterations;
        a.failed += s.failed;
        a.interrupted += s.interrupted;
        a.dropped += s.dropped;
        a.sent += s.data_sent;
        a.received += s.data_received;
        a.duration.add(s.iteration_duration, time_b);
    }
    struct scenario_counter {
        const char* family;
        std::uint64_t scenario_acc::*field;
        const char* help;
    };
    static const scenario_counter counters[] = {
        {"iterations_total", &scenario_acc::iterations, "Iterations completed (k6's iterations)"},
        {"iterations_failed_total", &scenario_acc::failed, "Iterations ended by an error in VU code"},
        {"iterations_interrupted_total", &scenario_acc::interrupted, "Iterations cut by gracefulStop or an abort"},
        {"dropped_iterations_total", &scenario_acc::dropped,
         "Iterations scheduled but not started: no VU was free (k6's dropped_iterations)"},
        {"data_sent_bytes_total", &scenario_acc::sent, "Bytes sent (k6's data_sent)"},
        {"data_received_bytes_total", &scenario_acc::received, "Bytes received (k6's data_received)"}};
    for (auto& c : counters)
        if (w.family(c.family, "counter", c.help))
            for (auto& [l, a] : scenarios) w.sample(c.family, l, prom_value(a.*(c.field)));
    if (w.family("iteration_duration_seconds", "histogram", "Time to complete one iteration (k6's iteration_duration)"))
        for (auto& [l, a] : scenarios) w.histogram("iteration_duration_seconds", l, a.duration, time_b, 1e9);

    // ---- checks
    std::map<std::string, std::uint64_t> checks;
    for (auto& [k, c] : m.checks)
        for (int pass = 1; pass >= 0; --pass) {
            prom_labels l;
            l.add("result", pass ? "pass" : "fail");
            l.add("scenario", k.scenario);
            l.add("check", k.name);
            if (!k.group.empty()) l.add("group", k.group);
            l.add_map(scenario_tags(k.scenario));
            l.add_map(&m.run_tags);
            checks[l.str()] += pass ? c.passes : c.fails;
        }
    if (w.family("checks_total", "counter", "Checks evaluated, by result (k6's checks rate: the share that passed)"))
        for (auto& [l, n] : checks) w.sample("checks_total", l, prom_value(n));

    // ---- VUs
    std::string run_labels;
    {
        prom_labels l;
        l.add_map(&m.run_tags);
        run_labels = l.str();
    }
    if (w.family("vus", "gauge", "Active virtual users (k6's vus)"))
        w.sample("vus", run_labels, prom_value(m.vus.last));
    if (w.family("vus_max", "gauge", "Virtual users allocated (k6's vus_max)"))
        w.sample("vus_max", run_labels, prom_value(m.vus_max.last));

    // ---- custom metrics (and group_duration), by kind
    struct custom_acc {
        double sum = 0;
        std::uint64_t trues = 0, total = 0;
        double last = 0;
        std::int64_t last_ns = 0;
        std::uint64_t n = 0;
        prom_hist values;
    };
    auto& registry = metric_registry::get();
    for (auto it = m.custom.begin(); it != m.custom.end();) {
        const std::string& metric = it->first.metric;
        auto next = it;
        while (next != m.custom.end() && next->first.metric == metric) ++next;
        const metric_info* info = registry.find(metric);
        if (!info) {
            it = next;
            continue;
        }
        const bool time = info->time;
        const prom_buckets b = info->kind == metric_kind::trend
                                   ? (time ? time_b : prom_value_buckets(f.buckets_per_power))
                                   : prom_buckets{};
        std::map<std::string, custom_acc> series;
        for (; it != next; ++it) {
            auto& [t, v] = *it;
            auto make = [&](std::optional<std::string_view> result) {
                prom_labels l;
                if (result) l.add("result", *result);
                l.add("scenario", t.scenario);
                l.add("group", t.group);
                l.add_canonical(t.tags);
                l.add_map(scenario_tags(t.scenario));
                l.add_map(&m.run_tags);
                return l.str();
            };
            switch (info->kind) {
                case metric_kind::counter: series[make(std::nullopt)].sum += v.sum; break;
                case metric_kind::rate:
                    series[make("true")].trues += v.trues;
                    series[make("false")].trues += v.total - v.trues;
                    break;
                case metric_kind::gauge: {
                    if (v.g.count == 0) break;
                    auto& a = series[make(std::nullopt)];
                    if (a.n == 0 || v.g.last_ns >= a.last_ns) {
                        a.last = v.g.last;
                        a.last_ns = v.g.last_ns;
                    }
                    a.n += v.g.count;
                    break;
                }
                case metric_kind::trend: series[make(std::nullopt)].values.add(v.values, b); break;
            }
        }
        const std::string base = prom_sanitize_name(metric);
        const std::string what = info->builtin ? "" : "custom ";
        switch (info->kind) {
            case metric_kind::counter:
                if (w.family(base + "_total", "counter", what + "counter " + metric))
                    for (auto& [l, a] : series) w.sample(base + "_total", l, prom_value(a.sum));
                break;
            case metric_kind::rate:
                if (w.family(base + "_total", "counter",
                             what + "rate " + metric + ": samples by result (the rate is the share of true)"))
                    for (auto& [l, a] : series) w.sample(base + "_total", l, prom_value(a.trues));
                break;
            case metric_kind::gauge:
                if (w.family(base, "gauge", what + "gauge " + metric + ": the last value"))
                    for (auto& [l, a] : series) w.sample(base, l, prom_value(a.last));
                break;
            case metric_kind::trend: {
                auto name = time ? base + "_seconds" : base;
                if (w.family(name, "histogram", what + "trend " + metric + (time ? " in seconds" : "")))
                    for (auto& [l, a] : series) w.histogram(name, l, a.values, b, time ? 1e9 : 1e3);
                break;
            }
        }
    }
    return std::move(w.out);
}

}  // namespace detail

// ------------------------------------------------------------ the endpoint

// Serves the latest rendered text on GET /metrics (HEAD too; 404 elsewhere,
// 405 for other methods) from one thread of its own, until destroyed.
class prometheus_output {
  public:
    static constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

    // `spec`: HOST:PORT or [IPv6]:PORT; port 0 binds any free port (port()).
    // Throws config_error saying what was expected, or why it cannot listen.
    explicit prometheus_output(std::string_view spec, prometheus_format f = {}) : fmt_(f) {
        if (f.buckets_per_power < 1 || f.buckets_per_power > 64 ||
            !std::has_single_bit(static_cast<unsigned>(f.buckets_per_power)))
            throw config_error("prometheus: buckets_per_power must be 1, 2, 4, 8, 16, 32 or 64, found " +
                               std::to_string(f.buckets_per_power));
        detail::listen_on(acceptor_, spec,
                          {"prometheus: ", "HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464, 0.0.0.0:0 for any free port)",
                           nullptr});
        auto local = acceptor_.local_endpoint();
        port_ = local.port();
        host_ = local.address().to_string();
        text_ = std::make_shared<const std::string>(detail::prometheus_text(merged_metrics{}, fmt_));
        accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~prometheus_output() { stop(); }
    prometheus_output(const prometheus_output&) = delete;
    prometheus_output& operator=(const prometheus_output&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    const std::string& host() const noexcept { return host_; }
    // http://HOST:PORT/metrics
    std::string url() const {
        auto h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
        return "http://" + h + ":" + std::to_string(port_) + "/metrics";
    }

    // Renders a cumulative snapshot (on the caller's thread) and serves it from now on.
    void update(const merged_metrics& m) {
        auto t = std::make_shared<const std::string>(detail::prometheus_text(m, fmt_));
        std::lock_guard lock(mu_);
        text_ = std::move(t);
        ++generation_;
    }
    // What GET /metrics serves now.
    std::shared_ptr<const std::string> text() const {
        std::lock_guard lock(mu_);
        return text_;
    }
    // Responses to GET /metrics sent so far.
    std::uint64_t scrapes() const {
        std::lock_guard lock(mu_);
        return scrapes_;
    }

    // Keeps serving until the latest update() has been scraped (a GET
    // /metrics answered with it), so that Prometheus holds the final values;
    // bounded by `max` and, once two scrapes have shown the scrape interval,
    // by twice that interval (a scrape that has not come by then will not).
    // `give_up`, when given, is asked every 100 ms and ends the wait when
    // true (the runner: Ctrl-C). True when the latest text was scraped.
    // Returns at once if it was.
    bool linger(std::chrono::milliseconds max, const std::function<bool()>& give_up = {}) {
        using clock = std::chrono::steady_clock;
        std::unique_lock lock(mu_);
        const auto deadline = clock::now() + linger_bound_locked(max);
        for (;;) {
            if (served_generation_ >= generation_) return true;
            if (clock::now() >= deadline) return false;
            if (give_up) {
                lock.unlock();
                bool stop = give_up();
                lock.lock();
                if (stop) return served_generation_ >= generation_;
                cv_.wait_until(lock, std::min(deadline, clock::now() + std::chrono::milliseconds(100)));
            } else {
                cv_.wait_until(lock, deadline);
            }
        }
    }
    // How long linger(max) would wait at most from now (zero when the latest
    // text was scraped already): for saying so before waiting.
    std::chrono::milliseconds linger_bound(std::chrono::milliseconds max) const {
        std::lock_guard lock(mu_);
        if (served_generation_ >= generation_) return std::chrono::milliseconds(0);
        return linger_bound_locked(max);
    }

    // Closes the listener and every connection and joins the thread (the destructor does it).
    void stop() {
        if (!thread_.joinable()) return;
        boost::asio::post(ioc_, [this] {
            boost::system::error_code ec;
            acceptor_.close(ec);
            ioc_.stop();
        });
        thread_.join();
    }

  private:
    using tcp = boost::asio::ip::tcp;

    std::chrono::milliseconds linger_bound_locked(std::chrono::milliseconds max) const {
        if (interval_ > std::chrono::steady_clock::duration::zero())
            max = std::min(max, std::chrono::duration_cast<std::chrono::milliseconds>(2 * interval_) +
                                    std::chrono::milliseconds(100));
        return max;
    }

    struct session : std::enable_shared_from_this<session> {
        session(prometheus_output& o, tcp::socket s) : owner(o), socket(std::move(s)) {}
        prometheus_output& owner;
        tcp::socket socket;
        boost::beast::flat_buffer buf;
        std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser;
        std::shared_ptr<const std::string> text;  // keeps the body alive while it is written
        std::uint64_t generation = 0;
        std::optional<boost::beast::http::response<boost::beast::http::span_body<const char>>> res;

        void read() {
            namespace http = boost::beast::http;
            parser.emplace();
            parser->body_limit(64 * 1024);
            http::async_read(socket, buf, *parser,
                             [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec) return;
                self->respond();
            });
        }
        void respond() {
            namespace http = boost::beast::http;
            auto& req = parser->get();
            std::string_view target = req.target();
            target = target.substr(0, target.find('?'));
            res.emplace();
            res->version(req.version());
            res->keep_alive(req.keep_alive());
            res->set(http::field::server, "loadkit");
            bool metrics = false;
            if (target != "/metrics") {
                res->result(http::status::not_found);
                set_body("not found: the metrics are at /metrics\n");
            } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
                res->result(http::status::method_not_allowed);
                res->set(http::field::allow, "GET, HEAD");
                set_body("method not allowed\n");
            } else {
                metrics = true;
                {
                    std::lock_guard lock(owner.mu_);
                    text = owner.text_;
                    generation = owner.generation_;
                }
                res->result(http::status::ok);
                res->set(http::field::content_type, content_type);
                res->body() = {text->data(), text->size()};
            }
            res->prepare_payload();
            auto done = [self = shared_from_this(), metrics](boost::system::error_code ec, std::size_t) {
                if (ec) return;
                if (metrics) self->owner.scraped(self->generation);
                if (!self->res->keep_alive()) {
                    boost::system::error_code ig;
                    self->socket.shutdown(tcp::socket::shutdown_send, ig);
                    return;
                }
                self->read();
            };
            if (req.method() == http::verb::head) {
                auto sr = std::make_shared<http::response_serializer<http::span_body<const char>>>(*res);
                http::async_write_header(socket, *sr,
                                         [sr, done](boost::system::error_code ec, std::size_t n) { done(ec, n); });
            } else {
                http::async_write(socket, *res, done);
            }
        }
        void set_body(const char* s) {
            text = std::make_shared<const std::string>(s);
            res->set(boost::beast::http::field::content_type, "text/plain; charset=utf-8");
            res->body() = {text->data(), text->size()};
        }
    };

    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (!acceptor_.is_open() || ec == boost::asio::error::operation_aborted) return;
            if (ec) {  // e.g. out of descriptors: try again shortly
                retry_.expires_after(std::chrono::milliseconds(50));
                retry_.async_wait([this](boost::system::error_code e) {
                    if (!e) accept();
                });
                return;
            }
            std::make_shared<session>(*this, std::move(s))->read();
            accept();
        });
    }

    void scraped(std::uint64_t generation) {
        auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(mu_);
            ++scrapes_;
            served_generation_ = std::max(served_generation_, generation);
            if (last_scrape_) interval_ = now - *last_scrape_;
            last_scrape_ = now;
        }
        cv_.notify_all();
    }

    prometheus_format fmt_;
    boost::asio::io_context ioc_{1};  // first: the sockets below are its
    tcp::acceptor acceptor_{ioc_};
    boost::asio::steady_timer retry_{ioc_};
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::string host_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::shared_ptr<const std::string> text_;
    std::uint64_t generation_ = 0, served_generation_ = 0, scrapes_ = 0;
    std::optional<std::chrono::steady_clock::time_point> last_scrape_;
    std::chrono::steady_clock::duration interval_{};
};

}  // namespace loadkit::inline LOADKIT_ABI
