// libFuzzer target: the client's HTTP/1.x response-head parser and chunked
// decoder (http/parser.hpp) on arbitrary bytes, as a server could send them.
// Besides "no crash, no sanitizer report", the parser's contract is checked:
// a complete head's length lies inside the input and every header view points
// into it; a head found complete is "need more" (0) for each shorter prefix
// that is long enough to be judged; the chunked decoder gives the same body
// and the same verdict whether the bytes come at once or one by one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <loadkit/http/parser.hpp>

namespace {

using headers_t = std::vector<std::pair<std::string_view, std::string_view>>;

bool inside(std::string_view outer, std::string_view v) {
    return v.empty() || (v.data() >= outer.data() && v.data() + v.size() <= outer.data() + outer.size());
}

void check_head(std::string_view buf) {
    loadkit::detail::response_head h;
    headers_t hs;
    auto n = loadkit::detail::parse_response_head(buf, h, hs);
    if (n < -1 || n > static_cast<std::ptrdiff_t>(buf.size())) std::abort();
    if (n <= 0) return;
    if (h.status < 100 || h.status > 999 || (h.minor_version != 0 && h.minor_version != 1)) std::abort();
    if (h.chunked && h.content_length != -1) std::abort();
    if (!inside(buf.substr(0, static_cast<std::size_t>(n)), h.reason)) std::abort();
    for (auto& [k, v] : hs)
        if (k.empty() || !inside(buf.substr(0, static_cast<std::size_t>(n)), k) ||
            !inside(buf.substr(0, static_cast<std::size_t>(n)), v))
            std::abort();
    // the same head cut short is incomplete, not malformed (the client keeps
    // reading): a few prefixes, not all, to keep each run short
    for (std::size_t k :
         {std::size_t{0}, std::size_t{1}, static_cast<std::size_t>(n) / 2, static_cast<std::size_t>(n) - 1}) {
        headers_t hs2;
        loadkit::detail::response_head h2;
        if (loadkit::detail::parse_response_head(buf.substr(0, k), h2, hs2) != 0) std::abort();
    }
}

void check_chunked(std::string_view in) {
    using r = loadkit::detail::chunked_decoder::result;
    loadkit::detail::chunked_decoder whole, bytes;
    std::string a, b;
    std::size_t used = 0;
    r ra = whole.feed(in, used, &a);
    if (used > in.size()) std::abort();
    std::size_t at = 0;
    r rb = r::need_more;
    while (at < in.size()) {
        std::size_t u = 0;
        rb = bytes.feed(in.substr(at, 1), u, &b);
        if (u > 1) std::abort();
        at += u;
        if (rb != r::need_more) break;
    }
    // one by one, the decoder stops where it stopped at once, with the same body
    if (ra != rb) std::abort();
    if (ra == r::done && (at != used || a != b)) std::abort();
    if (ra != r::error && a != b) std::abort();
    if (a.size() > in.size()) std::abort();
    // discarding (out == nullptr) consumes the same bytes
    loadkit::detail::chunked_decoder discard;
    std::size_t used2 = 0;
    if (discard.feed(in, used2, nullptr) != ra || used2 != used) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // the bytes in their own allocation, so ASan sees any read past the end
    std::string copy(reinterpret_cast<const char*>(data), size);
    std::string_view buf(copy);
    check_head(buf);
    // a head followed by a chunked body, as the client reads them
    loadkit::detail::response_head h;
    headers_t hs;
    auto n = loadkit::detail::parse_response_head(buf, h, hs);
    check_chunked(n > 0 ? buf.substr(static_cast<std::size_t>(n)) : buf);
    return 0;
}
