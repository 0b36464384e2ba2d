#pragma once
// HTTP/2 servers for the HTTP/2 tests (test_http's http2.cpp, test_js's
// js_http2.cpp), all on 127.0.0.1 and started by the tests themselves:
//  - nginx (Debian's has http_v2) with three listeners: TLS offering h2 by
//    ALPN, plain-text h2c (prior knowledge), and TLS with HTTP/1.1 only;
//    its locations answer with what they saw (protocol, method, the
//    connection's serial number, cookie, headers) so tests can assert on it.
//  - h2_raw_server: a few lines of HTTP/2 written by hand for what nginx does
//    not do on demand (reset a stream, GOAWAY, close mid-response, say
//    nothing).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <loadkit/target/cert.hpp>

#include "support.hpp"

namespace h2_test {

using namespace std::chrono_literals;

// nginx, once per test process (stopped when the process ends).
struct nginx_h2 {
    test_support::scratch dir;
    std::uint16_t tls_h2 = 0, h2c = 0, tls_h1 = 0;
    std::unique_ptr<test_support::child> proc;
    bool ok = false;

    std::string https() const { return "https://127.0.0.1:" + std::to_string(tls_h2); }
    std::string h2c_url() const { return "http://127.0.0.1:" + std::to_string(h2c); }
    std::string https_h1() const { return "https://127.0.0.1:" + std::to_string(tls_h1); }

    nginx_h2() {
        auto cert = loadkit::make_self_signed_certificate("localhost", 2);
        dir.write("cert.pem", cert.cert_pem);
        dir.write("key.pem", cert.key_pem);
        dir.write("htpasswd", "user:{PLAIN}pass\n");
        dir.write("authed.txt", "authed\n");
        tls_h2 = test_support::free_port();
        h2c = test_support::free_port();
        tls_h1 = test_support::free_port();
        auto d = dir.dir.string();
        std::string conf = "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + d +
                           "/nginx.pid;\nerror_log " + d +
                           "/error.log warn;\nevents { worker_connections 256; }\nhttp {\n"
                           "  access_log off;\n  client_body_temp_path " +
                           d + "/cb;\n  proxy_temp_path " + d + "/px;\n  fastcgi_temp_path " + d +
                           "/fc;\n  uwsgi_temp_path " + d + "/uw;\n  scgi_temp_path " + d +
                           "/sc;\n  default_type text/plain;\n  server {\n"
                           "    listen 127.0.0.1:" +
                           std::to_string(tls_h2) +
                           " ssl http2;\n"
                           "    listen 127.0.0.1:" +
                           std::to_string(h2c) +
                           " http2;\n"
                           "    listen 127.0.0.1:" +
                           std::to_string(tls_h1) +
                           " ssl;\n"
                           "    ssl_certificate " +
                           d + "/cert.pem;\n    ssl_certificate_key " + d +
                           "/key.pem;\n"
                           "    location = / { return 200 \"hello, world\\n\"; }\n"
                           "    location = /info { return 200 \"$server_protocol $request_method conn=$connection "
                           "cookie=$http_cookie hooked=$http_x_hooked len=$content_length\\n\"; }\n"
                           "    location = /redirect { return 302 /set; }\n"
                           "    location = /set { add_header Set-Cookie \"sess=abc; Path=/\" always; return 302 "
                           "/info; }\n"
                           "    location = /basic { auth_basic \"x\"; auth_basic_user_file " +
                           d + "/htpasswd; alias " + d +
                           "/authed.txt; }\n"
                           "    location = /missing { return 404; }\n"
                           "  }\n}\n";
        auto file = dir.write("nginx.conf", conf);
        proc = std::make_unique<test_support::child>(
            std::vector<std::string>{"/usr/sbin/nginx", "-p", d, "-c", file, "-e", d + "/error.log"}, d + "/nginx.out");
        // ready when all three ports accept
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < deadline && proc->running()) {
            if (accepts(tls_h2) && accepts(h2c) && accepts(tls_h1)) {
                ok = true;
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    static bool accepts(std::uint16_t port) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }
};
inline nginx_h2& nginx() {
    static nginx_h2 n;
    REQUIRE(n.ok);
    return n;
}

// An h2c server (prior knowledge) that answers every request the same
// misbehaving way, on each connection, for 5 s at most.
class h2_raw_server {
  public:
    enum class mode { reset, goaway, close_mid_response, silent, ok };
    explicit h2_raw_server(mode m) : mode_(m) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        ::listen(fd_, 16);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~h2_raw_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int connections() const { return connections_.load(); }

