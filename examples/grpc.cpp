// gRPC from the C++ DSL: each VU owns a gRPC client beside its HTTP client,
// calls a unary method with JSON in and out (descriptors from a .proto
// parsed at run time), and reads a server stream. Built only with
// loadkit::grpc (protobuf found).
//
//   grpc ADDRESS PROTO_DIR      e.g. grpc 127.0.0.1:50051 tests
//   (tests/grpc_server.py prints the port of a server that fits tests/grpc_test.proto)
#include <loadkit.hpp>
#include <loadkit/grpc.hpp>

#include <iostream>

using namespace std::chrono_literals;
namespace grpc = loadkit::grpc;

static std::string address, proto_dir;

struct Echo : loadkit::Scenario<Echo> {
    struct User : loadkit::VU<Echo> {
        grpc::client rpc{http};  // one HTTP/2 connection per VU

        loadkit::task<> on_start() {
            // parsed once per process (every VU shares the descriptors)
            rpc.add(grpc::detail::shared_protos({proto_dir}, {"grpc_test.proto"}));
            if (!co_await rpc.connect(address)) throw std::runtime_error(rpc.error());
        }
        loadkit::task<> iteration() {
            grpc::call_params p;
            p.timeout = 2s;
            p.md = {{"x-echo", "example"}};
            auto& r = co_await rpc.invoke_json("loadkit.test.Echo/Say", R"({"name":"example"})", p);
            check(r, {{"Say: OK", [](const grpc::response& r) { return r.ok(); }}});

            // server streaming: write the request, half-close, read to the end
            auto* list = rpc.method("loadkit.test.Echo/List");
            grpc::stream s(rpc, *list);
            std::string request, error, message;
            list->set->to_binary(list->input_url, R"({"name":"item","count":3})", request, error);
            co_await s.write(request);
            co_await s.close_send();
            int n = 0;
            while (co_await s.read(message)) ++n;
            check(n, {{"List: 3 messages", [](const int& n) { return n == 3; }}});
            co_await sleep(100ms);
        }
    };
};

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: grpc ADDRESS PROTO_DIR\n";
        return 2;
    }
    address = argv[1], proto_dir = argv[2];
    loadkit::options opts;
    opts.name = "grpc";
    return loadkit::run<Echo>(loadkit::constant_vus{.vus = 5, .duration = 5s}, opts).exit_code();
}
