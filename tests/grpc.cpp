// gRPC (loadkit::grpc): the message layer without a server, then the client
// from the C++ DSL against tests/grpc_server.py (python3-grpcio, a separate
// implementation) started on 127.0.0.1: unary, server-streaming and bidi
// calls, reflection, deadlines, error statuses, a server that goes away, and
// k6's metrics in the summary.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/grpc.hpp>

#include "grpc_peer.hpp"
#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
namespace g = loadkit::grpc;

namespace {

const std::string source_dir = LOADKIT_SOURCE_DIR;

using grpc_server = test_support::grpc_peer;  // tests/grpc_server.py

std::shared_ptr<const g::descriptor_set> test_protos() {
    return g::detail::shared_protos({source_dir + "/tests"}, {"grpc_test.proto"});
}

loadkit::options quiet() {
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    return o;
}
double count_of(const nlohmann::json& summary, std::string_view name) {
    auto* m = loadkit::find_metric(summary, name);
    if (!m) return -1;
    return (*m)["count"].get<double>();
}

}  // namespace

TEST_CASE("grpc: descriptors from a .proto, JSON both ways as k6's protojson") {
    auto set = test_protos();
    REQUIRE(set->methods().size() == 4);
    auto* m = set->method("/loadkit.test.Echo/Say");
    REQUIRE(m);
    CHECK(m->service == "loadkit.test.Echo");
    CHECK(!m->client_streaming);
    CHECK(set->method("/loadkit.test.Echo/Chat")->server_streaming);
    std::string bin, json, err;
    // proto names and camelCase both read; int64 as a number or a string
    REQUIRE(set->to_binary(m->input_url, R"({"name":"a","big_num":5,"sleepMs":"3","tags":["x"]})", bin, err));
    REQUIRE(set->to_json(m->input_url, bin, json, err));
    CHECK(json == R"({"name":"a","count":0,"bigNum":"5","sleepMs":3,"tags":["x"]})");  // zero values present, as k6
    REQUIRE(set->to_json(m->input_url, bin, json, err, false));
    CHECK(json == R"({"name":"a","bigNum":"5","sleepMs":3,"tags":["x"]})");  // as k6's stream messages
    CHECK(!set->to_binary(m->input_url, R"({"nope":1})", bin, err));
    CHECK(err.find("unable to serialise request object to protocol buffer") != std::string::npos);
    CHECK(err.find("nope") != std::string::npos);
    CHECK(!set->to_binary(m->input_url, R"({"name":)", bin, err));
    // a .proto with an error: the file, line and column
    test_support::scratch s;
    std::ofstream(s.dir / "bad.proto") << "syntax = \"proto3\";\nmessage A { strin x = 1; }\n";
    g::descriptor_set bad;
    try {
        bad.load_protos({s.dir.string()}, {"bad.proto"});
        FAIL("loaded a bad .proto");
    } catch (const loadkit::config_error& e) {
        CHECK(std::string(e.what()).find("bad.proto:2:") != std::string::npos);
    }
    CHECK_THROWS_WITH(bad.load_protos({s.dir.string()}, {"missing.proto"}), Catch::Contains("missing.proto"));
    CHECK_THROWS_WITH(bad.load_protoset("garbage", "x.protoset"), Catch::Contains("couldn't unmarshal protoset file"));
}

