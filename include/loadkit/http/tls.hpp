#pragma once
// TLS for the HTTP client: k6's TLS options (tlsVersion, tlsCipherSuites,
// tlsAuth, insecureSkipTLSVerify) applied to OpenSSL contexts, and what a
// response reports of its connection's TLS (k6's res.tls_version,
// tls_cipher_suite and ocsp).
//
// k6 names cipher suites as Go does (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
// OpenSSL's TLS 1.2 names differ (ECDHE-RSA-AES128-GCM-SHA256), so a table
// maps the two. TLS 1.3 suites have the same names in both.
#include <array>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../core/config.hpp"
#include "../core/log.hpp"
#include "options.hpp"

namespace loadkit::inline LOADKIT_ABI {

// k6's res.ocsp: the OCSP response the server stapled to its handshake.
// Times are Unix seconds. status is "unknown" on a TLS connection without a
// stapled response, as in k6, and "" on plain HTTP.
struct ocsp_info {
    std::int64_t produced_at = 0, this_update = 0, next_update = 0, revoked_at = 0;
    std::string_view revocation_reason;  // "" unless revoked
    std::string_view status;             // good, revoked, server_failed, unknown
};

// A connection's TLS, as a response reports it.
struct tls_info {
    std::string_view version;       // tls1.0 .. tls1.3
    std::string_view cipher_suite;  // k6's (Go's) name
    ocsp_info ocsp;
};

namespace detail {

// k6's (Go's) TLS 1.2 cipher suite names and OpenSSL's.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 22> tls12_suites{{
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
}};
inline constexpr std::array<std::string_view, 3> tls13_suites{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                                              "TLS_CHACHA20_POLY1305_SHA256"};

inline bool is_tls13_suite(std::string_view k6_name) {
    for (auto s : tls13_suites)
        if (s == k6_name) return true;
    return false;
}
// OpenSSL's name of a k6 TLS 1.2 suite; "" when k6 has no such name.
inline std::string_view openssl_suite(std::string_view k6_name) {
    for (auto& [k6, ossl] : tls12_suites)
        if (k6 == k6_name) return ossl;
    return {};
}
inline bool known_cipher_suite(std::string_view k6_name) {
    return is_tls13_suite(k6_name) || !openssl_suite(k6_name).empty();
}
// k6's name of a negotiated suite (OpenSSL's name in; static storage out).
inline std::string_view k6_suite(const SSL_CIPHER* c) {
    if (!c) return {};
    std::string_view name = SSL_CIPHER_get_name(c);
    for (auto& [k6, ossl] : tls12_suites)
        if (ossl == name) return k6;
    const char* standard = SSL_CIPHER_standard_name(c);  // TLS 1.3 suites and any other (RFC names)
    return standard ? std::string_view(standard) : name;
}

// "tls1.2" -> TLS1_2_VERSION (k6's version names); nullopt for another name.
inline std::optional<int> tls_version_number(std::string_view name) {
    if (name == "tls1.0") return TLS1_VERSION;
    if (name == "tls1.1") return TLS1_1_VERSION;
    if (name == "tls1.2") return TLS1_2_VERSION;
    if (name == "tls1.3") return TLS1_3_VERSION;
    return std::nullopt;
}
inline std::string_view tls_version_name(int v) {
    switch (v) {
        case TLS1_VERSION: return "tls1.0";
        case TLS1_1_VERSION: return "tls1.1";
        case TLS1_2_VERSION: return "tls1.2";
        case TLS1_3_VERSION: return "tls1.3";
        default: return {};
    }
}

