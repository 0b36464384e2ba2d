#pragma once
// A small local HTTP server for what a run shows and accepts while it runs:
// the live dashboard (outputs/dashboard.hpp) and the control API
// (outputs/control_api.hpp). Boost.Beast on ONE thread of its own, never on
// the request path: the engine's main thread hands it data (publish(), a
// handler reading state under its own lock) and goes on.
//
//   loadkit::live_server s("127.0.0.1:0");            // port 0: any free port, s.port() tells
//   s.route("GET", "/", [](const loadkit::live_request&) { return loadkit::live_response{200, "text/html", page}; });
//   s.event_stream("/events");
//   s.start();
//   s.publish("snapshot", json_text);                 // any thread
//
// Who may call it, decided here once for every route: a browser page from
// another site must not be able to stop a test running on the user's
// machine, nor read its data. So
//   - a request whose Origin header is present and is not this server's own
//     origin (http:// + the Host header it sent) is refused (403);
//   - a Host header naming neither the address the client connected to (the
//     bound one) nor localhost/127.0.0.1/[::1] is refused (403): that is DNS
//     rebinding (evil.example resolving to 127.0.0.1, so that its page is
//     "same origin" with this server);
//   - requests without Origin (curl, `loadkit pause`) pass.
// Bounds: headers as Beast's parser limits them (8 KiB), bodies 64 KiB (413),
// 30 s to send a request on an idle connection, at most 128 connections at
// once, an event stream whose client falls 256 events behind is closed.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "../core/config.hpp"
#include "../core/errors.hpp"
#include "listen.hpp"

namespace loadkit::inline LOADKIT_ABI {

// A request as a handler sees it: views into the server's buffers, valid
// during the handler's call only.
struct live_request {
    std::string_view method, target, path, query, origin, host, content_type, body;
};

struct live_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

namespace detail {

inline bool live_iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

// The host part of a Host header ("[::1]:5665" -> "::1", "localhost:5665" -> "localhost").
inline std::string_view live_host_name(std::string_view host) {
    if (host.starts_with('[')) {
        auto close = host.find(']');
        return close == std::string_view::npos ? std::string_view{} : host.substr(1, close - 1);
    }
    return host.substr(0, host.find(':'));
}

// A JSON:API error document, as k6's REST API answers errors.
inline std::string live_error_json(int status, std::string_view title, std::string_view detail) {
    auto quote = [](std::string_view s) {
        std::string out = "\"";
        for (char c : s) {
            if (c == '"' || c == '\\') out += '\\';
            if (static_cast<unsigned char>(c) < 0x20) {
                out += ' ';
                continue;
            }
            out += c;
        }
        return out + "\"";
    };
    return "{\"errors\":[{\"status\":\"" + std::to_string(status) + "\",\"title\":" + quote(title) +
           ",\"detail\":" + quote(detail) + "}]}\n";
}

// One server-sent event: `event: NAME`, a `data:` line per line of data.
inline std::string live_sse_event(std::string_view event, std::string_view data) {
    std::string out = "event: " + std::string(event) + "\n";
    for (;;) {
        auto nl = data.find('\n');
        out += "data: ";
        out += data.substr(0, nl);
        out += '\n';
        if (nl == std::string_view::npos) break;
        data.remove_prefix(nl + 1);
    }
    return out + "\n";
}

}  // namespace detail

class live_server {
  public:
    static constexpr std::size_t max_body = 64 * 1024;
    static constexpr std::size_t max_connections = 128;
    static constexpr std::size_t max_stream_backlog = 256;  // events queued for one slow stream
    static constexpr std::chrono::seconds idle_timeout{30}, write_timeout{10}, ping_period{15};

    // "ADDR:PORT", "[IPv6]:PORT", ":PORT", "PORT" (port 0: any free port; port() tells).
    // The address defaults to 127.0.0.1. Throws config_error naming the spec and why it cannot listen.
    explicit live_server(std::string_view spec) {
        detail::listen_on(acceptor_, spec,
                          {"", "ADDR:PORT, :PORT or PORT (e.g. 127.0.0.1:5665, [::1]:5665, 0 for any free port)",
                           "127.0.0.1"});
        auto local = acceptor_.local_endpoint();
        port_ = local.port();
        address_ = local.address().to_string();
    }
    ~live_server() { stop(); }
    live_server(const live_server&) = delete;
    live_server& operator=(const live_server&) = delete;

