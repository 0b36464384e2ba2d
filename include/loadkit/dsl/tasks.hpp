#pragma once
// Locust's tasks in the C++ DSL: a VU type lists the member functions its
// iterations run, with weights (Locust's @task(3)) and tags (@tag), in a
// static member function `tasks()`; each iteration runs one of them, picked
// by the engine (engine/tasks.hpp). Its wait time is a static member too:
//
//   struct User : loadkit::VU<Shop> {
//       loadkit::task<> browse(const Token&);
//       loadkit::task<> buy();
//       static auto tasks() { return loadkit::task_set<User>{{&User::browse, 3}, {&User::buy, 1, {"checkout"}}}; }
//       static constexpr loadkit::wait_time wait_time = loadkit::between(1s, 5s);
//   };
//
// loadkit::sequence<User>{&User::a, &User::b} runs them in order, one per
// iteration (Locust's SequentialTaskSet). `tasks()` is a function (its body
// sees the finished class; a static data member's initializer would not).
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../engine/tasks.hpp"

namespace loadkit::inline LOADKIT_ABI {

template <class S>
class VU;

namespace detail {
template <class S>
S scenario_of(const VU<S>*);
// The setup data type of the scenario a VU type belongs to.
template <class U>
using vu_data_t = typename decltype(scenario_of(static_cast<U*>(nullptr)))::data_type;
}  // namespace detail

// One task: a member function of the VU type (with or without the setup
// data), its weight and its tags.
template <class U, class D = detail::vu_data_t<U>>
struct task_def {
    task<> (U::*with_data)(const D&) = nullptr;
    task<> (U::*plain)() = nullptr;
    unsigned weight = 1;
    std::vector<std::string> tags;

    task_def(task<> (U::*f)(const D&), unsigned w = 1, std::vector<std::string> t = {})
        : with_data(f), weight(w), tags(std::move(t)) {}
    task_def(task<> (U::*f)(), unsigned w = 1, std::vector<std::string> t = {})
        : plain(f), weight(w), tags(std::move(t)) {}
};

// A VU type's tasks: one runs per iteration, picked by weight.
template <class U, class D = detail::vu_data_t<U>>
struct task_set {
    std::vector<task_def<U, D>> tasks;
    bool sequential = false;
    task_set(std::initializer_list<task_def<U, D>> l) : tasks(l) {}

    // What the engine needs: weights and tags, in the same order.
    task_list info() const {
        task_list l;
        l.sequential = sequential;
        for (std::size_t i = 0; i < tasks.size(); ++i)
            l.tasks.push_back({"task " + std::to_string(i + 1), tasks[i].weight, tasks[i].tags});
        return l;
    }
};
// Locust's SequentialTaskSet: the tasks in order, one per iteration, round
// and round (a weight is ignored).
template <class U, class D = detail::vu_data_t<U>>
struct sequence : task_set<U, D> {
    sequence(std::initializer_list<task_def<U, D>> l) : task_set<U, D>(l) { this->sequential = true; }
};

}  // namespace loadkit::inline LOADKIT_ABI
