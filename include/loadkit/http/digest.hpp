#pragma once
// HTTP digest authentication (RFC 7616, and RFC 2617's qop-less form), as
// k6's params.auth = 'digest' uses it: the request goes out first without
// it, and when the server answers 401 with a Digest challenge the client
// sends it again with the Authorization this computes from the URL's
// credentials. Only the client's digest path includes it: a plain request
// never reaches this code.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include <openssl/evp.h>

#include "../core/config.hpp"
#include "message.hpp"
#include "parser.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// A WWW-Authenticate Digest challenge's parameters (quoted strings unquoted).
struct digest_challenge {
    std::string realm, nonce, opaque, algorithm, qop;
    bool has_opaque = false;
};

// Parses a WWW-Authenticate value; false unless it is a Digest challenge.
// Values may be tokens or quoted strings (with \-escapes); the commas between
// parameters may carry spaces around them.
inline bool parse_digest_challenge(std::string_view h, digest_challenge& out) {
    h = trim_ows(h);
    if (h.size() < 7 || !iequals(h.substr(0, 6), "digest") || (h[6] != ' ' && h[6] != '\t')) return false;
    h.remove_prefix(7);
    while (!h.empty()) {
        while (!h.empty() && (h.front() == ' ' || h.front() == '\t' || h.front() == ',')) h.remove_prefix(1);
        auto eq = h.find('=');
        if (eq == std::string_view::npos) break;
        auto key = trim_ows(h.substr(0, eq));
        h.remove_prefix(eq + 1);
        h = trim_ows(h);
        std::string value;
        if (!h.empty() && h.front() == '"') {
            std::size_t i = 1;
            for (; i < h.size() && h[i] != '"'; ++i) {
                if (h[i] == '\\' && i + 1 < h.size()) ++i;
                value.push_back(h[i]);
            }
            h.remove_prefix(i < h.size() ? i + 1 : i);
        } else {
            auto end = h.find(',');
            value.assign(trim_ows(h.substr(0, end)));
            h.remove_prefix(end == std::string_view::npos ? h.size() : end);
        }
        if (iequals(key, "realm")) out.realm = std::move(value);
        else if (iequals(key, "nonce")) out.nonce = std::move(value);
        else if (iequals(key, "opaque")) out.opaque = std::move(value), out.has_opaque = true;
        else if (iequals(key, "algorithm")) out.algorithm = std::move(value);
        else if (iequals(key, "qop")) out.qop = std::move(value);
    }
    return !out.nonce.empty() || !out.realm.empty();
}

inline std::string digest_hex(const EVP_MD* md, std::string_view s) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(s.data(), s.size(), out, &n, md, nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string r;
    r.reserve(2 * n);
    for (unsigned i = 0; i < n; ++i) {
        r.push_back(hex[out[i] >> 4]);
        r.push_back(hex[out[i] & 15]);
    }
    return r;
}

// A URL's userinfo ("user:pass", percent-escaped) as user and password.
inline void split_userinfo(std::string_view userinfo, std::string& user, std::string& pass) {
    auto decode = [](std::string_view s, std::string& out) {
        out.clear();
        auto hexval = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        for (std::size_t i = 0; i < s.size(); ++i) {
            int hi, lo;
            if (s[i] == '%' && i + 2 < s.size() && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
            } else {
                out.push_back(s[i]);
            }
        }
    };
    auto colon = userinfo.find(':');
    decode(userinfo.substr(0, colon), user);
    decode(colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1), pass);
}

// The Authorization value answering `c` for `method` on `uri` (the request
// target: path and query). MD5 (the default) and SHA-256, with or without
// -sess; qop "auth" when the server offers it (k6's library always answers
// qop=auth-less or auth; auth-int, which hashes the body, is not offered
// by the servers this targets and falls back to auth), else RFC 2069's form.
// An unknown algorithm: empty (the 401 stands). `fixed_cnonce`: for tests.
inline std::string digest_authorization(const digest_challenge& c, std::string_view method, std::string_view uri,
                                        std::string_view userinfo, std::string_view fixed_cnonce = {}) {
    std::string algo = c.algorithm.empty() ? std::string("MD5") : c.algorithm;
    bool sess = algo.size() > 5 && iequals(std::string_view(algo).substr(algo.size() - 5), "-sess");
    std::string_view base = std::string_view(algo).substr(0, algo.size() - (sess ? 5 : 0));
    const EVP_MD* md = iequals(base, "md5") ? EVP_md5() : iequals(base, "sha-256") ? EVP_sha256() : nullptr;
    if (!md) return {};
    std::string user, pass;
    split_userinfo(userinfo, user, pass);
    // qop: "auth" if listed (a comma-separated list)
    bool qop_auth = false;
    for (std::string_view q = c.qop; !q.empty();) {
        auto comma = q.find(',');
        if (iequals(trim_ows(q.substr(0, comma)), "auth")) qop_auth = true;
        q = comma == std::string_view::npos ? std::string_view{} : q.substr(comma + 1);
    }
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string cnonce(fixed_cnonce);
    static constexpr char hex[] = "0123456789abcdef";
    if (cnonce.empty())
        for (auto [r, i] = std::pair{rng(), 0}; i < 16; ++i, r >>= 4) cnonce.push_back(hex[r & 15]);
    std::string_view nc = "00000001";
    std::string ha1 = digest_hex(md, user + ":" + c.realm + ":" + pass);
    if (sess) ha1 = digest_hex(md, ha1 + ":" + c.nonce + ":" + cnonce);
    std::string ha2 = digest_hex(md, std::string(method) + ":" + std::string(uri));
    std::string response = qop_auth ? digest_hex(md, ha1 + ":" + c.nonce + ":" + std::string(nc) + ":" + cnonce +
                                                         ":auth:" + ha2)
                                    : digest_hex(md, ha1 + ":" + c.nonce + ":" + ha2);
    auto quoted = [](std::string& out, std::string_view v) {
        out.push_back('"');
        for (char ch : v) {
            if (ch == '\r' || ch == '\n') continue;  // would split the request
            if (ch == '"' || ch == '\\') out.push_back('\\');
            out.push_back(ch);
        }
        out.push_back('"');
    };
    std::string out = "Digest username=";
    quoted(out, user);
    out.append(", realm=");
    quoted(out, c.realm);
    out.append(", nonce=");
    quoted(out, c.nonce);
    out.append(", uri=");
    quoted(out, uri);
    if (!c.algorithm.empty()) out.append(", algorithm=").append(c.algorithm);
    if (qop_auth) out.append(", qop=auth, nc=").append(nc).append(", cnonce=\"").append(cnonce).append("\"");
    out.append(", response=\"").append(response).append("\"");
    if (c.has_opaque) {
        out.append(", opaque=");
        quoted(out, c.opaque);
    }
    return out;
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
