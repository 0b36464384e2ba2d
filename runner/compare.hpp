#pragma once
// `loadkit compare` and `loadkit run --baseline`: their flags (CLI11) and
// the checks of their values that need no file. Running them is
// compare_command.hpp (this header stays light: the CLI fuzzer includes it).
//
//   loadkit compare BASE.json NEW.json [MORE.json...] [--fail-on GATE]... [--format text|markdown|json]
//                   [--report FILE.html] [--alpha P] [--min-effect PERCENT] [--min-effect-pp PP]
//                   [--names N] [--all]
//   loadkit run TEST --baseline BASE.json [--fail-on GATE]...
//
// Exit codes: 0 compared (whatever the verdicts), 99 a --fail-on gate failed,
// 104 an input is missing, unreadable or not a summary export, 2 a mistake
// on the command line (a --fail-on that does not parse among them), 1 the
// report could not be written.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace loadkit::runner {

struct compare_flags {
    std::vector<std::string> files;    // compare: the baseline, then the runs compared with it
    std::string baseline;              // run --baseline
    std::vector<std::string> fail_on;  // --fail-on, as written (parsed once the metrics are known)
    std::string format = "text", report;
    double alpha = 0.001, min_effect = 5, min_effect_pp = 0.1;
    int names = 20;
    bool all = false;
};

inline void add_compare_options(CLI::App* cmd, compare_flags& f, bool standalone) {
    cmd->add_option("--fail-on", f.fail_on,
                    "A gate on a change (repeatable): p(95)>+10%, http_req_failed>+0.5pp, "
                    "http_req_duration{name:login}:p(99)>+5%, avg>+2ms, http_reqs<-10%; exit 99 when one fails")
        ->take_all();
    if (!standalone) return;
    cmd->add_option("--format", f.format, "text, markdown or json")->check(CLI::IsMember({"text", "markdown", "json"}));
    cmd->add_option("--report", f.report, "Write a self-contained HTML page with both runs' charts here");
    cmd->add_option("--alpha", f.alpha, "The p-value below which a change can be beyond noise (default 0.001)")
        ->check(CLI::Range(1e-12, 0.5));
    cmd->add_option("--min-effect", f.min_effect,
                    "The smallest relative change, in %, of a time or a per-second rate that counts (default 5)")
        ->check(CLI::Range(0.0, 1000.0));
    cmd->add_option("--min-effect-pp", f.min_effect_pp,
                    "The smallest change, in percentage points, of a failure or check rate that counts (default 0.1)")
        ->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--names", f.names, "Request names shown, the busiest first (0: all; default 20)")
        ->check(CLI::Range(0, 1000000));
    cmd->add_flag("--all", f.all, "Also the phases of requests (blocked, waiting...), data, and sub-metrics");
}

inline CLI::App* add_compare_command(CLI::App& app, compare_flags& f) {
    auto* cmd = app.add_subcommand("compare", "Compare runs' summary exports: what changed beyond noise");
    cmd->add_option("files", f.files,
                    "BASE.json NEW.json [...]: exports of `loadkit run --summary-export` or `loadkit merge -o`; "
                    "each after the first is compared with the first")
        ->required()
        ->expected(2, 1000);
    add_compare_options(cmd, f, true);
    return cmd;
}

inline void add_baseline_flags(CLI::App* run_cmd, compare_flags& f) {
    run_cmd->add_option("--baseline", f.baseline,
                        "Compare the run with this summary export at its end (the table under the summary)");
    add_compare_options(run_cmd, f, false);
}

}  // namespace loadkit::runner
