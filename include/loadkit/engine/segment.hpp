#pragma once
// Execution segments (k6's): one instance of a test runs only its share
// [from, to) of every scenario, so N instances started apart (Kubernetes
// Indexed Jobs, Slurm tasks) together run exactly the whole test, with no
// coordinator.
//
// The split is exact and striped. A sequence of points 0 = p0 < p1 < ... < pn = 1
// cuts [0, 1) into segments; with L the least common denominator, a pattern
// of L slots gives each segment (p(i+1) - p(i)) * L slots, interleaved as
// evenly as possible. Element g (a VU's index, an arrival's number) belongs to
// the segment that owns slot g mod L. So for any count N the segments' shares
// add up to N, and each instance's VUs and arrivals are spread over the whole
// range instead of being one block: with four equal segments, instance 0 runs
// global VUs 0, 4, 8, ... and arrivals 0, 4, 8, ...
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "executors.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A fraction in [0, 1], exact.
struct fraction {
    std::int64_t num = 0, den = 1;
    friend bool operator==(const fraction& a, const fraction& b) { return a.num * b.den == b.num * a.den; }
    friend bool operator<(const fraction& a, const fraction& b) { return a.num * b.den < b.num * a.den; }
    std::string text() const {
        return den == 1 ? std::to_string(num) : std::to_string(num) + "/" + std::to_string(den);
    }
};

struct execution_segment {
    fraction from{0, 1}, to{1, 1};
    std::vector<fraction> sequence;  // empty: 0, from, to, 1
    bool whole() const { return from == fraction{0, 1} && to == fraction{1, 1}; }
    std::string text() const { return from.text() + ":" + to.text(); }
};

namespace detail {

inline fraction reduce(std::int64_t n, std::int64_t d) {
    auto g = std::gcd(n, d);
    return g ? fraction{n / g, d / g} : fraction{0, 1};
}

// "1/4", "0.25", "25%", "0", "1"; throws config_error saying what was expected.
inline fraction parse_fraction(std::string_view s, std::string_view what) {
    auto bad = [&]() -> fraction {
        throw config_error(std::string(what) + ": expected a fraction between 0 and 1 like 1/4, 0.25 or 25%, found '" +
                           std::string(s) + "'");
    };
    if (s.empty() || s.size() > 24) return bad();
    auto digits = [&](std::string_view t, std::int64_t& v) {
        if (t.empty() || t.size() > 9) return false;  // products of two stay within 64 bits
        v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') return false;
            v = v * 10 + (c - '0');
        }
        return true;
    };
    std::int64_t n = 0, d = 1;
    if (auto slash = s.find('/'); slash != std::string_view::npos) {
        if (!digits(s.substr(0, slash), n) || !digits(s.substr(slash + 1), d) || d == 0) return bad();
    } else if (s.back() == '%') {
        auto body = s.substr(0, s.size() - 1);
        auto dot = body.find('.');
        std::int64_t whole = 0, part = 0;
        auto frac = dot == std::string_view::npos ? std::string_view{} : body.substr(dot + 1);
        if (!digits(body.substr(0, dot), whole) || (dot != std::string_view::npos && !digits(frac, part))) return bad();
        d = 100;
        for (std::size_t i = 0; i < frac.size(); ++i) d *= 10;
        n = whole * (d / 100) + part;
    } else if (auto dot = s.find('.'); dot != std::string_view::npos) {
        std::int64_t whole = 0, part = 0;
        auto frac = s.substr(dot + 1);
        if (!digits(s.substr(0, dot), whole) || !digits(frac, part)) return bad();
        for (std::size_t i = 0; i < frac.size(); ++i) d *= 10;
        n = whole * d + part;
    } else if (!digits(s, n)) {
        return bad();
    }
    if (n > d || d > 1'000'000'000) return bad();
    return reduce(n, d);
}

}  // namespace detail

// "FROM:TO", e.g. "1/4:2/4" ("0:1" is the whole test).
inline execution_segment parse_execution_segment(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos)
        throw config_error("--execution-segment: expected FROM:TO like 1/4:2/4, found '" + std::string(s) + "'");
    execution_segment seg;
    seg.from = detail::parse_fraction(s.substr(0, colon), "--execution-segment");
    seg.to = detail::parse_fraction(s.substr(colon + 1), "--execution-segment");
    if (!(seg.from < seg.to))
        throw config_error("--execution-segment: FROM must be less than TO, found '" + std::string(s) + "'");
    return seg;
}

// "0,1/4,2/4,3/4,1": increasing points from 0 to 1.
inline std::vector<fraction> parse_segment_sequence(std::string_view s) {
    std::vector<fraction> out;
    while (true) {
        auto comma = s.find(',');
        out.push_back(detail::parse_fraction(s.substr(0, comma), "--execution-segment-sequence"));
        if (out.size() > 1 && !(out[out.size() - 2] < out.back()))
            throw config_error("--execution-segment-sequence: expected increasing points, found " +
                               out[out.size() - 2].text() + " then " + out.back().text());
        if (comma == std::string_view::npos) break;
        s = s.substr(comma + 1);
    }
    if (out.size() < 2 || !(out.front() == fraction{0, 1}) || !(out.back() == fraction{1, 1}))
        throw config_error("--execution-segment-sequence: expected points from 0 to 1 like 0,1/4,2/4,3/4,1");
    return out;
}

