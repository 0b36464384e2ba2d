#pragma once
// Per-thread metric storage. Every worker thread owns one shard and is its
// only writer, so recording a sample is plain arithmetic: no lock, no atomic.
// Shards are read only after their thread has stopped (or by that thread when
// asked for a snapshot), and merged by name (see summary.hpp).
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../core/config.hpp"
#include "../core/log.hpp"
#include "histogram.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A scenario's iterations, their durations and its bytes (one thread's in a
// shard; merged, in merged_metrics::scenarios).
struct scenario_series {
    std::uint64_t iterations = 0;
    std::uint64_t interrupted = 0;  // cut by gracefulStop or abort
    std::uint64_t failed = 0;       // ended by an exception in VU code
    std::uint64_t dropped = 0;      // open model: scheduled, but no VU was free
    std::uint64_t data_sent = 0;
    std::uint64_t data_received = 0;
    histogram iteration_duration;
};

// A check's passes and fails (one thread's in a shard; merged, in merged_metrics::checks).
struct check_series {
    std::uint64_t passes = 0, fails = 0;
};

}  // namespace loadkit::inline LOADKIT_ABI

namespace loadkit::inline LOADKIT_ABI::detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Distinct strings (request names, tag sets, groups, check names) over all
// threads of a run. A shard's string table knows its own strings; only a
// string new to that shard comes here, so a known name costs nothing. The
// set is lock-free and fixed in size: 64-bit hashes in an open-addressing
// table filled by compare-and-swap, so a thread seeing a new name takes no
// lock and the whole run, whatever --threads says, keeps at most `limit`
// distinct strings (a cap per thread multiplied with the threads: a random
// query string per request once took 678 MB).
class name_budget {
  public:
    static constexpr std::size_t limit = 10000;

    // The run's budget (the engine resets it when a run starts).
    static name_budget& global() noexcept {
        static name_budget b;
        return b;
    }
    // True when `s` may have an id of its own: it is known to the run, or
    // the run has room for it (it is then known).
    bool admit(std::string_view s) noexcept {
        std::uint64_t h = std::hash<std::string_view>{}(s);
        h = (h ^ (h >> 31)) * 0x9E3779B97F4A7C15ull;
        h |= 1;  // 0 marks an empty slot
        for (std::size_t i = static_cast<std::size_t>(h >> 17) & (slots - 1);; i = (i + 1) & (slots - 1)) {
            std::uint64_t v = table_[i].load(std::memory_order_acquire);
            while (v == 0) {
                if (used_.fetch_add(1, std::memory_order_relaxed) >= limit) {
                    used_.fetch_sub(1, std::memory_order_relaxed);
                    return false;
                }
                if (table_[i].compare_exchange_strong(v, h, std::memory_order_acq_rel)) return true;
                used_.fetch_sub(1, std::memory_order_relaxed);  // another thread took the slot: v is its hash
            }
            if (v == h) return true;
        }
    }
    // True for the first caller only: who says that names are being folded.
    bool first_fold() noexcept { return !warned_.exchange(true, std::memory_order_relaxed); }
    std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
    // Between runs, while no thread records.
    void reset() noexcept {
        for (auto& t : table_) t.store(0, std::memory_order_relaxed);
        used_.store(0);
        warned_.store(false);
    }

  private:
    static constexpr std::size_t slots = 32768;  // a power of two, over 3 x limit: short probes when full
    std::atomic<std::uint64_t> table_[slots]{};
    std::atomic<std::size_t> used_{0};
    std::atomic<bool> warned_{false};
};

// Interned strings with stable addresses; ids are per shard.
class string_table {
  public:
    // Names past this many become "(other)": a URL with an id in it must not
    // grow memory without bound (k6's "too many metric series" problem). The
    // limit is over the whole run (name_budget), not per thread.
    static constexpr std::size_t max_names = name_budget::limit;

