#pragma once
// The built-in target's WebSocket routes (server.hpp hands them an upgrade
// request it has read):
//   /ws/echo              every message back, as text or binary as it came;
//                         offers the client's first subprotocol back
//   /ws/broadcast         every message to every client connected to
//                         /ws/broadcast on any server thread (its sender too)
//   /ws/close?code=N      accepts, then closes with code N (default 1000)
//   /ws/drop              accepts, then drops the TCP connection (no close frame)
// Pings are answered with pongs by Beast on every route.
#include <charconv>
#include <coroutine>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "../core/config.hpp"
#include "../core/io.hpp"
#include "../core/task.hpp"

namespace loadkit::inline LOADKIT_ABI::detail {

// A /ws/broadcast connection, reachable from any server thread: messages for
// it are posted to its own thread, which alone touches its queue.
struct ws_peer {
    explicit ws_peer(boost::asio::io_context& c) : ioc(&c), wake(c) {}
    boost::asio::io_context* ioc;
    boost::asio::steady_timer wake;                // the writer waits on it while the queue is empty
    std::deque<std::pair<bool, std::string>> out;  // (binary, payload)
    bool gone = false, writing = false;
    std::coroutine_handle<> writer_done{};
};

// The clients of /ws/broadcast over all server threads.
struct ws_hub {
    std::mutex mu;
    std::vector<std::shared_ptr<ws_peer>> peers;
    static constexpr std::size_t queue_max = 10000;  // a client that does not read loses messages past this

    void add(std::shared_ptr<ws_peer> p) {
        std::lock_guard lock(mu);
        peers.push_back(std::move(p));
    }
    void remove(const ws_peer* p) {
        std::lock_guard lock(mu);
        std::erase_if(peers, [p](auto& q) { return q.get() == p; });
    }
    void send_all(bool binary, std::string_view data) {
        std::lock_guard lock(mu);
        for (auto& p : peers)
            boost::asio::post(*p->ioc, [p, binary, d = std::string(data)]() mutable {
                if (p->gone || p->out.size() >= queue_max) return;
                p->out.emplace_back(binary, std::move(d));
                p->wake.cancel();
            });
    }
};

// Serves one upgraded connection until it closes (or the server stops, which
// closes the socket under it). `Stream` is the session's tcp::socket or TLS stream.
template <class Stream>
task<> serve_websocket(boost::asio::io_context& ioc, Stream& stream,
                       const boost::beast::http::request<boost::beast::http::string_body>& req, std::string path,
                       ws_hub& hub) {
    namespace ws = boost::beast::websocket;
    namespace http = boost::beast::http;
    std::string query;
    if (auto q = path.find('?'); q != std::string::npos) {
        query = path.substr(q + 1);
        path.resize(q);
    }
    ws::stream<Stream&, false> w(stream);
    // the first subprotocol offered, if any, is accepted
    std::string proto(req[http::field::sec_websocket_protocol]);
    if (auto c = proto.find(','); c != std::string::npos) proto.resize(c);
    w.set_option(ws::stream_base::decorator([proto](ws::response_type& res) {
        res.set(http::field::server, "loadkit-target");
        if (!proto.empty()) res.set(http::field::sec_websocket_protocol, proto);
    }));
    w.read_message_max(std::size_t{16} << 20);
    auto [ae, an] = co_await io([&](auto h) { w.async_accept(req, std::move(h)); });
    if (ae) co_return;
    boost::beast::flat_buffer buf;

    if (path == "/ws/close") {
        int code = 1000;
        if (auto at = query.find("code="); at != std::string::npos)
            std::from_chars(query.data() + at + 5, query.data() + query.size(), code);
        ws::close_reason r(static_cast<std::uint16_t>(code));
        r.reason = "closed by the server";
        co_await io([&](auto h) { w.async_close(r, std::move(h)); });
        co_return;
    }
    if (path == "/ws/drop") {
        boost::system::error_code ig;
        boost::beast::get_lowest_layer(w).close(ig);
        co_return;
    }
    if (path != "/ws/broadcast") {  // /ws/echo (and any other /ws/ path)
        for (;;) {
            buf.clear();
            auto [e, n] = co_await io([&](auto h) { w.async_read(buf, std::move(h)); });
            if (e) co_return;
            w.text(w.got_text());
            auto [e2, n2] = co_await io([&](auto h) { w.async_write(buf.data(), std::move(h)); });
            if (e2) co_return;
        }
    }

    // /ws/broadcast: a reader (this coroutine) and a writer (its queue)
    auto peer = std::make_shared<ws_peer>(ioc);
    peer->wake.expires_at(boost::asio::steady_timer::time_point::max());
    hub.add(peer);
    auto writer = [](ws::stream<Stream&, false>& w, std::shared_ptr<ws_peer> p) -> task<> {
        while (!p->gone) {
            if (p->out.empty()) {
                p->wake.expires_at(boost::asio::steady_timer::time_point::max());
                co_await io([&](auto h) { p->wake.async_wait(std::move(h)); });
                continue;
            }
            auto m = std::move(p->out.front());
            p->out.pop_front();
            w.binary(m.first);
            auto [e, n] = co_await io([&](auto h) { w.async_write(boost::asio::buffer(m.second), std::move(h)); });
            if (e) break;
        }
    };
    peer->writing = true;
    spawn(writer(w, peer), [peer](std::exception_ptr) {
        peer->writing = false;
        if (auto h = std::exchange(peer->writer_done, {})) h.resume();
    });
    for (;;) {
        buf.clear();
        auto [e, n] = co_await io([&](auto h) { w.async_read(buf, std::move(h)); });
        if (e) break;
        auto d = buf.data();
        hub.send_all(!w.got_text(), std::string_view(static_cast<const char*>(d.data()), d.size()));
    }
    hub.remove(peer.get());
    peer->gone = true;
    peer->wake.cancel();
    boost::system::error_code ig;
    boost::beast::get_lowest_layer(w).close(ig);  // ends a write in flight
    struct writer_end {
        ws_peer& p;
        bool await_ready() const noexcept { return !p.writing; }
        void await_suspend(std::coroutine_handle<> h) noexcept { p.writer_done = h; }
        void await_resume() const noexcept {}
    };
    co_await writer_end{*peer};  // the writer uses `w`, on this frame
}

}  // namespace loadkit::inline LOADKIT_ABI::detail
