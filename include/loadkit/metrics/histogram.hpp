#pragma once
// A log-linear (HDR-style) histogram of non-negative integers (loadkit records
// nanoseconds). Each power of two is cut into 64 equal buckets, so a bucket is
// at most 1/64 of its values wide; reporting the bucket's midpoint bounds the
// relative error by 1/128 (0.78%). Memory is bounded (at most 38 chunks of
// 64 counters) and allocated per power of two on first use, so a latency
// histogram that spans 20 us..20 ms costs about 6 KB. Histograms merge exactly
// (counts add), which is what makes per-thread shards and multi-machine
// summaries agree with a single run.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {
// Chunks of 64 counters, carved out of 64 KiB slabs. Each thread's metric
// shard owns one, so a histogram reaching a new power of two for the first
// time (a latency outlier) takes a chunk here instead of calling malloc on the
// request's path; a slab is allocated once per 128 chunks.
class chunk_pool {
  public:
    static constexpr std::size_t chunk = 64;
    static constexpr std::size_t per_slab = 128;
    chunk_pool() { refill(); }
    chunk_pool(const chunk_pool&) = delete;
    chunk_pool& operator=(const chunk_pool&) = delete;
    std::uint64_t* take() {
        if (next_ == end_) [[unlikely]]
            refill();
        auto* p = next_;
        next_ += chunk;
        return p;  // slabs are zeroed when made, chunks are never reused
    }
    std::size_t bytes() const noexcept { return slabs_.size() * per_slab * chunk * sizeof(std::uint64_t); }

  private:
    void refill() {
        slabs_.emplace_back(new std::uint64_t[chunk * per_slab]());
        next_ = slabs_.back().get();
        end_ = next_ + chunk * per_slab;
    }
    std::vector<std::unique_ptr<std::uint64_t[]>> slabs_;
    std::uint64_t* next_ = nullptr;
    std::uint64_t* end_ = nullptr;
};
}  // namespace detail

class histogram {
  public:
    static constexpr int sub_bits = 6;  // 64 buckets per power of two
    static constexpr std::uint64_t sub_count = 1u << sub_bits;
    static constexpr int max_bits = 43;                     // values up to 2^43 ns (2.4 hours); larger clamp
    static constexpr int chunks = max_bits - sub_bits + 1;  // chunk 0: [0, 64) exactly; chunk c: [2^(c+5), 2^(c+6))
    static constexpr std::uint64_t max_value = (std::uint64_t{1} << max_bits) - 1;

    histogram() = default;
    // A histogram whose chunks come from `pool` (which must outlive it).
    explicit histogram(detail::chunk_pool* pool) noexcept : pool_(pool) {}
    histogram(const histogram& o) { merge(o); }
    histogram(histogram&& o) noexcept
        : chunks_(o.chunks_), pool_(o.pool_), count_(o.count_), sum_(o.sum_), min_(o.min_), max_(o.max_) {
        o.chunks_ = {};
        o.count_ = 0;
    }
    histogram& operator=(histogram&& o) noexcept {
        if (this != &o) {
            release();
            chunks_ = o.chunks_;
            pool_ = o.pool_;
            count_ = o.count_;
            sum_ = o.sum_;
            min_ = o.min_;
            max_ = o.max_;
            o.chunks_ = {};
            o.count_ = 0;
        }
        return *this;
    }
    histogram& operator=(const histogram& o) {
        if (this == &o) return *this;
        clear();
        merge(o);
        return *this;
    }
    ~histogram() { release(); }

    // Only while empty: where later chunks come from.
    void use_pool(detail::chunk_pool* pool) noexcept {
        if (count_ == 0 && !any_chunk()) pool_ = pool;
    }

    // Inlined wherever it is called: a request records eight of these, and
    // as a call each cost as much again as its own work (callgrind: 4% of
    // the client's instructions per request went to the calls).
    [[gnu::always_inline]] void record(std::uint64_t v) noexcept {
        v = std::min(v, max_value);
        auto [c, i] = locate(v);
        auto*& chunk = chunks_[c];
        if (!chunk) [[unlikely]]
            chunk = make_chunk();
        ++chunk[i];
        ++count_;
        sum_ += v;
        if (v < min_) min_ = v;
        if (v > max_) max_ = v;
    }

    void merge(const histogram& o) {
        if (o.count_ == 0) return;
        for (int c = 0; c < chunks; ++c) {
            if (!o.chunks_[c]) continue;
            if (!chunks_[c]) chunks_[c] = make_chunk();
            for (std::size_t i = 0; i < sub_count; ++i) chunks_[c][i] += o.chunks_[c][i];
        }
        count_ += o.count_;
        sum_ += o.sum_;
        min_ = std::min(min_, o.min_);
        max_ = std::max(max_, o.max_);
    }

