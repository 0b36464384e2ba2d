#pragma once
// A self-signed certificate made in memory with OpenSSL, for the built-in
// target's https mode and the TLS tests: nothing is read from or written to
// disk, nothing is fetched.
#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI {

struct certificate {
    std::string cert_pem;  // also the CA to trust: it signs itself
    std::string key_pem;
};

namespace detail {
inline std::string bio_string(BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
}
}  // namespace detail

// A certificate for `common_name`, valid for DNS `localhost` and IP 127.0.0.1
// (plus common_name), for `days` days.
inline certificate make_self_signed_certificate(const std::string& common_name = "localhost", int days = 30) {
    auto fail = [](const char* what) { throw std::runtime_error(std::string("self-signed certificate: ") + what); };
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!key) fail("key generation failed");
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), static_cast<long>(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 60L * 60 * 24 * days);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    std::string san = "DNS:localhost,IP:127.0.0.1";
    if (common_name != "localhost") san += ",DNS:" + common_name;
    for (auto [nid, value] :
         {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, std::string("critical,CA:TRUE")}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        if (!ext) fail("extension");
        X509_add_ext(x.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(x.get(), key.get(), EVP_sha256())) fail("signing failed");
    certificate c;
    std::unique_ptr<BIO, decltype(&BIO_free)> b1(BIO_new(BIO_s_mem()), BIO_free), b2(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(b1.get(), x.get());
    PEM_write_bio_PrivateKey(b2.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    c.cert_pem = detail::bio_string(b1.get());
    c.key_pem = detail::bio_string(b2.get());
    return c;
}

}  // namespace loadkit::inline LOADKIT_ABI
