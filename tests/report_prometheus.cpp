// report_prometheus: the Prometheus text endpoint (report/prometheus.hpp),
// compiled into test_report (see tests/CMakeLists.txt).
//   - the exposition text of hand-made metrics, parsed line by line per format 0.0.4
//     (and by promtool when installed);
//   - histogram buckets: each `le` count equals the count of raw values <= le;
//   - label escaping and sanitising;
//   - the endpoint: specs, GET /metrics, 404, 405, keep-alive, linger;
//   - a real Prometheus (when /usr/bin/prometheus exists) scraping a real run,
//     whose queries must agree with the run's summary.
#include <catch2/catch.hpp>

#include <loadkit.hpp>
#include <loadkit/outputs/prometheus.hpp>
#include <loadkit/target.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
using loadkit::merged_metrics;
using test_support::fetch;
using test_support::fetch_all;

// ------------------------------------------------------------ a strict parser of format 0.0.4

struct prom_sample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // as written, values unescaped
    std::string value_text;
    double value = 0;
    std::string label(std::string_view k) const {
        for (auto& [n, v] : labels)
            if (n == k) return v;
        return {};
    }
    bool has(std::string_view k) const {
        for (auto& [n, v] : labels)
            if (n == k) return true;
        return false;
    }
    // the labels but le, as text: a histogram series' key
    std::string key(bool without_le = true) const {
        auto l = labels;
        std::sort(l.begin(), l.end());
        std::string s;
        for (auto& [n, v] : l)
            if (!without_le || n != "le") s += n + "=" + v + "\x1f";
        return s;
    }
};
struct prom_family {
    std::string type, help;
    std::vector<prom_sample> samples;
};
struct exposition {
    std::vector<std::string> order;
    std::map<std::string, prom_family> families;
    std::vector<std::string> errors;
    const prom_family& at(const std::string& n) const {
        static const prom_family none;
        auto it = families.find(n);
        return it == families.end() ? none : it->second;
    }
    // the value of the one sample named `name` whose labels include `want`
    std::optional<double> value(const std::string& family, const std::string& name,
                                std::vector<std::pair<std::string, std::string>> want) const {
        std::optional<double> found;
        for (auto& s : at(family).samples) {
            if (s.name != name) continue;
            bool ok = true;
            for (auto& [k, v] : want) ok &= s.has(k) && s.label(k) == v;
            if (!ok) continue;
            if (found) return std::nullopt;  // ambiguous
            found = s.value;
        }
        return found;
    }
};

bool metric_name_ok(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}
bool label_name_ok(std::string_view n) {
    return metric_name_ok(n) && n.find(':') == std::string_view::npos && !n.starts_with("__");
}
bool utf8_ok(std::string_view v) {
    bool ok = true;
    std::string copy;
    loadkit::detail::prom_utf8(v, [&](std::string_view ch, bool) { copy += ch; });
    ok = copy == v;
    return ok;
}
std::optional<double> parse_float(const std::string& s) {
    if (s == "+Inf" || s == "Inf") return HUGE_VAL;
    if (s == "-Inf") return -HUGE_VAL;
    if (s == "NaN") return std::nan("");
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    return v;
}

