#pragma once
// The HTTP/2 a gRPC call rides on: one connection per gRPC client (an
// h2_session from loadkit's HTTP/2 transport, opened by prior knowledge, or
// over TLS with ALPN h2, through the client's own HTTP client, whose connect, DNS and interrupt
// rules it follows) and an h2_stream per call. This is the seam to the
// transport (http/h2_session.hpp): nothing else in grpc/ knows its API.
//
// Deadlines: h2 streams leave timeouts to their caller. A call arms one
// timer (reused by the stream object) that cuts the stream at the deadline;
// it also wakes every 250 ms to see whether the VU was interrupted (the VU's
// interrupt cuts its HTTP clients, not the streams of a session).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "../core/task.hpp"
#include "../http/client.hpp"
#include "../http/h2_exchange.hpp"
#include "../http/h2_session.hpp"
#include "../http/tls.hpp"
#include "../runtime/context.hpp"
#include "call.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc {

// k6's connect params' `tls`: when given, the server is verified against the
// system's CAs and `cacerts` (the global tlsCAFile and tlsAuth are not used,
// as in k6, where this map replaces the VU's TLS roots and certificates);
// insecureSkipTLSVerify, tlsVersion and tlsCipherSuites still apply.
struct connect_tls {
    std::vector<std::string> cacerts;  // PEM text
    std::string cert, key, password;   // a client certificate (PEM), offered to the server
};

namespace detail {

namespace ld = loadkit::detail;

class wire_conn {
  public:
    wire_conn(ld::thread_context& t, ld::vu_context* vu)
        : thread_(&t), vu_(vu), base_(t.engine && t.engine->http ? *t.engine->http : client_options{}) {}
    wire_conn(const wire_conn&) = delete;

    // Opens the HTTP/2 connection to host:port within `timeout`: h2c by
    // prior knowledge when `tls` is null, else TLS with ALPN (the engine's
    // TLS options, or k6's `tls` map when *tls has one).
    task<bool> connect(std::string_view host, std::uint16_t port, const std::optional<connect_tls>* tls,
                       nanoseconds timeout, std::string& error) {
        close();
        opts_ = base_;
        opts_.http2 = http2_mode::prior_knowledge;
        opts_.timeout = timeout;
        if (tls && *tls && !apply(**tls, error)) co_return false;
        // a client of its own per connect: its TLS context follows these options
        // (the session takes the socket over, so the last one may go)
        http_ = std::make_unique<client>(*thread_, vu_, opts_);
        url_.assign(tls ? "https://" : "http://");
        bool v6 = host.find(':') != std::string_view::npos;
        if (v6) url_.push_back('[');
        url_.append(host);
        if (v6) url_.push_back(']');
        url_.append(":").append(std::to_string(port)).append("/");
        session_ = co_await h2_connect(*http_, url_);
        if (!session_) {
            auto& r = http_->last();
            error = r.error.empty() ? "cannot connect to " + url_ : r.error;
            // k6 (grpc-go) words a failed handshake so. Differs from k6 v0.48,
            // whose blocking dial retries until the connect timeout and then
            // says "context canceled: connection error: ...": here it fails at
            // once (the certificate will not change in between)
            if (r.error_code == error_code::tls_error || r.error_code == error_code::tls_unknown_authority ||
                r.error_code == error_code::tls_hostname_mismatch)
                error = "connection error: desc = \"transport: authentication handshake failed: " + error + "\"";
            url_.clear();
            co_return false;
        }
        co_return true;
    }
    // Connects again to the same address (the server went away and came back).
    task<bool> reconnect(std::string& error) {
        if (url_.empty() || !http_) co_return false;
        session_ = co_await h2_connect(*http_, url_);
        if (!session_) {
            error = http_->last().error;
            co_return false;
        }
        co_return true;
    }
    bool is_open() const noexcept { return session_ && session_->usable(); }
    bool was_connected() const noexcept { return !url_.empty(); }
    void close() noexcept {
        if (session_) session_->fail_all(error_code::connection_closed);
        session_.reset();
        url_.clear();  // closed on purpose: no reconnecting
    }
    ld::h2_session* session() const noexcept { return session_.get(); }
    ld::thread_context& thread() const noexcept { return *thread_; }
    ld::vu_context* vu() const noexcept { return vu_; }

  private:
    // k6's tls map over the engine's options: its CAs (with the system's)
    // and its certificate replace the global ones. False: a PEM is invalid.
    bool apply(const connect_tls& t, std::string& error) {
        opts_.tls_ca_file.clear();
        opts_.tls_ca_pem.clear();
        opts_.tls_auth.clear();
        for (std::size_t i = 0; i < t.cacerts.size(); ++i) {
            std::unique_ptr<BIO, decltype(&BIO_free)> b(
                BIO_new_mem_buf(t.cacerts[i].data(), static_cast<int>(t.cacerts[i].size())), BIO_free);
            std::unique_ptr<X509, decltype(&X509_free)> x(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr),
                                                          X509_free);
            ERR_clear_error();
            if (!x) {
                error = "failed to append ca certificate [" + std::to_string(i) + "] from PEM";
                return false;
            }
            opts_.tls_ca_pem.append(t.cacerts[i]).append("\n");
        }
        if (!t.cert.empty() && !t.key.empty()) {
            tls_client_cert c{{}, t.cert, t.key, t.password};
            ld::client_identity id;
            if (auto why = ld::parse_client_identity(c, id); !why.empty()) {
                error = "failed to append certificate from PEM: " + why;
                return false;
            }
            opts_.tls_auth.push_back(std::move(c));
        }
        return true;
    }

