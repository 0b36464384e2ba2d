#pragma once
// options::handle_summary: what receives the run summary at the end (k6's
// handleSummary). It accepts the callables users write, taking the summary
// (`const nlohmann::json&`) and returning a std::string (replaces the console
// report), an nlohmann::json (an object or array is printed as pretty JSON,
// null keeps the default), a std::optional of either (nullopt keeps the
// default), or nothing (void: keeps the default). Anything else stops the
// build at one static_assert that says so, instead of std::function's pages.
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI {

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// A return type handle_summary can use: void, something that becomes JSON
// (std::string, nlohmann::json, ...), or an optional of that.
template <class R>
concept summary_return = std::is_void_v<R> || std::is_constructible_v<nlohmann::json, R> ||
    (is_optional<std::remove_cvref_t<R>>::value&&
         std::is_constructible_v<nlohmann::json, typename std::remove_cvref_t<R>::value_type>);
}  // namespace detail

class summary_handler {
  public:
    summary_handler() = default;
    summary_handler(std::nullptr_t) {}

    template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, summary_handler> &&
             !std::same_as<std::remove_cvref_t<F>, std::nullptr_t>)
        summary_handler(F f) {  // NOLINT: implicit, so that `o.handle_summary = [](...) {...};` reads as it should
        constexpr bool callable = std::is_invocable_v<F&, const nlohmann::json&>;
        static_assert(callable,
                      "options::handle_summary: the function must take the summary as `(const nlohmann::json& "
                      "summary)` and return std::string, nlohmann::json, std::optional<std::string or json>, or void");
        if constexpr (callable) {
            using R = std::invoke_result_t<F&, const nlohmann::json&>;
            static_assert(detail::summary_return<R>,
                          "options::handle_summary: the function returns a type that is not a report: return "
                          "std::string (the report), nlohmann::json (printed as JSON; null keeps the default), "
                          "std::optional<std::string or json> (nullopt keeps the default) or void");
            if constexpr (detail::summary_return<R>) {
                fn_ = [f = std::move(f)](const nlohmann::json& s) mutable -> nlohmann::json {
                    if constexpr (std::is_void_v<R>) {
                        f(s);
                        return nullptr;
                    } else if constexpr (detail::is_optional<std::remove_cvref_t<R>>::value) {
                        auto r = f(s);
                        if (!r) return nullptr;
                        return nlohmann::json(std::move(*r));
                    } else {
                        return nlohmann::json(f(s));
                    }
                };
            }
        }
    }

    explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
    nlohmann::json operator()(const nlohmann::json& summary) const { return fn_(summary); }

  private:
    std::function<nlohmann::json(const nlohmann::json&)> fn_;
};

}  // namespace loadkit::inline LOADKIT_ABI
