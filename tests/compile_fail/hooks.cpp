// Must NOT compile (tests/CMakeLists.txt checks the messages): hooks the DSL
// would otherwise skip in silence (dsl/hooks.hpp).
#include <loadkit.hpp>

struct Token {
    std::string value;
};

struct Shop : loadkit::Scenario<Shop, Token> {
    static loadkit::task<Token> setup(loadkit::client&) { co_return Token{"t"}; }
    static loadkit::task<> tearDown(loadkit::client&, const Token&) { co_return; }  // misspelled teardown
    struct User : loadkit::VU<Shop> {
        void on_start(const Token&) {}  // not a task: would never run
        loadkit::task<> iteration() { co_await http.get("/"); }
        loadkit::task<> onStop() { co_return; }  // misspelled on_stop
    };
};

int main() {
    loadkit::test<Shop> t;
    t.scenario("s", loadkit::per_vu_iterations{});
}
