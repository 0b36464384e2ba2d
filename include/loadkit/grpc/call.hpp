#pragma once
// One gRPC call's response side, transport-free: the response headers
// (HTTP status, content-type, a trailers-only answer), the DATA (framed
// messages, frame.hpp) and the trailers (grpc-status, grpc-message) into a
// status, messages and metadata; and the request headers gRPC sends. The
// client (client.hpp) feeds it what its HTTP/2 stream receives.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "frame.hpp"
#include "status.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc {

// Metadata: lower-case keys; "-bin" keys carry raw bytes (base64 on the
// wire: encoded by the client, decoded in responses' headers and trailers).
using metadata = std::vector<std::pair<std::string, std::string>>;

// A finished call: what invoke() answers, what a stream ends with.
struct response {
    int status = 0;        // gRPC status code (status_code)
    std::string message;   // the (last) response message, protobuf bytes
    bool has_message = false;
    std::string error;     // grpc-message, or why the call failed on the client's side
    metadata headers, trailers;
    std::int64_t duration_ns = 0;
    bool ok() const noexcept { return status == 0; }
    void clear() {
        status = 0;
        message.clear();
        has_message = false;
        error.clear();
        headers.clear();
        trailers.clear();
        duration_ns = 0;
    }
};

namespace detail {

inline bool is_reserved_header(std::string_view k) {
    return k.empty() || k[0] == ':' || k == "content-type" || k == "te" || k == "grpc-timeout" ||
           k == "grpc-status" || k == "grpc-message" || k == "user-agent";
}

// Response-side state of a call.
class call_state {
  public:
    void reset(response& r, std::size_t max_message) {
        res_ = &r;
        r.clear();
        frames_.reset();
        frames_.set_max(max_message);
        got_headers_ = got_trailers_ = false;
        http_status_ = 0;
        failed_ = false;
    }
    // Response headers (or trailers, when `end_stream`: a trailers-only
    // answer). False when the answer is not gRPC.
    bool on_headers(int http_status, const metadata& h, bool end_stream) {
        http_status_ = http_status;
        got_headers_ = true;
        std::string_view ctype;
        for (auto& [k, v] : h)
            if (k == "content-type") ctype = v;
        if (end_stream) return on_trailers(h);
        if (http_status != 200) {
            fail(detail::from_http_status(http_status), "unexpected HTTP status code received from server: " +
                                                            std::to_string(http_status));
            return false;
        }
        if (ctype.substr(0, 16) != "application/grpc") {
            fail(status_code::internal, "transport: received unexpected content-type \"" + std::string(ctype) + "\"");
            return false;
        }
        for (auto& [k, v] : h)
            if (!k.empty() && k[0] != ':') add_metadata(res_->headers, k, v);
        return true;
    }
    // DATA: messages as they complete; `on_message(bytes)` per message
    // (false: stop). False on a framing error (the status says why).
    template <class F>
    bool on_data(std::string_view chunk, F&& on_message) {
        frames_.feed(chunk);
        for (;;) {
            std::string_view msg;
            switch (frames_.next(msg)) {
                case frame_reader::result::need_more: return true;
                case frame_reader::result::error:
                    fail(status_code::resource_exhausted, frames_.error());
                    return false;
                case frame_reader::result::message:
                    if (!on_message(msg)) return true;
                    break;
            }
        }
    }
    bool on_trailers(const metadata& t) {
        got_trailers_ = true;
        bool has_status = false;
        for (auto& [k, v] : t) {
            if (k == "grpc-status") {
                int code = 0;
                for (char c : v) code = c >= '0' && c <= '9' ? code * 10 + (c - '0') : 1000;
                res_->status = code <= 16 ? code : static_cast<int>(status_code::unknown);
                has_status = true;
            } else if (k == "grpc-message") {
                percent_decode(v, res_->error);
            } else if (!k.empty() && k[0] != ':') {
                add_metadata(res_->trailers, k, v);
            }
        }
        if (!has_status) {
            if (http_status_ != 0 && http_status_ != 200)
                fail(from_http_status(http_status_),
                     "unexpected HTTP status code received from server: " + std::to_string(http_status_));
            else fail(status_code::internal, "server closed the stream without sending trailers");
            return false;
        }
        if (frames_.partial() && res_->status == 0) {
            fail(status_code::internal, "server closed the stream in the middle of a message");
            return false;
        }
        return true;
    }
    // The stream ended without trailers (reset, connection lost).
    void fail(status_code code, std::string why) {
        if (failed_) return;
        failed_ = true;
        res_->status = static_cast<int>(code);
        res_->error = std::move(why);
    }
    bool done() const noexcept { return got_trailers_ || failed_; }
    bool failed() const noexcept { return failed_; }

  private:
    // "-bin" values decoded (grpc-go hands them to k6 as bytes); one that is
    // not base64 is kept as it came, rather than failing the call
    static void add_metadata(metadata& to, const std::string& k, const std::string& v) {
        auto& kv = to.emplace_back(k, std::string());
        if (!is_binary_key(k) || !base64_decode(v, kv.second)) kv.second = v;
    }
    response* res_ = nullptr;
    frame_reader frames_;
    bool got_headers_ = false, got_trailers_ = false, failed_ = false;
    int http_status_ = 0;
};

// The status an HTTP/2 RST_STREAM error code means for a call (gRPC's table).
inline status_code from_reset(std::uint32_t h2_error) noexcept {
    switch (h2_error) {
        case 0x7: return status_code::unavailable;         // REFUSED_STREAM
        case 0x8: return status_code::cancelled;           // CANCEL
        case 0xb: return status_code::resource_exhausted;  // ENHANCE_YOUR_CALM
        case 0xc: return status_code::permission_denied;   // INADEQUATE_SECURITY
        default: return status_code::internal;
    }
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::grpc
