#pragma once
// The built-in target: a small, fast HTTP/1.1 server (Beast) on loopback, so
// that examples, tests and the quick start need no external service.
//
// Each server thread has its own io_context and its own SO_REUSEPORT listener
// on the same port (the kernel spreads connections), so no session is ever
// touched by two threads. Routes:
//   GET  /                      a short text body
//   GET  /bytes/N               N bytes
//   GET  /json, /items, /feed   JSON documents
//   ANY  /echo                  {method, path, query, headers, body} of the request
//   ANY  /status/N              that status
//   ANY  /delay/MS              answers after MS milliseconds
//   POST /auth/login|token      {"token": "..."} (login also sets a session cookie)
//   POST /auth/logout|revoke    200
//   GET  /auth/check            200 with a valid "Authorization: Bearer <token>", else 401
//   GET  /cookies/set?k=v...    sets those cookies;  GET /cookies: the cookies received
//   GET  /redirect/N            302 to /redirect/N-1 ... /redirect/0 (200)
//   GET  /redirect-to?url=U     302 to U
//   GET  /chunked               a chunked body
//   GET  /close                 answers with Connection: close, then closes
//   GET  /malformed             a response that is not HTTP (as /fault/garbage)
//   GET  /reset                 resets the connection without answering
//   GET  /hang                  never answers (until the server stops)
//   GET  /stats                 requests seen per path, as JSON; /stats/reset clears
//   GET  /stats/peers           requests seen per client address, as JSON (source addresses: --local-ips)
//   POST /admin/config          stores the body (JSON) as the server's configuration: 200
//   GET  /admin/config          the stored configuration (404 when none)
//   DELETE /admin/config        removes it: 200, or 404 when none (seed 000's test_start/test_stop)
// WebSocket (an upgrade request; target/websocket.hpp):
//   /ws/echo                    every message back (text or binary as sent)
//   /ws/broadcast               every message to every client of /ws/broadcast
//   /ws/close?code=N            closes at once with code N;  /ws/drop: drops the connection
// Faults, for testing a client (any method):
//   /fault/refuse       closes the connection as soon as the request arrives
//   /fault/reset        sends the head and part of the body, then resets (RST)
//   /fault/hang         never answers
//   /fault/garbage      answers bytes that are not HTTP, then closes
//   /fault/truncate     Content-Length: 1000, 100 bytes of it, then closes
//   /fault/drip         a whole response, one byte a second (about 100 s)
//   /fault/big-header   a response with a 1 MiB header line
//   /fault/close        a normal keep-alive response, then closes the
//                       connection anyway (as a server closing idle
//                       connections at once does)
// With target_options::faults, two more ports: refused_url() refuses every
// connection (a bound socket that does not listen), and tls_fault_url()
// serves the routes over HTTPS with a self-signed certificate.
#include <atomic>
#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/io.hpp"
#include "../core/task.hpp"
#include "cert.hpp"
#include "websocket.hpp"

namespace loadkit::inline LOADKIT_ABI {

struct target_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: an ephemeral port
    int threads = 1;
    bool tls = false;  // https with a self-signed certificate (or cert below)
    certificate cert;  // used when tls is set and cert_pem is not empty
    // Also a port that refuses connections and an HTTPS port with a
    // self-signed certificate (see refused_url(), tls_fault_url()): on
    // port+1 and port+2 when `port` is set, else on ephemeral ports.
    bool faults = false;
    // With tls: clients must present a certificate this CA (PEM) signed; a
    // self-signed client certificate is its own CA (tests of tlsAuth).
    std::string client_ca_pem;
};

