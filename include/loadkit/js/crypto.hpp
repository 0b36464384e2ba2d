#pragma once
// k6/crypto, the web-crypto globals and k6/encoding for the JavaScript
// adapter, on OpenSSL 3's EVP interface: digests (k6's names: md4, md5,
// sha1, sha224, sha256, sha384, sha512, sha512_224, sha512_256, ripemd160),
// HMACs, AES-CBC/CTR/GCM, random bytes, and hex and base64 (standard,
// URL-safe, with or without padding). Nothing here knows about JavaScript,
// so it is tested on its own.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

// OpenSSL 3 keeps MD4 in its legacy provider: loaded into a library context
// of its own, so the process's default context (TLS) stays as it was.
inline OSSL_LIB_CTX* legacy_library() {
    static OSSL_LIB_CTX* ctx = [] {
        OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
        if (c && (!OSSL_PROVIDER_load(c, "legacy") || !OSSL_PROVIDER_load(c, "default"))) {
            OSSL_LIB_CTX_free(c);
            c = nullptr;
        }
        return c;
    }();
    return ctx;
}

// A digest by k6's name (crypto.createHash): fetched once for the process.
// sha224 is loadkit's own (k6 has none).
inline const EVP_MD* digest_named(std::string_view name) {
    struct known {
        std::string_view k6, openssl;
        bool legacy;
    };
    static constexpr known names[] = {
        {"md4", "MD4", true},
        {"md5", "MD5", false},
        {"sha1", "SHA1", false},
        {"sha224", "SHA224", false},
        {"sha256", "SHA256", false},
        {"sha384", "SHA384", false},
        {"sha512", "SHA512", false},
        {"sha512_224", "SHA512-224", false},
        {"sha512_256", "SHA512-256", false},
        {"ripemd160", "RIPEMD160", false},
    };
    // Freed at exit (before OpenSSL's own cleanup, registered earlier): a
    // fetched digest no one frees is a leak to LeakSanitizer.
    struct free_md {
        void operator()(EVP_MD* md) const { EVP_MD_free(md); }
    };
    static const auto fetched = [] {
        std::map<std::string_view, std::unique_ptr<EVP_MD, free_md>> m;
        for (auto& n : names) {
            OSSL_LIB_CTX* lib = n.legacy ? legacy_library() : nullptr;
            if (n.legacy && !lib) continue;
            if (EVP_MD* md = EVP_MD_fetch(lib, std::string(n.openssl).c_str(), nullptr)) m.emplace(n.k6, md);
        }
        return m;
    }();
    if (auto it = fetched.find(name); it != fetched.end()) return it->second.get();
    for (auto& n : names)
        if (n.k6 == name)
            throw std::invalid_argument("hash algorithm '" + std::string(name) +
                                        "' is not available in this OpenSSL (its legacy provider is missing)");
    throw std::invalid_argument("unknown hash algorithm '" + std::string(name) +
                                "' (expected md4, md5, sha1, sha224, sha256, sha384, sha512, sha512_224, "
                                "sha512_256 or ripemd160)");
}