// A tlsAuth entry parsed once: its certificate (and chain) and key.
struct client_identity {
    std::vector<std::string> domains;
    std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
    std::vector<std::unique_ptr<X509, decltype(&X509_free)>> chain;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
};
// Parses a tlsAuth entry; "" on success, else what is wrong.
inline std::string parse_client_identity(const tls_client_cert& in, client_identity& out) {
    std::unique_ptr<BIO, decltype(&BIO_free)> certs(BIO_new_mem_buf(in.cert.data(), static_cast<int>(in.cert.size())),
                                                    BIO_free);
    out.cert.reset(PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr));
    if (!out.cert) return "tlsAuth: the cert is not a PEM certificate";
    while (X509* extra = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr))
        out.chain.emplace_back(extra, X509_free);
    ERR_clear_error();  // the end of the PEM text
    std::unique_ptr<BIO, decltype(&BIO_free)> key(BIO_new_mem_buf(in.key.data(), static_cast<int>(in.key.size())),
                                                  BIO_free);
    auto pass = const_cast<char*>(in.password.c_str());
    out.key.reset(PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, in.password.empty() ? nullptr : pass));
    if (!out.key) {
        ERR_clear_error();
        return "tlsAuth: the key is not a PEM private key" +
               std::string(in.password.empty() ? "" : " (or the password does not decrypt it)");
    }
    if (X509_check_private_key(out.cert.get(), out.key.get()) != 1) {
        ERR_clear_error();
        return "tlsAuth: the key does not belong to the certificate";
    }
    out.domains = in.domains;
    return {};
}
// Whether `host` is one of `domains` ("*.example.com" matches one label).
inline bool domain_matches(const std::vector<std::string>& domains, std::string_view host) {
    for (std::string_view d : domains) {
        if (d.size() == host.size() && iequals(d, host)) return true;
        if (d.starts_with("*.")) {
            auto dot = host.find('.');
            if (dot != std::string_view::npos && iequals(host.substr(dot), d.substr(1))) return true;
        }
    }
    return false;
}

// A TLS client context and the client certificates for it.
struct tls_setup {
    boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_client};
    std::vector<client_identity> identities;

    // The certificate for `host`: the first whose domains name it, else the
    // first one. k6 (Go) offers its first certificate the server's request
    // accepts whatever the host, as Go ignores NameToCertificate in clients;
    // here the domains choose first, so that one script can hold
    // certificates for several hosts.
    const client_identity* identity_for(std::string_view host) const {
        for (auto& id : identities)
            if (domain_matches(id.domains, host)) return &id;
        return identities.empty() ? nullptr : &identities.front();
    }
    // Sets the certificate for `host` on a connection about to handshake.
    void apply(SSL* ssl, std::string_view host) const {
        auto* id = identity_for(host);
        if (!id) return;
        SSL_use_certificate(ssl, id->cert.get());
        SSL_use_PrivateKey(ssl, id->key.get());
        for (auto& c : id->chain) SSL_add1_chain_cert(ssl, c.get());
    }
};

