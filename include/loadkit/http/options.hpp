#pragma once
// The HTTP client's options (k6's option names). The TLS contexts built from
// them are in tls.hpp.
#include <optional>
#include <string>
#include <vector>

#include "../core/config.hpp"
#include "local_ips.hpp"
#include "message.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A client certificate (k6's tlsAuth entry), PEM text: offered to the hosts
// in `domains` ("*.example.com" too), else as the first entry (see tls.hpp).
struct tls_client_cert {
    std::vector<std::string> domains;
    std::string cert, key;  // the certificate (then its chain, if any) and its private key
    std::string password;   // of an encrypted key
};

// Which HTTP version a client speaks (HTTP/2 needs <loadkit/http2.hpp> and
// loadkit::http2; without them every mode is HTTP/1.1):
//   alpn             k6's behaviour: TLS offers h2 and http/1.1 by ALPN and
//                    speaks the one the server picks; plain TCP is HTTP/1.1
//   prior_knowledge  also h2c on plain TCP, without an upgrade (RFC 9113 3.3;
//                    k6 cannot do this: Go's client has no h2c)
//   http1            HTTP/1.1 only, ALPN offers nothing
enum class http2_mode : unsigned char { alpn, prior_knowledge, http1 };

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
    // which statuses are expected (k6's expectedStatuses); none: k6's 200-399
    std::optional<expected_statuses> expected;
    // k6's tlsVersion (as OpenSSL's TLS1_2_VERSION...; 0: OpenSSL's default),
    // tlsCipherSuites (k6's names, as Go's) and tlsAuth
    int tls_min_version = 0, tls_max_version = 0;
    std::vector<std::string> tls_cipher_suites;
    std::vector<tls_client_cert> tls_auth;
    http2_mode http2 = http2_mode::alpn;
    // k6's --local-ips: the source addresses VUs connect from, VU n taking
    // the n-th (local_ips.hpp); empty: the kernel's choice
    local_ip_pool local_ips{};
};

}  // namespace loadkit::inline LOADKIT_ABI
