#pragma once
// gRPC's message framing on an HTTP/2 stream: each message is a 1-byte
// compressed flag, a 4-byte big-endian length and the protobuf bytes. The
// reader takes DATA chunks as they come (a frame may span chunks, a chunk
// may hold several frames) and yields whole messages, bounded by a maximum
// size; compressed messages are refused (loadkit sends no grpc-accept-encoding,
// so a server that compresses anyway breaks the protocol).
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc::detail {

// k6's (and grpc-go's) default receive limit.
inline constexpr std::size_t default_max_message = 4 * 1024 * 1024;

// Appends the 5-byte prefix for a message of `size` bytes to `out`.
inline void append_frame_header(std::string& out, std::size_t size) {
    char h[5] = {0, static_cast<char>((size >> 24) & 0xff), static_cast<char>((size >> 16) & 0xff),
                 static_cast<char>((size >> 8) & 0xff), static_cast<char>(size & 0xff)};
    out.append(h, 5);
}

class frame_reader {
  public:
    enum class result { need_more, message, error };

    explicit frame_reader(std::size_t max_size = default_max_message) : max_(max_size) {}
    void reset() {
        buf_.clear();
        pos_ = 0;
        error_.clear();
    }
    void set_max(std::size_t m) noexcept { max_ = m; }
    // Adds received bytes (copied: a chunk's memory is the transport's).
    void feed(std::string_view chunk) {
        if (pos_ > 0 && pos_ == buf_.size()) {
            buf_.clear();
            pos_ = 0;
        } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {  // keep the buffer from creeping
            buf_.erase(0, pos_);
            pos_ = 0;
        }
        buf_.append(chunk);
    }
    // The next whole message into `msg` (a view valid until the next feed);
    // error(): why the stream is unusable.
    result next(std::string_view& msg) {
        std::size_t avail = buf_.size() - pos_;
        if (avail < 5) return result::need_more;
        auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
        if (p[0] != 0) {
            error_ = p[0] == 1 ? "compressed message received, but loadkit asks for none (grpc-encoding is not supported)"
                               : "malformed message frame (flag byte " + std::to_string(p[0]) + ")";
            return result::error;
        }
        std::size_t len = (std::size_t(p[1]) << 24) | (std::size_t(p[2]) << 16) | (std::size_t(p[3]) << 8) | p[4];
        if (len > max_) {
            error_ = "received message larger than max (" + std::to_string(len) + " vs. " + std::to_string(max_) + ")";
            return result::error;
        }
        if (avail < 5 + len) return result::need_more;
        msg = std::string_view(buf_.data() + pos_ + 5, len);
        pos_ += 5 + len;
        return result::message;
    }
    // Bytes of an incomplete message left at the end of the stream.
    bool partial() const noexcept { return pos_ < buf_.size(); }
    const std::string& error() const noexcept { return error_; }

  private:
    std::string buf_;
    std::size_t pos_ = 0;
    std::size_t max_;
    std::string error_;
};

}  // namespace loadkit::inline LOADKIT_ABI::grpc::detail
