#pragma once
// The source addresses a run's VUs connect from (k6's --local-ips): one
// source address holds about 28,000 connections to one target (its
// ephemeral ports), so past that a test spreads its VUs over several.
//
// The syntax is k6's: IPs, ranges (FIRST-LAST) and CIDRs (ADDRESS/PREFIX),
// separated by commas; an IPv4 CIDR wider than /31 leaves out its network
// and broadcast addresses. VU n (1-based, in this instance) takes address
// n-1 of the list, wrapping around, as k6's VUs do: "A,B,B" gives B twice
// the VUs of A. The addresses must already be the machine's (the kernel
// refuses to bind any other: those connects fail, as k6's do); on Linux all
// of 127.0.0.0/8 is local.
//
// The address is chosen and bound once per connection, when it is opened
// (client::open, the WebSocket dial); nothing of it is on a request's path.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"

namespace loadkit::inline LOADKIT_ABI {

class local_ip_pool {
  public:
    local_ip_pool() = default;  // none: the kernel picks the source address
    // Parses k6's syntax; config_error (what was expected, what was found) on a mistake.
    explicit local_ip_pool(std::string_view text) {
        std::string why;
        if (!parse(text, why)) throw config_error(why);
    }

    // Parses k6's syntax into this pool (empty text: none); false, with
    // `why`, on a mistake (the pool is then unchanged).
    bool parse(std::string_view text, std::string& why);

    bool empty() const noexcept { return blocks_.empty(); }
    const std::string& text() const noexcept { return text_; }  // as given
    // How many addresses (saturated at 2^64-1: a VU index never gets there).
    std::uint64_t size() const noexcept {
        return total_ > max64 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(total_);
    }
    // The source address of VU `local_id` (1-based in this instance; 0, as
    // setup's and teardown's, takes the first, as k6's).
    boost::asio::ip::address at(std::uint64_t local_id) const;

  private:
    __extension__ typedef unsigned __int128 u128;
    static constexpr u128 max64 = ~std::uint64_t{0};
    struct block {
        u128 first = 0, count = 0;  // count saturates at 2^128-1 (::/0)
        u128 start = 0;             // the pool index of `first`
        bool v6 = false;
    };
    static bool ip(std::string_view s, u128& value, bool& v6);
    static bool one(std::string_view s, block& b, std::string& why);

    std::vector<block> blocks_;
    u128 total_ = 0;
    std::string text_;
};

inline bool local_ip_pool::ip(std::string_view s, u128& value, bool& v6) {
    // Go's net.ParseIP: dotted IPv4 or IPv6, no zone; an IPv4-mapped IPv6
    // address counts as IPv4 (Go's To4())
    if (s.empty() || s.find('%') != std::string_view::npos) return false;
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(s), ec);
    if (ec) return false;
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    v6 = a.is_v6();
    value = 0;
    if (v6)
        for (auto byte : a.to_v6().to_bytes()) value = (value << 8) | byte;
    else value = a.to_v4().to_uint();
    return true;
}

inline bool local_ip_pool::one(std::string_view s, block& b, std::string& why) {
    // k6's reasons, in its words
    auto span = [&b](u128 first, u128 last) {
        b.first = first;
        b.count = last - first == ~u128{0} ? last - first : last - first + 1;
    };
    if (auto dash = s.find('-'); dash != std::string_view::npos) {
        u128 first = 0, last = 0;
        bool v6a = false, v6b = false;
        if (!ip(s.substr(0, dash), first, v6a) || !ip(s.substr(dash + 1), last, v6b))
            return why = "wrong IP range format", false;
        if (v6a != v6b) return why = "mixed IP range format", false;
        if (last < first) return why = "negative IP range", false;
        b.v6 = v6a;
        span(first, last);
        return true;
    }
    if (auto slash = s.find('/'); slash != std::string_view::npos) {
        u128 addr = 0;
        auto bits = s.substr(slash + 1);
        unsigned prefix = 0;
        bool digits = !bits.empty() && bits.size() <= 3;
        for (char c : bits) digits = digits && c >= '0' && c <= '9', prefix = prefix * 10 + unsigned(c - '0');
        if (!ip(s.substr(0, slash), addr, b.v6) || !digits || prefix > (b.v6 ? 128u : 32u))
            return why = "invalid CIDR address", false;
        unsigned width = b.v6 ? 128 : 32;
        u128 host = prefix == 0 ? (width == 128 ? ~u128{0} : (u128{1} << 32) - 1)
                                : (prefix == width ? u128{0} : (u128{1} << (width - prefix)) - 1);
        span(addr & ~host, (addr & ~host) | host);
        if (!b.v6 && b.count > 2) b.first += 1, b.count -= 2;  // not the network and broadcast addresses
        return true;
    }
    u128 addr = 0;
    if (!ip(s, addr, b.v6)) return why = "not a valid IP, IP range or CIDR", false;
    span(addr, addr);
    return true;
}

inline bool local_ip_pool::parse(std::string_view text, std::string& why) {
    std::vector<block> blocks;
    u128 total = 0;
    if (!text.empty()) {
        for (std::size_t at = 0;;) {
            auto comma = text.find(',', at);
            auto item = text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
            // spaces around an item are allowed (differs from k6, which
            // refuses "A, B": " B is not a valid IP")
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
            block b;
            std::string reason;
            if (!one(item, b, reason)) {
                why = "expected IPs, ranges (FIRST-LAST) or CIDRs (ADDRESS/PREFIX) separated by commas, like "
                      "127.0.0.2-127.0.0.5,10.0.0.0/24; found '" +
                      std::string(item.size() > 100 ? item.substr(0, 100) : item) + "' (" + reason + ")";
                return false;
            }
            b.start = total;
            total = ~u128{0} - total < b.count ? ~u128{0} : total + b.count;
            blocks.push_back(b);
            if (comma == std::string_view::npos) break;
            at = comma + 1;
        }
    }
    blocks_ = std::move(blocks);
    total_ = total;
    text_.assign(text);
    return true;
}

inline boost::asio::ip::address local_ip_pool::at(std::uint64_t local_id) const {
    if (blocks_.empty()) return {};
    u128 index = u128{local_id > 0 ? local_id - 1 : 0} % total_;
    const block* b = &blocks_.front();
    for (auto& x : blocks_)
        if (x.start <= index) b = &x;
    u128 v = b->first + (index - b->start);
    if (!b->v6) return boost::asio::ip::address_v4(static_cast<std::uint32_t>(v));
    boost::asio::ip::address_v6::bytes_type bytes;
    for (int i = 15; i >= 0; --i, v >>= 8) bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(v & 0xff);
    return boost::asio::ip::address_v6(bytes);
}

namespace detail {

// Opens `s` for `remote`'s family and binds it to `local`, before its
// connect. IP_BIND_ADDRESS_NO_PORT (Linux) leaves the port to the connect,
// which picks one free for that destination: without it bind() reserves a
// port of the address for any destination, and the address runs out of
// ports sooner (Go's dialer, k6's, does not set it; nothing else differs).
template <class Socket>
boost::system::error_code bind_source(Socket& s, const boost::asio::ip::address& local,
                                      const boost::asio::ip::tcp::endpoint& remote) {
    boost::system::error_code ec;
    if (s.is_open()) s.close(ec);
    s.open(remote.protocol(), ec);
    if (ec) return ec;
#ifdef IP_BIND_ADDRESS_NO_PORT
    int one = 1;
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    s.bind(boost::asio::ip::tcp::endpoint(local, 0), ec);
    return ec;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI
