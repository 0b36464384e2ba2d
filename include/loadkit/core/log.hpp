#pragma once
// The engine's own log: warnings about hooks and VU code, errors. One lock,
// used only off the hot path (a failed hook, a new distinct message).
#include <cstdio>
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

  private:
    std::mutex mu_;
    std::set<std::string, std::less<>> seen_;
    std::size_t suppressed_ = 0;
    std::size_t counts_[4] = {};
    std::string prefix_ = "loadkit ";
};

inline void log(log_level lv, std::string_view msg) { logger::instance().write(lv, msg); }
inline void log_once(log_level lv, std::string_view msg) { logger::instance().write_once(lv, msg); }

}  // namespace detail

// The least level the engine's log prints (info by default; debug for
// `loadkit -v`, and for console.debug in scripts).
inline void set_log_level(log_level lv) { detail::logger::instance().min_level = lv; }

}  // namespace loadkit::inline LOADKIT_ABI
