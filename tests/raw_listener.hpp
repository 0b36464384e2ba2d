#pragma once
// A listening socket on 127.0.0.1 (an ephemeral port) for a test's own
// hand-written server thread: the tests that need a server to misbehave in
// one exact way (never answer, close at a given moment, answer after a fixed
// delay) write it with plain sockets on top of this.
#include <cstdint>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace test_support {

struct raw_listener {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::uint16_t port = 0;
    std::string url;  // "http://127.0.0.1:<port>/"

    explicit raw_listener(int backlog = 64) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("raw_listener: cannot listen on 127.0.0.1");
        }
        port = ntohs(a.sin_port);
        url = "http://127.0.0.1:" + std::to_string(port) + "/";
    }
    raw_listener(const raw_listener&) = delete;
    raw_listener& operator=(const raw_listener&) = delete;
    ~raw_listener() { ::close(fd); }

    // the next connection, or -1 after `ms` without one
    int accept_within(int ms) const {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, ms) == 1 ? ::accept(fd, nullptr, nullptr) : -1;
    }
    // Makes a thread blocked in accept() return (Linux: shutdown on a
    // listening socket), so a server thread can be joined.
    void stop_accepting() const { ::shutdown(fd, SHUT_RDWR); }
};

}  // namespace test_support
