// HTTP/2 from the front ends against nginx (h2 over TLS, h2c) started by the
// test: k6/http's res.proto and http.batch's requests as streams of one
// connection, the `http2` option (JavaScript options and YAML's `http:`),
// and YAML's `proto` check.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/yaml.hpp>

#include "h2_servers.hpp"
#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using test_support::scratch;

#ifdef LOADKIT_HAS_HTTP2  // loadkit::js links loadkit::http2 when libnghttp2 was found

namespace {

loadkit::run_result run_js(const std::string& file, std::map<std::string, std::string> env) {
    loadkit::js::load_options lo;
    lo.env.insert(env.begin(), env.end());
    loadkit::js::script s(file, lo);
    auto plan = loadkit::js::make_plan(s);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.env.insert(env.begin(), env.end());  // __ENV in VU code (lo.env is the init context's)
    return loadkit::yaml::run(plan, o, &s);
}
using test_support::agg;
void require_checks_pass(const nlohmann::json& summary, double expected) {
    double passes = 0;
    for (auto& c : summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    CHECK(passes == expected);
}

}  // namespace

// k6 v0.48.0 ran this script against the same nginx: res.proto 'HTTP/2.0'
// over TLS (ALPN h2), 'HTTP/1.1' from the listener without h2, and the
// batch's four responses came on the connection of the first request.
TEST_CASE("js http2: res.proto, and http.batch's requests are streams of the VU's one connection", "[js][http2]") {
    auto& ng = h2_test::nginx();
    scratch dir;
    auto file = dir.write("h2.js", R"(
import http from 'k6/http';
import { check } from 'k6';
export const options = { insecureSkipTLSVerify: true };
const conn = (r) => r.body.split(' ')[2];
export default function () {
  const r = http.get(`${__ENV.H2}/info`);
  const list = http.batch([`${__ENV.H2}/info`, `${__ENV.H2}/info`, ['POST', `${__ENV.H2}/info`, 'abc'],
                           { method: 'GET', url: `${__ENV.H2}/` }]);
  check(r, { 'h2': (x) => x.proto === 'HTTP/2.0' && x.status === 200 && x.body.startsWith('HTTP/2.0 GET') });
  check(list, {
    'batch over h2': (l) => l.every((x) => x.proto === 'HTTP/2.0' && x.status === 200),
    'one connection': (l) => l.slice(0, 3).every((x) => conn(x) === conn(r)),
    'post body': (l) => l[2].body.indexOf('len=3') > 0,
  });
  check(http.get(`${__ENV.H1}/info`), { 'h1': (x) => x.proto === 'HTTP/1.1' && x.body.startsWith('HTTP/1.1') });
}
)");
    auto r = run_js(file, {{"H2", ng.https()}, {"H1", ng.https_h1()}});
    require_checks_pass(r.summary, 5);
    CHECK(agg(r.summary, "http_reqs", "count") == 6);
    CHECK(agg(r.summary, "http_req_failed", "sum") == 0);
}

TEST_CASE("js http2: options.http2 'prior-knowledge' speaks h2c to a plain-text server", "[js][http2]") {
    auto& ng = h2_test::nginx();
    scratch dir;
    auto file = dir.write("h2c.js", R"(
import http from 'k6/http';
import { check } from 'k6';
export const options = { http2: 'prior-knowledge' };
export default function () {
  const r = http.get(`${__ENV.H2C}/info`);
  check(r, { 'h2c': (x) => x.proto === 'HTTP/2.0' && x.body.startsWith('HTTP/2.0 GET') });
}
)");
    auto r = run_js(file, {{"H2C", ng.h2c_url()}});
    require_checks_pass(r.summary, 1);
}

TEST_CASE("yaml http2: the http2 key and the proto check", "[yaml][http2]") {
    auto& ng = h2_test::nginx();
    scratch dir;
    auto file = dir.write("h2.yaml", "name: h2\ntarget: " + ng.h2c_url() +
                                         "\nhttp:\n  http2: prior-knowledge\n"
                                         "scenarios:\n  s:\n    executor: per-vu-iterations\n    vus: 1\n"
                                         "    iterations: 2\n    flow:\n      - request:\n          url: /info\n"
                                         "        check: { status: 200, proto: HTTP/2.0, body: 'HTTP/2.0 GET' }\n");
    auto plan = loadkit::yaml::load_file(file);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    auto r = loadkit::yaml::run(plan, o);
    require_checks_pass(r.summary, 6);
    CHECK(agg(r.summary, "http_reqs", "count") == 2);
    // a wrong value is a load error with its position
    auto bad = dir.write("bad.yaml", "name: h2\ntarget: " + ng.h2c_url() +
                                         "\nhttp:\n  http2: sometimes\nscenarios:\n  s:\n    executor: "
                                         "per-vu-iterations\n    flow:\n      - request:\n          url: /\n");
    try {
        loadkit::yaml::load_file(bad);
        FAIL("no error");
    } catch (const std::exception& e) {
        CHECK(std::string(e.what()).find("expected auto, prior-knowledge or off for 'http2'") != std::string::npos);
    }
}

#endif  // LOADKIT_HAS_HTTP2

}  // namespace LOADKIT_TEST_UNIT