// Parses the text, collecting every violation of the format (and of the
// rules the exporter promises: one HELP and TYPE per family before its
// samples, a family's samples together, unique series, sane histograms).
exposition parse_exposition(const std::string& text) {
    exposition e;
    auto err = [&](std::size_t line, const std::string& what, std::string_view l) {
        e.errors.push_back("line " + std::to_string(line) + ": " + what + ": " + std::string(l.substr(0, 160)));
    };
    if (!text.empty() && text.back() != '\n') e.errors.push_back("the text does not end with a newline");
    std::string current;           // the family whose samples come now
    std::set<std::string> closed;  // families whose samples are over
    std::set<std::string> series;
    std::size_t lineno = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        ++lineno;
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.empty()) continue;
        if (line[0] == '#') {
            if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
                bool help = line[2] == 'H';
                auto body = line.substr(7);
                auto sp = body.find(' ');
                std::string name(body.substr(0, sp));
                std::string arg = sp == std::string_view::npos ? "" : std::string(body.substr(sp + 1));
                if (!metric_name_ok(name)) err(lineno, "bad metric name in a comment", line);
                if (closed.count(name)) err(lineno, "family " + name + " was already over", line);
                if (name != current) {
                    if (!current.empty()) closed.insert(current);
                    current = name;
                }
                auto& f = e.families[name];
                if (std::find(e.order.begin(), e.order.end(), name) == e.order.end()) e.order.push_back(name);
                if (help) {
                    if (!f.help.empty()) err(lineno, "a second HELP", line);
                    if (arg.find('\n') != std::string::npos) err(lineno, "newline in HELP", line);
                    f.help = arg.empty() ? "-" : arg;
                } else {
                    if (!f.type.empty()) err(lineno, "a second TYPE", line);
                    if (!f.samples.empty()) err(lineno, "TYPE after samples", line);
                    static const std::set<std::string> types{"counter", "gauge", "histogram", "summary", "untyped"};
                    if (!types.count(arg)) err(lineno, "unknown type '" + arg + "'", line);
                    f.type = arg;
                }
            }
            continue;  // other comments are allowed
        }
        // a sample: name[{labels}] value
        prom_sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = std::string(line.substr(0, i));
        if (!metric_name_ok(s.name)) {
            err(lineno, "bad metric name", line);
            continue;
        }
        bool bad = false;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                auto eq = line.find('=', i);
                if (eq == std::string_view::npos) {
                    bad = true;
                    break;
                }
                std::string ln(line.substr(i, eq - i));
                if (!label_name_ok(ln)) {
                    err(lineno, "bad label name '" + ln + "'", line);
                    bad = true;
                    break;
                }
                if (s.has(ln)) err(lineno, "label " + ln + " twice", line);
                i = eq + 1;
                if (i >= line.size() || line[i] != '"') {
                    bad = true;
                    break;
                }
                ++i;
                std::string v;
                bool closed_quote = false;
                while (i < line.size()) {
                    char c = line[i++];
                    if (c == '"') {
                        closed_quote = true;
                        break;
                    }
                    if (c == '\\') {
                        if (i >= line.size()) break;
                        char n = line[i++];
                        if (n == '\\') v += '\\';
                        else if (n == '"') v += '"';
                        else if (n == 'n') v += '\n';
                        else {
                            err(lineno, "bad escape", line);
                            v += n;
                        }
                    } else {
                        v += c;
                    }
                }
                if (!closed_quote) {
                    bad = true;
                    break;
                }
                if (!utf8_ok(v)) err(lineno, "label value not UTF-8", line);
                if (v.empty()) err(lineno, "empty label value (absent in Prometheus)", line);
                s.labels.emplace_back(ln, v);
                if (i < line.size() && line[i] == ',') ++i;
            }
            if (i >= line.size() || line[i] != '}') bad = true;
            else ++i;
        }
        if (bad) {
            err(lineno, "malformed labels", line);
            continue;
        }
        if (i >= line.size() || line[i] != ' ') {
            err(lineno, "no space before the value", line);
            continue;
        }
        s.value_text = std::string(line.substr(i + 1));
        if (s.value_text.find(' ') != std::string::npos) err(lineno, "a timestamp (the exporter sends none)", line);
        auto v = parse_float(s.value_text);
        if (!v) {
            err(lineno, "bad value", line);
            continue;
        }
        s.value = *v;
        // which family
        auto& f = e.families[current];
        bool belongs = s.name == current;
        if (f.type == "histogram")
            belongs = s.name == current + "_bucket" || s.name == current + "_sum" || s.name == current + "_count";
        if (current.empty() || f.type.empty() || !belongs) {
            err(lineno, "sample outside its family (" + current + ")", line);
            continue;
        }
        if (!series.insert(s.name + "\x1e" + s.key(false)).second) err(lineno, "duplicate series", line);
        f.samples.push_back(std::move(s));
    }
    // histograms: per series, le ascending to +Inf, cumulative, +Inf == _count, a _sum; one le set per family
    for (auto& [name, f] : e.families) {
        if (f.type.empty()) e.errors.push_back(name + ": no TYPE");
        if (f.help.empty()) e.errors.push_back(name + ": no HELP");
        if (f.type != "histogram") continue;
        std::map<std::string, std::vector<const prom_sample*>> buckets;
        std::map<std::string, double> counts, sums;
        for (auto& s : f.samples) {
            if (s.name == name + "_bucket") {
                if (!s.has("le")) e.errors.push_back(name + ": a bucket without le");
                buckets[s.key()].push_back(&s);
            } else if (s.name == name + "_count") counts[s.key()] = s.value;
            else sums[s.key()] = s.value;
        }
        std::optional<std::vector<std::string>> les;
        for (auto& [k, bs] : buckets) {
            std::vector<std::string> l;
            double prev_le = -HUGE_VAL, prev = 0;
            for (auto* b : bs) {
                auto le = parse_float(b->label("le"));
                if (!le || *le <= prev_le) e.errors.push_back(name + ": le not ascending at " + b->label("le"));
                if (b->value < prev) e.errors.push_back(name + ": counts not cumulative at le=" + b->label("le"));
                prev_le = le.value_or(prev_le);
                prev = b->value;
                l.push_back(b->label("le"));
            }
            if (l.empty() || l.back() != "+Inf") e.errors.push_back(name + ": no +Inf bucket");
            if (!counts.count(k) || counts[k] != prev) e.errors.push_back(name + ": +Inf differs from _count");
            if (!sums.count(k)) e.errors.push_back(name + ": no _sum");
            if (les && *les != l) e.errors.push_back(name + ": series with different le sets");
            les = l;
        }
    }
    return e;
}

// `text` parses cleanly (and passes promtool's parser and linter when installed).
void require_valid(const std::string& text) {
    auto e = parse_exposition(text);
    for (auto& x : e.errors) UNSCOPED_INFO(x);
    CHECK(e.errors.empty());
    if (fs::exists("/usr/bin/promtool")) {
        auto path = fs::temp_directory_path() / ("loadkit-prom-" + std::to_string(::getpid()) + ".txt");
        std::ofstream(path, std::ios::binary) << text;
        std::string cmd = "/usr/bin/promtool check metrics < '" + path.string() + "' 2>&1";
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char b[512];
            while (std::fgets(b, sizeof b, p)) out += b;
            int rc = ::pclose(p);
            INFO("promtool check metrics: " << out);
            CHECK(rc == 0);
        }
        fs::remove(path);
    }
}

