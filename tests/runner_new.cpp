// A new user's first minutes with the runner: `loadkit new` projects that run
// as written against the built-in target, --help that shows JavaScript/k6
// and examples, the progress block on an 80-column terminal with two
// scenarios, and YAML flows that do not fail silently (an unknown variable
// is a load-time error with a suggestion; a capture that finds nothing is
// counted and logged once).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <loadkit.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test_support::scratch;

namespace {

std::string load_error_of(const std::string& text) {
    try {
        loadkit::yaml::load_string(text, "t.yaml");
    } catch (const loadkit::yaml::load_error& e) {
        return e.what();
    }
    return "";
}

const nlohmann::json* check_row(const nlohmann::json& summary, std::string_view name) {
    for (auto& c : summary["checks"])
        if (c["name"] == name) return &c;
    return nullptr;
}

}  // namespace

// ------------------------------------------------------------ unknown variables, failed captures

TEST_CASE("yaml flows: a template naming a variable nothing sets is an error at load time, with a suggestion") {
    const std::string head = "scenarios:\n  users:\n    executor: per-vu-iterations\n    flow:\n";
    const std::string login = "      - request: { name: login, method: POST, url: /auth/login }\n"
                              "        capture: { token: json.token }\n";
    SECTION("vars.NAME misspelled") {
        auto e = load_error_of(head + login +
                               "      - request: { url: /items, headers: { A: 'Bearer {{ vars.tokn }}' } }\n");
        CHECK_THAT(e, Catch::StartsWith("t.yaml:7:"));
        CHECK_THAT(e, Catch::EndsWith(": unknown variable 'tokn' in '{{ vars.tokn }}': scenario 'users' captures "
                                      "token; did you mean 'token'?"));
    }
    SECTION("a bare name misspelled, in a URL") {
        auto e = load_error_of(head + login + "      - request: { url: '/feed?t={{ tokne }}' }\n");
        CHECK_THAT(e, Catch::StartsWith("t.yaml:7:"));
        CHECK_THAT(e, Catch::Contains("unknown variable 'tokne' in '{{ tokne }}'"));
        CHECK_THAT(e, Catch::EndsWith("did you mean 'token'?"));
    }
    SECTION("no capture at all") {
        auto e = load_error_of(head + "      - request: { url: '/x/{{ vars.id }}' }\n");
        CHECK_THAT(e, Catch::Contains("unknown variable 'id' in '{{ vars.id }}': scenario 'users' captures nothing"));
    }
    SECTION("what a capture sets, later in the flow or in a loop or group, and a JSON path into it, are known") {
        CHECK(load_error_of(head + "      - request: { url: '/a?t={{ vars.token.x.0 }}&u={{ token }}' }\n" +
                            "      - group: { name: g, steps: [ { loop: { count: 2, steps: [ { request: "
                            "{ url: /auth/login, method: POST }, capture: { token: json.token } } ] } } ] }\n") == "");
    }
    SECTION("a variable of another scenario is not this one's") {
        auto e = load_error_of(head + login + "  other:\n    executor: per-vu-iterations\n    flow:\n" +
                               "      - request: { url: '/items?t={{ vars.token }}' }\n");
        CHECK_THAT(
            e, Catch::Contains("unknown variable 'token' in '{{ vars.token }}': scenario 'other' captures nothing"));
    }
}

TEST_CASE("yaml flows: a capture that finds nothing is counted (captures_failed, a check row) and logged once") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("c.yaml", "target: " + server.url() + R"(
scenarios:
  users:
    executor: per-vu-iterations
    vus: 2
    iterations: 3
    flow:
      - request: { name: login, method: POST, url: /auth/login }
        capture: { token: json.token, nope: json.no.such.path, hdr: header.X-Missing }
      - request: { name: items, url: /items, headers: { A: 'Bearer {{ vars.token }}{{ vars.nope }}' } }
)");
    auto out = (s.dir / "summary.json").string();
    auto r = test_support::run_runner({"run", f, "-q", "--summary-export", out});
    INFO(r.err);
    CHECK(r.code == 0);
    auto j = nlohmann::json::parse(test_support::read_text(out));
    auto* failed = loadkit::find_metric(j, "captures_failed");
    REQUIRE(failed);
    CHECK((*failed)["count"] == 12);  // 6 iterations, 2 captures that find nothing each
    auto* ok = check_row(j, "login: captured token");
    REQUIRE(ok);
    CHECK((*ok)["passes"] == 6);
    CHECK((*ok)["fails"] == 0);
    auto* nope = check_row(j, "login: captured nope");
    REQUIRE(nope);
    CHECK((*nope)["passes"] == 0);
    CHECK((*nope)["fails"] == 6);
    auto* hdr = check_row(j, "login: captured hdr");
    REQUIRE(hdr);
    CHECK((*hdr)["fails"] == 6);
    // logged once per capture, not once per request
    auto once = [&](const std::string& needle) {
        std::size_t n = 0;
        for (auto at = r.err.find(needle); at != std::string::npos; at = r.err.find(needle, at + 1)) ++n;
        return n;
    };
    CHECK(once("capture 'nope' of request 'login' found no json.no.such.path") == 1);
    CHECK(once("capture 'hdr' of request 'login' found no header X-Missing") == 1);
    CHECK(once("capture 'token'") == 0);
}

