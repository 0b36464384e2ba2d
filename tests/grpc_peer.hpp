#pragma once
// tests/grpc_server.py (python3-grpcio: a gRPC server loadkit did not write)
// on an ephemeral port of 127.0.0.1, over TLS when given a certificate; it
// exits by itself after a minute and is killed with the test.
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <loadkit/target/cert.hpp>

#include "support.hpp"

namespace test_support {

struct grpc_peer {
    scratch dir;
    std::unique_ptr<child> proc;
    std::string address;  // "127.0.0.1:port"

    grpc_peer() : grpc_peer(nullptr) {}
    explicit grpc_peer(const loadkit::certificate* cert) {
        std::vector<std::string> argv{"/usr/bin/python3", std::string(LOADKIT_SOURCE_DIR) + "/tests/grpc_server.py",
                                      "--exit-after", "60"};
        if (cert) {  // PEM files for Python
            std::ofstream(dir.dir / "cert.pem") << cert->cert_pem;
            std::ofstream(dir.dir / "key.pem") << cert->key_pem;
            argv.insert(argv.end(),
                        {"--tls-cert", (dir.dir / "cert.pem").string(), "--tls-key", (dir.dir / "key.pem").string()});
        }
        proc = std::make_unique<child>(argv, (dir.dir / "server.out").string(), (dir.dir / "server.err").string());
        for (int i = 0; i < 200 && address.empty(); ++i) {  // it prints "port N" when listening
            auto out = proc->out();
            if (auto at = out.find("port "); at != std::string::npos && out.find('\n', at) != std::string::npos)
                address = "127.0.0.1:" + out.substr(at + 5, out.find('\n', at) - at - 5);
            else std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        INFO(proc->err());
        REQUIRE(!address.empty());
    }
};

}  // namespace test_support