    unsigned short port() const noexcept { return port_; }
    std::string address() const { return address_; }
    // http://ADDR:PORT/ (an IPv6 address in brackets)
    std::string url() const {
        auto h = address_.find(':') != std::string::npos ? "[" + address_ + "]" : address_;
        return "http://" + h + ":" + std::to_string(port_) + "/";
    }

    // Handlers run on the server's thread; they must be quick and must not
    // throw (a throw is answered 500 with its message). Add before start().
    void route(std::string method, std::string path, std::function<live_response(const live_request&)> h) {
        routes_[{std::move(path), std::move(method)}] = std::move(h);
    }
    // Server-sent events: GET `path` keeps the response open
    // (text/event-stream, no buffering) and receives every publish(); a new
    // stream first gets the LAST data of each event name published so far,
    // in the order the names were first published. Add before start().
    void event_stream(std::string path) { streams_.insert(std::move(path)); }

    // Any thread. The event is formatted here and handed to the server's
    // thread, which keeps it as the name's last and writes it to every stream.
    void publish(std::string_view event, std::string data) {
        auto msg = std::make_shared<const std::string>(detail::live_sse_event(event, data));
        boost::asio::post(ioc_, [this, name = std::string(event), msg] {
            auto it = std::find_if(last_.begin(), last_.end(), [&](auto& e) { return e.first == name; });
            if (it == last_.end()) last_.emplace_back(name, msg);
            else it->second = msg;
            std::erase_if(subscribers_, [](auto& s) { return s->closed; });
            for (auto& s : subscribers_) s->send(msg);
        });
    }