#ifdef LOADKIT_RUNNER_PATH

// ------------------------------------------------------------ loadkit new

TEST_CASE("runner: loadkit new writes projects that run against the built-in target as written") {
    loadkit::target_server server;
    scratch s;
    SECTION("yaml") {
        auto dir = (s.dir / "shop").string();
        auto made = test_support::run_runner({"new", "yaml", dir});
        CHECK(made.code == 0);
        CHECK_THAT(made.out, Catch::Contains("wrote " + dir + "/test.yaml"));
        CHECK_THAT(made.out, Catch::Contains("loadkit serve"));
        auto r = test_support::run_runner(
            {"run", dir + "/test.yaml", "--target", server.url(), "-u", "2", "-d", "1s", "-q"});
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK_THAT(r.out, Catch::Contains("ok   items: json.items.0.id is 1"));
        CHECK_THAT(r.out, Catch::Contains("thresholds: all passed"));
    }
#if LOADKIT_TEST_RUNNER_JS
    SECTION("js") {
        auto dir = (s.dir / "k6").string();
        CHECK(test_support::run_runner({"new", "js", dir}).code == 0);
        auto r = test_support::run_runner(
            {"run", dir + "/test.js", "-e", "BASE_URL=" + server.url(), "-u", "2", "-d", "1s", "-q"});
        INFO(r.err);
        CHECK(r.code == 0);
        CHECK_THAT(r.out, Catch::Contains("ok   items: first id is 1"));
        CHECK_THAT(r.out, Catch::Contains("thresholds: all passed"));
    }
#endif
    SECTION("cpp: the files (the package test builds and runs one against an installed loadkit)") {
        auto dir = (s.dir / "my-shop").string();
        CHECK(test_support::run_runner({"new", "cpp", dir}).code == 0);
        auto cmake = test_support::read_text(dir + "/CMakeLists.txt");
        CHECK_THAT(cmake, Catch::Contains("project(my_shop LANGUAGES CXX)"));
        CHECK_THAT(cmake, Catch::Contains("find_package(loadkit 0.1 REQUIRED)"));
        CHECK_THAT(cmake, Catch::Contains("target_link_libraries(load_test PRIVATE loadkit::loadkit)"));
        CHECK_THAT(test_support::read_text(dir + "/load_test.cpp"), Catch::Contains("loadkit::run<Shop>"));
    }
    SECTION("a directory that is not empty is refused, nothing is overwritten") {
        auto dir = s.dir / "full";
        fs::create_directories(dir);
        s.write("full/test.yaml", "mine");
        auto r = test_support::run_runner({"new", "yaml", dir.string()});
        CHECK(r.code == 1);
        CHECK_THAT(r.err, Catch::Contains("is not empty"));
        CHECK(test_support::read_text(dir / "test.yaml") == "mine");
        auto bad = test_support::run_runner({"new", "python", (s.dir / "p").string()});
        CHECK(bad.code == 2);
        CHECK_FALSE(fs::exists(s.dir / "p"));
    }
}

TEST_CASE("runner: --help names JavaScript and k6 and shows examples") {
    auto top = test_support::run_runner({"--help"});
    CHECK(top.code == 0);
    CHECK_THAT(top.out, Catch::Contains("k6 JavaScript"));
    CHECK_THAT(top.out, Catch::Contains("Examples:"));
    CHECK_THAT(top.out, Catch::Contains("loadkit run script.js"));
    CHECK_THAT(top.out, Catch::Contains("new"));
    auto run = test_support::run_runner({"run", "--help"});
    CHECK(run.code == 0);
    CHECK_THAT(run.out, Catch::Contains("Examples:"));
    CHECK_THAT(run.out, Catch::Contains("a k6 script"));
}

