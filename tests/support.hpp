#pragma once
// Helpers shared by the test binaries that write files, start processes
// (the `loadkit` executable, Prometheus) and talk to them (test_yaml, test_js,
// test_report).
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <loadkit/engine/summary.hpp>

namespace test_support {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A scratch directory for the files a test writes.
struct scratch {
    fs::path dir;
    scratch() {
        dir = fs::temp_directory_path() /
              ("loadkit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::create_directories(dir);
    }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        auto p = (dir / name).string();
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    static std::atomic<int>& counter() {
        static std::atomic<int> c{0};
        return c;
    }
};

// One aggregate of a summary's metric ("count", "rate", "p(95)"...); the
// test fails, naming the metric, when the summary does not have it.
inline double agg(const nlohmann::json& summary, std::string_view metric, const char* field) {
    auto* a = loadkit::find_metric(summary, metric);
    if (!a) FAIL("no metric " << metric);
    return (*a)[field].get<double>();
}

// A whole file ("" when it cannot be read).
inline std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// A port on 127.0.0.1 that nothing listens on (now).
inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// HTTP/1.1 to 127.0.0.1:port: requests on one kept-alive connection, in
// order (10 s at most each); throws std::runtime_error when it fails.
struct http_reply {
    int status = 0;
    std::string content_type, body;
    bool keep_alive = false;
};

inline std::vector<http_reply> fetch_all(std::uint16_t port, const std::vector<std::string>& targets,
                                         boost::beast::http::verb method = boost::beast::http::verb::get) {
    namespace asio = boost::asio;
    asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    boost::beast::flat_buffer buf;
    std::vector<http_reply> out;
    boost::system::error_code failure;
    std::size_t i = 0;
    boost::beast::http::request<boost::beast::http::empty_body> req;
    std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser;
    std::function<void()> next = [&] {
        if (i == targets.size()) return;
        req = boost::beast::http::request<boost::beast::http::empty_body>(method, targets[i], 11);
        req.set(boost::beast::http::field::host, "127.0.0.1:" + std::to_string(port));
        req.keep_alive(true);
        stream.expires_after(10s);
        boost::beast::http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
            if (ec) {
                failure = ec;
                return;
            }
            parser.emplace();
            parser->body_limit(64 * 1024 * 1024);
            if (method == boost::beast::http::verb::head) parser->skip(true);
            boost::beast::http::async_read(stream, buf, *parser, [&](boost::system::error_code ec2, std::size_t) {
                if (ec2) {
                    failure = ec2;
                    return;
                }
                auto& res = parser->get();
                out.push_back({static_cast<int>(res.result_int()),
                               std::string(res[boost::beast::http::field::content_type]), res.body(),
                               res.keep_alive()});
                ++i;
                next();
            });
        });
    };
    stream.expires_after(10s);
    stream.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                         [&](boost::system::error_code ec) {
        if (ec) {
            failure = ec;
            return;
        }
        next();
    });
    ioc.run();
    if (failure) throw std::runtime_error("http to 127.0.0.1:" + std::to_string(port) + ": " + failure.message());
    return out;
}
inline http_reply fetch(std::uint16_t port, const std::string& target,
                        boost::beast::http::verb method = boost::beast::http::verb::get) {
    return fetch_all(port, {target}, method).at(0);
}

// A process started in the background, its stdout and stderr in files (the
// same file when `err_file` is empty). It dies with the test (PDEATHSIG), and
// is stopped (TERM, then KILL after 5 s) and reaped when this goes out of
// scope, whatever happened.
struct child {
    pid_t pid = -1;
    std::string out_file, err_file;
    int code = -1;  // once ended: the exit code, or 128 + the signal

    child(std::vector<std::string> argv, std::string out, std::string err = {})
        : out_file(std::move(out)), err_file(err.empty() ? out_file : std::move(err)) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int e = err_file == out_file ? o : ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int null = ::open("/dev/null", O_RDONLY);
            if (o >= 0) ::dup2(o, 1);
            if (e >= 0) ::dup2(e, 2);
            if (null >= 0) ::dup2(null, 0);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    ~child() {
        if (pid <= 0) return;
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 50 && running(); ++i) std::this_thread::sleep_for(100ms);
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        reap(0);
    }
    // False once it has ended (and been reaped: see `code`).
    bool running() { return pid > 0 && !reap(WNOHANG); }
    // Its exit code; -1 if it did not end within `limit` (it is killed then).
    int wait(std::chrono::milliseconds limit = 60s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (running()) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                reap(0);
                return -1;
            }
            std::this_thread::sleep_for(10ms);
        }
        return code;
    }
    std::string out() const { return read_text(out_file); }
    std::string err() const { return read_text(err_file); }

  private:
    bool reap(int flags) {
        int status = 0;
        if (::waitpid(pid, &status, flags) != pid) return false;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid = -1;
        return true;
    }
};

// Runs `fn` in a forked copy of this test process and returns what it
// returned as the exit code, 128 + the signal if it died of one (134: SIGABRT,
// std::terminate), or -1 if it did not end within `limit` (it is killed then).
// For code that may crash the process: the test binary survives to say so.
// Fork only while this process runs no other thread (start servers in `fn`).
inline int run_forked(const std::function<int()>& fn, std::chrono::milliseconds limit = 60s) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        int code = 125;
        try {
            code = fn();
        } catch (...) {
            code = 126;  // an exception left fn: not what is tested (a crash is)
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(10ms);
    }
}

#ifdef LOADKIT_RUNNER_PATH  // the runner tests need the executable (LOADKIT_BUILD_RUNNER)
// ------------------------------------------------------------ running the runner

struct process_result {
    int code = -1;
    std::string out, err;
};

// Runs the loadkit executable with `args`, capturing stdout and stderr, and
// killing it after `limit`. `on_start(pid)` runs once it has started.
// The runner in the background (several may run at once): output in
// DIR/NAME.out and DIR/NAME.err.
inline std::unique_ptr<child> start_runner(std::vector<std::string> args, const scratch& dir, const std::string& name) {
    args.insert(args.begin(), LOADKIT_RUNNER_PATH);
    return std::make_unique<child>(std::move(args), (dir.dir / (name + ".out")).string(),
                                   (dir.dir / (name + ".err")).string());
}

inline process_result run_runner(std::vector<std::string> args, std::chrono::milliseconds limit = 60s,
                                 std::function<void(pid_t)> on_start = {}) {
    args.insert(args.begin(), LOADKIT_RUNNER_PATH);
    int out[2], err[2];
    REQUIRE(::pipe(out) == 0);
    REQUIRE(::pipe(err) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        ::close(out[0]);
        ::close(err[0]);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    if (on_start) on_start(pid);
    process_result r;
    auto deadline = std::chrono::steady_clock::now() + limit;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open = 2;
    char buf[65536];
    while (open > 0) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            ::kill(pid, SIGKILL);
            break;
        }
        if (::poll(fds, 2, static_cast<int>(left)) <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            auto n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            } else {
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

#endif

}  // namespace test_support