    void clear() noexcept {
        for (auto* c : chunks_)
            if (c) std::fill(c, c + sub_count, std::uint64_t{0});
        count_ = 0;
        sum_ = 0;
        min_ = std::numeric_limits<std::uint64_t>::max();
        max_ = 0;
    }

    std::uint64_t count() const noexcept { return count_; }
    // Exact: the sum of the recorded (clamped) values, not of bucket midpoints.
    double sum() const noexcept { return static_cast<double>(sum_); }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }

    // The value at quantile q in [0, 1] (nearest rank, as k6 and HdrHistogram
    // report), as the midpoint of its bucket clamped to the exact min and max.
    double quantile(double q) const noexcept {
        if (count_ == 0) return 0.0;
        q = std::clamp(q, 0.0, 1.0);
        auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
        rank = std::clamp<std::uint64_t>(rank, 1, count_);
        std::uint64_t seen = 0;
        for (int c = 0; c < chunks; ++c) {
            if (!chunks_[c]) continue;
            for (std::size_t i = 0; i < sub_count; ++i) {
                seen += chunks_[c][i];
                if (seen >= rank) {
                    auto [lo, hi] = bounds(c, i);
                    double mid = (static_cast<double>(lo) + static_cast<double>(hi)) / 2.0;
                    return std::clamp(mid, static_cast<double>(min_), static_cast<double>(max_));
                }
            }
        }
        return static_cast<double>(max_);
    }

    // Buckets with a count, as (lowest value, highest value, count): what an
    // exporter (Prometheus, a mergeable summary) needs, lowest first.
    template <class F>
    void for_each_bucket(F&& f) const {
        for (int c = 0; c < chunks; ++c) {
            if (!chunks_[c]) continue;
            for (std::size_t i = 0; i < sub_count; ++i)
                if (auto k = chunks_[c][i]) {
                    auto [lo, hi] = bounds(c, i);
                    f(lo, hi, k);
                }
        }
    }
    // Adds n values at v (the inverse of for_each_bucket, for loading an
    // exported histogram).
    void record_n(std::uint64_t v, std::uint64_t n) {
        if (n == 0) return;
        v = std::min(v, max_value);
        auto [c, i] = locate(v);
        if (!chunks_[c]) chunks_[c] = make_chunk();
        chunks_[c][i] += n;
        count_ += n;
        sum_ += v * n;
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
    }

    // After loading buckets with record_n: the exact sum, min and max that
    // were exported with them (bucket midpoints would lose them).
    void restore_exact(std::uint64_t sum, std::uint64_t min, std::uint64_t max) noexcept {
        if (count_ == 0) return;
        sum_ = sum;
        min_ = min;
        max_ = max;
    }

    // Bytes this histogram holds (for memory accounting in tests).
    std::size_t memory_bytes() const noexcept {
        std::size_t b = sizeof(*this);
        for (auto* c : chunks_)
            if (c) b += sub_count * sizeof(std::uint64_t);
        return b;
    }

  private:
    bool any_chunk() const noexcept {
        for (auto* c : chunks_)
            if (c) return true;
        return false;
    }
    std::uint64_t* make_chunk() {
        if (pool_) return pool_->take();
        return new std::uint64_t[sub_count]();
    }
    void release() noexcept {
        if (!pool_)
            for (auto* c : chunks_) delete[] c;
        chunks_ = {};
    }
    // chunk 0: [0, 64), one value per bucket; chunk c >= 1 holds the power of
    // two [2^(c+5), 2^(c+6)) in 64 buckets of 2^(c-1).
    static std::pair<int, std::size_t> locate(std::uint64_t v) noexcept {
        if (v < sub_count) return {0, static_cast<std::size_t>(v)};
        int msb = 63 - std::countl_zero(v);
        int shift = msb - sub_bits;
        return {msb - sub_bits + 1, static_cast<std::size_t>((v >> shift) - sub_count)};
    }
    static std::pair<std::uint64_t, std::uint64_t> bounds(int c, std::size_t i) noexcept {
        if (c == 0) return {i, i};
        int shift = c - 1;
        std::uint64_t lo = (sub_count + i) << shift;
        return {lo, lo + (std::uint64_t{1} << shift) - 1};
    }

    std::array<std::uint64_t*, chunks> chunks_{};
    detail::chunk_pool* pool_ = nullptr;
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

}  // namespace loadkit::inline LOADKIT_ABI
