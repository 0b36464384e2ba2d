#pragma once
// Statistics that compare two histograms (two runs' samples of one metric),
// computed exactly on their buckets: no resampling, no randomness, the same
// answer every time. What `loadkit compare` decides "beyond noise" with.
//
//   rank_test        Mann-Whitney U over the binned samples (a bucket is a
//                    tie), with its effect size A = P(new > base) + P(tie)/2
//                    (Vargha and Delaney's A: 0.5 when neither run is slower)
//   shift_estimate   how much: Hodges and Lehmann's shift, the median of the
//                    differences between a new and a base sample
//   quantile_test    a percentile's change against the distribution-free
//                    interval of each run's percentile (order statistics: the
//                    rank of the q-quantile among n samples is binomial)
//   mean_test        Welch's z on the means (exact sums, variance from buckets)
//   proportion_test  two proportions (failure and check rates), pooled z
//   count_rate_test  two counts over two durations (requests per second):
//                    under equal rates the second's share is binomial
//
// Every test is two-sided and returns z and its p-value from the normal
// distribution (the runs have thousands of samples). They assume
// independent samples; requests of one run are not quite (the machine's
// load drifts), which is why a caller also asks for a minimum effect.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../core/config.hpp"
#include "histogram.hpp"

namespace loadkit::inline LOADKIT_ABI {

// z and its two-sided p-value (1 when nothing could differ).
struct stat_test {
    double z = 0, p = 1;
};

// Mann-Whitney's U as its effect size `a` (P(new > base) + P(tie)/2) and test.
struct rank_result {
    double a = 0.5, z = 0, p = 1;
};

// A percentile and the interval its true value lies in (95% unless asked
// otherwise), in the histogram's units; the bounds are bucket edges, so the
// bucket's width counts as uncertainty too.
struct quantile_interval {
    double value = 0, low = 0, high = 0;
};

inline double two_sided_p(double z) noexcept { return std::isfinite(z) ? std::erfc(std::fabs(z) / std::sqrt(2.0)) : 0; }

namespace detail {

struct bucket_span {
    std::uint64_t lo, hi, n;
};
inline std::vector<bucket_span> buckets_of(const histogram& h) {
    std::vector<bucket_span> out;
    h.for_each_bucket([&](std::uint64_t lo, std::uint64_t hi, std::uint64_t n) { out.push_back({lo, hi, n}); });
    return out;
}
inline stat_test z_test(double diff, double se) noexcept {
    if (diff == 0) return {0, 1};
    if (!(se > 0)) return {diff > 0 ? INFINITY : -INFINITY, 0};
    double z = diff / se;
    return {z, two_sided_p(z)};
}

}  // namespace detail

// The rank test of `next` against `base`. Both histograms share bucket edges,
// so one pass over the two sorted bucket lists counts, for each bucket, how
// many base samples lie below it: U = sum of next's counts times (base below
// + half the base ties). The variance has the tie correction, which matters:
// buckets make ties of nearly every sample.
inline rank_result rank_test(const histogram& base, const histogram& next) {
    rank_result r;
    const double n1 = static_cast<double>(base.count()), n2 = static_cast<double>(next.count());
    if (n1 == 0 || n2 == 0) return r;
    auto a = detail::buckets_of(base), b = detail::buckets_of(next);
    long double u = 0, below = 0, ties = 0;
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        std::uint64_t lo = std::min(i < a.size() ? a[i].lo : UINT64_MAX, j < b.size() ? b[j].lo : UINT64_MAX);
        long double ka = i < a.size() && a[i].lo == lo ? static_cast<long double>(a[i++].n) : 0;
        long double kb = j < b.size() && b[j].lo == lo ? static_cast<long double>(b[j++].n) : 0;
        u += kb * (below + ka / 2);
        below += ka;
        long double t = ka + kb;
        ties += t * t * t - t;
    }
    const long double n = n1 + n2;
    r.a = static_cast<double>(u / (static_cast<long double>(n1) * n2));
    long double var = static_cast<long double>(n1) * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
    long double d = u - static_cast<long double>(n1) * n2 / 2;
    if (var <= 0) return {r.a, 0, 1};  // every sample in one bucket: nothing to rank
    // continuity correction: U moves in steps of 1/2
    long double cd = std::max<long double>(0, std::fabs(d) - 0.5L);
    r.z = static_cast<double>((d < 0 ? -cd : cd) / std::sqrt(var));
    r.p = two_sided_p(r.z);
    return r;
}