    // Waits until every open event stream has been sent everything published
    // before this call (a page must see the run's last event before the
    // process exits), at most `max`. True when they all have.
    bool drain(std::chrono::milliseconds max) {
        if (!thread_.joinable() || stopped_) return true;
        auto deadline = std::chrono::steady_clock::now() + max;
        for (;;) {
            auto done = std::make_shared<std::promise<bool>>();
            auto answer = done->get_future();
            boost::asio::post(ioc_, [this, done] {
                bool idle = std::all_of(subscribers_.begin(), subscribers_.end(),
                                        [](auto& s) { return s->closed || (!s->writing && s->outbox.empty()); });
                done->set_value(idle);
            });
            if (answer.wait_until(deadline) != std::future_status::ready) return false;
            if (answer.get()) return true;
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    void start() {
        if (thread_.joinable() || stopped_) return;
        accept();
        ping();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    // Closes the listener and every connection, and joins the thread (the destructor does it too).
    void stop() {
        if (stopped_) return;
        stopped_ = true;
        if (!thread_.joinable()) return;
        boost::asio::post(ioc_, [this] {
            boost::system::error_code ec;
            acceptor_.close(ec);
            ping_timer_.cancel();
            for (auto& w : sessions_)
                if (auto s = w.lock()) s->close();
            ioc_.stop();
        });
        thread_.join();
    }

  private:
    using tcp = boost::asio::ip::tcp;

    // One connection: requests in turn (keep-alive), or, once it asked for
    // an event stream, the stream's writes until it closes.
    struct session : std::enable_shared_from_this<session> {
        session(live_server& o, tcp::socket s) : owner(o), stream(std::move(s)) {}
        live_server& owner;
        boost::beast::tcp_stream stream;
        boost::beast::flat_buffer buf;
        std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser;
        std::optional<boost::beast::http::response<boost::beast::http::string_body>> res;
        std::deque<std::shared_ptr<const std::string>> outbox;  // an event stream's pending writes
        bool writing = false, streaming = false, closed = false;
        char scratch[256];

        void read() {
            namespace http = boost::beast::http;
            parser.emplace();
            parser->body_limit(max_body);
            stream.expires_after(idle_timeout);
            http::async_read(stream, buf, *parser,
                             [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec == http::error::body_limit) return self->refuse(413, "body too large", "at most 64 KiB");
                if (ec == http::error::header_limit) return self->refuse(431, "headers too large", "at most 8 KiB");
                if (ec == http::error::end_of_stream || ec == boost::beast::error::timeout ||
                    ec == boost::asio::error::operation_aborted || self->closed)
                    return self->close();
                if (ec) return self->refuse(400, "bad request", ec.message());
                self->respond();
            });
        }

        // An error after which the connection closes.
        void refuse(int status, std::string_view title, std::string_view detail) {
            live_response r{status, "application/json", detail::live_error_json(status, title, detail), {}};
            write(std::move(r), false);
        }

        void respond() {
            namespace http = boost::beast::http;
            auto& req = parser->get();
            live_request in;
            in.method = std::string_view(req.method_string().data(), req.method_string().size());
            in.target = std::string_view(req.target().data(), req.target().size());
            auto q = in.target.find('?');
            in.path = in.target.substr(0, q);
            in.query = q == std::string_view::npos ? std::string_view{} : in.target.substr(q + 1);
            auto field = [&](http::field f) {
                auto it = req.find(f);
                return it == req.end() ? std::string_view{} : std::string_view(it->value().data(), it->value().size());
            };
            bool has_origin = req.find(http::field::origin) != req.end();
            in.origin = field(http::field::origin);
            in.host = field(http::field::host);
            in.content_type = field(http::field::content_type);
            in.body = req.body();
            const bool keep = req.keep_alive();

            if (auto why = owner.foreign(in, has_origin, stream.socket()); !why.empty())
                return write({403, "application/json", detail::live_error_json(403, "forbidden", why), {}}, keep);
            if (owner.streams_.count(std::string(in.path))) {
                if (in.method != "GET")
                    return write({405,
                                  "application/json",
                                  detail::live_error_json(405, "method not allowed", "GET"),
                                  {{"Allow", "GET"}}},
                                 keep);
                return subscribe();
            }
            std::string allow;
            const handler* h = nullptr;
            for (auto it = owner.routes_.lower_bound({std::string(in.path), std::string()});
                 it != owner.routes_.end() && it->first.first == in.path; ++it) {
                if (it->first.second == in.method) h = &it->second;
                allow += (allow.empty() ? "" : ", ") + it->first.second;
            }
            if (allow.empty())
                return write({404, "application/json", detail::live_error_json(404, "not found", in.path), {}}, keep);
            if (!h)
                return write({405,
                              "application/json",
                              detail::live_error_json(405, "method not allowed", allow),
                              {{"Allow", allow}}},
                             keep);
            live_response out;
            try {
                out = (*h)(in);
            } catch (const std::exception& e) {
                out = {500, "application/json", detail::live_error_json(500, "internal error", e.what()), {}};
            } catch (...) {
                out = {500, "application/json", detail::live_error_json(500, "internal error", "unknown"), {}};
            }
            write(std::move(out), keep);
        }

        void write(live_response r, bool keep) {
            namespace http = boost::beast::http;
            res.emplace(static_cast<http::status>(r.status), parser ? parser->get().version() : 11);
            res->set(http::field::server, "loadkit");
            res->set(http::field::content_type, r.content_type);
            res->set(http::field::cache_control, "no-store");
            res->set("X-Content-Type-Options", "nosniff");
            for (auto& [k, v] : r.headers) res->set(k, v);
            res->keep_alive(keep);
            res->body() = std::move(r.body);
            res->prepare_payload();
            stream.expires_after(write_timeout);
            http::async_write(stream, *res, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec || !self->res->keep_alive()) return self->close();
                self->read();
            });
        }

        void subscribe() {
            streaming = true;
            owner.subscribers_.push_back(shared_from_this());  // kept until it closes
            watch();
            // no length: the body ends when the connection does
            send(std::make_shared<const std::string>(
                "HTTP/1.1 200 OK\r\nServer: loadkit\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 1000\n\n"));
            for (auto& [name, msg] : owner.last_) send(msg);
        }
        // A stream's client sends nothing more: a read ends when it goes away.
        void watch() {
            stream.socket().async_read_some(boost::asio::buffer(scratch),
                                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->watch();
            });
        }
        void send(std::shared_ptr<const std::string> msg) {
            if (closed) return;
            if (outbox.size() >= max_stream_backlog) return close();  // a client that stopped reading
            outbox.push_back(std::move(msg));
            if (!writing) flush();
        }
        void flush() {
            if (outbox.empty() || closed) {
                writing = false;
                if (closed) outbox.clear();  // (no write holds a buffer of it now)
                return;
            }
            writing = true;
            stream.expires_after(write_timeout);
            boost::asio::async_write(stream, boost::asio::buffer(*outbox.front()),
                                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->outbox.pop_front();
                self->flush();
            });
        }
        void close() {
            if (closed) return;
            closed = true;  // the outbox stays until no write holds its front: flush() clears it
            boost::system::error_code ig;
            stream.socket().shutdown(tcp::socket::shutdown_both, ig);
            stream.socket().close(ig);
        }
    };

    // Why a request is refused by the origin rule (see the top), or "".
    std::string foreign(const live_request& r, bool has_origin, const tcp::socket& s) const {
        if (!r.host.empty()) {
            auto name = detail::live_host_name(r.host);
            boost::system::error_code ec;
            auto local = s.local_endpoint(ec);
            bool ok = detail::live_iequal(name, "localhost") || name == "127.0.0.1" || name == "::1" ||
                      name == address_ || (!ec && name == local.address().to_string());
            if (!ok)
                return "Host '" + std::string(r.host) +
                       "' is not this server's address (a page on another site may not call it)";
        }
        if (has_origin) {
            if (r.host.empty()) return "Origin without Host";
            std::string own = "http://" + std::string(r.host);
            if (!detail::live_iequal(r.origin, own))
                return "Origin '" + std::string(r.origin) + "' is not " + own +
                       " (a page on another site may not call this server)";
        }
        return {};
    }

    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (!acceptor_.is_open() || ec == boost::asio::error::operation_aborted) return;
            if (ec) {  // e.g. out of descriptors: try again shortly
                retry_.expires_after(std::chrono::milliseconds(50));
                retry_.async_wait([this](boost::system::error_code e) {
                    if (!e) accept();
                });
                return;
            }
            std::erase_if(sessions_, [](auto& w) { return w.expired(); });
            if (sessions_.size() >= max_connections) {
                boost::system::error_code ig;
                s.close(ig);
            } else {
                auto sess = std::make_shared<session>(*this, std::move(s));
                sessions_.push_back(sess);
                sess->read();
            }
            accept();
        });
    }

    // A comment line on every stream now and then: a client that went away is noticed.
    void ping() {
        ping_timer_.expires_after(ping_period);
        ping_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            std::erase_if(subscribers_, [](auto& s) { return s->closed; });
            static const auto msg = std::make_shared<const std::string>(": ping\n\n");
            for (auto& s : subscribers_) s->send(msg);
            ping();
        });
    }

    using handler = std::function<live_response(const live_request&)>;
    boost::asio::io_context ioc_{1};  // first: the sockets below are its
    tcp::acceptor acceptor_{ioc_};
    boost::asio::steady_timer retry_{ioc_}, ping_timer_{ioc_};
    std::thread thread_;
    bool stopped_ = false;
    unsigned short port_ = 0;
    std::string address_;
    std::map<std::pair<std::string, std::string>, handler> routes_;  // (path, method)
    std::set<std::string, std::less<>> streams_;
    // the server thread's alone:
    std::vector<std::weak_ptr<session>> sessions_;
    std::vector<std::shared_ptr<session>> subscribers_;  // open event streams
    std::vector<std::pair<std::string, std::shared_ptr<const std::string>>>
        last_;  // per event name, first-published order
};

}  // namespace loadkit::inline LOADKIT_ABI
