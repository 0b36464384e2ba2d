#pragma once
// Reading a user's input file whole (a YAML test, a script or one of its
// modules, a CSV data file, a file a script open()s): only a regular file, and
// only up to a size limit. Without both, /dev/zero (or a symlink to it), a
// FIFO or a runaway file is read until memory runs out; with them it is
// refused with a reason, before any load starts.
#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

// The limits (the README's "Limits" lists them): a test or script is text a
// person wrote; a data file may be a large export, but must still fit in
// memory once per run.
inline constexpr std::uint64_t max_test_file_bytes = std::uint64_t{64} << 20;  // YAML files, scripts and their modules
inline constexpr std::uint64_t max_data_file_bytes = std::uint64_t{1} << 30;   // CSV data files, open() in scripts

namespace detail {

// "64 MiB", "1 GiB"
inline std::string size_text(std::uint64_t bytes) {
    if (bytes >= (std::uint64_t{1} << 30) && bytes % (std::uint64_t{1} << 30) == 0)
        return std::to_string(bytes >> 30) + " GiB";
    if (bytes >= (std::uint64_t{1} << 20) && bytes % (std::uint64_t{1} << 20) == 0)
        return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes) + " bytes";
}

// The one rule for what may be read, on a file's stat: a regular file
// within `limit` (not a directory, device, FIFO or socket, through a
// symlink or not); false with `error` saying which.
inline bool readable_kind(const std::string& path, const struct stat& st, std::uint64_t limit, std::string& error) {
    if (S_ISDIR(st.st_mode)) {
        error = "'" + path + "' is a directory, not a file";
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        error = "'" + path + "' is not a regular file (" +
                std::string(S_ISCHR(st.st_mode)    ? "a character device"
                            : S_ISBLK(st.st_mode)  ? "a block device"
                            : S_ISFIFO(st.st_mode) ? "a pipe"
                            : S_ISSOCK(st.st_mode) ? "a socket"
                                                   : "not a file") +
                "): only regular files are read";
        return false;
    }
    if (static_cast<std::uint64_t>(st.st_size) > limit) {
        error = "'" + path + "' is larger than the limit of " + size_text(limit) + " for such a file";
        return false;
    }
    return true;
}

}  // namespace detail

// Whether the file at `path` would be read by read_input_file (without
// reading it): false with the same `error` when it would not.
inline bool check_input_file(const std::string& path, std::uint64_t limit, std::string& error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = "cannot open '" + path + "': " + std::generic_category().message(errno);
        return false;
    }
    if (!detail::readable_kind(path, st, limit, error)) return false;
    if (::access(path.c_str(), R_OK) != 0) {
        error = "cannot open '" + path + "': " + std::generic_category().message(errno);
        return false;
    }
    return true;
}

// The file at `path` into `out`; false with `error` ("cannot open 'P': No such
// file or directory", "'P' is a directory", "'P' is not a regular file ...",
// "'P' is larger than the limit of 64 MiB") when it cannot or must not be read.
inline bool read_input_file(const std::string& path, std::uint64_t limit, std::string& out, std::string& error) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        error = "cannot open '" + path + "': " + std::generic_category().message(errno);
        return false;
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        error = "cannot read '" + path + "': " + std::generic_category().message(errno);
        return false;
    }
    if (!detail::readable_kind(path, st, limit, error)) return false;
    auto too_big = [&] {
        error = "'" + path + "' is larger than the limit of " + detail::size_text(limit) + " for such a file";
        return false;
    };
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    std::string text;
    text.reserve(static_cast<std::size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = "cannot read '" + path + "': " + std::generic_category().message(errno);
            return false;
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > limit) return too_big();  // it grew while being read
        text.append(buf, static_cast<std::size_t>(n));
    }
    out = std::move(text);
    return true;
}

namespace detail {
using loadkit::check_input_file;  // (the loaders and the JavaScript adapter name them so)
using loadkit::max_data_file_bytes;
using loadkit::max_test_file_bytes;
using loadkit::read_input_file;
}  // namespace detail

}  // namespace loadkit::inline LOADKIT_ABI
