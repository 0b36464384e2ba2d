#pragma once
// Helpers shared by the test binaries that write files and run the `loadkit`
// executable (test_yaml, test_js).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace test_support {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A scratch directory for the files a test writes.
struct scratch {
    fs::path dir;
    scratch() {
        dir = fs::temp_directory_path() / ("loadkit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
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

#ifdef LOADKIT_RUNNER_PATH  // the runner tests need the executable (LOADKIT_BUILD_RUNNER)
// ------------------------------------------------------------ running the runner

struct process_result {
    int code = -1;
    std::string out, err;
};

// Runs the loadkit executable with `args`, capturing stdout and stderr, and
// killing it after `limit`. `on_start(pid)` runs once it has started.
process_result run_runner(std::vector<std::string> args, std::chrono::milliseconds limit = 60s,
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
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
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