    std::uint32_t intern(std::string_view s) {
        if (auto it = ids_.find(s); it != ids_.end()) return it->second;
        if (names_.size() >= max_names || !name_budget::global().admit(s)) return intern_overflow();
        names_.emplace_back(s);
        auto id = static_cast<std::uint32_t>(names_.size() - 1);
        ids_.emplace(names_.back(), id);
        return id;
    }
    std::string_view name(std::uint32_t id) const noexcept { return names_[id]; }
    std::size_t size() const noexcept { return names_.size(); }

  private:
    std::uint32_t intern_overflow() {
        static constexpr std::string_view other = "(other)";
        if (auto it = ids_.find(other); it != ids_.end()) return it->second;
        if (name_budget::global().first_fold())
            log(log_level::warn,
                "more than " + std::to_string(max_names) +
                    " distinct request names, tags, groups and checks in this run: the rest are counted as \"(other)\". "
                    "A URL with an id or a random query string in it makes a new name per request: give such requests one "
                    "name (JavaScript: tags: {name: 'GET /items/:id'} in the request's params; YAML flows: 'name:' on the "
                    "request; C++: params.name), as k6 recommends for grouping URLs");
        names_.emplace_back(other);
        auto id = static_cast<std::uint32_t>(names_.size() - 1);
        ids_.emplace(names_.back(), id);
        return id;
    }
    std::deque<std::string> names_;
    std::unordered_map<std::string_view, std::uint32_t, string_hash, std::equal_to<>> ids_;
};

