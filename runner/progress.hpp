#pragma once
// The runner's live progress: one line redrawn in place on a terminal, plain
// periodic lines otherwise (CI logs, pipes). Per scenario: active VUs,
// iterations, requests per second over the last interval, failures.
#include <cstdio>
#include <map>
#include <string>

#include <loadkit/engine/options.hpp>

namespace loadkit::runner {

class progress_display {
  public:
    progress_display(std::FILE* out, bool terminal, bool color) : out_(out), terminal_(terminal), color_(color) {}

    void update(const loadkit::progress& p) {
        std::string line = p.final ? "done    " : "running ";
        char b[256];
        std::snprintf(b, sizeof b, "[%6.1fs/%.1fs]", p.elapsed_secs, p.total_secs);
        line += b;
        double dt = p.elapsed_secs - last_secs_;
        for (auto& s : p.scenarios) {
            auto& before = last_requests_[s.name];
            double rps = dt > 0 ? static_cast<double>(s.requests - before) / dt : 0;
            if (p.final) rps = p.elapsed_secs > 0 ? static_cast<double>(s.requests) / p.elapsed_secs : 0;
            before = s.requests;
            std::snprintf(b, sizeof b, " %s: %lld/%d VUs, %llu it, %.1f req/s, ", s.name.c_str(),
                          static_cast<long long>(s.active_vus), s.max_vus,
                          static_cast<unsigned long long>(s.iterations), rps);
            line += b;
            std::snprintf(b, sizeof b, "%llu failed", static_cast<unsigned long long>(s.failed_requests));
            line += s.failed_requests && color_ ? std::string("\x1b[31m") + b + "\x1b[0m" : std::string(b);
            if (s.dropped_iterations) {
                std::snprintf(b, sizeof b, ", %llu dropped", static_cast<unsigned long long>(s.dropped_iterations));
                line += b;
            }
            line += ";";
        }
        if (!line.empty() && line.back() == ';') line.pop_back();
        last_secs_ = p.elapsed_secs;
        if (terminal_) {
            // redraw in place; the final line stays
            std::fprintf(out_, "\r\x1b[2K%s%s", line.c_str(), p.final ? "\n" : "");
        } else {
            std::fprintf(out_, "%s\n", line.c_str());
        }
        std::fflush(out_);
    }

  private:
    std::FILE* out_;
    bool terminal_, color_;
    double last_secs_ = 0;
    std::map<std::string, std::uint64_t> last_requests_;
};

}  // namespace loadkit::runner
