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

namespace loadkit {

class histogram {
  public:
    static constexpr int sub_bits = 6;                    // 64 buckets per power of two
    static constexpr std::uint64_t sub_count = 1u << sub_bits;
    static constexpr int max_bits = 43;                   // values up to 2^43 ns (2.4 hours); larger clamp
    static constexpr int chunks = max_bits - sub_bits + 1;  // chunk 0 holds [0, 128) exactly
    static constexpr std::uint64_t max_value = (std::uint64_t{1} << max_bits) - 1;

    histogram() = default;
    histogram(const histogram& o) { *this = o; }
    histogram(histogram&&) noexcept = default;
    histogram& operator=(histogram&&) noexcept = default;
    histogram& operator=(const histogram& o) {
        if (this == &o) return *this;
        clear();
        merge(o);
        return *this;
    }

    void record(std::uint64_t v) noexcept {
        v = std::min(v, max_value);
        auto [c, i] = locate(v);
        auto& chunk = chunks_[c];
        if (!chunk) [[unlikely]] chunk = make_chunk(c);
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
            if (!chunks_[c]) chunks_[c] = make_chunk(c);
            for (std::size_t i = 0, n = chunk_size(c); i < n; ++i) chunks_[c][i] += o.chunks_[c][i];
        }
        count_ += o.count_;
        sum_ += o.sum_;
        min_ = std::min(min_, o.min_);
        max_ = std::max(max_, o.max_);
    }

    void clear() noexcept {
        for (auto& c : chunks_) c.reset();
        count_ = 0; sum_ = 0; min_ = std::numeric_limits<std::uint64_t>::max(); max_ = 0;
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
            for (std::size_t i = 0, n = chunk_size(c); i < n; ++i) {
                seen += chunks_[c][i];
                if (seen >= rank) {
                    double mid = midpoint(c, i);
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
            for (std::size_t i = 0, n = chunk_size(c); i < n; ++i)
                if (auto k = chunks_[c][i]) {
                    auto [lo, hi] = bounds(c, i);
                    f(lo, hi, k);
                }
        }
    }
    // Adds count values at v (the inverse of for_each_bucket, for loading an
    // exported histogram): the count lands in v's bucket; sum grows by v*count.
    void record_n(std::uint64_t v, std::uint64_t n) {
        if (n == 0) return;
        v = std::min(v, max_value);
        auto [c, i] = locate(v);
        if (!chunks_[c]) chunks_[c] = make_chunk(c);
        chunks_[c][i] += n;
        count_ += n;
        sum_ += v * n;
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
    }
    void set_exact(std::uint64_t sum, std::uint64_t min, std::uint64_t max) noexcept {
        if (count_) { sum_ = sum; min_ = min; max_ = max; }
    }

    // Bytes this histogram holds (for memory accounting in tests).
    std::size_t memory_bytes() const noexcept {
        std::size_t b = sizeof(*this);
        for (int c = 0; c < chunks; ++c)
            if (chunks_[c]) b += chunk_size(c) * sizeof(std::uint64_t);
        return b;
    }

  private:
    static constexpr std::size_t chunk_size(int c) noexcept { return c == 0 ? 2 * sub_count : sub_count; }
    static std::unique_ptr<std::uint64_t[]> make_chunk(int c) {
        return std::unique_ptr<std::uint64_t[]>(new std::uint64_t[chunk_size(c)]());
    }
    // chunk 0: [0, 128) one value per bucket; chunk c >= 1: [64*2^c, 128*2^c), 64 buckets of 2^c.
    static std::pair<int, std::size_t> locate(std::uint64_t v) noexcept {
        if (v < 2 * sub_count) return {0, static_cast<std::size_t>(v)};
        int msb = 63 - std::countl_zero(v);
        int shift = msb - sub_bits;
        return {shift, static_cast<std::size_t>((v >> shift) - sub_count)};
    }
    static std::pair<std::uint64_t, std::uint64_t> bounds(int c, std::size_t i) noexcept {
        if (c == 0) return {i, i};
        std::uint64_t lo = (sub_count + i) << c;
        return {lo, lo + (std::uint64_t{1} << c) - 1};
    }
    static double midpoint(int c, std::size_t i) noexcept {
        auto [lo, hi] = bounds(c, i);
        return (static_cast<double>(lo) + static_cast<double>(hi)) / 2.0;
    }

    std::array<std::unique_ptr<std::uint64_t[]>, chunks> chunks_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

}  // namespace loadkit
