#pragma once
// The engine's own log: warnings about hooks and VU code, errors. One lock,
// used only off the hot path (a failed hook, a new distinct message).
#include <cstdio>
#include <ctime>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "config.hpp"

namespace loadkit::inline LOADKIT_ABI {

enum class log_level { debug, info, warn, error };

namespace detail {

class logger {
  public:
    static logger& instance() {
        static logger l;
        return l;
    }
    void write(log_level lv, std::string_view msg) {
        std::lock_guard lock(mu_);
        ++counts_[static_cast<int>(lv)];
        if (lv < min_level || quiet) return;
        static constexpr const char* names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
        std::fprintf(stderr, "%s[%s] %.*s\n", prefix_.c_str(), names[static_cast<int>(lv)],
                     static_cast<int>(msg.size()), msg.data());
    }
    // A script's console.* message: to console_file in k6's logfmt
    // (time="..." level=info msg="...") when one is set (--console-output),
    // else to the log like any other message.
    void write_console(log_level lv, std::string_view msg) {
        if (!console_file) return write(lv, msg);
        std::lock_guard lock(mu_);
        ++counts_[static_cast<int>(lv)];
        if (lv < min_level) return;
        static constexpr const char* names[] = {"debug", "info", "warning", "error"};
        char t[32];
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        std::strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
        std::string m;
        bool quote = msg.empty();
        for (unsigned char c : msg) {
            if (c <= ' ' || c == '"' || c == '=' || c == '\\') quote = true;
            if (c == '"' || c == '\\') m += '\\';
            if (c == '\n') m += "\\n";
            else if (c == '\t') m += "\\t";
            else if (c != '\r') m += static_cast<char>(c);
        }
        std::fprintf(console_file, "time=\"%s\" level=%s msg=%s%s%s\n", t, names[static_cast<int>(lv)],
                     quote ? "\"" : "", m.c_str(), quote ? "\"" : "");
        std::fflush(console_file);
    }
    // Logs a message once per distinct text (VU code that fails every iteration
    // would otherwise drown the output); returns true the first time.
    bool write_once(log_level lv, std::string_view msg) {
        {
            std::lock_guard lock(mu_);
            if (!seen_.emplace(msg).second) {
                ++suppressed_;
                return false;
            }
        }
        write(lv, msg);
        return true;
    }
    std::size_t count(log_level lv) {
        std::lock_guard lock(mu_);
        return counts_[static_cast<int>(lv)];
    }
    void reset() {
        std::lock_guard lock(mu_);
        seen_.clear();
        suppressed_ = 0;
        for (auto& c : counts_) c = 0;
    }
    log_level min_level = log_level::info;
    bool quiet = false;
    std::FILE* console_file = nullptr;  // console.* messages go here when set (--console-output)

  private:
    std::mutex mu_;
    std::set<std::string, std::less<>> seen_;
    std::size_t suppressed_ = 0;
    std::size_t counts_[4] = {};
    std::string prefix_ = "loadkit ";
};

inline void log(log_level lv, std::string_view msg) { logger::instance().write(lv, msg); }
inline void log_once(log_level lv, std::string_view msg) { logger::instance().write_once(lv, msg); }
inline void log_console(log_level lv, std::string_view msg) { logger::instance().write_console(lv, msg); }

}  // namespace detail

// The least level the engine's log prints (info by default; debug for
// `loadkit -v`, and for console.debug in scripts).
inline void set_log_level(log_level lv) { detail::logger::instance().min_level = lv; }

// A message on the engine's log, at `lv` (the runner's own, --http-debug's).
inline void log_message(log_level lv, std::string_view msg) { detail::log(lv, msg); }

// Where a script's console.* messages go: `f` (k6's --console-output; the
// caller keeps it open until the process ends), or the log when null.
inline void set_console_output(std::FILE* f) { detail::logger::instance().console_file = f; }

}  // namespace loadkit::inline LOADKIT_ABI
