// The quick start: a real load test against the built-in target.
//
// Shop logs in once in setup(), every VU logs in on its first iteration
// (on_start), browses with the shared token, checks what it got, and logs
// out when it retires (on_stop). teardown() revokes the setup token.
#include <loadkit.hpp>
#include <loadkit/target.hpp>

#include <cstdlib>
#include <iostream>

using namespace std::chrono_literals;

struct Token {
    std::string value;
};

struct Shop : loadkit::Scenario<Shop, Token> {
    static loadkit::task<Token> setup(loadkit::client& http) {
        auto& res = co_await http.post("/auth/token", R"({"id":"quickstart"})");
        co_return Token{res.json("token").get<std::string>()};
    }
    static loadkit::task<> teardown(loadkit::client& http, const Token& t) {
        co_await http.post("/auth/revoke", R"({"token":")" + t.value + R"("})");
    }

    struct User : loadkit::VU<Shop> {
        std::string session;  // per-VU state (the seed's session.vars)

        loadkit::task<> on_start(const Token&) {
            auto& res = co_await http.post("/auth/login", "{}", {.name = "login"});
            session = res.json("token").get<std::string>();
        }
        loadkit::task<> iteration(const Token& t) {
            std::string bearer = "Bearer " + t.value;
            auto& items = co_await http.get("/items", {.headers = {{"Authorization", bearer}}});
            loadkit::check(items, {
                                      {"items: status 200", [](auto& r) { return r.status == 200; }},
                                      {"items: has 2", [](auto& r) { return r.json("items").size() == 2; }},
                                  });
            auto& feed = co_await http.get("/feed", {.headers = {{"Authorization", "Bearer " + session}}});
            loadkit::check(feed, {{"feed: status 200", [](auto& r) { return r.status == 200; }}});
            co_await sleep(10ms);
        }
        loadkit::task<> on_stop(const Token&) { co_await http.post("/auth/logout", "{}", {.name = "logout"}); }
    };
};

int main(int argc, char** argv) {
    loadkit::target_server target;  // the built-in target, on an ephemeral loopback port
    loadkit::options opts;
    opts.name = "quickstart";
    opts.target = argc > 1 ? argv[1] : target.url();
    if (argc > 2) opts.summary_export = argv[2];
    auto result = loadkit::run<Shop>(loadkit::constant_vus{.vus = 20, .duration = 5s}, opts);
    return result.exit_code();
}