// "0.000008191" -> 8191 (decimals 9): exact, no floating point.
std::uint64_t le_units(const std::string& s, int decimals) {
    std::uint64_t whole = 0, frac = 0;
    int fd = 0;
    bool dot = false;
    for (char c : s) {
        if (c == '.') {
            dot = true;
            continue;
        }
        REQUIRE((c >= '0' && c <= '9'));
        if (dot) {
            frac = frac * 10 + static_cast<std::uint64_t>(c - '0');
            ++fd;
        } else whole = whole * 10 + static_cast<std::uint64_t>(c - '0');
    }
    REQUIRE(fd <= decimals);
    for (; fd < decimals; ++fd) frac *= 10;
    std::uint64_t scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    return whole * scale + frac;
}

merged_metrics::http_tags http_key(std::string scenario, std::string name, int status, std::string tags = "",
                                   int error = 0, std::string group = "") {
    merged_metrics::http_tags t;
    t.scenario = std::move(scenario);
    t.name = std::move(name);
    t.method = "GET";
    t.status = status;
    t.error = error;
    t.expected = status < 400;
    t.group = std::move(group);
    t.tags = std::move(tags);
    return t;
}

std::uint32_t reg(const char* name, loadkit::metric_kind kind, bool time = false) {
    return loadkit::detail::metric_registry::get().add(name, kind, time);
}

// ------------------------------------------------------------ HTTP from the test

std::string url_encode(std::string_view s) {
    std::string o;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            o += static_cast<char>(c);
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            o += b;
        }
    }
    return o;
}

// ------------------------------------------------------------ the scenario of the real run

struct PromShop : loadkit::Scenario<PromShop> {
    struct User : loadkit::VU<PromShop> {
        loadkit::task<> iteration() {
            auto& res = co_await http.get("/items", {.name = "items", .tags = {{"kind", "list"}}});
            check(res, {{"items ok", [](const loadkit::response& r) { return r.status == 200; }}});
            auto& missing = co_await http.get("/status/404", {.name = "missing"});
            (void)missing;
            co_await sleep(2ms);
        }
    };
};

}  // namespace

// ============================================================ the text