// The tags of an HTTP sample, as ids: scenario, name, method, status,
// error_code, expected_response (k6's default tag set; url is the name).
struct http_key {
    std::uint32_t scenario = 0;
    std::uint32_t name = 0;
    std::uint32_t method = 0;
    std::uint16_t status = 0;
    std::uint16_t error = 0;
    bool expected = true;
    std::uint32_t group = 0;
    std::uint32_t tags = 0;  // the request's own tags, canonical (see canonical_tags); 0 = none
    bool operator==(const http_key&) const = default;
};
struct http_key_hash {
    std::size_t operator()(const http_key& k) const noexcept {
        std::uint64_t h = k.scenario;
        h = h * 0x9E3779B97F4A7C15ull ^ k.name;
        h = h * 0x9E3779B97F4A7C15ull ^ k.method;
        h = h * 0x9E3779B97F4A7C15ull ^ (std::uint64_t{k.status} << 17 | std::uint64_t{k.error} << 1 | k.expected);
        h = h * 0x9E3779B97F4A7C15ull ^ k.group;
        h = h * 0x9E3779B97F4A7C15ull ^ k.tags;
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

struct http_series {
    explicit http_series(chunk_pool* p)
        : duration(p),
          blocked(p),
          connecting(p),
          tls_handshaking(p),
          sending(p),
          waiting(p),
          receiving(p),
          duration_intended(p) {}
    http_key key;
    std::uint64_t reqs = 0;
    std::uint64_t failed = 0;
    histogram duration, blocked, connecting, tls_handshaking, sending, waiting, receiving;
    // open model: from the intended send (the iteration's scheduled start plus
    // the time the iteration took to get to this request) to the response's end
    histogram duration_intended;
};


// A check per scenario and group (as k6 keeps them: the same name in two
// groups is two checks).
struct check_key {
    std::uint32_t scenario, name, group = 0;
    bool operator==(const check_key&) const = default;
};
struct check_key_hash {
    std::size_t operator()(const check_key& k) const noexcept {
        return ((std::size_t{k.scenario} << 32) ^ k.name) * 0x9E3779B97F4A7C15ull ^ k.group;
    }
};

// A custom metric's samples (and group_duration's) under one tag set.
struct custom_key {
    std::uint32_t metric = 0;  // id in metric_registry
    std::uint32_t scenario = 0;
    std::uint32_t group = 0;
    std::uint32_t tags = 0;
    bool operator==(const custom_key&) const = default;
};
struct custom_key_hash {
    std::size_t operator()(const custom_key& k) const noexcept {
        std::uint64_t h = (std::uint64_t{k.metric} << 32) ^ k.scenario;
        h = h * 0x9E3779B97F4A7C15ull ^ ((std::uint64_t{k.group} << 32) | k.tags);
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};
struct custom_series {
    explicit custom_series(chunk_pool* p) : values(p) {}
    histogram values;                    // trend
    double sum = 0;                      // counter
    std::uint64_t trues = 0, total = 0;  // rate
    double last = 0, min = 0, max = 0;   // gauge
    std::int64_t last_ns = 0;
    std::uint64_t n = 0;  // samples of any kind
};

// "k\x1fv\x1ek\x1fv", sorted by key: one string per tag set, so a tag set
// interns to one id and compares as one integer.
using tag_pair = std::pair<std::string_view, std::string_view>;

inline void canonical_tags(std::span<const tag_pair> tags, std::string& out) {
    out.clear();
    const tag_pair* sorted[16];  // insertion sort of the (few) pairs by key
    std::size_t n = 0;
    for (auto& t : tags) {
        if (t.first.empty() || n == 16) continue;
        std::size_t i = n++;
        while (i > 0 && sorted[i - 1]->first > t.first) {
            sorted[i] = sorted[i - 1];
            --i;
        }
        sorted[i] = &t;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += '\x1e';
        out += sorted[i]->first;
        out += '\x1f';
        out += sorted[i]->second;
    }
}

// The id of a tag set in `strings`: its canonical string, interned (the one
// way a request's tags and a custom sample's tags become a series' key).
inline std::uint32_t intern_tags(string_table& strings, std::span<const tag_pair> tags) {
    thread_local std::string canonical;
    canonical_tags(tags, canonical);
    return strings.intern(canonical);
}

class metrics_shard {
  public:
    chunk_pool pool;  // first: every histogram of the shard draws on it
    string_table strings;

    metrics_shard() { strings.intern(""); }  // id 0: no group, no tags

    http_series& http(const http_key& k) {
        if (auto it = http_index_.find(k); it != http_index_.end()) return *it->second;
        http_.push_back(std::make_unique<http_series>(&pool));
        http_.back()->key = k;
        http_index_.emplace(k, http_.back().get());
        return *http_.back();
    }
    scenario_series& scenario(std::uint32_t id) {
        while (id >= scenarios_.size()) {
            scenarios_.emplace_back();
            scenarios_.back().iteration_duration.use_pool(&pool);
        }
        return scenarios_[id];
    }
    // `group`: the group's string id in this shard (0: none)
    check_series& check(std::uint32_t scenario, std::string_view name, std::uint32_t group = 0) {
        check_key k{scenario, strings.intern(name), group};
        return checks_[k];
    }

    custom_series& custom(const custom_key& k) {
        if (auto it = custom_.find(k); it != custom_.end()) return *it->second;
        return *custom_.emplace(k, std::make_unique<custom_series>(&pool)).first->second;
    }

    const std::vector<std::unique_ptr<http_series>>& http_all() const noexcept { return http_; }
    const std::unordered_map<custom_key, std::unique_ptr<custom_series>, custom_key_hash>& customs() const noexcept {
        return custom_;
    }
    const std::deque<scenario_series>& scenarios() const noexcept { return scenarios_; }
    const std::unordered_map<check_key, check_series, check_key_hash>& checks() const noexcept { return checks_; }

  private:
    std::vector<std::unique_ptr<http_series>> http_;
    std::unordered_map<http_key, http_series*, http_key_hash> http_index_;
    std::deque<scenario_series> scenarios_;
    std::unordered_map<check_key, check_series, check_key_hash> checks_;
    std::unordered_map<custom_key, std::unique_ptr<custom_series>, custom_key_hash> custom_;
};

}  // namespace loadkit::inline LOADKIT_ABI::detail