// "I/N" (I from 0): segment I/N:(I+1)/N of the sequence 0, 1/N, ..., 1.
inline execution_segment instance_segment(std::string_view s) {
    auto bad = [&]() -> execution_segment {
        throw config_error(
            "--instance: expected I/N with 0 <= I < N (I counts from 0, as JOB_COMPLETION_INDEX and SLURM_PROCID do), found '" +
            std::string(s) + "'");
    };
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return bad();
    std::int64_t i = 0, n = 0;
    try {
        std::size_t used = 0;
        i = std::stoll(std::string(s.substr(0, slash)), &used);
        if (used != slash) return bad();
        auto rest = std::string(s.substr(slash + 1));
        n = std::stoll(rest, &used);
        if (used != rest.size()) return bad();
    } catch (const std::exception&) {
        return bad();
    }
    if (n < 1 || n > 100000 || i < 0 || i >= n) return bad();
    execution_segment seg;
    seg.from = detail::reduce(i, n);
    seg.to = detail::reduce(i + 1, n);
    for (std::int64_t k = 0; k <= n; ++k) seg.sequence.push_back(detail::reduce(k, n));
    return seg;
}

namespace detail {

// This instance's stripe: the pattern of slots for its segment (see the top
// of this file). Throws config_error when the segment is not in the sequence.
inline stripe make_stripe(const execution_segment& seg) {
    if (seg.whole() && seg.sequence.empty()) return {};
    auto points = seg.sequence;
    if (points.empty()) {
        points.push_back({0, 1});
        if (!(seg.from == fraction{0, 1})) points.push_back(seg.from);
        points.push_back(seg.to);
        if (!(seg.to == fraction{1, 1})) points.push_back({1, 1});
    }
    std::int64_t l = 1;
    for (auto& p : points) {
        l = std::lcm(l, p.den);
        if (l > 1'000'000)
            throw config_error(
                "--execution-segment-sequence: the denominators' least common multiple is over 1,000,000");
    }
    std::size_t mine = points.size();
    for (std::size_t i = 0; i + 1 < points.size(); ++i)
        if (points[i] == seg.from && points[i + 1] == seg.to) mine = i;
    if (mine == points.size())
        throw config_error("--execution-segment " + seg.text() +
                           " is not one of the sequence's segments (between two neighbouring points)");
    // each segment's weight in slots of 1/L; slots dealt out by largest deficit
    std::vector<std::int64_t> weight, given(points.size() - 1, 0);
    for (std::size_t i = 0; i + 1 < points.size(); ++i)
        weight.push_back(points[i + 1].num * (l / points[i + 1].den) - points[i].num * (l / points[i].den));
    stripe st;
    st.period = l;
    st.own.clear();
    if (static_cast<std::int64_t>(weight.size()) == l) {  // N equal segments (--instance): slot i is segment i's
        st.own.push_back(static_cast<std::int64_t>(mine));
        return st;
    }
    if (static_cast<std::int64_t>(weight.size()) * l > 100'000'000)
        throw config_error("--execution-segment-sequence: too many segments for its denominators (" +
                           std::to_string(weight.size()) + " segments of 1/" + std::to_string(l) +
                           "); use fewer or rounder fractions");
    for (std::int64_t slot = 0; slot < l; ++slot) {
        std::size_t best = 0;
        std::int64_t best_deficit = std::numeric_limits<std::int64_t>::min();
        for (std::size_t s = 0; s < weight.size(); ++s) {
            std::int64_t deficit = (slot + 1) * weight[s] - l * given[s];
            if (given[s] < weight[s] && deficit > best_deficit) {
                best = s;
                best_deficit = deficit;
            }
        }
        ++given[best];
        if (best == mine) st.own.push_back(slot);
    }
    return st;
}

}  // namespace detail

// Throws config_error, saying why, when `seg` cannot be run: it is not one of
// its sequence's segments, or the sequence's denominators are too fine.
// (run() says the same; a front end may check its flags before any load.)
inline void validate_execution_segment(const execution_segment& seg) { (void)detail::make_stripe(seg); }

namespace detail {

// The executor as this instance runs it: counts scaled to its share. Closed
// models keep their schedule's shape (ramping-vus' stages stay global: the
// schedule maps VU indices through the share); open models keep their global
// rate (the schedule maps arrival numbers), and their VU pools are scaled.
// Returns false when the instance has nothing of this scenario to run.
inline bool scale_executor(executor& e, const stripe& share) {
    if (share.whole()) return true;
    return std::visit(
        [&](auto& x) -> bool {
            using T = std::decay_t<decltype(x)>;
            auto scaled = [&](std::int64_t n) { return static_cast<int>(share.scale(n)); };
            if constexpr (std::is_same_v<T, constant_vus> || std::is_same_v<T, per_vu_iterations>) {
                x.vus = scaled(x.vus);
                return x.vus > 0;
            } else if constexpr (std::is_same_v<T, shared_iterations>) {
                // iterations are the contract, VUs the means: an instance with
                // iterations of its own gets at least one VU to run them
                x.iterations = share.scale(x.iterations);
                x.vus = static_cast<int>(std::min<std::int64_t>(std::max(1, scaled(x.vus)), x.iterations));
                return x.iterations > 0;
            } else if constexpr (std::is_same_v<T, ramping_vus>) {
                return true;  // VU counts come from the global stages through the share
            } else if constexpr (std::is_same_v<T, externally_controlled>) {
                x.max_vus = scaled(std::max(x.max_vus, x.vus));
                x.vus = scaled(x.vus);
                return x.max_vus > 0;
            } else {
                int pre = scaled(x.pre_allocated_vus), max = scaled(std::max(x.max_vus, x.pre_allocated_vus));
                x.pre_allocated_vus = std::max(1, pre);
                x.max_vus = std::max(x.pre_allocated_vus, max);
                return true;
            }
        },
        e);
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