TEST_CASE("prometheus: the exposition text of hand-made metrics parses line by line as format 0.0.4") {
    merged_metrics m;
    auto& a = m.http[http_key("shop", "/items", 200, "kind\x1flist")];
    a.reqs = 10;
    for (int i = 1; i <= 10; ++i) {
        a.duration.record(static_cast<std::uint64_t>(i) * 100'000);
        a.waiting.record(static_cast<std::uint64_t>(i) * 50'000);
    }
    auto& b = m.http[http_key("shop", "/missing", 404, "", 1404, "checkout")];
    b.reqs = 3;
    b.failed = 3;
    for (int i = 0; i < 3; ++i) b.duration.record(2'000'000);
    auto& setup = m.http[http_key("", "/auth/token", 200)];  // setup()'s request: no scenario
    setup.reqs = 1;
    setup.duration.record(1'000'000);
    auto& sc = m.scenarios["shop"];
    sc.iterations = 7;
    sc.failed = 1;
    sc.interrupted = 2;
    sc.dropped = 0;
    sc.data_sent = 1234;
    sc.data_received = 56789;
    for (int i = 0; i < 7; ++i) sc.iteration_duration.record(3'000'000);
    m.checks[{"shop", "items ok", ""}] = {9, 1};
    m.check_order = {"items ok"};
    merged_metrics::sample(m.vus, 4);
    merged_metrics::sample(m.vus_max, 5);
    m.scenario_tags["shop"]["team"] = "web";
    m.run_tags["env"] = "ci";

    reg("promtest_orders", loadkit::metric_kind::counter);
    reg("promtest_queue", loadkit::metric_kind::gauge);
    reg("promtest_ok", loadkit::metric_kind::rate);
    reg("promtest_latency", loadkit::metric_kind::trend, true);
    reg("promtest_size", loadkit::metric_kind::trend, false);
    m.custom[{"promtest_orders", "shop", "",
              "shop_id\x1f"
              "eu"}]
        .sum = 2.5;
    auto& q = m.custom[{"promtest_queue", "shop", "", ""}];
    q.g.merge(1, 9, 3, 100, 5);
    auto& ok = m.custom[{"promtest_ok", "shop", "", ""}];
    ok.trues = 8;
    ok.total = 10;
    m.custom[{"promtest_latency", "shop", "", ""}].values.record(12'000'000);
    m.custom[{"promtest_size", "shop", "", ""}].values.record(loadkit::detail::trend_units(512, false));
    m.custom[{"group_duration", "shop", "checkout", ""}].values.record(5'000'000);

    auto text = loadkit::detail::prometheus_text(m);
    INFO(text.substr(0, 3000));
    require_valid(text);
    auto e = parse_exposition(text);

    // the families, their types, in a stable order
    std::map<std::string, std::string> want{{"http_reqs_total", "counter"},
                                            {"http_req_failed_total", "counter"},
                                            {"http_req_duration_seconds", "histogram"},
                                            {"http_req_waiting_seconds", "histogram"},
                                            {"iterations_total", "counter"},
                                            {"iterations_failed_total", "counter"},
                                            {"iterations_interrupted_total", "counter"},
                                            {"dropped_iterations_total", "counter"},
                                            {"data_sent_bytes_total", "counter"},
                                            {"data_received_bytes_total", "counter"},
                                            {"iteration_duration_seconds", "histogram"},
                                            {"checks_total", "counter"},
                                            {"vus", "gauge"},
                                            {"vus_max", "gauge"},
                                            {"promtest_orders_total", "counter"},
                                            {"promtest_queue", "gauge"},
                                            {"promtest_ok_total", "counter"},
                                            {"promtest_latency_seconds", "histogram"},
                                            {"promtest_size", "histogram"},
                                            {"group_duration_seconds", "histogram"}};
    for (auto& [n, t] : want) {
        INFO(n);
        CHECK(e.at(n).type == t);
    }
    CHECK(e.order.size() == want.size());
    CHECK(loadkit::detail::prometheus_text(m) == text);  // the same metrics, the same text

    // values and labels
    CHECK(e.value("http_reqs_total", "http_reqs_total",
                  {{"name", "/items"},
                   {"status", "200"},
                   {"kind", "list"},
                   {"scenario", "shop"},
                   {"method", "GET"},
                   {"expected_response", "true"},
                   {"team", "web"},
                   {"env", "ci"}}) == 10);
    CHECK(e.value(
              "http_req_failed_total", "http_req_failed_total",
              {{"name", "/missing"}, {"error_code", "1404"}, {"group", "checkout"}, {"expected_response", "false"}}) ==
          3);
    auto setup_row = std::find_if(e.at("http_reqs_total").samples.begin(), e.at("http_reqs_total").samples.end(),
                                  [](auto& s) { return s.label("name") == "/auth/token"; });
    REQUIRE(setup_row != e.at("http_reqs_total").samples.end());
    CHECK_FALSE(setup_row->has("scenario"));  // empty: left out
    CHECK_FALSE(setup_row->has("group"));
    CHECK_FALSE(setup_row->has("error_code"));
    CHECK_FALSE(setup_row->has("url"));
    double total = 0;
    for (auto& s : e.at("http_reqs_total").samples) total += s.value;
    CHECK(total == 14);
    CHECK(e.value("http_req_duration_seconds", "http_req_duration_seconds_count", {{"name", "/items"}}) == 10);
    CHECK(e.value("http_req_duration_seconds", "http_req_duration_seconds_sum", {{"name", "/items"}}) ==
          Approx(5.5e-3));
    CHECK(e.value("http_req_duration_seconds", "http_req_duration_seconds_bucket",
                  {{"name", "/items"}, {"le", "0.000131071"}}) == 1);
    CHECK(e.value("http_req_duration_seconds", "http_req_duration_seconds_bucket",
                  {{"name", "/items"}, {"le", "+Inf"}}) == 10);
    CHECK(e.value("http_req_waiting_seconds", "http_req_waiting_seconds_count", {{"name", "/missing"}}) == 0);
    CHECK(e.value("iterations_total", "iterations_total", {{"scenario", "shop"}, {"team", "web"}}) == 7);
    CHECK(e.value("iterations_failed_total", "iterations_failed_total", {{"scenario", "shop"}}) == 1);
    CHECK(e.value("iterations_interrupted_total", "iterations_interrupted_total", {{"scenario", "shop"}}) == 2);
    CHECK(e.value("data_sent_bytes_total", "data_sent_bytes_total", {{"scenario", "shop"}}) == 1234);
    CHECK(e.value("data_received_bytes_total", "data_received_bytes_total", {{"scenario", "shop"}}) == 56789);
    CHECK(e.value("iteration_duration_seconds", "iteration_duration_seconds_count", {{"scenario", "shop"}}) == 7);
    CHECK(e.value("checks_total", "checks_total", {{"check", "items ok"}, {"result", "pass"}}) == 9);
    CHECK(e.value("checks_total", "checks_total", {{"check", "items ok"}, {"result", "fail"}}) == 1);
    CHECK(e.value("vus", "vus", {{"env", "ci"}}) == 4);
    CHECK(e.value("vus_max", "vus_max", {}) == 5);
    CHECK(e.value("promtest_orders_total", "promtest_orders_total", {{"shop_id", "eu"}, {"scenario", "shop"}}) == 2.5);
    CHECK(e.value("promtest_queue", "promtest_queue", {}) == 3);
    CHECK(e.value("promtest_ok_total", "promtest_ok_total", {{"result", "true"}}) == 8);
    CHECK(e.value("promtest_ok_total", "promtest_ok_total", {{"result", "false"}}) == 2);
    CHECK(e.value("promtest_latency_seconds", "promtest_latency_seconds_sum", {}) == Approx(0.012));
    CHECK(e.value("promtest_size", "promtest_size_sum", {}) == Approx(512));
    CHECK(e.value("promtest_size", "promtest_size_bucket", {{"le", "458.751"}}) == 0);  // 2^18 * 1.75 - 1 thousandths
    CHECK(e.value("promtest_size", "promtest_size_bucket", {{"le", "524.287"}}) == 1);  // 2^19 - 1
    CHECK(e.value("group_duration_seconds", "group_duration_seconds_count", {{"group", "checkout"}}) == 1);
    CHECK(text.find("http_req_blocked") == std::string::npos);  // only with all_http_timings

    // all timings on request
    loadkit::prometheus_format all;
    all.all_http_timings = true;
    auto text2 = loadkit::detail::prometheus_text(m, all);
    require_valid(text2);
    auto e2 = parse_exposition(text2);
    for (auto n : {"http_req_blocked_seconds", "http_req_connecting_seconds", "http_req_tls_handshaking_seconds",
                   "http_req_sending_seconds", "http_req_receiving_seconds", "http_req_duration_intended_seconds"})
        CHECK(e2.at(n).type == "histogram");

    // empty metrics: every built-in family, no samples but the gauges
    auto empty = loadkit::detail::prometheus_text(merged_metrics{});
    require_valid(empty);
    auto e3 = parse_exposition(empty);
    CHECK(e3.at("http_reqs_total").type == "counter");
    CHECK(e3.at("http_reqs_total").samples.empty());
    CHECK(e3.value("vus", "vus", {}) == 0);
}

TEST_CASE("prometheus: histogram buckets are the engine's own boundaries so every le count is exact") {
    using loadkit::detail::prom_time_buckets;
    using loadkit::detail::prom_value_buckets;
    // the set: 4 per power of two from 2^13 ns to 2^36 ns, the same every time
    auto tb = prom_time_buckets(4);
    REQUIRE(tb.le.size() == 93);
    CHECK(tb.text.front() == "0.000008191");
    CHECK(tb.text[1] == "0.000010239");
    CHECK(tb.text.back() == "68.719476735");
    CHECK(prom_time_buckets(2).le.size() == 47);
    CHECK(prom_time_buckets(4).text == tb.text);

    std::mt19937_64 rng(20260622);
    SECTION("time trends") {
        std::vector<std::uint64_t> raw{0, 1, 8190, 8191, 8192, loadkit::histogram::max_value, 100'000'000'000ull};
        for (auto le : tb.le) {
            raw.push_back(le - 1);
            raw.push_back(le);
            raw.push_back(le + 1);
        }
        std::uniform_real_distribution<double> lg(std::log(1000.0), std::log(2e11));
        for (int i = 0; i < 20000; ++i) raw.push_back(static_cast<std::uint64_t>(std::exp(lg(rng))));
        merged_metrics m;
        auto& row = m.http[http_key("s", "n", 200)];
        double sum = 0;
        for (auto v : raw) {
            row.duration.record(v);
            sum += static_cast<double>(std::min(v, loadkit::histogram::max_value));
        }
        row.reqs = raw.size();
        m.http[http_key("s", "other", 200)].reqs = 1;  // an empty histogram: the same le set, zeros
        auto text = loadkit::detail::prometheus_text(m);
        require_valid(text);
        auto e = parse_exposition(text);
        auto& f = e.at("http_req_duration_seconds");
        std::size_t checked = 0;
        std::vector<std::string> les;
        for (auto& s : f.samples) {
            if (s.name != "http_req_duration_seconds_bucket" || s.label("name") != "n") continue;
            les.push_back(s.label("le"));
            double expected;
            if (s.label("le") == "+Inf") {
                expected = static_cast<double>(raw.size());
            } else {
                auto le = le_units(s.label("le"), 9);
                expected = static_cast<double>(std::count_if(raw.begin(), raw.end(), [&](std::uint64_t v) {
                    return std::min(v, loadkit::histogram::max_value) <= le;
                }));
            }
            INFO("le=" << s.label("le"));
            CHECK(s.value == expected);
            ++checked;
        }
        CHECK(checked == 94);
        CHECK(std::vector<std::string>(les.begin(), les.end() - 1) == tb.text);
        CHECK(e.value("http_req_duration_seconds", "http_req_duration_seconds_count", {{"name", "n"}}) ==
              static_cast<double>(raw.size()));
        CHECK(*e.value("http_req_duration_seconds", "http_req_duration_seconds_sum", {{"name", "n"}}) ==
              Approx(sum * 1e-9).epsilon(1e-12));
        // the empty series has the same le set, all zero
        std::size_t zeros = 0;
        for (auto& s : f.samples)
            if (s.name == "http_req_duration_seconds_bucket" && s.label("name") == "other") zeros += s.value == 0;
        CHECK(zeros == 94);
    }
    SECTION("other trends, in thousandths of their unit") {
        auto vb = prom_value_buckets(4);
        reg("promtest_bytes", loadkit::metric_kind::trend, false);
        std::vector<std::uint64_t> raw{0, 1, 2, 3, 4, 5, 6, 7};
        for (auto le : vb.le) {
            raw.push_back(le);
            raw.push_back(le + 1);
        }
        std::uniform_real_distribution<double> lg(0, std::log(4e12));
        for (int i = 0; i < 20000; ++i) raw.push_back(static_cast<std::uint64_t>(std::exp(lg(rng))));
        merged_metrics m;
        auto& v = m.custom[{"promtest_bytes", "s", "", ""}];
        for (auto x : raw) v.values.record(x);
        auto text = loadkit::detail::prometheus_text(m);
        require_valid(text);
        auto e = parse_exposition(text);
        std::size_t checked = 0;
        for (auto& s : e.at("promtest_bytes").samples) {
            if (s.name != "promtest_bytes_bucket") continue;
            double expected = static_cast<double>(raw.size());
            if (s.label("le") != "+Inf") {
                auto le = le_units(s.label("le"), 3);
                expected = static_cast<double>(
                    std::count_if(raw.begin(), raw.end(), [&](std::uint64_t x) { return x <= le; }));
            }
            INFO("le=" << s.label("le"));
            CHECK(s.value == expected);
            ++checked;
        }
        CHECK(checked == vb.le.size() + 1);
        CHECK(vb.text.front() == "0");
    }
}

TEST_CASE("prometheus: label values are escaped and label names sanitised") {
    merged_metrics m;
    std::string tags = std::string("1st\x1f"
                                   "one\x1e") +
                       "__hidden\x1fh\x1e" +
                       "back\x1f"
                       "a\\b\x1e" +
                       "le\x1f"
                       "bad\x1e" +
                       "my-tag\x1fq\"uote\x1e" + "name\x1fshadow\x1e" + "nl\x1fline1\nline2\x1e" +
                       "utf\x1fok\xC3\xA9"
                       "bad\xFF";
    m.http[http_key("s", "/x", 200, tags)].reqs = 2;
    // two tag sets that sanitise to the same labels: one series, summed
    m.http[http_key("s", "/y", 200,
                    "a-b\x1f"
                    "1")]
        .reqs = 3;
    m.http[http_key("s", "/y", 200,
                    "a.b\x1f"
                    "1")]
        .reqs = 4;
    auto text = loadkit::detail::prometheus_text(m);
    INFO(text.substr(0, 2000));
    require_valid(text);
    auto line = [&](std::string_view needle) {
        auto p = text.find(needle);
        if (p == std::string::npos) return std::string();
        auto start = text.rfind('\n', p) + 1;
        return text.substr(start, text.find('\n', p) - start);
    };
    CHECK(line("http_reqs_total{") ==
          "http_reqs_total{_1st=\"one\",back=\"a\\\\b\",expected_response=\"true\",method=\"GET\",my_tag=\"q\\\"uote\","
          "name=\"/x\",nl=\"line1\\nline2\",scenario=\"s\",status=\"200\",utf=\"ok\xC3\xA9"
          "bad\xEF\xBF\xBD\"} 2");
    CHECK(text.find("hidden") == std::string::npos);
    CHECK(text.find("shadow") == std::string::npos);
    CHECK(text.find("\"bad\"") == std::string::npos);
    auto e = parse_exposition(text);
    CHECK(e.value("http_reqs_total", "http_reqs_total",
                  {{"back", "a\\b"}, {"my_tag", "q\"uote"}, {"nl", "line1\nline2"}}) == 2);
    CHECK(e.value("http_reqs_total", "http_reqs_total", {{"a_b", "1"}}) == 7);
    // bucket lines carry the same labels plus le
    CHECK(line("http_req_duration_seconds_bucket{_1st")
              .find(",utf=\"ok\xC3\xA9"
                    "bad\xEF\xBF\xBD\",le=\"0.000008191\"} 0") != std::string::npos);

    // names and HELP text
    CHECK(loadkit::detail::prom_sanitize_name("a.b-c d") == "a_b_c_d");
    CHECK(loadkit::detail::prom_sanitize_name("9lives") == "_9lives");
    CHECK(loadkit::detail::prom_sanitize_name("ok_Name1") == "ok_Name1");
    std::string help;
    loadkit::detail::prom_escape_help(help, "a\\b\nc\"d");
    CHECK(help == "a\\\\b\\nc\"d");
    CHECK(loadkit::detail::prom_value(std::nan("")) == "NaN");
    CHECK(loadkit::detail::prom_value(HUGE_VAL) == "+Inf");
    CHECK(loadkit::detail::prom_value(-HUGE_VAL) == "-Inf");
    CHECK(loadkit::detail::prom_value(0.1) == "0.1");
}

// ============================================================ the endpoint

TEST_CASE("prometheus: the output validates its address and serves GET /metrics") {
    for (auto spec : {"", "9464", "localhost", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:70000", "::1:9000",
                      "[::1]9000", ":9000", "[::1"}) {
        INFO("spec '" << spec << "'");
        try {
            loadkit::prometheus_output bad(spec);
            FAIL("accepted");
        } catch (const loadkit::config_error& e) {
            CHECK(std::string(e.what()).find("expected HOST:PORT") != std::string::npos);
        }
    }
    loadkit::prometheus_output out("127.0.0.1:0");
    REQUIRE(out.port() != 0);
    CHECK(out.url() == "http://127.0.0.1:" + std::to_string(out.port()) + "/metrics");
    try {  // the same port again: why it cannot listen
        loadkit::prometheus_output clash("127.0.0.1:" + std::to_string(out.port()));
        FAIL("bound a port in use");
    } catch (const loadkit::config_error& e) {
        CHECK(std::string(e.what()).find("cannot listen on") != std::string::npos);
    }

    // before any update: the empty metrics
    auto r = fetch(out.port(), "/metrics");
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body == *out.text());
    CHECK(r.body.find("# TYPE http_reqs_total counter") != std::string::npos);
    CHECK(fetch(out.port(), "/").status == 404);
    CHECK(fetch(out.port(), "/metrics/x").status == 404);
    CHECK(fetch(out.port(), "/metrics", http::verb::post).status == 405);
    auto head = fetch(out.port(), "/metrics", http::verb::head);
    CHECK(head.status == 200);
    CHECK(head.body.empty());

    // an update is served from then on; keep-alive: three requests, one connection
    merged_metrics m;
    m.http[http_key("s", "/a", 200)].reqs = 42;
    out.update(m);
    auto many = fetch_all(out.port(), {"/metrics", "/nope", "/metrics?x=1"});
    REQUIRE(many.size() == 3);
    CHECK(many[0].keep_alive);
    CHECK(
        many[0].body.find(
            "http_reqs_total{expected_response=\"true\",method=\"GET\",name=\"/a\",scenario=\"s\",status=\"200\"} 42") !=
        std::string::npos);
    CHECK(many[1].status == 404);
    CHECK(many[2].body == many[0].body);

    // linger: at once when the latest text was scraped; bounded when nobody scrapes
    auto t0 = std::chrono::steady_clock::now();
    CHECK(out.linger(5s));
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    m.http[http_key("s", "/a", 200)].reqs = 43;
    out.update(m);
    t0 = std::chrono::steady_clock::now();
    // two scrapes were seen, close together: the bound is twice that interval, far below 5 s
    CHECK_FALSE(out.linger(5s));
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    // a scrape while lingering ends it
    std::thread scraper([&] {
        std::this_thread::sleep_for(100ms);
        fetch(out.port(), "/metrics");
    });
    std::uint64_t before = out.scrapes();
    {
        loadkit::prometheus_output fresh("localhost:0");  // a name resolves; no scrape seen yet: only `max` bounds it
        merged_metrics m2;
        fresh.update(m2);
        t0 = std::chrono::steady_clock::now();
        CHECK_FALSE(fresh.linger(300ms));
        auto waited = std::chrono::steady_clock::now() - t0;
        CHECK(waited >= 300ms);
        CHECK(waited < 2s);
    }
    scraper.join();
    CHECK(out.scrapes() == before + 1);
    CHECK(out.linger(1s));
    CHECK(out.text()->find("} 43\n") != std::string::npos);
    out.stop();
    CHECK_THROWS(fetch(out.port(), "/metrics"));
}

// ============================================================ a real Prometheus

TEST_CASE("prometheus: a real Prometheus scrapes a real run and agrees with the summary") {
    const char* prometheus = "/usr/bin/prometheus";
    if (!fs::exists(prometheus)) {
        WARN("/usr/bin/prometheus is not installed: the end-to-end check with a real Prometheus is skipped");
        return;
    }
    const auto t_begin = std::chrono::steady_clock::now();
    test_support::scratch dir;
    loadkit::prometheus_output out("127.0.0.1:0");
    const auto prom_port = test_support::free_port();
    {
        std::ofstream cfg(dir.dir / "prometheus.yml");
        cfg << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
               "scrape_configs:\n  - job_name: loadkit\n    static_configs:\n      - targets: ['127.0.0.1:"
            << out.port() << "']\n";
    }
    test_support::child prom({prometheus, "--config.file=" + (dir.dir / "prometheus.yml").string(),
                              "--storage.tsdb.path=" + (dir.dir / "data").string(),
                              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
                             (dir.dir / "prometheus.log").string());
    REQUIRE(prom.pid > 0);
    auto log = [&] { return test_support::read_text(dir.dir / "prometheus.log"); };

    // ready, and scraping us
    auto deadline = std::chrono::steady_clock::now() + 15s;
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
        if (!prom.running()) {
            INFO(log());
            FAIL("prometheus exited");
        }
        try {
            ready = fetch(prom_port, "/-/ready").status == 200;
        } catch (const std::exception&) {}
        if (!ready) std::this_thread::sleep_for(100ms);
    }
    INFO(log());
    REQUIRE(ready);
    while (out.scrapes() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    REQUIRE(out.scrapes() > 0);

    // the run: 3 s, 4 VUs, a snapshot every 200 ms
    loadkit::target_server server;
    loadkit::options o;
    o.target = server.url();
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.progress_period = 200ms;
    int updates = 0;
    o.on_progress = [&](const loadkit::progress& p) {
        out.update(*p.metrics);
        ++updates;
    };
    loadkit::test<PromShop> t(o);
    t.scenario("shoppers", loadkit::constant_vus{.vus = 4, .duration = 3s}, {.env = {}, .tags = {{"team", "web"}}});
    auto result = t.run();
    REQUIRE(result.exit_code() == 0);
    CHECK(updates >= 5);
    const double reqs = loadkit::find_metric(result.summary, "http_reqs")->at("count").get<double>();
    const double iterations = loadkit::find_metric(result.summary, "iterations")->at("count").get<double>();
    const double p95_ms = loadkit::find_metric(result.summary, "http_req_duration")->at("p95").get<double>();
    const double failed = loadkit::find_metric(result.summary, "http_req_failed")->at("sum").get<double>();
    const double passes = result.summary["checks"][0]["passes"].get<double>();
    REQUIRE(reqs > 0);

    // the final values scraped, then asked of Prometheus while still served
    // (an exporter that stops makes Prometheus mark its series stale)
    CHECK(out.linger(10s));
    auto query = [&](const std::string& q) -> std::optional<double> {
        try {
            auto r = fetch(prom_port, "/api/v1/query?query=" + url_encode(q));
            auto j = nlohmann::json::parse(r.body);
            if (j.value("status", "") != "success") return std::nullopt;
            auto& res = j["data"]["result"];
            if (res.size() != 1) return std::nullopt;
            return std::stod(res[0]["value"][1].get<std::string>());
        } catch (const std::exception&) {
            return std::nullopt;
        }
    };
    std::optional<double> got;
    deadline = std::min(std::chrono::steady_clock::now() + 15s, t_begin + 38s);
    while (std::chrono::steady_clock::now() < deadline) {
        got = query("sum(http_reqs_total)");
        if (got && *got == reqs) break;
        std::this_thread::sleep_for(200ms);
    }
    INFO("summary http_reqs " << reqs << ", Prometheus sum(http_reqs_total) " << got.value_or(-1));
    REQUIRE(got);
    CHECK(*got == reqs);
    CHECK(query("sum(iterations_total)") == iterations);
    CHECK(query("sum(http_req_failed_total)") == failed);
    CHECK(query("sum(checks_total{result=\"pass\"})") == passes);
    CHECK(query("sum(http_req_duration_seconds_count)") == reqs);
    CHECK(query("sum(http_reqs_total{name=\"items\",kind=\"list\",team=\"web\",scenario=\"shoppers\"})") > 0);

    // p95: histogram_quantile lands in the same `le` bucket as the summary's p95
    auto q95 = query("histogram_quantile(0.95, sum by (le) (http_req_duration_seconds_bucket))");
    REQUIRE(q95);
    REQUIRE(std::isfinite(*q95));
    auto b = loadkit::detail::prom_time_buckets(4);
    double p95_ns = p95_ms * 1e6;
    auto hi = std::lower_bound(b.le.begin(), b.le.end(), static_cast<std::uint64_t>(std::ceil(p95_ns)));
    REQUIRE(hi != b.le.end());
    REQUIRE(hi != b.le.begin());
    double lo_s = static_cast<double>(*(hi - 1)) * 1e-9, hi_s = static_cast<double>(*hi) * 1e-9;
    INFO("summary p95 " << p95_ms << " ms, Prometheus " << *q95 * 1e3 << " ms, bucket [" << lo_s * 1e3 << ", "
                        << hi_s * 1e3 << "] ms");
    CHECK(*q95 >= lo_s * (1 - 1e-9));
    CHECK(*q95 <= hi_s * (1 + 1e-9));

    // and Prometheus took every scrape
    auto targets = nlohmann::json::parse(fetch(prom_port, "/api/v1/targets").body);
    auto& active = targets["data"]["activeTargets"];
    REQUIRE(active.size() == 1);
    CHECK(active[0]["health"] == "up");
    CHECK(active[0]["lastError"] == "");
    if (std::getenv("LOADKIT_TEST_VERBOSE"))
        std::printf(
            "prometheus e2e: http_reqs summary %.0f = Prometheus %.0f; p95 summary %.3f ms, Prometheus %.3f ms (bucket %.3f..%.3f ms); "
            "%llu scrapes, %d updates, %.1f s\n",
            reqs, *got, p95_ms, *q95 * 1e3, lo_s * 1e3, hi_s * 1e3, static_cast<unsigned long long>(out.scrapes()),
            updates, std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count());
    CHECK(std::chrono::steady_clock::now() - t_begin < 40s);
}

#ifdef LOADKIT_RUNNER_PATH
// Issue 13 (runs 9): Ctrl-C while the endpoint lingered for a last scrape
// killed the runner (exit 130) and lost the run's verdict, and nothing said
// why the runner had not ended.
TEST_CASE(
    "prometheus: the runner says it waits for a last scrape, and Ctrl-C then keeps the run's exit code (0 or 99)") {
    loadkit::target_server server;
    test_support::scratch dir;
    for (bool failing : {false, true}) {
        INFO((failing ? "a failed threshold" : "a passing run"));
        auto port = test_support::free_port();
        auto test = dir.write(failing ? "failing.yaml" : "passing.yaml",
                              "target: " + server.url() + "\n" +
                                  (failing ? "thresholds:\n  http_reqs: ['count<0']\n" : "") +
                                  "scenarios:\n  s:\n    executor: constant-vus\n    vus: 1\n    duration: 1s\n"
                                  "    flow:\n      - request: { name: items, url: /items }\n");
        auto name = std::string(failing ? "failing" : "passing");
        auto run = test_support::start_runner({"run", test, "--out", "prometheus=127.0.0.1:" + std::to_string(port)},
                                              dir, name);
        // one scrape during the run: the endpoint then lingers for the final values
        bool scraped = false;
        for (int i = 0; i < 400 && !scraped && run->running(); ++i) {
            try {
                scraped = fetch(port, "/metrics").status == 200;
            } catch (const std::exception&) {
                std::this_thread::sleep_for(25ms);
            }
        }
        REQUIRE(scraped);
        auto err = [&] { return test_support::read_text(dir.dir / (name + ".err")); };
        bool waiting = false;
        for (int i = 0; i < 600 && !waiting && run->running(); ++i) {
            waiting = err().find("waiting up to") != std::string::npos;
            if (!waiting) std::this_thread::sleep_for(50ms);
        }
        INFO(err());
        REQUIRE(waiting);
        CHECK(err().find("for Prometheus to scrape the final values") != std::string::npos);
        ::kill(run->pid, SIGINT);
        CHECK(run->wait(20s) == (failing ? 99 : 0));
    }
}
#endif

}  // namespace LOADKIT_TEST_UNIT