// A digest, or an HMAC when given a key, fed in parts (k6's hasher objects:
// update() then digest()).
class hash_stream {
  public:
    explicit hash_stream(std::string_view algorithm) : md_(EVP_MD_CTX_new()) {
        if (!md_ || !EVP_DigestInit_ex(md_.get(), digest_named(algorithm), nullptr))
            throw std::runtime_error("digest failed");
    }
    hash_stream(std::string_view algorithm, std::string_view key) {
        const EVP_MD* md = digest_named(algorithm);
        // the MAC comes from the digest's own library context (MD4's is the legacy one)
        OSSL_LIB_CTX* lib = algorithm == "md4" ? legacy_library() : nullptr;
        EVP_MAC* mac = EVP_MAC_fetch(lib, "HMAC", nullptr);
        if (mac) mac_.reset(EVP_MAC_CTX_new(mac));
        EVP_MAC_free(mac);  // the context keeps its own reference
        std::string name = EVP_MD_get0_name(md);
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name.data(), 0),
                               OSSL_PARAM_construct_end()};
        static const unsigned char none = 0;  // an empty key is a key (HMAC pads it)
        auto* k = key.empty() ? &none : reinterpret_cast<const unsigned char*>(key.data());
        if (!mac_ || !EVP_MAC_init(mac_.get(), k, key.size(), params)) throw std::runtime_error("hmac failed");
    }
    void update(std::string_view data) {
        bool ok = md_ ? EVP_DigestUpdate(md_.get(), data.data(), data.size())
                      : EVP_MAC_update(mac_.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
        if (!ok) throw std::runtime_error("digest failed");
    }
    std::string final() {
        unsigned char out[EVP_MAX_MD_SIZE];
        std::size_t n = 0;
        if (md_) {
            unsigned int m = 0;
            if (!EVP_DigestFinal_ex(md_.get(), out, &m)) throw std::runtime_error("digest failed");
            n = m;
        } else if (!EVP_MAC_final(mac_.get(), out, &n, sizeof out)) {
            throw std::runtime_error("hmac failed");
        }
        return std::string(reinterpret_cast<char*>(out), n);
    }

  private:
    struct free_md {
        void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    struct free_mac {
        void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, free_md> md_;
    std::unique_ptr<EVP_MAC_CTX, free_mac> mac_;
};

// Raw digest bytes.
inline std::string digest(std::string_view algorithm, std::string_view data) {
    hash_stream h(algorithm);
    h.update(data);
    return h.final();
}

inline std::string hmac(std::string_view algorithm, std::string_view key, std::string_view data) {
    hash_stream h(algorithm, key);
    h.update(data);
    return h.final();
}

// AES in the web-crypto modes, by the key's size (16, 24 or 32 bytes):
// "cbc" (PKCS#7 padding, a 16-byte iv), "ctr" (a 16-byte counter block,
// incremented over all its 128 bits, as k6's Go does), "gcm" (the tag of
// `tag_bytes` appended to the ciphertext, `aad` authenticated). Throws
// crypto_failure when decryption fails (a wrong key, tag or padding).
struct crypto_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
inline std::string aes_crypt(std::string_view mode, bool encrypt, std::string_view key, std::string_view iv,
                             std::string_view data, std::string_view aad = {}, int tag_bytes = 16) {
    int bits = static_cast<int>(key.size()) * 8;
    if (bits != 128 && bits != 192 && bits != 256) throw std::invalid_argument("AES keys are 16, 24 or 32 bytes");
    const EVP_CIPHER* cipher = nullptr;
    bool gcm = mode == "gcm";
    if (mode == "cbc") cipher = bits == 128 ? EVP_aes_128_cbc() : bits == 192 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
    else if (mode == "ctr")
        cipher = bits == 128 ? EVP_aes_128_ctr() : bits == 192 ? EVP_aes_192_ctr() : EVP_aes_256_ctr();
    else if (gcm) cipher = bits == 128 ? EVP_aes_128_gcm() : bits == 192 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
    else throw std::invalid_argument("unknown AES mode");
    if (!gcm && iv.size() != 16) throw std::invalid_argument("the iv (or counter) must be 16 bytes");
    if (gcm && (iv.empty() || tag_bytes < 4 || tag_bytes > 16)) throw std::invalid_argument("bad AES-GCM parameters");
    std::string tag;
    if (gcm && !encrypt) {
        if (data.size() < static_cast<std::size_t>(tag_bytes)) throw crypto_failure("the ciphertext is too short");
        tag = data.substr(data.size() - tag_bytes);
        data.remove_suffix(tag_bytes);
    }
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    auto u = [](std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); };
    int e = encrypt ? 1 : 0, n = 0;
    if (!c || !EVP_CipherInit_ex(c.get(), cipher, nullptr, nullptr, nullptr, e) ||
        (gcm && !EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr)) ||
        !EVP_CipherInit_ex(c.get(), nullptr, nullptr, u(key), u(iv), e))
        throw std::runtime_error("AES: cannot set up the cipher");
    if (gcm && !encrypt &&
        !EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, const_cast<char*>(tag.data())))
        throw std::runtime_error("AES: cannot set the tag");
    if (gcm && !aad.empty() && !EVP_CipherUpdate(c.get(), nullptr, &n, u(aad), static_cast<int>(aad.size())))
        throw std::runtime_error("AES: cannot add the additional data");
    std::string out(data.size() + 32, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    if (!EVP_CipherUpdate(c.get(), o, &len, u(data), static_cast<int>(data.size())))
        throw crypto_failure("AES: the operation failed");
    if (!EVP_CipherFinal_ex(c.get(), o + len, &n))
        throw crypto_failure(gcm ? "AES-GCM: the data or its tag is not authentic" : "AES-CBC: bad padding");
    out.resize(static_cast<std::size_t>(len + n));
    if (gcm && encrypt) {
        std::string t(static_cast<std::size_t>(tag_bytes), '\0');
        if (!EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, t.data()))
            throw std::runtime_error("AES-GCM: cannot get the tag");
        out += t;
    }
    return out;
}

inline std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (n && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("randomBytes: the random generator failed");
    return out;
}

inline std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// k6's base64 variants: "std" (default), "rawstd" (no padding), "url", "rawurl".
inline std::string b64encode(std::string_view bytes, std::string_view variant = "std") {
    bool url = variant == "url" || variant == "rawurl";
    bool pad = variant == "std" || variant == "url" || variant.empty();
    const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                          (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) | std::uint8_t(bytes[i + 2]);
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (std::size_t rest = bytes.size() - i) {
        std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        if (rest == 2) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        if (rest == 2) out += alphabet[(v >> 6) & 63];
        if (pad) out.append(rest == 2 ? 1 : 2, '=');
    }
    return out;
}

// Accepts both alphabets, with or without padding; nullopt on a bad character.
inline std::optional<std::string> b64decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3 + 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else if (c == '=' || c == '\n' || c == '\r') continue;
        else return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail
