#pragma once
// Where a local server of the outputs listens (the live server's --dashboard
// and control API, the Prometheus endpoint): its address spec, parsed,
// resolved and bound the same way for each, with the same words when it fails.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// What one server's address spec may be, and how its messages start.
struct listen_syntax {
    std::string_view prefix;     // before every message: who is speaking ("prometheus: "), or nothing
    std::string_view expected;   // the accepted forms with examples ("HOST:PORT (e.g. 127.0.0.1:9464)")
    const char* default_host;    // for ":PORT" and "PORT"; null: they are errors (HOST:PORT only)
};

// Makes `acceptor` listen on `spec`: "HOST:PORT", "[IPv6]:PORT" and, with a
// default host, ":PORT" and "PORT"; port 0 is any free port. A host name
// listens on its first address, IPv4 first (as a browser tries "localhost").
// Throws config_error: a malformed spec says what was expected, and why not;
// a name that does not resolve, or an address it cannot bind, says so.
inline void listen_on(boost::asio::ip::tcp::acceptor& acceptor, std::string_view spec, const listen_syntax& syntax) {
    namespace asio = boost::asio;
    std::string prefix(syntax.prefix);
    auto bad = [&](const std::string& why) {
        return config_error(prefix + "expected " + std::string(syntax.expected) + ", found '" + std::string(spec) +
                            "': " + why);
    };
    std::string_view host = syntax.default_host ? syntax.default_host : "", port = spec;
    if (spec.starts_with('[')) {
        auto close = spec.find(']');
        if (close == std::string_view::npos) throw bad("no ']' after the IPv6 address");
        if (close + 1 >= spec.size() || spec[close + 1] != ':') throw bad("no ':PORT' after ']'");
        host = spec.substr(1, close - 1);
        port = spec.substr(close + 2);
        if (host.empty()) throw bad("no address");
    } else if (auto colon = spec.rfind(':'); colon != std::string_view::npos) {
        if (colon > 0 || !syntax.default_host) host = spec.substr(0, colon);
        port = spec.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) throw bad("an IPv6 address goes in brackets");
        if (host.empty()) throw bad("no host before ':'");
    } else if (!syntax.default_host) {
        throw bad("no ':PORT'");
    }
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p > 65535)
        throw bad("the port must be a number from 0 to 65535");

    boost::system::error_code err;
    auto addr = asio::ip::make_address(std::string(host), err);
    if (err) {  // a host name ("localhost"): its first address, IPv4 first
        asio::ip::tcp::resolver resolver(acceptor.get_executor());
        auto results = resolver.resolve(std::string(host), std::to_string(p), err);
        if (err || results.empty()) throw config_error(prefix + "cannot resolve host '" + std::string(host) + "'");
        std::optional<asio::ip::address> v4, any;
        for (auto& r : results) {
            if (!any) any = r.endpoint().address();
            if (!v4 && r.endpoint().address().is_v4()) v4 = r.endpoint().address();
        }
        addr = v4 ? *v4 : *any;
    }
    asio::ip::tcp::endpoint ep(addr, static_cast<std::uint16_t>(p));
    auto fail = [&](const char* what) {
        return config_error(prefix + "cannot listen on " + std::string(spec) + ": " + what + ": " + err.message());
    };
    acceptor.open(ep.protocol(), err);
    if (err) throw fail("open");
    acceptor.set_option(asio::socket_base::reuse_address(true), err);
    acceptor.bind(ep, err);
    if (err) throw fail("bind");
    acceptor.listen(64, err);
    if (err) throw fail("listen");
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