// TLS contexts are expensive to build (CA store load), so there is one per
// combination of TLS options per process.
inline tls_setup& tls_context(const client_options& o) {
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<tls_setup>> contexts;
    std::string key = (o.insecure_skip_tls_verify ? "0|" : "1|") + o.tls_ca_file + "|" + o.tls_ca_pem + "|" +
                      std::to_string(o.tls_min_version) + "|" + std::to_string(o.tls_max_version);
    for (auto& s : o.tls_cipher_suites) key.append("|").append(s);
    for (auto& a : o.tls_auth) {
        key.append("|").append(a.cert).append(a.key).append(a.password);
        for (auto& d : a.domains) key.append(",").append(d);
    }
    std::lock_guard lock(mu);
    auto& s = contexts[key];
    if (s) return *s;
    s = std::make_unique<tls_setup>();
    auto& c = s->ctx;
    c.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                  boost::asio::ssl::context::no_sslv3);
    SSL_CTX* native = c.native_handle();
    if (o.insecure_skip_tls_verify) {
        c.set_verify_mode(boost::asio::ssl::verify_none);
    } else {
        boost::system::error_code ec;
        c.set_default_verify_paths(ec);
        if (!o.tls_ca_file.empty()) c.load_verify_file(o.tls_ca_file, ec);
        if (!o.tls_ca_pem.empty()) c.add_certificate_authority(boost::asio::buffer(o.tls_ca_pem), ec);
        c.set_verify_mode(boost::asio::ssl::verify_peer);
    }
    // Go's client asks for a stapled OCSP response on every handshake: so do we
    SSL_CTX_set_tlsext_status_type(native, TLSEXT_STATUSTYPE_ocsp);
    // k6 allows TLS 1.0 and 1.1 when asked for (OpenSSL 3's default security
    // level refuses them): level 0 only when the script asks for them
    if (o.tls_min_version && o.tls_min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(native, 0);
    if (o.tls_min_version) SSL_CTX_set_min_proto_version(native, o.tls_min_version);
    if (o.tls_max_version) SSL_CTX_set_max_proto_version(native, o.tls_max_version);
    // Go's client preference (AES-128-GCM first; OpenSSL's puts AES-256
    // first): a server that follows the client's order (OpenSSL's default)
    // then picks the suite it picks for k6. The rest of OpenSSL's defaults
    // follow.
    SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_cipher_list(
        native, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DEFAULT");
    if (!o.tls_cipher_suites.empty()) {
        // TLS 1.2 suites by OpenSSL's names; TLS 1.3 suites only when some are
        // named (Go does not restrict TLS 1.3 suites at all: k6's lists of
        // TLS 1.2 suites leave TLS 1.3 as it is, here too)
        std::string v12, v13;
        for (auto& name : o.tls_cipher_suites) {
            if (is_tls13_suite(name)) (v13.empty() ? v13 : v13.append(":")).append(name);
            else if (auto n = openssl_suite(name); !n.empty()) (v12.empty() ? v12 : v12.append(":")).append(n);
        }
        if (!v12.empty() && SSL_CTX_set_cipher_list(native, v12.c_str()) != 1) {
            ERR_clear_error();
            log_once(log_level::warn, "tlsCipherSuites: this OpenSSL supports none of the TLS 1.2 suites named");
        }
        if (!v13.empty()) SSL_CTX_set_ciphersuites(native, v13.c_str());
        ERR_clear_error();
    }
    for (auto& a : o.tls_auth) {
        auto& id = s->identities.emplace_back();
        if (auto err = parse_client_identity(a, id); !err.empty()) {
            log_once(log_level::warn, err + "; it is not used");
            s->identities.pop_back();
        }
    }
    return *s;
}

inline std::int64_t unix_seconds(const ASN1_GENERALIZEDTIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}
// The stapled OCSP response of a finished handshake, as k6 reads it (Go's
// ocsp.ParseResponse without an issuer: the signature is not checked).
inline ocsp_info read_ocsp(SSL* ssl) {
    ocsp_info out;
    out.status = "unknown";
    const unsigned char* p = nullptr;
    long n = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
    if (n <= 0 || !p) return out;
    std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> resp(d2i_OCSP_RESPONSE(nullptr, &p, n),
                                                                       OCSP_RESPONSE_free);
    if (!resp || OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) return ERR_clear_error(), out;
    std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)> basic(OCSP_response_get1_basic(resp.get()),
                                                                          OCSP_BASICRESP_free);
    OCSP_SINGLERESP* single = basic ? OCSP_resp_get0(basic.get(), 0) : nullptr;
    if (!single) return ERR_clear_error(), out;
    int reason = -1;
    ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
    int status = OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update);
    out.status = status == V_OCSP_CERTSTATUS_GOOD      ? "good"
                 : status == V_OCSP_CERTSTATUS_REVOKED ? "revoked"
                                                       : "unknown";
    static constexpr std::string_view reasons[] = {"unspecified",
                                                   "key_compromise",
                                                   "ca_compromise",
                                                   "affiliation_changed",
                                                   "superseded",
                                                   "cessation_of_operation",
                                                   "certificate_hold",
                                                   "",  // 7 is unused
                                                   "remove_from_crl",
                                                   "privilege_withdrawn",
                                                   "aa_compromise"};
    // Go reports reason 0 (unspecified) for a response without one: so do we
    if (status == V_OCSP_CERTSTATUS_REVOKED)
        out.revocation_reason = reason >= 0 && reason < 11 ? reasons[reason] : reasons[0];
    else out.revocation_reason = reasons[0];
    // a time the response leaves out is Go's zero time, whose Unix() k6
    // reports as it is: -62135596800 (year 1)
    constexpr std::int64_t go_zero_time = -62135596800;
    out.produced_at = unix_seconds(OCSP_resp_get0_produced_at(basic.get()));
    out.this_update = this_update ? unix_seconds(this_update) : go_zero_time;
    out.next_update = next_update ? unix_seconds(next_update) : go_zero_time;
    out.revoked_at = revoked ? unix_seconds(revoked) : go_zero_time;
    return out;
}

// The TLS a connection negotiated, read once after its handshake.
inline tls_info read_tls_info(SSL* ssl) {
    tls_info t;
    t.version = tls_version_name(SSL_version(ssl));
    t.cipher_suite = k6_suite(SSL_get_current_cipher(ssl));
    t.ocsp = read_ocsp(ssl);
    return t;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