class target_server {
  public:
    explicit target_server(target_options o = {}) : opts_(std::move(o)) {
        namespace asio = boost::asio;
        if (opts_.threads < 1) opts_.threads = 1;
        if (opts_.tls) {
            if (opts_.cert.cert_pem.empty()) opts_.cert = make_self_signed_certificate();
            tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
            tls_->use_certificate_chain(asio::buffer(opts_.cert.cert_pem));
            tls_->use_private_key(asio::buffer(opts_.cert.key_pem), asio::ssl::context::pem);
            if (!opts_.client_ca_pem.empty()) {
                tls_->add_certificate_authority(asio::buffer(opts_.client_ca_pem));
                tls_->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
            }
        }
        auto addr = asio::ip::make_address(opts_.address);
        std::uint16_t port = opts_.port;
        for (int i = 0; i < opts_.threads; ++i) {
            auto w = std::make_unique<worker>();
            w->owner = this;
            w->acceptor.open(addr.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4());
            w->acceptor.set_option(asio::socket_base::reuse_address(true));
            w->acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
            w->acceptor.bind({addr, port});
            w->acceptor.listen(4096);
            port = w->acceptor.local_endpoint().port();
            workers_.push_back(std::move(w));
        }
        port_ = port;
        if (opts_.faults) {
            std::uint16_t base = opts_.port ? static_cast<std::uint16_t>(opts_.port + 1) : std::uint16_t{0};
            // bound but never listening: the kernel answers a SYN with RST
            // (ECONNREFUSED), and the port stays ours, where a port merely
            // closed could be taken by another process meanwhile (no
            // SO_REUSEADDR, so that nothing else can bind it either)
            refuser_.open(addr.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4());
            refuser_.bind({addr, base});
            target_options t;
            t.address = opts_.address;
            t.port = base ? static_cast<std::uint16_t>(base + 1) : std::uint16_t{0};
            t.tls = true;
            tls_fault_ = std::make_unique<target_server>(std::move(t));
        }
        for (auto& w : workers_) {
            detail::spawn(accept_loop(*w), [](std::exception_ptr) {});
            w->thread = std::thread([p = w.get()] { p->ioc.run(); });
        }
    }
    ~target_server() { stop(); }
    target_server(const target_server&) = delete;
    target_server& operator=(const target_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // "http://127.0.0.1:PORT" (https when tls)
    std::string url() const {
        auto host = opts_.address.find(':') != std::string::npos ? "[" + opts_.address + "]" : opts_.address;
        return std::string(opts_.tls ? "https://" : "http://") + host + ":" + std::to_string(port_);
    }
    const certificate& cert() const noexcept { return opts_.cert; }
    // With target_options::faults: a URL whose connections are refused, and
    // the routes over HTTPS with a self-signed certificate (empty otherwise).
    std::string refused_url() const {
        if (!refuser_.is_open()) return {};
        boost::system::error_code ec;
        auto host = opts_.address.find(':') != std::string::npos ? "[" + opts_.address + "]" : opts_.address;
        return "http://" + host + ":" + std::to_string(refuser_.local_endpoint(ec).port());
    }
    std::string tls_fault_url() const { return tls_fault_ ? tls_fault_->url() : std::string(); }

    // Requests seen for a path (without query), over all threads.
    std::uint64_t count(std::string_view path) const {
        std::uint64_t n = 0;
        for (auto& w : workers_) {
            std::lock_guard lock(w->stats_mu);
            if (auto it = w->stats.find(std::string(path)); it != w->stats.end()) n += it->second;
        }
        return n;
    }
    std::uint64_t total() const {
        std::uint64_t n = 0;
        for (auto& w : workers_) {
            std::lock_guard lock(w->stats_mu);
            for (auto& [k, v] : w->stats) n += v;
        }
        return n;
    }
    nlohmann::json stats() const {
        nlohmann::json j = nlohmann::json::object();
        for (auto& w : workers_) {
            std::lock_guard lock(w->stats_mu);
            for (auto& [k, v] : w->stats) j[k] = j.value(k, std::uint64_t{0}) + v;
        }
        return j;
    }
    void reset_stats() {
        for (auto& w : workers_) {
            std::lock_guard lock(w->stats_mu);
            w->stats.clear();
            for (auto& [k, v] : w->peers) v = 0;  // (sessions hold pointers to the counters)
        }
    }
    // Requests by the client's address ("127.0.0.2"), over all threads: what
    // a test of source addresses (--local-ips) checks; also GET /stats/peers.
    std::uint64_t requests_from(std::string_view address) const {
        std::uint64_t n = 0;
        for (auto& w : workers_) {
            std::lock_guard lock(w->stats_mu);
            if (auto it = w->peers.find(std::string(address)); it != w->peers.end()) n += it->second;
        }
        return n;
    }
    nlohmann::json peers() const {
        nlohmann::json j = nlohmann::json::object();
        for (auto& w : workers_) {
            std::lock_guard lock(w->stats_mu);
            for (auto& [k, v] : w->peers)
                if (v) j[k] = j.value(k, std::uint64_t{0}) + v;
        }
        return j;
    }
    // What POST /admin/config stored, if anything.
    std::optional<std::string> config() const {
        std::lock_guard lock(config_mu_);
        return config_;
    }
    // Connections accepted so far.
    std::uint64_t connections() const noexcept { return connections_.load(); }

    // Closes the listeners and every connection, then joins the threads.
    void stop() {
        if (stopped_.exchange(true)) return;
        for (auto& w : workers_)
            boost::asio::post(w->ioc, [p = w.get()] {
                p->stopping = true;
                boost::system::error_code ec;
                p->acceptor.close(ec);
                for (auto* s : p->sessions) s->close();
            });
        for (auto& w : workers_)
            if (w->thread.joinable()) w->thread.join();
        if (tls_fault_) tls_fault_->stop();
        boost::system::error_code ec;
        refuser_.close(ec);
    }

  private:
    struct session_base {
        virtual ~session_base() = default;
        virtual void close() = 0;
    };
    struct worker {
        boost::asio::io_context ioc{1};
        boost::asio::ip::tcp::acceptor acceptor{ioc};
        std::thread thread;
        target_server* owner = nullptr;
        std::set<session_base*> sessions;
        bool stopping = false;
        mutable std::mutex stats_mu;  // uncontended but for stats() readers
        std::unordered_map<std::string, std::uint64_t> stats;
        std::unordered_map<std::string, std::uint64_t> peers;  // requests by client address (stable nodes)
    };
    using tcp = boost::asio::ip::tcp;
    using request_t = boost::beast::http::request<boost::beast::http::string_body>;
    using response_t = boost::beast::http::response<boost::beast::http::string_body>;

    template <class Stream>
    struct session final : session_base {
        template <class... A>
        explicit session(A&&... a) : stream(std::forward<A>(a)...) {}
        Stream stream;
        std::optional<boost::asio::steady_timer> timer;
        std::uint64_t* peer_requests = nullptr;  // the worker's counter of this client's address
        bool closed = false;
        tcp::socket& socket() {
            if constexpr (std::is_same_v<Stream, tcp::socket>) return stream;
            else return stream.next_layer();
        }
        void close() override {
            closed = true;
            boost::system::error_code ec;
            socket().close(ec);
            if (timer) timer->cancel();
        }
    };

    task<> accept_loop(worker& w) {
        for (;;) {
            tcp::socket s(w.ioc);
            auto [ec, n] = co_await detail::io([&](auto h) { w.acceptor.async_accept(s, std::move(h)); });
            (void)n;
            if (ec) {
                if (w.stopping || ec == boost::asio::error::operation_aborted) co_return;
                continue;  // e.g. EMFILE: keep serving the connections we have
            }
            boost::system::error_code ig;
            s.set_option(tcp::no_delay(true), ig);
            connections_.fetch_add(1, std::memory_order_relaxed);
            std::uint64_t* peer = nullptr;  // looked up once per connection, counted per request
            {
                auto ep = s.remote_endpoint(ig);
                std::lock_guard lock(w.stats_mu);
                peer = &w.peers[ig ? std::string("unknown") : ep.address().to_string()];
            }
            if (tls_) {
                using tls_stream = boost::asio::ssl::stream<tcp::socket>;
                auto* sess = new session<tls_stream>(std::move(s), *tls_);
                sess->peer_requests = peer;
                w.sessions.insert(sess);
                detail::spawn(serve_tls(w, *sess), [&w, sess](std::exception_ptr) {
                    w.sessions.erase(sess);
                    delete sess;
                });
            } else {
                auto* sess = new session<tcp::socket>(std::move(s));
                sess->peer_requests = peer;
                w.sessions.insert(sess);
                detail::spawn(serve(w, *sess), [&w, sess](std::exception_ptr) {
                    w.sessions.erase(sess);
                    delete sess;
                });
            }
        }
    }

    task<> serve_tls(worker& w, session<boost::asio::ssl::stream<tcp::socket>>& s) {
        auto [ec, n] = co_await detail::io(
            [&](auto h) { s.stream.async_handshake(boost::asio::ssl::stream_base::server, std::move(h)); });
        (void)n;
        if (ec) co_return;
        co_await serve(w, s);
    }

    template <class Stream>
    task<> serve(worker& w, session<Stream>& s) {
        namespace http = boost::beast::http;
        boost::beast::flat_buffer buf;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            auto [ec, n] = co_await detail::io([&](auto h) { http::async_read(s.stream, buf, parser, std::move(h)); });
            (void)n;
            if (ec || s.closed) co_return;
            request_t& req = parser.get();
            response_t res{http::status::ok, req.version()};
            res.set(http::field::server, "loadkit-target");
            res.keep_alive(req.keep_alive());
            auto path = std::string_view(req.target());
            auto query = std::string_view{};
            if (auto q = path.find('?'); q != std::string_view::npos) {
                query = path.substr(q + 1);
                path = path.substr(0, q);
            }
            {
                std::lock_guard lock(w.stats_mu);
                ++w.stats[std::string(path)];
                ++*s.peer_requests;
            }
            if (path.starts_with("/ws/") && boost::beast::websocket::is_upgrade(req)) {
                co_await detail::serve_websocket(w.ioc, s.stream, req, std::string(req.target()), ws_hub_);
                co_return;
            }
            // routes that do not answer normally: they end the connection
            if (auto f = fault_of(path); f != fault::none) {
                co_await serve_fault(w, s, f);
                co_return;
            }
            if (path.starts_with("/delay/")) {
                int ms = 0;
                auto d = path.substr(7);
                std::from_chars(d.data(), d.data() + d.size(), ms);
                if (ms > 0) {
                    if (!s.timer) s.timer.emplace(w.ioc);
                    s.timer->expires_after(std::chrono::milliseconds(ms));
                    co_await detail::io([&](auto h) { s.timer->async_wait(std::move(h)); });
                    if (s.closed) co_return;
                }
                res.set(http::field::content_type, "application/json");
                res.body() = "{\"delay_ms\":" + std::to_string(ms) + "}";
            } else {
                route(req, path, query, res);
            }
            if (path == "/close") res.keep_alive(false);
            // prepare_payload() would turn a chunked body (/chunked) into a
            // Content-Length one: only bodies not already chunked get it
            if (!res.chunked()) res.prepare_payload();
            boost::system::error_code ec2;
            if (req.method() == http::verb::head) {
                // HEAD: the GET response's headers and no body (RFC 9110 9.3.2);
                // async_write would send the body, which the client then read
                // as the start of the next response on the connection
                http::response_serializer<http::string_body> sr(res);
                auto [e,
                      n2] = co_await detail::io([&](auto h) { http::async_write_header(s.stream, sr, std::move(h)); });
                (void)n2;
                ec2 = e;
            } else {
                auto [e, n2] = co_await detail::io([&](auto h) { http::async_write(s.stream, res, std::move(h)); });
                (void)n2;
                ec2 = e;
            }
            if (ec2 || !res.keep_alive() || s.closed) {
                boost::system::error_code ig;
                s.socket().shutdown(tcp::socket::shutdown_send, ig);
                s.close();
                co_return;
            }
        }
    }

