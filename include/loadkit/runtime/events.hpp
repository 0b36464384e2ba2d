#pragma once
// Locust-style events. test_start/test_stop fire once per process (per run),
// user_start/user_stop once per VU that iterated, request after every request.
// Listeners are never called concurrently (the engine serialises them), so a
// listener may keep plain shared state, as seed 000's shared_state does.
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/error_code.hpp"

namespace loadkit::inline LOADKIT_ABI {

struct request;  // http/message.hpp: listeners that read them include it
class response;

struct test_info {
    std::string_view name;
    std::string_view run_id;
    std::string_view target;        // base URL of the run
    const nlohmann::json* summary;  // test_stop only: the run summary (null at test_start)
};

struct user_info {
    std::uint64_t vu;  // the VU id, 1-based, unique in the run (k6's __VU)
    std::string_view scenario;
    std::uint64_t iterations;  // iterations completed (0 at user_start)
};

struct request_info {
    std::string_view scenario;
    std::uint64_t vu;
    std::string_view name, method, url;
    int status;
    loadkit::error_code error;
    double duration_ms;
    std::size_t response_length;
    const loadkit::response* response;
    // This hop's request as the client sent it: its head (request line and
    // headers, CRLF-separated) and its body. Views, valid during the event.
    std::string_view request_head, request_body;
};

template <class... Args>
class event {
  public:
    template <class F>
    void add_listener(F&& f) {
        listeners_.emplace_back(std::forward<F>(f));
    }
    bool empty() const noexcept { return listeners_.empty(); }
    void clear() noexcept { listeners_.clear(); }
    void fire(const Args&... a) const {
        for (auto& l : listeners_) l(a...);
    }

  private:
    std::vector<std::function<void(const Args&...)>> listeners_;
};

struct events {
    event<test_info> test_start;
    event<test_info> test_stop;
    event<user_info> user_start;
    event<user_info> user_stop;
    event<request_info> request;
};

}  // namespace loadkit::inline LOADKIT_ABI