// ------------------------------------------------------------ the progress block at 80 columns

namespace {

// A terminal of `cols` columns, enough of one to see what a program leaves
// on screen: printable bytes (UTF-8 continuation bytes take no column), \r,
// \n, ESC[2K (erase the line), ESC[nA (up n lines), ESC[...m (colors,
// ignored); writing past the last column wraps (counted).
struct screen {
    std::size_t cols;
    std::vector<std::string> lines{""};
    std::size_t row = 0, col = 0, wraps = 0;
    void put(std::string_view s) {
        for (std::size_t i = 0; i < s.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c == '\r') col = 0;
            else if (c == '\n') down();
            else if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
                std::size_t j = i + 2;
                int n = 0;
                while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) n = n * 10 + (s[j++] - '0');
                if (j >= s.size()) break;
                if (s[j] == 'K') lines[row].clear();
                else if (s[j] == 'A') row -= std::min<std::size_t>(row, static_cast<std::size_t>(n ? n : 1));
                i = j;
            } else if (c >= 0x20) {
                if ((c & 0xC0) == 0x80) {
                    lines[row] += static_cast<char>(c);
                    continue;
                }
                if (col == cols) {
                    ++wraps;
                    down();
                }
                auto& l = lines[row];
                if (l.size() < col) l.resize(col, ' ');
                if (col < l.size()) l[col] = static_cast<char>(c);  // (ASCII overwrite is enough here)
                else l += static_cast<char>(c);
                ++col;
            }
        }
    }
    void down() {
        ++row;
        col = 0;
        if (row == lines.size()) lines.emplace_back();
    }
};

}  // namespace

TEST_CASE("runner: two scenarios on an 80-column terminal: a line each, redrawn in place, nothing wraps") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("two.yaml", "target: " + server.url() + R"(
scenarios:
  shoppers_with_a_long_name:
    executor: constant-vus
    vus: 3
    duration: 2500ms
    flow:
      - request: { url: /delay/20 }
  browsers:
    executor: constant-arrival-rate
    rate: 20
    duration: 2s
    preAllocatedVUs: 2
    maxVUs: 4
    flow:
      - request: { url: /items }
)");
    int master = -1;
    winsize ws{};
    ws.ws_row = 24;
    ws.ws_col = 80;
    pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::setenv("NO_COLOR", "1", 1);
        ::execl(LOADKIT_RUNNER_PATH, LOADKIT_RUNNER_PATH, "run", f.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    std::string seen;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        auto n = ::read(master, buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, static_cast<std::size_t>(n));
    }
    ::close(master);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // the progress: everything before the summary's first line
    auto end = seen.find("\n  loadkit ");
    REQUIRE(end != std::string::npos);
    screen sc{80};
    sc.put(std::string_view(seen).substr(0, end));
    INFO(seen.substr(0, end));
    std::size_t redraws = 0;
    for (auto at = seen.find("\r\x1b[2Krunning ["); at < end; at = seen.find("\r\x1b[2Krunning [", at + 1)) ++redraws;
    CHECK(redraws >= 2);
    CHECK(sc.wraps == 0);
    // on screen: the final block only (no stale "running" rows), a line per scenario
    std::size_t running = 0, done = 0, shoppers = 0, browsers = 0;
    for (auto& l : sc.lines) {
        CHECK(l.size() <= 79);
        running += l.starts_with("running [");
        done += l.starts_with("done    [");
        shoppers += l.starts_with("shoppers_with_a_long_name: [");
        browsers += l.starts_with("browsers:");
    }
    CHECK(running == 0);
    CHECK(done == 1);
    CHECK(shoppers == 1);
    CHECK(browsers == 1);
    // the bar, full at the end, as k6 draws it
    bool full_bar = false;
    for (auto& l : sc.lines) full_bar |= l.find("[======") != std::string::npos && l.find(">") == std::string::npos;
    CHECK(full_bar);
}

#endif  // LOADKIT_RUNNER_PATH

}  // namespace LOADKIT_TEST_UNIT
