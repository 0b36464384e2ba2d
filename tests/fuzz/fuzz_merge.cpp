// libFuzzer target: `loadkit merge`'s input. The bytes are one exported run
// (--summary-export); its "state" is merged alone, with itself, and the merged
// state merged again, as `loadkit merge A B` and a merge of merges do
// (report/state.hpp). Any input must end in a merged run or a
// std::invalid_argument naming the file (which the runner reports with exit
// 104): never a crash, a sanitizer report or another exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <loadkit/engine/state.hpp>

namespace {

bool merge(const std::vector<std::pair<std::string, nlohmann::json>>& states, nlohmann::json* merged) {
    try {
        auto m = loadkit::merge_runs(states);
        if (m.summary.is_discarded() || m.state.is_null()) std::abort();
        // what the runner writes must serialise (invalid UTF-8 is replaced)
        auto text = loadkit::export_text(m.summary, m.state);
        if (text.empty()) std::abort();
        if (merged) *merged = std::move(m.state);
        return true;
    } catch (const std::invalid_argument& e) {
        if (std::string_view(e.what()).empty()) std::abort();  // a refusal says why
        return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) return 0;  // not JSON: the runner refuses it before merging
    // the runner takes an export's "state"; a bare state is fuzzed as one too
    nlohmann::json state = j.is_object() && j.contains("state") ? j["state"] : j;
    nlohmann::json merged;
    if (!merge({{"a.json", state}}, &merged)) return 0;
    // a run merged with itself, then the result merged again: still accepted
    // (a state loadkit wrote must always merge)
    nlohmann::json twice;
    if (!merge({{"a.json", state}, {"b.json", state}}, &twice)) std::abort();
    if (!merge({{"merged.json", merged}, {"merged2.json", twice}}, nullptr)) std::abort();
    return 0;
}
