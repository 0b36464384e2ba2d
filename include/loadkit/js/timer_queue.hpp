#pragma once
// The pending timers of one VU's JavaScript (k6/timers: setTimeout,
// setInterval; modules/timers.hpp), in the order they are due. As in k6, an
// iteration (or the init code, setup, teardown) ends only when none is left:
// async VUs wait for the first one on the worker's event loop (async.hpp),
// a VU's own thread asks the engine to sleep until it (instance.hpp). This
// is only the queue: who waits, and how, is theirs.
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

#include "../core/config.hpp"
#include "../core/log.hpp"
#include "spidermonkey.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

class timer_queue {
  public:
    bool empty() const noexcept { return order_.empty(); }
    std::size_t size() const noexcept { return order_.size(); }
    // When the first timer is due (steady clock ns); only when not empty.
    std::int64_t next_deadline() const noexcept { return order_.begin()->first.first; }

    // A timer calling `call` ([callback, ...arguments]) at `deadline`, then
    // every `period_ns` when that is not 0 (an interval). Ids count from 1
    // per VU over its iterations, as k6's do.
    std::uint32_t add(JSContext* cx, JS::HandleObject call, std::int64_t deadline, std::int64_t period_ns) {
        std::uint32_t id = ++next_id_;
        if (id == 0) id = ++next_id_;  // 0 is never an id (k6's start at 1)
        key k{deadline, ++seq_};
        order_.emplace(k, id);
        entries_[id] = entry{std::make_unique<JS::PersistentRootedObject>(cx, call), period_ns, k};
        return id;
    }
    // clearTimeout/clearInterval (either clears either, as in browsers and
    // k6): false when `id` is not pending (already run, or never was).
    bool remove(std::uint32_t id) {
        auto it = entries_.find(id);
        if (it == entries_.end()) return false;
        order_.erase(it->second.when);
        entries_.erase(it);
        return true;
    }
    // Takes the first timer due at `now`: its [callback, ...arguments] into
    // `call`. A timeout leaves the queue; an interval goes back at its next
    // time before it runs, so that its own callback can clear it. Equal
    // deadlines run in the order they were set (FIFO).
    bool pop_due(std::int64_t now, JS::MutableHandleObject call) {
        if (order_.empty() || order_.begin()->first.first > now) return false;
        auto first = order_.begin();
        auto it = entries_.find(first->second);
        order_.erase(first);
        call.set(*it->second.call);
        if (it->second.period > 0) {
            // k6's ticker keeps its rate; a late tick is not made up twice
            std::int64_t next = it->second.when.first + it->second.period;
            if (next < now) next = now;
            it->second.when = key{next, ++seq_};
            order_.emplace(it->second.when, it->first);
        } else {
            entries_.erase(it);
        }
        return true;
    }
    // Drops every pending timer: at the end of an iteration that failed or
    // was interrupted (k6 cancels the iteration's context: its timers never
    // run), with k6's warning when `interrupted`.
    void clear(bool interrupted) {
        if (order_.empty()) return;
        if (interrupted)
            loadkit::detail::logger::instance().write_once(
                log_level::warn,
                "setTimeout/setInterval: pending timers were stopped because the VU iteration was interrupted");
        order_.clear();
        entries_.clear();
    }

  private:
    using key = std::pair<std::int64_t, std::uint64_t>;  // (deadline, the order they were set in)
    struct entry {
        std::unique_ptr<JS::PersistentRootedObject> call;
        std::int64_t period = 0;
        key when{};
    };
    std::map<key, std::uint32_t> order_;
    std::unordered_map<std::uint32_t, entry> entries_;
    std::uint32_t next_id_ = 0;
    std::uint64_t seq_ = 0;
};

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