  private:
    static std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload) {
        std::string f;
        auto n = payload.size();
        f.push_back(static_cast<char>(n >> 16));
        f.push_back(static_cast<char>(n >> 8));
        f.push_back(static_cast<char>(n));
        f.push_back(static_cast<char>(type));
        f.push_back(static_cast<char>(flags));
        for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<char>((stream >> s) & 0x7f));
        return f + payload;
    }
    static std::string u32(std::uint32_t v) {
        std::string s;
        for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<char>(v >> sh));
        return s;
    }
    void run() {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        int conn = -1;
        std::string in;
        bool preface = false;
        while (!stop_ && std::chrono::steady_clock::now() < deadline) {
            pollfd p[2] = {{fd_, POLLIN, 0}, {conn, POLLIN, 0}};
            if (::poll(p, conn >= 0 ? 2 : 1, 20) <= 0) continue;
            if (p[0].revents & POLLIN) {
                if (conn >= 0) ::close(conn);
                conn = ::accept(fd_, nullptr, nullptr);
                ++connections_;
                in.clear();
                preface = false;
                send(conn, frame(4, 0, 0, ""));  // our SETTINGS (defaults)
                continue;
            }
            if (conn < 0 || !(p[1].revents & (POLLIN | POLLHUP))) continue;
            char buf[4096];
            auto n = ::read(conn, buf, sizeof buf);
            if (n <= 0) {
                ::close(conn);
                conn = -1;
                continue;
            }
            in.append(buf, static_cast<std::size_t>(n));
            if (!preface) {
                if (in.size() < 24) continue;
                in.erase(0, 24);
                preface = true;
            }
            while (in.size() >= 9) {
                std::size_t len = (std::size_t(std::uint8_t(in[0])) << 16) | (std::size_t(std::uint8_t(in[1])) << 8) |
                                  std::uint8_t(in[2]);
                if (in.size() < 9 + len) break;
                auto type = std::uint8_t(in[3]);
                auto flags = std::uint8_t(in[4]);
                std::uint32_t stream = (std::uint32_t(std::uint8_t(in[5]) & 0x7f) << 24) |
                                       (std::uint32_t(std::uint8_t(in[6])) << 16) |
                                       (std::uint32_t(std::uint8_t(in[7])) << 8) | std::uint8_t(in[8]);
                in.erase(0, 9 + len);
                if (type == 4 && !(flags & 1)) send(conn, frame(4, 1, 0, ""));  // SETTINGS ACK
                if (type != 1) continue;                                        // HEADERS: a request
                switch (mode_) {
                    case mode::reset: send(conn, frame(3, 0, stream, u32(2))); break;  // RST_STREAM INTERNAL_ERROR
                    case mode::goaway:  // nothing processed, ENHANCE_YOUR_CALM
                        send(conn, frame(7, 0, 0, u32(0) + u32(11)));
                        break;
                    case mode::close_mid_response:
                        // :status 200 (HPACK static index 8), then 3 of the bytes and the end
                        send(conn, frame(1, 4, stream, "\x88") + frame(0, 0, stream, "par"));
                        std::this_thread::sleep_for(20ms);
                        ::close(conn);
                        conn = -1;
                        break;
                    case mode::silent: break;
                    case mode::ok: send(conn, frame(1, 4, stream, "\x88") + frame(0, 1, stream, "ok")); break;
                }
                if (conn < 0) break;
            }
        }
        if (conn >= 0) ::close(conn);
    }
    static void send(int fd, const std::string& s) {
        if (fd >= 0) (void)!::write(fd, s.data(), s.size());
    }
    mode mode_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

}  // namespace h2_test