// The Hodges-Lehmann shift of `next` from `base` (the median of next - base
// over all pairs of samples, at bucket midpoints): the size of the change
// the rank test sees. Bisection on the shift d, counting the pairs with a
// difference <= d in one pass over the sorted buckets each time.
inline double shift_estimate(const histogram& base, const histogram& next) {
    if (base.count() == 0 || next.count() == 0) return 0;
    auto mids = [](const histogram& h) {
        std::vector<std::pair<double, double>> out;  // (midpoint, count)
        h.for_each_bucket([&](std::uint64_t lo, std::uint64_t hi, std::uint64_t k) {
            out.emplace_back((static_cast<double>(lo) + static_cast<double>(hi)) / 2, static_cast<double>(k));
        });
        return out;
    };
    auto a = mids(base), b = mids(next);
    const long double half = static_cast<long double>(base.count()) * static_cast<long double>(next.count()) / 2;
    // pairs with b - a <= d: for each b, from the highest down, the a >= b - d
    // (a threshold that only falls, so a pointer into `a` that only moves down)
    auto at_most = [&](double d) {
        long double n = 0, above = 0;  // above: base count with midpoint >= b - d
        std::size_t i = a.size();
        for (auto j = b.size(); j-- > 0;) {
            while (i > 0 && a[i - 1].first >= b[j].first - d) above += a[--i].second;
            n += static_cast<long double>(b[j].second) * above;
        }
        return n;
    };
    double lo = b.front().first - a.back().first, hi = b.back().first - a.front().first;
    for (int it = 0; it < 100 && hi - lo > 0.5; ++it) {
        double mid = (lo + hi) / 2;
        (at_most(mid) >= half ? hi : lo) = mid;
    }
    return hi;
}

// The q-quantile (nearest rank, as histogram::quantile) and its interval:
// the ranks n*q -+ z*sqrt(n*q*(1-q)) (the normal approximation of the
// binomial count of samples below the true quantile), read as the lower edge
// of the lower rank's bucket and the upper edge of the upper rank's, within
// the exact min and max.
inline quantile_interval quantile_ci(const histogram& h, double q, double z = 1.959964) {
    quantile_interval out;
    const auto n = h.count();
    if (n == 0) return out;
    q = std::clamp(q, 0.0, 1.0);
    const double nd = static_cast<double>(n), half = z * std::sqrt(nd * q * (1 - q));
    auto rank = [&](double r) { return static_cast<std::uint64_t>(std::clamp(r, 1.0, nd)); };
    const std::uint64_t r_lo = rank(std::floor(nd * q - half)), r_hi = rank(std::ceil(nd * q + half) + 1);
    out.value = h.quantile(q);
    out.low = out.high = out.value;
    bool have_lo = false, have_hi = false;
    std::uint64_t seen = 0;
    h.for_each_bucket([&](std::uint64_t lo, std::uint64_t hi, std::uint64_t k) {
        seen += k;
        if (!have_lo && seen >= r_lo) {
            out.low = static_cast<double>(std::max(lo, h.min()));
            have_lo = true;
        }
        if (!have_hi && seen >= r_hi) {
            out.high = static_cast<double>(std::min(hi, h.max()));
            have_hi = true;
        }
    });
    if (!have_hi) out.high = static_cast<double>(h.max());
    out.low = std::min(out.low, out.value);
    out.high = std::max(out.high, out.value);
    return out;
}

// A percentile's change: the difference over the two intervals' standard
// errors (each interval's half-width over z).
inline stat_test quantile_test(const histogram& base, const histogram& next, double q, double z = 1.959964) {
    if (base.count() == 0 || next.count() == 0) return {};
    auto a = quantile_ci(base, q, z), b = quantile_ci(next, q, z);
    double se_a = (a.high - a.low) / (2 * z), se_b = (b.high - b.low) / (2 * z);
    return detail::z_test(b.value - a.value, std::sqrt(se_a * se_a + se_b * se_b));
}

// A histogram's variance from its buckets' midpoints around the exact mean.
inline double histogram_variance(const histogram& h) {
    if (h.count() < 2) return 0;
    const double mean = h.mean();
    long double s = 0;
    h.for_each_bucket([&](std::uint64_t lo, std::uint64_t hi, std::uint64_t k) {
        double mid = (static_cast<double>(lo) + static_cast<double>(hi)) / 2 - mean;
        s += static_cast<long double>(k) * mid * mid;
    });
    return static_cast<double>(s / static_cast<long double>(h.count() - 1));
}

inline stat_test mean_test(const histogram& base, const histogram& next) {
    if (base.count() < 2 || next.count() < 2) return {};
    double se = std::sqrt(histogram_variance(base) / static_cast<double>(base.count()) +
                          histogram_variance(next) / static_cast<double>(next.count()));
    return detail::z_test(next.mean() - base.mean(), se);
}

// k1 of n1 against k2 of n2.
inline stat_test proportion_test(double k1, double n1, double k2, double n2) {
    if (!(n1 > 0) || !(n2 > 0)) return {};
    double pooled = (k1 + k2) / (n1 + n2);
    return detail::z_test(k2 / n2 - k1 / n1, std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)));
}

// n1 events in t1 seconds against n2 in t2. A closed model's requests are
// more regular than Poisson's, so this errs towards "within noise".
inline stat_test count_rate_test(double n1, double t1, double n2, double t2) {
    if (!(t1 > 0) || !(t2 > 0) || n1 + n2 <= 0) return {};
    double n = n1 + n2, share = t2 / (t1 + t2);
    return detail::z_test(n2 - n * share, std::sqrt(n * share * (1 - share)));
}

}  // namespace loadkit::inline LOADKIT_ABI