    enum class fault : unsigned char {
        none,
        refuse,
        reset_now,
        reset,
        hang,
        garbage,
        truncate,
        drip,
        big_header,
        close
    };

    // One switch on the path's second character, so that a normal route pays
    // at most one comparison for the faults (the benchmarks' target).
    static fault fault_of(std::string_view path) noexcept {
        if (path.size() < 5) return fault::none;
        switch (path[1]) {
            case 'f': {
                if (!path.starts_with("/fault/")) return fault::none;
                auto n = path.substr(7);
                if (n == "refuse") return fault::refuse;
                if (n == "reset") return fault::reset;
                if (n == "hang") return fault::hang;
                if (n == "garbage") return fault::garbage;
                if (n == "truncate") return fault::truncate;
                if (n == "drip") return fault::drip;
                if (n == "big-header") return fault::big_header;
                if (n == "close") return fault::close;
                return fault::none;  // unknown: 404
            }
            case 'r': return path == "/reset" ? fault::reset_now : fault::none;
            case 'm': return path == "/malformed" ? fault::garbage : fault::none;
            case 'h': return path == "/hang" ? fault::hang : fault::none;
            default: return fault::none;
        }
    }

    // Sends bytes; false when the connection is gone.
    template <class Stream>
    static task<bool> send(session<Stream>& s, std::string_view bytes) {
        auto [ec, n] = co_await detail::io([&](auto h) {
            boost::asio::async_write(s.stream, boost::asio::buffer(bytes.data(), bytes.size()), std::move(h));
        });
        (void)n;
        co_return !ec && !s.closed;
    }
    // Waits; false when the connection was closed meanwhile (server stop).
    template <class Stream>
    static task<bool> pause(worker& w, session<Stream>& s, std::chrono::milliseconds d) {
        if (!s.timer) s.timer.emplace(w.ioc);
        s.timer->expires_after(d);
        co_await detail::io([&](auto h) { s.timer->async_wait(std::move(h)); });
        co_return !s.closed;
    }
    template <class Stream>
    static void reset(session<Stream>& s) {
        boost::system::error_code ig;
        s.socket().set_option(boost::asio::socket_base::linger(true, 0), ig);  // close() sends RST
        s.close();
    }
    template <class Stream>
    static void finish(session<Stream>& s) {
        boost::system::error_code ig;
        s.socket().shutdown(tcp::socket::shutdown_send, ig);  // FIN (TLS: without close_notify)
        s.close();
    }

