#pragma once
// gRPC's status codes, the grpc-timeout header and grpc-message's
// percent-encoding: the protocol's small print, shared by the client, the
// front ends and the summary. The numbers are the protocol's (k6 exposes them
// to scripts as grpc.Status*).
#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc {

enum class status_code : int {
    ok = 0,
    cancelled = 1,
    unknown = 2,
    invalid_argument = 3,
    deadline_exceeded = 4,
    not_found = 5,
    already_exists = 6,
    permission_denied = 7,
    resource_exhausted = 8,
    failed_precondition = 9,
    aborted = 10,
    out_of_range = 11,
    unimplemented = 12,
    internal = 13,
    unavailable = 14,
    data_loss = 15,
    unauthenticated = 16,
};

// The names as scripts know them: grpc.StatusOK ... grpc.StatusUnauthenticated.
inline constexpr std::array<std::string_view, 17> status_names{
    "OK",        "Canceled",         "Unknown",           "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",   "OutOfRange",
    "Unimplemented", "Internal",     "Unavailable",       "DataLoss",        "Unauthenticated"};

// The numbers "0".."16" as tag values, without formatting each time.
inline std::string_view status_text(int code) noexcept {
    static constexpr std::array<std::string_view, 17> text{"0", "1", "2",  "3",  "4",  "5",  "6",  "7", "8",
                                                           "9", "10", "11", "12", "13", "14", "15", "16"};
    return code >= 0 && code < 17 ? text[static_cast<std::size_t>(code)] : std::string_view("2");
}

namespace detail {

// grpc-timeout: at most 8 digits and a unit. The largest unit that keeps the
// value exact within 8 digits, rounded up so the server never sees less time
// than the client waits.
inline std::string_view format_timeout(std::int64_t ns, char (&buf)[16]) noexcept {
    if (ns < 1) ns = 1;
    struct unit {
        std::int64_t ns;
        char c;
    };
    static constexpr unit units[]{{1, 'n'}, {1000, 'u'}, {1000000, 'm'}, {1000000000, 'S'}, {60000000000, 'M'},
                                  {3600000000000, 'H'}};
    for (auto& u : units) {
        std::int64_t v = (ns + u.ns - 1) / u.ns;
        if (v < 100000000) {
            auto r = std::to_chars(buf, buf + 14, v);
            *r.ptr = u.c;
            return {buf, static_cast<std::size_t>(r.ptr + 1 - buf)};
        }
    }
    return "99999999H";
}

// grpc-message is percent-encoded (%XX for bytes outside printable ASCII and '%').
inline void percent_decode(std::string_view in, std::string& out) {
    out.clear();
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
}
inline void percent_encode(std::string_view in, std::string& out) {
    static constexpr char digits[] = "0123456789ABCDEF";
    out.clear();
    for (unsigned char c : in) {
        if (c >= 0x20 && c <= 0x7e && c != '%') out.push_back(static_cast<char>(c));
        else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
        }
    }
}

// Binary metadata: a key ending in "-bin" carries bytes, base64 on the wire
// (sent unpadded as grpc-go does; read padded or not).
inline bool is_binary_key(std::string_view k) noexcept { return k.size() > 4 && k.substr(k.size() - 4) == "-bin"; }
inline void base64_encode(std::string_view in, std::string& out) {
    static constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.clear();
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                     static_cast<unsigned char>(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out.push_back(b64[(v >> s) & 63]);
    }
    if (std::size_t rest = in.size() - i) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 | (rest > 1 ? static_cast<unsigned char>(in[i + 1]) << 8 : 0);
        out.push_back(b64[(v >> 18) & 63]);
        out.push_back(b64[(v >> 12) & 63]);
        if (rest > 1) out.push_back(b64[(v >> 6) & 63]);
    }
}
// False (out unspecified) when `in` is not base64; padding and the URL
// alphabet are accepted, as gRPC implementations do.
inline bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+' || c == '-' ? 62
                : c == '/' || c == '_' ? 63
                                       : -1;
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return bits < 6;  // a lone sixth of a byte: not base64
}

// The status a non-200 HTTP response maps to (gRPC's HTTP-to-gRPC table):
// a proxy or a server that is not gRPC answered.
inline status_code from_http_status(int http) noexcept {
    switch (http) {
        case 400: return status_code::internal;
        case 401: return status_code::unauthenticated;
        case 403: return status_code::permission_denied;
        case 404: return status_code::unimplemented;
        case 429:
        case 502:
        case 503:
        case 504: return status_code::unavailable;
        default: return status_code::unknown;
    }
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::grpc
