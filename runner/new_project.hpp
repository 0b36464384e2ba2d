#pragma once
// `loadkit new cpp|yaml|js DIR`: a starting project that runs as written
// against `loadkit serve` (the built-in target on http://127.0.0.1:8080):
// one scenario that logs in, keeps the token it got, lists items with it,
// checks what came back and holds thresholds. Each kind is the same test in
// its front end: a CMake project (find_package(loadkit)), a YAML flow, a
// k6-style script (which k6 itself runs too).
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace loadkit::runner {

namespace new_project_text {

inline constexpr const char* yaml = R"~(# A load test as a YAML flow. Run it against the built-in target:
#   loadkit serve &                 # http://127.0.0.1:8080
#   loadkit run test.yaml           # or: loadkit run test.yaml --target builtin (no serve needed)
# Another target: --target http://host:port. Reference: loadkit's README, "The runner and YAML flows".
name: @NAME@
target: http://127.0.0.1:8080
thresholds:                             # the run fails (exit 99) when one does not hold
  http_req_failed: ['rate<0.01']
  http_req_duration: ['p(95)<200']
  checks: ['rate>0.99']
scenarios:
  shoppers:
    executor: constant-vus              # k6's executors and option names
    vus: 10
    duration: 10s
    flow:                               # every iteration runs these steps in order
      - request:
          name: login
          method: POST
          url: /auth/login
          json: { user: 'vu-{{ vu }}' }
        check: { status: 200 }
        capture: { token: json.token }  # into this VU's vars
      - request:
          name: items
          url: /items
          headers: { Authorization: 'Bearer {{ vars.token }}' }
        check: { status: 200, 'json.items.0.id': 1 }
      - think: 100ms-300ms
)~";

inline constexpr const char* js = R"~(// A load test as a k6 script: loadkit runs it unchanged, and so does k6.
//   loadkit serve &                 # the built-in target on http://127.0.0.1:8080
//   loadkit run test.js             # or: k6 run test.js
// Another target: -e BASE_URL=http://host:port
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  vus: 10,
  duration: '10s',
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<200'],
    checks: ['rate>0.99'],
  },
};

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';

export default function () {
  const login = http.post(`${BASE}/auth/login`, JSON.stringify({ user: `vu-${__VU}` }), {
    headers: { 'Content-Type': 'application/json' },
    tags: { name: 'login' },
  });
  check(login, { 'login: status is 200': (r) => r.status === 200 });
  const token = login.json('token');
  const items = http.get(`${BASE}/items`, {
    headers: { Authorization: `Bearer ${token}` },
    tags: { name: 'items' },
  });
  check(items, {
    'items: status is 200': (r) => r.status === 200,
    'items: first id is 1': (r) => r.json('items.0.id') === 1,
  });
  sleep(0.1 + Math.random() * 0.2);
}
)~";

inline constexpr const char* cmake = R"~(# A load test in C++ with loadkit (header-only).
#   cmake -S . -B build && cmake --build build
#   loadkit serve &                 # the built-in target on http://127.0.0.1:8080
#   build/load_test                 # or: build/load_test http://host:port 30s
# loadkit installed elsewhere than /usr or /usr/local: -DCMAKE_PREFIX_PATH=<its prefix>.
cmake_minimum_required(VERSION 3.20)
project(@NAME@ LANGUAGES CXX)
find_package(loadkit 0.1 REQUIRED)
add_executable(load_test load_test.cpp)
target_link_libraries(load_test PRIVATE loadkit::loadkit)
)~";

inline constexpr const char* cpp = R"~(// A load test in C++: each VU logs in, keeps its token, lists items with
// it and checks them; thresholds decide the exit code (0 ok, 99 failed).
//   load_test [TARGET_URL] [DURATION]     (default: http://127.0.0.1:8080, 10s)
#include <loadkit.hpp>

#include <string>

using namespace std::chrono_literals;

struct Shop : loadkit::Scenario<Shop> {
    struct User : loadkit::VU<Shop> {
        std::string token;  // this VU's own state

        loadkit::task<> iteration() {
            auto& login = co_await http.post("/auth/login", R"({"user":"vu"})", {.name = "login"});
            check(login, {{"login: status is 200", [](auto& r) { return r.status == 200; }}});
            token = login.json("token").get<std::string>();
            std::string bearer = "Bearer " + token;  // (request headers are views: the string outlives the request)
            auto& items = co_await http.get("/items", {.name = "items", .headers = {{"Authorization", bearer}}});
            check(items, {{"items: status is 200", [](auto& r) { return r.status == 200; }}});
            co_await sleep(100ms);
        }
    };
};

int main(int argc, char** argv) {
    loadkit::options o;
    o.name = "@NAME@";
    o.target = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
    o.thresholds = {{"http_req_failed", {"rate<0.01"}},
                    {"http_req_duration", {"p(95)<200"}},
                    {"checks", {"rate>0.99"}}};
    auto duration = loadkit::parse_duration(argc > 2 ? argv[2] : "10s");
    if (!duration) return 2;
    return loadkit::run<Shop>(loadkit::constant_vus{.vus = 10, .duration = *duration}, o).exit_code();
}
)~";

}  // namespace new_project_text

// The files of a project of `kind` named `name`: (relative path, text).
inline std::vector<std::pair<std::string, std::string>> new_project_files(const std::string& kind,
                                                                          const std::string& name) {
    auto fill = [&](std::string text) {
        for (auto at = text.find("@NAME@"); at != std::string::npos; at = text.find("@NAME@", at + name.size()))
            text.replace(at, 6, name);
        return text;
    };
    if (kind == "yaml") return {{"test.yaml", fill(new_project_text::yaml)}};
    if (kind == "js") return {{"test.js", fill(new_project_text::js)}};
    return {{"CMakeLists.txt", fill(new_project_text::cmake)}, {"load_test.cpp", fill(new_project_text::cpp)}};
}

// A project's name from its directory: letters, digits and '_' ("my-shop" -> "my_shop").
inline std::string project_name(const std::filesystem::path& dir) {
    auto base = std::filesystem::absolute(dir).lexically_normal().filename().string();
    if (base.empty()) base = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
    std::string out;
    for (char c : base) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "load_" + out;
    return out;
}

// Writes the project into `dir`, which must not exist or be an empty
// directory (nothing is ever overwritten). False with `error` otherwise.
inline bool write_new_project(const std::string& kind, const std::string& dir, std::vector<std::string>& written,
                              std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path d(dir);
    if (fs::exists(d, ec)) {
        if (!fs::is_directory(d, ec)) {
            error = "'" + dir + "' exists and is not a directory";
            return false;
        }
        if (!fs::is_empty(d, ec) || ec) {
            error = "'" + dir + "' is not empty: give a new directory (nothing is overwritten)";
            return false;
        }
    } else if (!fs::create_directories(d, ec)) {
        error = "cannot create '" + dir + "': " + ec.message();
        return false;
    }
    for (auto& [file, text] : new_project_files(kind, project_name(d))) {
        auto path = (d / file).string();
        std::ofstream out(path, std::ios::binary);
        out << text;
        out.close();
        if (!out) {
            error = "cannot write '" + path + "'";
            return false;
        }
        written.push_back(path);
    }
    return true;
}

}  // namespace loadkit::runner
