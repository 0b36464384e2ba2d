#pragma once
// k6/crypto and k6/encoding for the JavaScript adapter, on OpenSSL's EVP
// interface: digests (md5, sha1, sha256, sha384, sha512), HMACs, random
// bytes, and hex and base64 (standard, URL-safe, with or without padding).
// Nothing here knows about JavaScript, so it is tested on its own.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

inline const EVP_MD* digest_named(std::string_view name) {
    if (name == "md5") return EVP_md5();
    if (name == "sha1") return EVP_sha1();
    if (name == "sha256") return EVP_sha256();
    if (name == "sha384") return EVP_sha384();
    if (name == "sha512") return EVP_sha512();
    if (name == "sha224") return EVP_sha224();
    throw std::invalid_argument("unknown hash algorithm '" + std::string(name) +
                                "' (expected md5, sha1, sha224, sha256, sha384 or sha512)");
}

// Raw digest bytes.
inline std::string digest(std::string_view algorithm, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data.data(), data.size(), out, &n, digest_named(algorithm), nullptr))
        throw std::runtime_error("digest failed");
    return std::string(reinterpret_cast<char*>(out), n);
}

inline std::string hmac(std::string_view algorithm, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(digest_named(algorithm), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n))
        throw std::runtime_error("hmac failed");
    return std::string(reinterpret_cast<char*>(out), n);
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
