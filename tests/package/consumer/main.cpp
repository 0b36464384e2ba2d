// Uses the whole umbrella header (so every dependency must have been found
// through loadkit::loadkit) but instantiates little, to stay quick to build.
#include <loadkit.hpp>

#include <cstdio>

int main() {
    loadkit::histogram h;
    for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
    loadkit::detail::url_parts u;
    bool ok = loadkit::detail::split_url("http://127.0.0.1:8080/x", u) && u.port == 8080 && h.count() == 1000;
    std::printf("loadkit %s consumer: %s\n", std::string(loadkit::version).c_str(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
