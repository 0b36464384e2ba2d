#pragma once
// The runner's live progress. On a terminal: a block redrawn in place, as k6
// draws it: a line for the run (elapsed/total, VUs, iterations, requests/s,
// failures), then a line per scenario with a progress bar, each cut to the
// terminal's width, so that nothing wraps (a wrapped line cannot be erased
// by redrawing it: two scenarios on one line left stale rows on an 80-column
// terminal). Otherwise (CI logs, pipes): one plain line per period.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

#include <loadkit/engine/options.hpp>

namespace loadkit::runner {

class progress_display {
  public:
    progress_display(std::FILE* out, bool terminal, bool color) : out_(out), terminal_(terminal), color_(color) {}

    void update(const loadkit::progress& p) {
        double dt = p.elapsed_secs - last_secs_;
        rates_.clear();
        for (auto& s : p.scenarios) {
            auto& before = last_requests_[s.name];
            double rps = dt > 0 ? static_cast<double>(s.requests - before) / dt : 0;
            if (p.final) rps = p.elapsed_secs > 0 ? static_cast<double>(s.requests) / p.elapsed_secs : 0;
            before = s.requests;
            rates_.push_back(rps);
        }
        last_secs_ = p.elapsed_secs;
        if (terminal_) draw(p);
        else std::fprintf(out_, "%s\n", plain_line(p).c_str());
        std::fflush(out_);
    }

    // The terminal's width in columns: the terminal's own (it may be resized
    // during a run), else $COLUMNS, else 80.
    int width() const {
        winsize ws{};
        if (::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
        if (auto* c = std::getenv("COLUMNS"); c && std::atoi(c) > 0) return std::atoi(c);
        return 80;
    }

  private:
    static std::string head(const loadkit::progress& p) {
        char b[64];
        std::snprintf(b, sizeof b, "%s[%6.1fs/%.1fs]", p.final ? "done    " : "running ", p.elapsed_secs,
                      p.total_secs);
        return b;
    }

    // One line for logs: every scenario after the time.
    std::string plain_line(const loadkit::progress& p) const {
        std::string line = head(p);
        char b[256];
        for (std::size_t i = 0; i < p.scenarios.size(); ++i) {
            auto& s = p.scenarios[i];
            std::snprintf(b, sizeof b, " %s: %lld/%d VUs, %llu it, %.1f req/s, %llu failed", s.name.c_str(),
                          static_cast<long long>(s.active_vus), s.max_vus,
                          static_cast<unsigned long long>(s.iterations), rates_[i],
                          static_cast<unsigned long long>(s.failed_requests));
            line += b;
            if (s.dropped_iterations) {
                std::snprintf(b, sizeof b, ", %llu dropped", static_cast<unsigned long long>(s.dropped_iterations));
                line += b;
            }
            if (i + 1 < p.scenarios.size()) line += ";";
        }
        return line;
    }

    // The block: the run's line, then a line per scenario with its bar; the
    // cursor goes back up over the previous block first. Each line is cut to
    // width - 1 columns (the last column would make some terminals wrap).
    void draw(const loadkit::progress& p) {
        auto cols = static_cast<std::size_t>(std::max(20, width() - 1));
        std::int64_t vus = 0;
        int max_vus = 0;
        unsigned long long its = 0, failed = 0;
        double rps = 0;
        for (std::size_t i = 0; i < p.scenarios.size(); ++i) {
            vus += p.scenarios[i].active_vus;
            max_vus += p.scenarios[i].max_vus;
            its += p.scenarios[i].iterations;
            failed += p.scenarios[i].failed_requests;
            rps += rates_[i];
        }
        char b[256];
        std::snprintf(b, sizeof b, " %lld/%d VUs, %llu it, %.1f req/s, ", static_cast<long long>(vus), max_vus, its,
                      rps);
        std::string out;
        if (drawn_ > 1) out += "\x1b[" + std::to_string(drawn_ - 1) + "A";  // back to the block's first line
        out += "\r\x1b[2K" + fit(head(p) + b, failed, cols);
        // the scenarios' lines: name, bar, counts; one bar width for all (the
        // bars line up), what the longest text leaves, up to 40; none under 6
        std::size_t name_w = 0;
        for (auto& s : p.scenarios) name_w = std::max(name_w, std::min<std::size_t>(s.name.size(), 32));
        std::vector<std::pair<std::string, std::string>> rows;  // (name column, counts)
        std::size_t longest = 0;
        for (std::size_t i = 0; i < p.scenarios.size(); ++i) {
            auto& s = p.scenarios[i];
            std::string name = s.name.size() > 32 ? s.name.substr(0, 31) + "~" : s.name;
            std::snprintf(b, sizeof b, " %lld/%d VUs %llu it %.1f/s ", static_cast<long long>(s.active_vus), s.max_vus,
                          static_cast<unsigned long long>(s.iterations), rates_[i]);
            std::string tail = b;
            if (s.dropped_iterations) {
                std::snprintf(b, sizeof b, "%llu dropped ", static_cast<unsigned long long>(s.dropped_iterations));
                tail += b;
            }
            rows.emplace_back(name + ":" + std::string(name_w - name.size() + 1, ' '), std::move(tail));
            std::snprintf(b, sizeof b, "%llu failed", static_cast<unsigned long long>(s.failed_requests));
            longest = std::max(longest, rows.back().first.size() + rows.back().second.size() + std::strlen(b) + 2);
        }
        std::size_t bar_w = cols >= longest + 6 ? std::min<std::size_t>(40, cols - longest) : 0;
        for (std::size_t i = 0; i < p.scenarios.size(); ++i) {
            auto& s = p.scenarios[i];
            auto line = rows[i].first;
            if (bar_w) {
                double frac = p.final ? 1.0 : s.end_secs > 0 ? p.elapsed_secs / s.end_secs : 0.0;
                auto done = static_cast<std::size_t>(std::clamp(frac, 0.0, 1.0) * static_cast<double>(bar_w));
                std::string bar(bar_w, '-');
                std::fill(bar.begin(), bar.begin() + static_cast<std::ptrdiff_t>(done), '=');
                if (done < bar_w) bar[done] = '>';
                line += "[" + bar + "]";
            }
            out += "\n\r\x1b[2K" + fit(line + rows[i].second, s.failed_requests, cols);
        }
        if (p.final) out += "\n";
        drawn_ = p.final ? 0 : 1 + p.scenarios.size();
        std::fputs(out.c_str(), out_);
    }

    // `text` + "N failed", cut to `cols`; the count in red when there are
    // failures and colors are on (and it was not cut).
    std::string fit(std::string text, unsigned long long failed, std::size_t cols) const {
        char b[48];
        std::snprintf(b, sizeof b, "%llu failed", failed);
        if (text.size() + std::char_traits<char>::length(b) > cols) {
            text += b;
            text.resize(cols);
            return text;
        }
        return text + (failed && color_ ? std::string("\x1b[31m") + b + "\x1b[0m" : std::string(b));
    }

    std::FILE* out_;
    bool terminal_, color_;
    double last_secs_ = 0;
    std::map<std::string, std::uint64_t> last_requests_;
    std::vector<double> rates_;  // this update's requests/s, per scenario
    std::size_t drawn_ = 0;      // lines of the block on screen (0: none, or the final one stays)
};

}  // namespace loadkit::runner
