// gRPC over TLS and binary metadata from the C++ DSL, against
// tests/grpc_server.py (python3-grpcio) started on 127.0.0.1: with TLS
// credentials made here (a self-signed certificate, written to a scratch
// folder for Python), one unary call trusting it, one with another CA failing
// cleanly as a counted Unavailable call, insecureSkipTLSVerify; and "-bin"
// metadata base64 both ways, checked by what the server says it received.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <loadkit.hpp>
#include <loadkit/grpc.hpp>
#include <loadkit/target/cert.hpp>

#include "grpc_peer.hpp"
#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using namespace std::chrono_literals;
namespace g = loadkit::grpc;

namespace {

const std::string source_dir = LOADKIT_SOURCE_DIR;

using server = test_support::grpc_peer;  // tests/grpc_server.py, over TLS when given a certificate

std::shared_ptr<const g::descriptor_set> protos() {
    return g::detail::shared_protos({source_dir + "/tests"}, {"grpc_test.proto"});
}
loadkit::options quiet() {
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    return o;
}
struct tls_results {
    int trusted = -1, wrong_ca_call = -1, system_roots_call = -1;
    bool wrong_ca_connected = true, system_roots_connected = true, insecure_connected = false;
    int insecure_call = -1;
    std::string trusted_message, wrong_ca_error, system_roots_error;
};
tls_results tls_got;
std::string tls_address, tls_ca, other_ca;

struct Tls : loadkit::Scenario<Tls> {
    struct User : loadkit::VU<Tls> {
        g::client trusting{http}, wrong{http}, plain_roots{http};
        loadkit::task<> iteration() {
            for (auto* c : {&trusting, &wrong, &plain_roots}) c->add(protos());
            g::connect_options o;
            o.plaintext = false;
            o.timeout = 10s;
            o.tls = g::connect_tls{{tls_ca}, {}, {}, {}};
            bool ok = co_await trusting.connect(tls_address, o);
            if (!ok) throw std::runtime_error(trusting.error());
            auto& r = co_await trusting.invoke_json("loadkit.test.Echo/Say", R"({"name":"tls"})");
            tls_got.trusted = r.status;
            tls_got.trusted_message = r.message;
            // another CA: the handshake fails; the call after it is Unavailable, counted
            o.tls = g::connect_tls{{other_ca}, {}, {}, {}};
            tls_got.wrong_ca_connected = co_await wrong.connect(tls_address, o);
            tls_got.wrong_ca_error = wrong.error();
            tls_got.wrong_ca_call = (co_await wrong.invoke_json("loadkit.test.Echo/Say", R"({"name":"x"})")).status;
            // no tls map: the engine's options (system roots only)
            o.tls.reset();
            tls_got.system_roots_connected = co_await plain_roots.connect(tls_address, o);
            tls_got.system_roots_error = plain_roots.error();
            tls_got.system_roots_call =
                (co_await plain_roots.invoke_json("loadkit.test.Echo/Say", R"({"name":"x"})")).status;
            for (auto* c : {&trusting, &wrong, &plain_roots}) c->close();
        }
    };
};

struct Insecure : loadkit::Scenario<Insecure> {
    struct User : loadkit::VU<Insecure> {
        g::client rpc{http};
        loadkit::task<> iteration() {
            rpc.add(protos());
            g::connect_options o;
            o.plaintext = false;
            tls_got.insecure_connected = co_await rpc.connect(tls_address, o);
            if (tls_got.insecure_connected)
                tls_got.insecure_call = (co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"i"})")).status;
            rpc.close();
        }
    };
};

}  // namespace

TEST_CASE("grpc tls: a unary call over TLS (ALPN h2), a wrong CA fails cleanly and is counted, insecureSkipTLSVerify") {
    auto cert = loadkit::make_self_signed_certificate();
    auto other = loadkit::make_self_signed_certificate();
    server s(&cert);
    tls_address = s.address;
    tls_ca = cert.cert_pem;
    other_ca = other.cert_pem;
    tls_got = {};
    auto q = quiet();
    // (thresholds make the submetrics by status)
    q.thresholds = {{"grpc_req_duration{status:0}", {"max>=0"}}, {"grpc_req_duration{status:14}", {"max>=0"}}};
    auto r = loadkit::run<Tls>(loadkit::per_vu_iterations{.vus = 1, .iterations = 1}, q);
    INFO(r.report);
    CHECK(tls_got.trusted == 0);
    CHECK(tls_got.trusted_message.find("hello tls") != std::string::npos);
    CHECK(!tls_got.wrong_ca_connected);
    INFO(tls_got.wrong_ca_error);
    CHECK(tls_got.wrong_ca_error.find("authentication handshake failed") != std::string::npos);
    CHECK(tls_got.wrong_ca_call == 14);
    CHECK(!tls_got.system_roots_connected);
    CHECK(tls_got.system_roots_call == 14);
    auto count = [&](const char* name) {
        auto* m = loadkit::find_metric(r.summary, name);
        return m ? (*m)["count"].get<double>() : -1;
    };
    CHECK(count("grpc_req_duration{status:0}") == 1);
    CHECK(count("grpc_req_duration{status:14}") == 2);
    // the global insecureSkipTLSVerify: no CA needed
    auto o = quiet();
    o.http.insecure_skip_tls_verify = true;
    loadkit::run<Insecure>(loadkit::per_vu_iterations{.vus = 1, .iterations = 1}, o);
    CHECK(tls_got.insecure_connected);
    CHECK(tls_got.insecure_call == 0);
}

namespace {
std::string bin_address;
g::response bin_got;
struct Bin : loadkit::Scenario<Bin> {
    struct User : loadkit::VU<Bin> {
        g::client rpc{http};
        loadkit::task<> iteration() {
            rpc.add(protos());
            if (!co_await rpc.connect(bin_address)) throw std::runtime_error(rpc.error());
            g::call_params p;
            p.md.emplace_back("x-echo-bin", std::string("\x00\x01\xfe\x7f", 4));
            bin_got = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"b"})", p);
            rpc.close();
        }
    };
};
std::string value_of(const g::metadata& md, std::string_view key) {
    for (auto& [k, v] : md)
        if (k == key) return v;
    return "(absent)";
}
}  // namespace

TEST_CASE("grpc tls: -bin metadata is base64 on the wire both ways") {
    std::string bytes("\x00\x01\xfe\x7f", 4);
    std::string enc, dec;
    g::detail::base64_encode(bytes, enc);
    CHECK(enc == "AAH+fw");  // unpadded, as grpc-go sends it
    REQUIRE(g::detail::base64_decode("AAH+fw==", dec));
    CHECK(dec == bytes);
    CHECK(!g::detail::base64_decode("A*", dec));
    server s;
    bin_address = s.address;
    bin_got = {};
    loadkit::run<Bin>(loadkit::per_vu_iterations{.vus = 1, .iterations = 1}, quiet());
    CHECK(bin_got.status == 0);
    CHECK(value_of(bin_got.trailers, "x-echo-hex") == "0001fe7f");  // what the server decoded
    CHECK(value_of(bin_got.headers, "x-echo-bin") == bytes);
    CHECK(value_of(bin_got.trailers, "x-echo-trailer-bin") == bytes + "\xff");
}

}  // namespace LOADKIT_TEST_UNIT
