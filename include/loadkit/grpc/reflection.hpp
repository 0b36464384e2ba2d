#pragma once
// Server reflection's messages (grpc.reflection.v1alpha.ServerReflection,
// the ServerReflectionInfo bidi stream), encoded and decoded by hand: the
// service's .proto is not part of libprotobuf, and the four fields used here
// do not justify carrying it. The conversation itself (list the services,
// then the files containing each, then any missing imports) is the client's
// (client.hpp); this header only speaks the wire format.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc::detail {

inline constexpr std::string_view reflection_method = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// ServerReflectionRequest fields
enum class reflection_ask : std::uint32_t { file_by_filename = 3, file_containing_symbol = 4, list_services = 7 };

inline void append_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}
// A ServerReflectionRequest asking `what` about `arg` (list_services: "*").
inline std::string reflection_request(reflection_ask what, std::string_view arg) {
    std::string out;
    append_varint(out, (static_cast<std::uint32_t>(what) << 3) | 2);
    append_varint(out, arg.size());
    out.append(arg);
    return out;
}

struct reflection_answer {
    std::vector<std::string> files;     // serialized FileDescriptorProtos
    std::vector<std::string> services;  // list_services
    int error_code = 0;
    std::string error_message;
};

namespace reflection_wire {
using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// The length-delimited field `tag` of a sub-message, each occurrence.
template <class F>
inline bool each_field(std::string_view bytes, F&& on) {
    CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
    for (;;) {
        std::uint32_t tag = in.ReadTag();
        if (tag == 0) return in.ConsumedEntireMessage() || in.CurrentPosition() == static_cast<int>(bytes.size());
        auto type = WireFormatLite::GetTagWireType(tag);
        auto field = WireFormatLite::GetTagFieldNumber(tag);
        if (type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
            std::uint32_t len = 0;
            if (!in.ReadVarint32(&len)) return false;
            std::string v;
            if (!in.ReadString(&v, static_cast<int>(len))) return false;
            if (!on(field, type, 0, std::string_view(v))) return false;
        } else if (type == WireFormatLite::WIRETYPE_VARINT) {
            std::uint64_t n = 0;
            if (!in.ReadVarint64(&n)) return false;
            if (!on(field, type, n, std::string_view())) return false;
        } else if (!WireFormatLite::SkipField(&in, tag)) {
            return false;
        }
    }
}
}  // namespace reflection_wire

// A ServerReflectionResponse into `a`; false when it is not one.
inline bool parse_reflection_response(std::string_view bytes, reflection_answer& a) {
    using namespace reflection_wire;
    return each_field(bytes, [&](std::uint32_t field, int, std::uint64_t, std::string_view v) {
        switch (field) {
            case 4:  // file_descriptor_response { repeated bytes file_descriptor_proto = 1; }
                return each_field(v, [&](std::uint32_t f, int, std::uint64_t, std::string_view fd) {
                    if (f == 1) a.files.emplace_back(fd);
                    return true;
                });
            case 6:  // list_services_response { repeated ServiceResponse service = 1 { string name = 1; } }
                return each_field(v, [&](std::uint32_t f, int, std::uint64_t, std::string_view svc) {
                    if (f != 1) return true;
                    return each_field(svc, [&](std::uint32_t g, int, std::uint64_t, std::string_view name) {
                        if (g == 1) a.services.emplace_back(name);
                        return true;
                    });
                });
            case 7:  // error_response { int32 error_code = 1; string error_message = 2; }
                return each_field(v, [&](std::uint32_t f, int, std::uint64_t n, std::string_view s) {
                    if (f == 1) a.error_code = static_cast<int>(n);
                    else if (f == 2) a.error_message.assign(s);
                    return true;
                });
            default: return true;
        }
    });
}

}  // namespace loadkit::inline LOADKIT_ABI::grpc::detail
