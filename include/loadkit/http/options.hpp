#pragma once
// The HTTP client's options (k6's option names) and the TLS contexts built
// from them.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI {

// Defaults for every VU's HTTP client (k6's options of the same names).
struct client_options {
    std::string base_url;  // relative URLs resolve against it
    nanoseconds timeout = std::chrono::seconds(60);
    int max_redirects = 10;
    bool insecure_skip_tls_verify = false;
    std::string tls_ca_file;  // extra trusted CA certificates (PEM file)
    std::string tls_ca_pem;   // the same, in memory
    std::string user_agent = "loadkit/" LOADKIT_VERSION_STRING;
    bool cookies = true;                   // a cookie jar per VU
    bool discard_response_bodies = false;  // read bodies but do not keep them
};

namespace detail {

// TLS contexts are expensive to build (CA store load), so there is one per
// (verify, CA) combination per process.
inline boost::asio::ssl::context& tls_context(const client_options& o) {
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<boost::asio::ssl::context>> contexts;
    std::string key = (o.insecure_skip_tls_verify ? "0|" : "1|") + o.tls_ca_file + "|" + o.tls_ca_pem;
    std::lock_guard lock(mu);
    auto& c = contexts[key];
    if (!c) {
        c = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
        c->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                       boost::asio::ssl::context::no_sslv3);
        if (o.insecure_skip_tls_verify) {
            c->set_verify_mode(boost::asio::ssl::verify_none);
        } else {
            boost::system::error_code ec;
            c->set_default_verify_paths(ec);
            if (!o.tls_ca_file.empty()) c->load_verify_file(o.tls_ca_file, ec);
            if (!o.tls_ca_pem.empty()) c->add_certificate_authority(boost::asio::buffer(o.tls_ca_pem), ec);
            c->set_verify_mode(boost::asio::ssl::verify_peer);
        }
    }
    return *c;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