    ld::thread_context* thread_;
    ld::vu_context* vu_;
    client_options base_, opts_;
    std::unique_ptr<client> http_;
    std::shared_ptr<ld::h2_session> session_;
    std::string url_;
};

class wire_stream {
  public:
    enum class event { headers, data, trailers, reset, closed };
    explicit wire_stream(wire_conn& c) : conn_(&c), timer_(c.thread().ioc) {}
    ~wire_stream() { disarm(); }
    wire_stream(const wire_stream&) = delete;

    // Sends the request headers (pseudo-headers from `headers`' ":path" and
    // ":authority", the rest as they are); `deadline_ns` (0: none) cuts it.
    task<bool> start(const metadata& headers, std::int64_t deadline_ns, std::string& error) {
        headers_seen_ = trailers_seen_ = false;
        timed_out = false;
        http_status = 0;
        end_stream = false;
        reset_code = 0;
        this->error.clear();
        std::string_view path, authority, scheme = "http";
        st_.request_headers.clear();
        for (auto& [k, v] : headers) {
            if (k == ":path") path = v;
            else if (k == ":authority") authority = v;
            else if (k == ":scheme") scheme = v;
            else if (k.empty() || k[0] != ':') st_.request_headers.emplace_back(k, v);
        }
        auto* s = conn_->session();
        if (!s || !s->usable()) {
            error = this->error = "connection closed";
            co_return false;
        }
        if (!st_.open(*s, "POST", scheme, authority, path, st_.request_headers, false)) {
            error = this->error = std::string(describe(st_.error()));
            co_return false;
        }
        arm(deadline_ns);
        co_return true;
    }
    // Queues DATA (copied; the transport never blocks a write).
    task<bool> send(std::string_view data, bool end) {
        if (st_.done()) co_return false;
        st_.write(data, end);
        co_return true;
    }
    // The next thing the server sent, or how the stream ended.
    task<event> next() {
        for (;;) {
            if (!headers_seen_ && st_.has_headers()) {
                headers_seen_ = true;
                copy(st_.headers());
                http_status = st_.status();
                // grpc-status in the headers: a trailers-only answer
                end_stream = false;
                for (auto& [k, v] : fields)
                    if (k == "grpc-status") end_stream = true;
                if (end_stream) trailers_seen_ = true;
                co_return event::headers;
            }
            if (!st_.data().empty()) {
                dbuf_.clear();
                dbuf_.swap(st_.data());
                data = dbuf_;
                co_return event::data;
            }
            if (st_.done()) {
                disarm();
                if (!trailers_seen_) {
                    trailers_seen_ = true;
                    copy(st_.trailers());
                    if (!fields.empty() && st_.error() == error_code::none) co_return event::trailers;
                }
                check_interrupt();
                if (st_.error() == error_code::none) {
                    error = "server closed the stream without sending trailers";
                    co_return event::closed;
                }
                reset_code = st_.h2_code();
                error = timed_out ? "context deadline exceeded" : std::string(describe(st_.error()));
                co_return reset_code ? event::reset : event::closed;
            }
            co_await st_.wait();
            check_interrupt();
        }
    }
    void cancel() noexcept {
        st_.reset();
        disarm();
    }

    int http_status = 0;
    bool end_stream = false;  // with headers: a trailers-only answer
    metadata fields;          // headers or trailers
    std::string_view data;    // a DATA chunk
    std::uint32_t reset_code = 0;
    std::string error;  // closed/reset: why
    bool timed_out = false;

  private:
    void copy(std::span<const std::pair<std::string_view, std::string_view>> h) {
        fields.resize(h.size());
        for (std::size_t i = 0; i < h.size(); ++i) {
            fields[i].first.assign(h[i].first);
            fields[i].second.assign(h[i].second);
        }
    }
    void check_interrupt() {
        if (auto* vu = conn_->vu(); vu && vu->interrupted) {
            st_.reset();
            disarm();
            throw interrupted_error{};
        }
    }
    void arm(std::int64_t deadline_ns) {
        deadline_ = deadline_ns;
        ++gen_;
        schedule();
    }
    void schedule() {
        std::int64_t now = ld::now_ns();
        std::int64_t at = now + 250'000'000;
        if (deadline_ && deadline_ < at) at = deadline_;
        timer_.expires_at(clock::time_point(nanoseconds(at)));
        armed_ = true;
        timer_.async_wait([this, gen = gen_, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
            if (ec || alive.expired() || gen != gen_) return;
            armed_ = false;
            on_timer();
        });
    }
    void on_timer() {
        auto* vu = conn_->vu();
        if (deadline_ && ld::now_ns() >= deadline_) {
            timed_out = true;
            st_.cut();
        } else if (vu && vu->interrupted) {
            st_.cut();
        } else if (!st_.done()) {
            schedule();
        }
    }
    void disarm() noexcept {
        ++gen_;
        if (armed_) {
            armed_ = false;
            timer_.cancel();
        }
    }

    wire_conn* conn_;
    ld::h2_stream st_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    std::uint64_t gen_ = 0;
    std::int64_t deadline_ = 0;
    bool armed_ = false;
    bool headers_seen_ = false, trailers_seen_ = false;
    std::string dbuf_;
};

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::grpc
