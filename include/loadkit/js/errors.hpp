#pragma once
// Errors of the JavaScript adapter: script_error (a script that cannot run),
// the pending exception as "file:line:col: message" and its stack (user
// frames only, original columns), and throwing from a native.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "../core/config.hpp"
#include "column_map.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js {

// A script that cannot run: a syntax error, an exception in init code, a
// module that cannot be found. The runner exits with script_error (107).
struct script_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

// The file name of loadkit's own JavaScript (the prelude).
inline constexpr const char* internal_source_prefix = "loadkit:";

// The newest frame of `frames` in the user's code: (file, line, column).
inline std::optional<std::tuple<std::string, std::uint32_t, std::uint32_t>> first_user_frame(JSContext* cx,
                                                                                             JS::HandleObject frames) {
    JS::RootedObject f(cx, frames), parent(cx);
    JS::RootedString source(cx);
    for (int depth = 0; f && depth < 64; ++depth) {
        std::uint32_t line = 0, column = 0;
        if (JS::GetSavedFrameSource(cx, nullptr, f, &source, JS::SavedFrameSelfHosted::Exclude) ==
                JS::SavedFrameResult::Ok &&
            source) {
            auto file = to_utf8(cx, source);
            if (!file.empty() && !file.starts_with(internal_source_prefix) &&
                JS::GetSavedFrameLine(cx, nullptr, f, &line, JS::SavedFrameSelfHosted::Exclude) ==
                    JS::SavedFrameResult::Ok &&
                JS::GetSavedFrameColumn(cx, nullptr, f, &column, JS::SavedFrameSelfHosted::Exclude) ==
                    JS::SavedFrameResult::Ok)
                return std::tuple{file, line, column};
        }
        if (JS::GetSavedFrameParent(cx, nullptr, f, &parent, JS::SavedFrameSelfHosted::Exclude) !=
            JS::SavedFrameResult::Ok)
            break;
        f = parent;
    }
    return std::nullopt;
}

// The pending exception as "file:line:col: message", then its stack.
inline std::string take_exception(JSContext* cx) {
    if (!JS_IsExceptionPending(cx)) return "the script was terminated";
    JS::ExceptionStack es(cx);
    if (!JS::StealPendingExceptionStack(cx, &es)) return "unknown error";
    JS::ErrorReportBuilder report(cx);
    if (!report.init(cx, es, JS::ErrorReportBuilder::NoSideEffects)) {
        JS_ClearPendingException(cx);
        return "an exception that cannot be printed";
    }
    // An exception that went through a promise (an async function's
    // rejection) has no stack of its own here; an Error keeps the one it
    // was made with.
    JS::RootedObject frames(cx, es.stack());
    if (!frames && es.exception().isObject()) {
        JS::RootedObject error(cx, &es.exception().toObject());
        frames = JS::ExceptionStackOrNull(error);
    }
    std::string out;
    if (auto* r = report.report(); r && r->filename) {
        // The report's column counts from 0 for a syntax error but from 1
        // for an Error object; the top frame, when it is the same line,
        // counts from 1 always.
        std::uint32_t line = 0, column = 0;
        bool same = frames && JS::GetSavedFrameLine(cx, nullptr, frames, &line) == JS::SavedFrameResult::Ok &&
                    line == r->lineno &&
                    JS::GetSavedFrameColumn(cx, nullptr, frames, &column) == JS::SavedFrameResult::Ok;
        std::string file = r->filename;
        std::uint32_t at_line = r->lineno, at_column = same ? column : r->column + 1;
        // Raised inside loadkit's own JavaScript (a k6 API called wrongly):
        // the user's frame that called it is where the mistake is.
        if (file.starts_with(internal_source_prefix) && frames)
            if (auto user = first_user_frame(cx, frames)) std::tie(file, at_line, at_column) = *user;
        out = file + ":" + std::to_string(at_line) + ":" + std::to_string(at_column) + ": ";
    }
    out += report.toStringResult().c_str() ? report.toStringResult().c_str() : "error";
    if (frames) {
        JS::RootedString stack(cx);
        if (JS::BuildStackString(cx, nullptr, frames, &stack, 4) && stack) {
            // loadkit's own frames say nothing to the user
            std::string s, all = to_utf8(cx, stack);
            for (std::size_t at = 0; at < all.size();) {
                auto end = all.find('\n', at);
                auto frame = all.substr(at, end == std::string::npos ? std::string::npos : end - at);
                if (!frame.empty() && frame.find(std::string("@") + internal_source_prefix) == std::string::npos)
                    s += (s.empty() ? "" : "\n") + frame;
                if (end == std::string::npos) break;
                at = end + 1;
            }
            if (!s.empty()) out += "\n" + s;
        }
    }
    JS_ClearPendingException(cx);
    return original_columns(std::move(out));
}
inline bool throw_error(JSContext* cx, const std::string& message) {
    JS_ReportErrorUTF8(cx, "%s", message.c_str());
    return false;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::js

#pragma GCC diagnostic pop
