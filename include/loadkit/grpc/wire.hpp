#pragma once
// The HTTP/2 a gRPC call rides on: one connection per client, a stream per
// call. This is the seam to loadkit's HTTP/2 transport (http2/): nothing
// else in grpc/ knows its API.
//
// STUB until the transport lands: every connection fails.
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../runtime/context.hpp"
#include "call.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc::detail {

class wire_conn {
  public:
    wire_conn(loadkit::detail::thread_context& t, loadkit::detail::vu_context* vu) : thread_(&t), vu_(vu) {}
    task<bool> connect(std::string_view host, std::uint16_t port, bool tls, std::int64_t deadline_ns,
                       std::string& error) {
        (void)host, (void)port, (void)tls, (void)deadline_ns;
        error = "HTTP/2 transport not available";
        co_return false;
    }
    bool is_open() const noexcept { return false; }
    void close() noexcept {}
    loadkit::detail::thread_context& thread() const noexcept { return *thread_; }
    loadkit::detail::vu_context* vu() const noexcept { return vu_; }

  private:
    loadkit::detail::thread_context* thread_;
    loadkit::detail::vu_context* vu_;
};

class wire_stream {
  public:
    enum class event { headers, data, trailers, reset, closed };
    explicit wire_stream(wire_conn& c) : conn_(&c) {}
    // Sends the request headers (pseudo-headers first).
    task<bool> start(const metadata& headers, std::int64_t deadline_ns, std::string& error) {
        (void)headers, (void)deadline_ns;
        error = "HTTP/2 transport not available";
        co_return false;
    }
    task<bool> send(std::string_view data, bool end_stream) {
        (void)data, (void)end_stream;
        co_return false;
    }
    task<event> next() { co_return event::closed; }
    void cancel() noexcept {}

    int http_status = 0;
    bool end_stream = false;     // with headers: a trailers-only answer
    metadata fields;             // headers or trailers
    std::string_view data;       // a DATA chunk
    std::uint32_t reset_code = 0;
    std::string error;           // closed/reset: why
    bool timed_out = false;

  private:
    wire_conn* conn_;
};

}  // namespace loadkit::inline LOADKIT_ABI::grpc::detail
