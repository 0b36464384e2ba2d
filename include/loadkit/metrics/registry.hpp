#pragma once
// Every metric's name and kind, built-in or custom, in one process-wide table:
// thresholds are checked against it before a run starts, and the summary
// reports custom metrics from it the way it reports built-ins.
#include <cmath>
#include <cstdint>
#include <limits>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI {

enum class metric_kind { counter, gauge, rate, trend };

inline std::string_view kind_name(metric_kind k) noexcept {
    static constexpr std::string_view names[] = {"counter", "gauge", "rate", "trend"};
    return names[static_cast<int>(k)];
}

namespace detail {

// Trends keep values in a histogram of integers: time trends as ns (values
// are given in ms), others in thousandths.
inline std::uint64_t trend_units(double v, bool time) noexcept {
    if (!(v > 0)) return 0;  // negative and NaN samples count as 0
    double u = v * (time ? 1e6 : 1e3);
    return u >= 9.2e18 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(std::llround(u));
}
inline double trend_scale(bool time) noexcept { return time ? 1e-6 : 1e-3; }

struct metric_info {
    std::string name;
    metric_kind kind;
    bool time = false;  // a trend of durations, reported in ms
    bool builtin = false;
};

class metric_registry {
  public:
    static metric_registry& get() {
        static metric_registry r;
        return r;
    }

    // A metric's id. Declaring the same name again with the same kind gives
    // the same metric (as in k6); a clash or a bad name is kept as an error
    // that the next run reports before starting (a global's constructor
    // cannot usefully throw).
    std::uint32_t add(std::string_view name, metric_kind kind, bool time) {
        std::lock_guard lock(mu_);
        if (auto it = ids_.find(name); it != ids_.end()) {
            auto& m = metrics_[it->second];
            if (m.kind != kind || m.builtin)
                errors_.push_back("metric '" + std::string(name) + "' is already a " + std::string(kind_name(m.kind)) +
                                  (m.builtin ? " (built-in)" : "") + "; it cannot be declared again as a " +
                                  std::string(kind_name(kind)));
            return it->second;
        }
        if (!valid_name(name))
            errors_.push_back("metric name '" + std::string(name) +
                              "' is invalid: use 1 to 128 letters, digits and underscores, not starting with a digit");
        return insert(name, kind, time, false);
    }

    const metric_info* find(std::string_view name) const {
        std::lock_guard lock(mu_);
        auto it = ids_.find(name);
        return it == ids_.end() ? nullptr : &metrics_[it->second];
    }
    metric_info info(std::uint32_t id) const {
        std::lock_guard lock(mu_);
        return metrics_[id];
    }
    std::vector<metric_info> all() const {
        std::lock_guard lock(mu_);
        return {metrics_.begin(), metrics_.end()};
    }
    std::vector<std::string> errors() const {
        std::lock_guard lock(mu_);
        return errors_;
    }

    static bool valid_name(std::string_view n) noexcept {
        if (n.empty() || n.size() > 128 || (n[0] >= '0' && n[0] <= '9')) return false;
        for (char c : n)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
        return true;
    }

    std::uint32_t group_duration_id() const noexcept { return group_duration_; }

  private:
    metric_registry() {
        using k = metric_kind;
        for (auto n : {"data_received", "data_sent", "dropped_iterations", "http_reqs", "iterations",
                       "iterations_failed", "iterations_interrupted"})
            insert(n, k::counter, false, true);
        for (auto n : {"http_req_blocked", "http_req_connecting", "http_req_duration", "http_req_duration_intended",
                       "http_req_receiving", "http_req_sending", "http_req_tls_handshaking", "http_req_waiting",
                       "iteration_duration", "group_duration"})
            insert(n, k::trend, true, true);
        // WebSocket sessions (ws/): k6's names and kinds; in the summary only once used
        for (auto n : {"ws_msgs_received", "ws_msgs_sent", "ws_sessions"}) insert(n, k::counter, false, true);
        for (auto n : {"ws_connecting", "ws_ping", "ws_session_duration"}) insert(n, k::trend, true, true);
        insert("checks", k::rate, false, true);
        insert("http_req_failed", k::rate, false, true);
        insert("vus", k::gauge, false, true);
        insert("vus_max", k::gauge, false, true);
        group_duration_ = ids_.at("group_duration");
    }
    std::uint32_t insert(std::string_view name, metric_kind kind, bool time, bool builtin) {
        metrics_.push_back({std::string(name), kind, time, builtin});
        auto id = static_cast<std::uint32_t>(metrics_.size() - 1);
        ids_.emplace(std::string(name), id);
        return id;
    }

    mutable std::mutex mu_;
    std::deque<metric_info> metrics_;  // stable addresses for find()
    std::map<std::string, std::uint32_t, std::less<>> ids_;
    std::vector<std::string> errors_;
    std::uint32_t group_duration_ = 0;
};

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