    template <class Stream>
    task<> serve_fault(worker& w, session<Stream>& s, fault f) {
        static constexpr std::string_view ok_head =
            "HTTP/1.1 200 OK\r\nServer: loadkit-target\r\nContent-Type: text/plain\r\n";
        switch (f) {
            case fault::none: break;
            case fault::refuse: finish(s); break;
            case fault::reset_now: reset(s); break;
            case fault::reset: {
                // the head and a tenth of the body, a pause so they arrive
                // (an abortive close drops unsent data), then RST
                std::string r(ok_head);
                r += "Content-Length: 1000\r\n\r\n";
                r.append(100, 'x');
                if (co_await send(s, r) && co_await pause(w, s, std::chrono::milliseconds(100))) reset(s);
                break;
            }
            case fault::hang: co_await pause(w, s, std::chrono::hours(24)); break;
            case fault::garbage:
                if (co_await send(s, "this is not HTTP\r\n\r\n")) finish(s);
                break;
            case fault::truncate: {
                std::string r(ok_head);
                r += "Content-Length: 1000\r\n\r\n";
                r.append(100, 'x');
                if (co_await send(s, r)) finish(s);
                break;
            }
            case fault::drip: {
                std::string r(ok_head);
                r += "Content-Length: 64\r\n\r\n";
                r.append(63, '.');
                r += '\n';
                for (std::size_t i = 0; i < r.size(); ++i) {
                    if (i && !co_await pause(w, s, std::chrono::seconds(1))) co_return;
                    if (!co_await send(s, std::string_view(r).substr(i, 1))) co_return;
                }
                finish(s);
                break;
            }
            case fault::big_header: {
                static const std::string r = [] {
                    std::string t(ok_head);
                    t += "X-Big: ";
                    t.append(std::size_t{1} << 20, 'a');
                    t += "\r\nContent-Length: 3\r\n\r\nbig";
                    return t;
                }();
                if (co_await send(s, r)) finish(s);
                break;
            }
            case fault::close: {
                // no "Connection: close": the client learns it only by reading
                static constexpr std::string_view r =
                    "HTTP/1.1 200 OK\r\nServer: loadkit-target\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\n"
                    "loadkit built-in target\n";
                if (co_await send(s, r)) finish(s);
                break;
            }
        }
    }