TEST_CASE("grpc: framing, grpc-timeout and grpc-message encoding") {
    std::string f;
    g::detail::append_frame_header(f, 3);
    f += "abc";
    g::detail::append_frame_header(f, 0);
    g::detail::frame_reader r(16);
    std::string_view msg;
    r.feed(std::string_view(f).substr(0, 4));
    CHECK(r.next(msg) == g::detail::frame_reader::result::need_more);
    r.feed(std::string_view(f).substr(4));
    REQUIRE(r.next(msg) == g::detail::frame_reader::result::message);
    CHECK(msg == "abc");
    REQUIRE(r.next(msg) == g::detail::frame_reader::result::message);
    CHECK(msg.empty());
    CHECK(r.next(msg) == g::detail::frame_reader::result::need_more);
    std::string big;
    g::detail::append_frame_header(big, 17);  // over the limit: refused before reading it
    r.feed(big);
    CHECK(r.next(msg) == g::detail::frame_reader::result::error);
    CHECK(r.error().find("larger than max") != std::string::npos);
    g::detail::frame_reader z;
    z.feed(std::string("\x01\0\0\0\0", 5));
    CHECK(z.next(msg) == g::detail::frame_reader::result::error);
    CHECK(z.error().find("compressed") != std::string::npos);
    char buf[16];
    CHECK(g::detail::format_timeout(2'000'000'000, buf) == "2000000u");
    CHECK(g::detail::format_timeout(1, buf) == "1n");
    CHECK(g::detail::format_timeout(3'600'000'000'000'000, buf) == "3600000S");
    std::string out;
    g::detail::percent_decode("bad%20name %C3%BC%", out);
    CHECK(out == "bad name \xC3\xBC%");
    CHECK(g::status_names[5] == "NotFound");
}

namespace {
struct results {
    int ok = -1, not_found = -1, deadline = -1, list_n = -1, list_status = -1, bidi_n = -1, reflected = -1;
    std::string echo_header, error_message, first_list;
};
results got;
std::string address_for_vus;

struct Rpc : loadkit::Scenario<Rpc> {
    struct User : loadkit::VU<Rpc> {
        g::client rpc{http};
        loadkit::task<> iteration() {
            rpc.add(test_protos());
            bool connected = co_await rpc.connect(address_for_vus);
            if (!connected) throw std::runtime_error(rpc.error());
            g::call_params p;
            p.md.emplace_back("x-echo", "v1");
            auto& r = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"bob","bigNum":"7"})", p);
            got.ok = r.status;
            for (auto& [k, v] : r.headers)
                if (k == "x-echo") got.echo_header = v;
            check(r, {{"unary ok", [](const g::response& r) { return r.ok() && r.message.find("hello bob") != std::string::npos; }}});
            auto& nf = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"notfound"})");
            got.not_found = nf.status;
            got.error_message = nf.error;
            g::call_params short_deadline;
            short_deadline.timeout = 150ms;
            auto& dl = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"x","sleepMs":2000})", short_deadline);
            got.deadline = dl.status;
            // server streaming
            auto* list = rpc.method("loadkit.test.Echo/List");
            g::stream s(rpc, *list);
            std::string bin, err, msg;
            list->set->to_binary(list->input_url, R"({"name":"l","count":3})", bin, err);
            co_await s.write(bin);
            co_await s.close_send();
            int n = 0;
            while (co_await s.read(msg)) {
                if (n++ == 0) list->set->to_json(list->output_url, msg, got.first_list, err);
            }
            got.list_n = n;
            got.list_status = s.status();
            // bidi, with a generated-like message: any google::protobuf::Message
            auto* chat = rpc.method("loadkit.test.Echo/Chat");
            g::stream b(rpc, *chat);
            int replies = 0;
            for (int i = 0; i < 3; ++i) {
                list->set->to_binary(chat->input_url, R"({"name":"n"})", bin, err);
                co_await b.write(bin);
                bool more = co_await b.read(msg);
                if (more) ++replies;
            }
            co_await b.close_send();
            while (co_await b.read(msg)) ++replies;
            got.bidi_n = replies;
            // reflection: a second client, no .proto
            g::client reflecting{http};
            g::connect_options o;
            o.reflect = true;
            bool reflected = co_await reflecting.connect(address_for_vus, o);
            got.reflected = reflected && reflecting.method("/loadkit.test.Echo/Say") ? 1 : 0;
            if (reflected) co_await reflecting.invoke_json("loadkit.test.Echo/Say", R"({"name":"r"})");
            rpc.close();
            reflecting.close();
        }
    };
};
}  // namespace

TEST_CASE("grpc: unary, server-streaming and bidi calls, reflection, deadlines and statuses, k6's metrics") {
    grpc_server server;
    address_for_vus = server.address;
    got = {};
    auto r = loadkit::run<Rpc>(loadkit::per_vu_iterations{.vus = 1, .iterations = 1}, quiet());
    INFO(r.report);
    CHECK(got.ok == 0);
    CHECK(got.echo_header == "v1");
    CHECK(got.not_found == 5);
    CHECK(got.error_message == "no such name: notfound");
    CHECK(got.deadline == 4);
    CHECK(got.list_n == 3);
    CHECK(got.list_status == 0);
    CHECK(got.first_list == R"({"message":"l","index":0,"bigNum":"0","tags":[]})");
    CHECK(got.bidi_n == 3);
    CHECK(got.reflected == 1);
    // 4 unary calls and 2 streams timed (and reflection's stream, as k6's stats handler does)
    CHECK(count_of(r.summary, "grpc_req_duration") == 7);
    CHECK(count_of(r.summary, "grpc_streams") == 2);
    CHECK(count_of(r.summary, "grpc_streams_msgs_sent") == 4);
    CHECK(count_of(r.summary, "grpc_streams_msgs_received") == 6);
    CHECK(r.report.find("grpc_req_duration") != std::string::npos);
}

namespace {
std::vector<int> gone_statuses;
std::string gone_connect_error;
struct Gone : loadkit::Scenario<Gone> {
    struct User : loadkit::VU<Gone> {
        g::client rpc{http};
        loadkit::task<> iteration() {
            rpc.add(test_protos());
            if (!co_await rpc.connect(address_for_vus)) throw std::runtime_error(rpc.error());
            auto& a = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"exit"})");  // the server exits mid-call
            gone_statuses.push_back(a.status);
            auto& b = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"again"})");  // reconnecting fails
            gone_statuses.push_back(b.status);
            g::client fresh{http};
            fresh.add(test_protos());
            bool connected = co_await fresh.connect(address_for_vus);
            if (!connected) gone_connect_error = fresh.error();
        }
    };
};
}  // namespace

TEST_CASE("grpc: a server that goes away: calls fail as Unavailable, counted, never a crash") {
    grpc_server server;
    address_for_vus = server.address;
    gone_statuses.clear();
    gone_connect_error.clear();
    auto r = loadkit::run<Gone>(loadkit::per_vu_iterations{.vus = 1, .iterations = 1}, quiet());
    REQUIRE(gone_statuses.size() == 2);
    CHECK(gone_statuses[0] == 14);
    CHECK(gone_statuses[1] == 14);
    CHECK(!gone_connect_error.empty());
    CHECK(count_of(r.summary, "grpc_req_duration") == 2);
}

}  // namespace LOADKIT_TEST_UNIT