    static std::string_view query_value(std::string_view q, std::string_view key) {
        while (!q.empty()) {
            auto amp = q.find('&');
            auto kv = q.substr(0, amp);
            auto eq = kv.find('=');
            if (kv.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
            if (amp == std::string_view::npos) break;
            q.remove_prefix(amp + 1);
        }
        return {};
    }

    // /admin/config: a configuration a test applies at test_start and
    // removes at test_stop (seed 000), shared by every server thread.
    void admin_config(const request_t& req, response_t& res) {
        namespace http = boost::beast::http;
        std::lock_guard lock(config_mu_);
        res.set(http::field::content_type, "application/json");
        if (req.method() == http::verb::post || req.method() == http::verb::put) {
            config_ = req.body();
            res.body() = R"({"ok":true})";
        } else if (req.method() == http::verb::delete_ && config_) {
            config_.reset();
            res.body() = R"({"ok":true})";
        } else if (req.method() == http::verb::get && config_) {
            res.body() = *config_;
        } else {
            res.result(http::status::not_found);
            res.body() = R"({"ok":false})";
        }
    }

    void route(const request_t& req, std::string_view path, std::string_view query, response_t& res) {
        namespace http = boost::beast::http;
        auto json = [&](const nlohmann::json& j) {
            res.set(http::field::content_type, "application/json");
            res.body() = j.dump();
        };
        if (path == "/" || path == "/close") {
            res.set(http::field::content_type, "text/plain");
            res.body() = "loadkit built-in target\n";
        } else if (path.starts_with("/bytes/")) {
            std::size_t n = 0;
            auto d = path.substr(7);
            std::from_chars(d.data(), d.data() + d.size(), n);
            res.set(http::field::content_type, "application/octet-stream");
            res.body().assign(std::min<std::size_t>(n, 64u << 20), 'x');
        } else if (path == "/json") {
            json({{"id", 1}, {"ok", true}, {"items", {{{"id", 1}, {"name", "apple"}}, {{"id", 2}, {"name", "pear"}}}}});
        } else if (path == "/items") {
            json({{"items",
                   {{{"id", 1}, {"name", "apple"}, {"price", 3}}, {{"id", 2}, {"name", "pear"}, {"price", 4}}}}});
        } else if (path == "/feed") {
            bool authed = req[http::field::authorization].starts_with("Bearer ");
            if (!authed) res.result(http::status::unauthorized);
            json({{"feed", {"post-1", "post-2", "post-3"}}, {"authenticated", authed}});
        } else if (path == "/echo") {
            nlohmann::json h = nlohmann::json::object();
            for (auto& f : req) h[std::string(f.name_string())] = std::string(f.value());
            json({{"method", std::string(req.method_string())},
                  {"path", std::string(path)},
                  {"query", std::string(query)},
                  {"headers", h},
                  {"body", req.body()}});
        } else if (path.starts_with("/status/")) {
            unsigned code = 200;
            auto d = path.substr(8);
            std::from_chars(d.data(), d.data() + d.size(), code);
            if (code < 100 || code > 999) code = 400;
            res.result(code);
            res.set(http::field::content_type, "text/plain");
            if (code != 204 && code != 304 && code >= 200) res.body() = std::to_string(code);
        } else if (path == "/auth/login" || path == "/auth/token") {
            auto token = "tok-" + std::to_string(tokens_.fetch_add(1) + 1);
            if (path == "/auth/login") res.set(http::field::set_cookie, "session=" + token + "; Path=/; HttpOnly");
            json({{"token", token}});
        } else if (path == "/auth/logout" || path == "/auth/revoke") {
            json({{"ok", true}});
        } else if (path == "/auth/check") {
            auto a = std::string_view(req[http::field::authorization]);
            bool ok = a.starts_with("Bearer tok-");
            if (!ok) res.result(http::status::unauthorized);
            json({{"ok", ok}});
        } else if (path == "/cookies/set") {
            std::string_view q = query;
            while (!q.empty()) {
                auto amp = q.find('&');
                auto kv = q.substr(0, amp);
                if (!kv.empty()) res.insert(http::field::set_cookie, std::string(kv) + "; Path=/");
                if (amp == std::string_view::npos) break;
                q.remove_prefix(amp + 1);
            }
            json(nlohmann::json::object());
        } else if (path == "/cookies") {
            nlohmann::json c = nlohmann::json::object();
            std::string_view all = req[http::field::cookie];
            while (!all.empty()) {
                auto semi = all.find(';');
                auto kv = all.substr(0, semi);
                while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
                auto eq = kv.find('=');
                if (eq != std::string_view::npos) c[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
                if (semi == std::string_view::npos) break;
                all.remove_prefix(semi + 1);
            }
            json({{"cookies", c}});
        } else if (path.starts_with("/redirect/")) {
            int n = 0;
            auto d = path.substr(10);
            std::from_chars(d.data(), d.data() + d.size(), n);
            if (n > 0) {
                res.result(http::status::found);
                res.set(http::field::location, "/redirect/" + std::to_string(n - 1));
            } else {
                res.set(http::field::content_type, "text/plain");
                res.body() = "redirected";
            }
        } else if (path == "/redirect-to") {
            auto status = query_value(query, "status");
            unsigned code = 302;
            if (!status.empty()) std::from_chars(status.data(), status.data() + status.size(), code);
            res.result(code);
            res.set(http::field::location, std::string(query_value(query, "url")));
        } else if (path == "/chunked") {
            res.chunked(true);
            res.set(http::field::content_type, "text/plain");
            res.body() = "chunked body from the built-in target";
        } else if (path == "/admin/config") {
            admin_config(req, res);
        } else if (path == "/stats") {
            json(stats());
        } else if (path == "/stats/peers") {
            json(peers());
        } else if (path == "/stats/reset") {
            reset_stats();
            json({{"ok", true}});
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "not found";
        }
    }

    target_options opts_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::uint16_t port_ = 0;
    boost::asio::io_context refuser_ioc_{1};  // only owns the refusing socket, never runs
    boost::asio::ip::tcp::acceptor refuser_{refuser_ioc_};
    std::unique_ptr<target_server> tls_fault_;
    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> tokens_{0};
    mutable std::mutex config_mu_;
    std::optional<std::string> config_;  // /admin/config
    std::atomic<std::uint64_t> connections_{0};
    detail::ws_hub ws_hub_;  // the clients of /ws/broadcast
};

}  // namespace loadkit::inline LOADKIT_ABI
