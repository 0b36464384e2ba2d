#pragma once
// SpiderMonkey 102 under the JavaScript adapter.
//
// Most VUs are async (async.hpp: one realm per worker thread), synchronous
// k6 scripts included once rewritten to await (transform.hpp). A script
// that cannot be rewritten keeps k6's blocking API the direct way: a
// JavaScript VU needs a stack of its own while it waits, so each VU gets a
// thread of its own running a JSContext created as a child of the script's
// parent runtime (which shares atoms and self-hosted code: about 550 KB per
// context instead of 3 MB). The engine still owns the VU: its iteration is a coroutine on a
// worker thread that hands the VU's turn to the JavaScript thread and serves
// what that thread asks for (a request on the VU's own client, a sleep) on
// the worker's event loop, so executors, metrics, timeouts and interrupts are
// the engine's, unchanged. Exactly one side owns a VU at a time; the turn
// passes through one atomic (a futex), and back through a post to the
// worker's io_context.
//
// Metric samples made in JavaScript (checks, custom metrics, groups) are kept
// in the VU's queue and applied on the worker at the next hand-back, where the
// thread's shard lives.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <coroutine>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef DEBUG
#error "loadkit/js: SpiderMonkey's release headers break with -DDEBUG; undefine it for this translation unit"
#endif
#include <jsapi.h>
#include <jsfriendapi.h>
#include <js/Array.h>
#include <js/ArrayBuffer.h>
#include <js/CompilationAndEvaluation.h>
#include <js/Context.h>
#include <js/ContextOptions.h>
#include <js/Conversions.h>
#include <js/ErrorReport.h>
#include <js/Exception.h>
#include <js/Initialization.h>
#include <js/Interrupt.h>
#include <js/JSON.h>
#include <js/Modules.h>
#include <js/Object.h>
#include <js/Promise.h>
#include <js/PropertyAndElement.h>
#include <js/Realm.h>
#include <js/SourceText.h>
#include <js/SavedFrameAPI.h>
#include <js/Stack.h>
#include <js/experimental/JSStencil.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "../core/duration.hpp"
#include "../core/file.hpp"
#include "../core/log.hpp"
#include "../engine/script.hpp"
#include "../http/client.hpp"
#include "../runtime/custom_metrics.hpp"
#include "../dsl/scenario.hpp"
#include "crypto.hpp"
#include "prelude.hpp"

extern char** environ;

// SpiderMonkey's rooting keeps the addresses of stack roots in the context,
// by design; g++ 12 reads that as a dangling pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"

namespace loadkit::js {

// A script that cannot run: a syntax error, an exception in init code, a
// module that cannot be found. The runner exits with script_error (107).
struct script_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

namespace ld = loadkit::detail;

// JS_Init once per process; JS_ShutDown at exit, after every context is gone.
inline void init_process() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (!JS_Init()) throw script_error("SpiderMonkey failed to initialise (JS_Init)");
        std::atexit([] { JS_ShutDown(); });
    });
}

// SpiderMonkey's JIT switches are process-wide, so one choice for the run
// (set_jit, before VUs start): on when every scenario runs async VUs, off
// when any runs synchronous ones, whose runtimes would each compile and keep
// the same code (measured at 1000 synchronous VUs: 714 -> 585 MB of RSS
// without it, CPU per request within noise). LOADKIT_JS_JIT=1 or 0 overrides.
inline void set_jit(JSContext* cx, bool on) {
    if (const char* e = std::getenv("LOADKIT_JS_JIT"); e && (e == std::string_view("1") || e == std::string_view("0")))
        on = e == std::string_view("1");
    JS_SetGlobalJitCompilerOption(cx, JSJITCOMPILER_BASELINE_INTERPRETER_ENABLE, on);
    JS_SetGlobalJitCompilerOption(cx, JSJITCOMPILER_BASELINE_ENABLE, on);
    JS_SetGlobalJitCompilerOption(cx, JSJITCOMPILER_ION_ENABLE, on);
}

inline constexpr std::uint32_t heap_max_bytes = 1u << 30;      // the 32 MB default is too small for big data files
inline constexpr std::size_t vu_stack_bytes = 2u << 20;         // virtual; a VU touches a few pages of it
inline constexpr std::size_t stack_quota_bytes = vu_stack_bytes - (256u << 10);

// `nursery_bytes`: the young generation's limit. A VU thread's runtime keeps
// it small, so a thousand of them stay near their working set; a context
// shared by many async VUs keeps it large, as every minor GC traces the
// persistent roots of all its VUs (measured: 10% of the CPU with 256 KB).
inline void setup_context(JSContext* cx, std::size_t stack_quota, std::uint32_t nursery_bytes = 256u << 10) {
    JS_SetNativeStackQuota(cx, stack_quota);
    JS_SetGCParameter(cx, JSGC_MAX_NURSERY_BYTES, nursery_bytes);
    // Capturing an async stack on every promise cost 11k instructions per
    // asyncRequest (measured); error stacks still show the running frames.
    JS::ContextOptionsRef(cx).setAsyncStack(false);
    if (!::js::UseInternalJobQueues(cx)) throw script_error("SpiderMonkey: cannot set up the job queue");
    if (!JS::InitSelfHostedCode(cx)) throw script_error("SpiderMonkey: cannot initialise self-hosted code");
}

// --- strings -------------------------------------------------------------

inline std::string to_utf8(JSContext* cx, JS::HandleValue v) {
    JS::RootedString s(cx, JS::ToString(cx, v));
    if (!s) return {};
    JS::UniqueChars c = JS_EncodeStringToUTF8(cx, s);
    return c ? std::string(c.get()) : std::string();
}
inline std::string to_utf8(JSContext* cx, JSString* str) {
    JS::RootedString s(cx, str);
    JS::UniqueChars c = JS_EncodeStringToUTF8(cx, s);
    return c ? std::string(c.get()) : std::string();
}
inline bool is_ascii(std::string_view s) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if (w & 0x8080808080808080ull) return false;
    }
    for (; i < s.size(); ++i)
        if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
    return true;
}
// UTF-8 when it is valid, bytes as Latin-1 otherwise (a binary body). ASCII,
// the common case, is copied as Latin-1 without decoding.
inline JSString* new_string(JSContext* cx, std::string_view s) {
    if (s.empty()) return JS_GetEmptyString(cx);
    if (is_ascii(s)) return JS_NewStringCopyN(cx, s.data(), s.size());
    if (JSString* r = JS_NewStringCopyUTF8N(cx, JS::UTF8Chars(s.data(), s.size()))) return r;
    JS_ClearPendingException(cx);
    return JS_NewStringCopyN(cx, s.data(), s.size());
}
inline bool set_string(JSContext* cx, JS::HandleObject o, const char* name, std::string_view s) {
    JS::RootedValue v(cx, JS::StringValue(new_string(cx, s)));
    return JS_SetProperty(cx, o, name, v);
}
inline bool set_number(JSContext* cx, JS::HandleObject o, const char* name, double d) {
    JS::RootedValue v(cx, JS::NumberValue(d));
    return JS_SetProperty(cx, o, name, v);
}
// A string value's UTF-8 into `out`, reusing its buffer: an ASCII string
// (stored as Latin-1) is copied as it is, without an allocation.
inline void assign_utf8(JSContext* cx, JS::HandleValue v, std::string& out) {
    if (v.isString()) {
        if (JSLinearString* lin = JS_EnsureLinearString(cx, v.toString()); lin && JS::LinearStringHasLatin1Chars(lin)) {
            JS::AutoCheckCannotGC nogc;
            std::string_view chars(reinterpret_cast<const char*>(JS::GetLatin1LinearStringChars(nogc, lin)), JS::GetLinearStringLength(lin));
            if (is_ascii(chars)) {
                out.assign(chars);
                return;
            }
        }
    }
    out = to_utf8(cx, v);
}
// Bytes of a string (as UTF-8) or of an ArrayBuffer.
inline std::string bytes_of(JSContext* cx, JS::HandleValue v) {
    if (v.isObject()) {
        JS::RootedObject o(cx, &v.toObject());
        if (JS::IsArrayBufferObject(o)) {
            std::size_t n = 0;
            bool shared = false;
            std::uint8_t* data = nullptr;
            JS::GetArrayBufferLengthAndData(o, &n, &shared, &data);
            return std::string(reinterpret_cast<const char*>(data), n);
        }
    }
    if (v.isNullOrUndefined()) return {};
    return to_utf8(cx, v);
}
inline JSObject* new_array_buffer(JSContext* cx, std::string_view bytes) {
    JS::RootedObject ab(cx, JS::NewArrayBuffer(cx, bytes.size()));
    if (!ab) return nullptr;
    JS::AutoCheckCannotGC nogc;
    bool shared = false;
    std::memcpy(JS::GetArrayBufferData(ab, &shared, nogc), bytes.data(), bytes.size());
    return ab;
}

// Where the rewrite to await (transform.hpp) inserted text in a module: per
// line, (column in the original, length) in order. Errors report columns of
// the rewritten text; original_columns maps them back, so a message points
// where the user's file has the code.
struct column_map {
    std::map<std::uint32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> lines;
    // a 1-based column of the rewritten line -> of the original one
    std::uint32_t original(std::uint32_t line, std::uint32_t column) const {
        auto it = lines.find(line);
        if (it == lines.end() || column == 0) return column;
        std::uint32_t shift = 0, c = column - 1;
        for (auto [at, length] : it->second) {
            std::uint32_t start = at + shift;
            if (c >= start + length) shift += length;
            else if (c >= start) return at + 1;  // inside inserted text: where it was inserted
            else break;
        }
        return c - shift + 1;
    }
};
inline std::mutex& column_maps_mutex() {
    static std::mutex m;
    return m;
}
inline std::map<std::string, column_map, std::less<>>& column_maps() {
    static std::map<std::string, column_map, std::less<>> maps;
    return maps;
}
// Every "PATH:LINE:COL" of a rewritten module in `text`, with the original column.
inline std::string original_columns(std::string text) {
    std::lock_guard lock(column_maps_mutex());
    for (auto& [path, map] : column_maps()) {
        for (std::size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + 1)) {
            std::size_t p = at + path.size();
            auto number = [&](std::uint32_t& out) {
                if (p >= text.size() || text[p] != ':') return false;
                std::size_t q = ++p;
                out = 0;
                while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) out = out * 10 + (text[p++] - '0');
                return p > q;
            };
            std::uint32_t line = 0, column = 0;
            std::size_t column_at = 0;
            if (!number(line)) continue;
            column_at = p + 1;
            if (!number(column)) continue;
            auto fixed = std::to_string(map.original(line, column));
            text.replace(column_at, p - column_at, fixed);
        }
    }
    return text;
}

// The file name of loadkit's own JavaScript (the prelude).
inline constexpr const char* internal_source_prefix = "loadkit:";

// The newest frame of `frames` in the user's code: (file, line, column).
inline std::optional<std::tuple<std::string, std::uint32_t, std::uint32_t>> first_user_frame(JSContext* cx, JS::HandleObject frames) {
    JS::RootedObject f(cx, frames), parent(cx);
    JS::RootedString source(cx);
    for (int depth = 0; f && depth < 64; ++depth) {
        std::uint32_t line = 0, column = 0;
        if (JS::GetSavedFrameSource(cx, nullptr, f, &source, JS::SavedFrameSelfHosted::Exclude) == JS::SavedFrameResult::Ok && source) {
            auto file = to_utf8(cx, source);
            if (!file.empty() && !file.starts_with(internal_source_prefix) &&
                JS::GetSavedFrameLine(cx, nullptr, f, &line, JS::SavedFrameSelfHosted::Exclude) == JS::SavedFrameResult::Ok &&
                JS::GetSavedFrameColumn(cx, nullptr, f, &column, JS::SavedFrameSelfHosted::Exclude) == JS::SavedFrameResult::Ok)
                return std::tuple{file, line, column};
        }
        if (JS::GetSavedFrameParent(cx, nullptr, f, &parent, JS::SavedFrameSelfHosted::Exclude) != JS::SavedFrameResult::Ok) break;
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
        bool same = frames && JS::GetSavedFrameLine(cx, nullptr, frames, &line) == JS::SavedFrameResult::Ok && line == r->lineno &&
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
                if (!frame.empty() && frame.find(std::string("@") + internal_source_prefix) == std::string::npos) s += (s.empty() ? "" : "\n") + frame;
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

// The path of one of the script's own modules that `spec` names from a
// module in `base_dir` (./x.js, ../x.js, /x.js), or nothing: k6/* and
// anything else are not files. The loader and the rewrite (transform.hpp)
// both name modules this way, so they agree on which file is which.
inline std::optional<std::string> user_module_path(const std::filesystem::path& base_dir, std::string_view spec) {
    if (!(spec.starts_with("./") || spec.starts_with("../") || spec.starts_with("/"))) return std::nullopt;
    auto path = spec.starts_with("/") ? std::filesystem::path(spec) : (base_dir / spec);
    return path.lexically_normal().string();
}

// --- the script, shared by all threads ----------------------------------

// Compiled once: every module of the script (the user's files and the k6/*
// modules) as stencils, which every VU's runtime instantiates.
struct program {
    std::filesystem::path main;
    std::filesystem::path dir;
    std::map<std::string, std::string, std::less<>> env;  // -e values, for the init context's __ENV

    std::mutex mu;
    std::map<std::string, RefPtr<JS::Stencil>, std::less<>> modules;  // by absolute path or k6/* name
    RefPtr<JS::Stencil> prelude;

    JSRuntime* parent = nullptr;
    // The modules rewritten to await instead of block (transform.hpp), by
    // path; `transformed` when the whole program was, else why not.
    std::map<std::string, std::string, std::less<>> sources;
    bool transformed = false;
    std::string transform_note;
    // Whether the async VUs of a thread share the instances of the user's
    // modules (transform.hpp decides), else why not.
    bool shared_modules = false;
    std::string share_note;
    std::set<std::string, std::less<>> functions;  // exported functions of the main module
    std::set<std::string, std::less<>> async_functions;  // those that are async functions
    nlohmann::json options;                        // the exported options, or null
    std::string setup_json = "null";               // what setup() returned, as JSON
    // k6's exec.test.options: the exported options as the run uses them (the
    // vus/duration/iterations/stages shortcuts turned into scenarios), JSON
    std::string test_options = "{}";

    bool exports(std::string_view name) const { return functions.find(name) != functions.end(); }

    // The stencil for a module, compiled on first use with the calling context.
    JS::Stencil* module(JSContext* cx, const std::string& key) {
        std::lock_guard lock(mu);
        if (auto it = modules.find(key); it != modules.end()) return it->second.get();
        std::string source;
        bool builtin = false;
        if (auto* names = builtin_module(key)) {
            source = builtin_module_source(key, *names);
            builtin = true;
        }
        if (auto it = sources.find(key); !builtin && it != sources.end()) {
            source = it->second;
        } else if (!builtin) {
            std::string why;  // a regular file within the limit (not /dev/zero)
            if (!loadkit::detail::read_input_file(key, loadkit::detail::max_test_file_bytes, source, why)) {
                throw_error(cx, "cannot load module: " + why);
                return nullptr;
            }
        }
        JS::CompileOptions opts(cx);
        opts.setFileAndLine(key.c_str(), 1);
        JS::SourceText<mozilla::Utf8Unit> text;
        if (!text.init(cx, source.data(), source.size(), JS::SourceOwnership::Borrowed)) return nullptr;
        RefPtr<JS::Stencil> st = JS::CompileModuleScriptToStencil(cx, opts, text);
        if (!st) return nullptr;
        return (modules[key] = std::move(st)).get();
    }
    JS::Stencil* prelude_stencil(JSContext* cx) {
        std::lock_guard lock(mu);
        if (prelude) return prelude.get();
        JS::CompileOptions opts(cx);
        opts.setFileAndLine("loadkit:prelude", 1);
        JS::SourceText<mozilla::Utf8Unit> text;
        if (!text.init(cx, prelude_source.data(), prelude_source.size(), JS::SourceOwnership::Borrowed)) return nullptr;
        prelude = JS::CompileGlobalScriptToStencil(cx, opts, text);
        return prelude.get();
    }
};

// --- the hand-over between a VU's worker and its JavaScript thread ------

// A metric sample made in JavaScript, applied on the worker.
struct metric_op {
    enum kind_t : std::uint8_t { check, sample, group } kind;
    explicit metric_op(kind_t k) : kind(k) {}
    bool flag = false;                 // check: passed; sample: time values
    metric_kind metric_kind_ = metric_kind::counter;
    std::uint32_t metric = 0;
    double value = 0;
    std::string name;                  // check name, or the group path
    std::vector<std::pair<std::string, std::string>> tags;
};

inline metric_op group_op(std::string path) {
    metric_op op{metric_op::group};
    op.name = std::move(path);
    return op;
}

// A request as JavaScript asked for it (http.* arguments), kept until the
// engine has sent it.
struct request_spec {
    std::string method, url, body, name;
    header_list headers;
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<request_cookie> cookies;  // params.cookies
    std::optional<nanoseconds> timeout;
    int redirects = -1;

    // params viewing this spec (valid while the spec lives and is unchanged)
    params to_params() const {
        params p;
        p.name = name;
        std::size_t n = 0;
        for (auto& [k, v] : tags)
            if (n < std::size(p.tags)) p.tags[n++] = {k, v};
        p.timeout = timeout;
        p.redirects = redirects;
        p.header_list = headers;
        p.cookies = cookies;
        return p;
    }
};

struct bridge {
    enum class command { none, call, setup, teardown, before, after, quit };
    enum class ask { done, http, sleep };

    // 1: the JavaScript thread owns the VU; 0: the engine does; 2: the engine
    // does and the JavaScript thread sleeps on the futex.
    std::atomic<int> turn{1};
    // 0: initialising, 1: the engine waits for it, 2: ready
    std::atomic<int> init_state{0};
    std::string init_error;
    std::coroutine_handle<> waiting{};
    boost::asio::io_context* ioc = nullptr;
    std::atomic<JSContext*> cx{nullptr};
    std::atomic<bool> stop{false};     // the VU was interrupted: terminate the JavaScript

    // engine -> JavaScript
    command cmd = command::none;
    std::string function;
    request* req = nullptr;
    const response* res = nullptr;
    ld::vu_context* vu = nullptr;
    // The engine's VU this command runs for: `vu`, or for setup/teardown
    // (whose instance has no VU of its own) the engine's control VU, whose
    // shard records their checks and whose deadline and interrupts apply.
    ld::vu_context* host_vu = nullptr;

    // JavaScript -> engine
    ask asked = ask::done;
    request_spec spec;
    double sleep_seconds = 0;
    std::vector<metric_op> ops;

    // answers
    const response* answer = nullptr;
    bool answer_interrupted = false;

    // the outcome of a command
    bool interrupted = false;
    std::optional<std::string> abort_reason;
    std::string failure;

    // JavaScript side: gives the VU back to the engine, waits for it again.
    void hand_back() {
        auto h = waiting;
        auto* io = ioc;
        turn.store(0, std::memory_order_release);
        boost::asio::post(*io, [h] { h.resume(); });
        wait_turn();
    }
    // Sleeps in the kernel until the engine gives the turn back. A futex, not
    // std::atomic::wait: libstdc++'s wait spins on sched_yield first, which
    // with a thousand VU threads cost 160 us of CPU per request (measured).
    void wait_turn() {
        for (;;) {
            int t = turn.load(std::memory_order_acquire);
            if (t == 1) return;
            if (t == 0 && !turn.compare_exchange_strong(t, 2, std::memory_order_acq_rel)) continue;
            ::syscall(SYS_futex, reinterpret_cast<int*>(&turn), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
        }
    }
    // Engine side: the turn to the JavaScript thread, waking it if it sleeps.
    void give() {
        if (turn.exchange(1, std::memory_order_acq_rel) == 2)
            ::syscall(SYS_futex, reinterpret_cast<int*>(&turn), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
    // Engine side: gives the VU to the JavaScript thread until it hands back.
    struct give_turn {
        bridge& b;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            b.waiting = h;
            b.give();
        }
        void await_resume() const noexcept {}
    };
    // Engine side: until the JavaScript thread has run the init code.
    struct ready {
        bridge& b;
        bool await_ready() const noexcept { return b.init_state.load(std::memory_order_acquire) == 2; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            b.waiting = h;
            int expected = 0;
            return b.init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
        }
        void await_resume() const noexcept {}
    };
};

// --- one JavaScript global: the prelude, the natives and the modules ----

struct instance;
// What an async VU gives its global: requests and sleeps run by the engine,
// each settling `promise` when done.
struct async_host {
    virtual ~async_host() = default;
    // The spec of the next request, to fill (its buffers are reused), then
    // start_request starts it.
    virtual request_spec& next_request() = 0;
    virtual bool start_request(JS::HandleObject promise) = 0;
    virtual bool start_sleep(double seconds, JS::HandleObject promise) = 0;
};

// What a realm's private points to. A realm is one global with the prelude:
// a sync VU's thread and the init context have one of their own, with one
// instance in it; a worker thread's async VUs share one realm, each with its
// own module instances, and the VU whose code is about to run makes itself
// `current` (a promise job only ever runs right after its own VU's promise
// was settled, so the VU that settles is the VU that runs). Sharing the
// realm shares the prelude's objects, shapes, ICs and JIT code, which at a
// thousand VUs decided the CPU per request: one realm per VU did not stay
// in cache (see the README's JavaScript numbers).
// The JavaScript string of a text that repeats (a method, a status text):
// made once, and made again only when the text changes.
struct repeated_string {
    std::string text;
    std::unique_ptr<JS::PersistentRootedString> str;
    JSString* get(JSContext* cx, std::string_view s) {
        if (str && text == s) return *str;
        JSString* made = new_string(cx, s);
        if (!made) return nullptr;
        text.assign(s);
        if (str) *str = made;
        else str = std::make_unique<JS::PersistentRootedString>(cx, made);
        return made;
    }
};

struct realm_state {
    instance* current = nullptr;
    bool async_mode = false;
    repeated_string method, status_text;  // of responses
    repeated_string scenario;             // the exec function's ctx.scenario
    // the prelude's makeResponse and callExec, looked up once
    std::unique_ptr<JS::PersistentRootedValue> make_response, call_exec;
    // Module instances the realm's VUs share: k6/* always; the user's when
    // the program allows it, by scenario environment and path.
    std::map<std::string, std::unique_ptr<JS::PersistentRootedObject>, std::less<>> modules;
    std::string header_block;             // a response's headers, as makeResponse takes them
    // __ENV objects by the scenario's env (null: none), and setup()'s data,
    // parsed and deeply frozen once per realm: both read-only in VUs.
    std::map<const void*, std::unique_ptr<JS::PersistentRootedObject>> envs;
    std::unique_ptr<JS::PersistentRootedValue> data;
    void release() {  // before the context goes
        envs.clear();
        data.reset();
        method.str.reset();
        status_text.str.reset();
        scenario.str.reset();
        make_response.reset();
        call_exec.reset();
        modules.clear();
    }
};

struct instance {
    JSContext* cx;
    program& prog;
    bridge* link;                      // null in the init context (no requests there)
    vars_map* vars = nullptr;
    bool in_init = true;
    ld::vu_context* direct_vu = nullptr;   // async VUs: the VU, on this very thread
    async_host* host = nullptr;     // async VUs: starts requests and sleeps
    std::optional<std::string> abort_reason;
    bool terminating = false;          // an answer said "interrupted": unwind without catching

    realm_state own_realm;             // when the global is this instance's own
    realm_state* realm = &own_realm;
    JS::PersistentRootedObject global;
    JS::PersistentRootedObject ns;     // the main module's namespace
    JS::PersistentRootedObject session;  // this VU's `session` ({vars})
    JS::PersistentRootedObject session_vars;
    std::map<std::string, JS::PersistentRootedObject*, std::less<>> modules;
    std::vector<std::unique_ptr<JS::PersistentRootedObject>> module_roots;
    std::string group_path;
    std::vector<std::size_t> group_stack;


    instance(JSContext* c, program& p, bridge* b)
        : cx(c), prog(p), link(b), global(c), ns(c), session(c), session_vars(c) {}
    ~instance() {
        if (realm == &own_realm) {
            own_realm.release();
            if (global) JS::SetRealmPrivate(JS::GetObjectRealmOrNull(global), nullptr);
        } else if (realm->current == this) {
            realm->current = nullptr;
        }
    }

    // The instance whose code is running: natives, accessors and the module
    // hook find it through the realm.
    static instance& of(JSContext* cx) { return *static_cast<realm_state*>(JS::GetRealmPrivate(JS::GetCurrentRealmOrNull(cx)))->current; }
    ld::vu_context* vu() const { return link ? link->vu : direct_vu; }
    // The engine VU running this code: vu(), or setup/teardown's control VU.
    ld::vu_context* engine_vu() const { return link ? (link->vu ? link->vu : link->host_vu) : direct_vu; }
    // Makes this instance the one whose code runs (before entering JavaScript).
    void make_current() noexcept { realm->current = this; }

    // A global with the natives and the prelude, its private `state`. On
    // failure null, with the exception pending in the new realm's context
    // (taken by the caller inside that realm) or reported in `error`.
    static JSObject* new_global(JSContext* cx, program& prog, realm_state& state, std::string& error) {
        static JSClass global_class = {"global", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps, nullptr, nullptr, nullptr};
        JS::RealmOptions options;
        JS::RootedObject g(cx, JS_NewGlobalObject(cx, &global_class, nullptr, JS::FireOnNewGlobalHook, options));
        if (!g) {
            error = take_exception(cx);
            return nullptr;
        }
        JS::SetRealmPrivate(JS::GetObjectRealmOrNull(g), &state);
        JSAutoRealm ar(cx, g);
        if (!init_global(cx, prog, g, state.async_mode)) {
            error = take_exception(cx);  // inside the realm: the exception lives there
            return nullptr;
        }
        return g;
    }

    // Creates a global of its own, runs the prelude, then the main module's
    // init code. On failure: false, with the exception's text in `error`.
    std::string error;
    bool boot() {
        own_realm.current = this;
        own_realm.async_mode = host != nullptr;
        global = new_global(cx, prog, own_realm, error);
        if (!global) return false;
        return boot_in(own_realm, global);
    }
    // Joins a realm made by new_global (the async VUs of a worker thread) and
    // runs this VU's own instance of the main module there.
    bool boot_in(realm_state& r, JS::HandleObject g) {
        realm = &r;
        global = g;
        make_current();
        JSAutoRealm ar(cx, global);
        if (boot_in_realm()) return true;
        error = take_exception(cx);
        return false;
    }

    // Once per realm: the natives, the prelude, and the globals that read the
    // running VU (__VU, __ITER, __ENV, session).
    static bool init_global(JSContext* cx, program& prog, JS::HandleObject g, bool async_mode) {
        // No JS::InitRealmStandardClasses: the default global class resolves
        // standard classes on first use, and a VU touches few of them
        // (measured at 1000 VUs: 210 -> 143 KiB per async VU, 566 -> 444 per
        // sync VU, and start-up 2.4 -> 1.4 s of CPU).
        JS::SetModuleResolveHook(JS_GetRuntime(cx), &instance::resolve_hook);
        if (!define_natives(cx, g, async_mode, prog.transformed, prog.options)) return false;
        JS::Stencil* pre = prog.prelude_stencil(cx);
        if (!pre) return false;
        JS::InstantiateOptions iopts;
        JS::RootedScript script(cx, JS::InstantiateGlobalStencil(cx, iopts, pre));
        JS::RootedValue rv(cx);
        if (!script || !JS_ExecuteScript(cx, script, &rv)) return false;
        return JS_DefineProperty(cx, g, "__VU", &instance::g_vu, nullptr, JSPROP_ENUMERATE) &&
               JS_DefineProperty(cx, g, "__ITER", &instance::g_iter, nullptr, JSPROP_ENUMERATE) &&
               JS_DefineProperty(cx, g, "__ENV", &instance::g_env, nullptr, JSPROP_ENUMERATE) &&
               JS_DefineProperty(cx, g, "session", &instance::g_session, nullptr, 0);
    }
    static bool g_vu(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto* v = of(cx).vu();
        JS::CallArgsFromVp(argc, vp).rval().setNumber(v ? static_cast<double>(v->id) : 0.0);
        return true;
    }
    static bool g_iter(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto& self = of(cx);
        auto* v = self.vu();
        JS::CallArgsFromVp(argc, vp).rval().setNumber(v && !self.in_init ? static_cast<double>(v->iteration) : 0.0);
        return true;
    }
    static bool g_session(JSContext* cx, unsigned argc, JS::Value* vp) {
        JS::CallArgsFromVp(argc, vp).rval().setObject(*of(cx).session);
        return true;
    }
    // __ENV: the process's environment, then the run's, then the scenario's.
    static bool g_env(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto& self = of(cx);
        auto* v = self.vu();
        const void* key = v ? static_cast<const void*>(v->env) : nullptr;
        auto& slot = self.realm->envs[key];
        if (!slot) {
            JS::RootedObject envobj(cx, JS_NewPlainObject(cx));
            if (!envobj) return false;
            for (char** e = environ; e && *e; ++e) {
                std::string_view kv(*e);
                auto eq = kv.find('=');
                if (eq == std::string_view::npos) continue;
                std::string k(kv.substr(0, eq));
                if (!set_string(cx, envobj, k.c_str(), kv.substr(eq + 1))) return false;
            }
            for (auto& [k, val] : (v && v->thread) ? v->thread->engine->env : self.prog.env)
                if (!set_string(cx, envobj, k.c_str(), val)) return false;
            if (v && v->env)
                for (auto& [k, val] : *v->env)
                    if (!set_string(cx, envobj, k.c_str(), val)) return false;
            slot = std::make_unique<JS::PersistentRootedObject>(cx, envobj);
        }
        JS::CallArgsFromVp(argc, vp).rval().setObject(**slot);
        return true;
    }

    // This VU's part: its session object, then its own instance of the main
    // module (and of the modules that imports), whose init code runs now.
    bool boot_in_realm() {
        JS::RootedObject so(cx, JS_NewPlainObject(cx)), vo(cx, JS_NewPlainObject(cx));
        if (!so || !vo) return false;
        JS::RootedValue vv(cx, JS::ObjectValue(*vo));
        if (!JS_DefineProperty(cx, so, "vars", vv, JSPROP_ENUMERATE)) return false;
        session = so;
        session_vars = vo;

        // the main module: link, then run its init code
        JS::RootedObject mod(cx, load_module(prog.main.string()));
        if (!mod) return false;
        if (!JS::ModuleInstantiate(cx, mod)) return false;
        JS::RootedValue result(cx);
        if (!JS::ModuleEvaluate(cx, mod, &result)) return false;
        ::js::RunJobs(cx);
        if (result.isObject()) {  // top-level await: a promise
            JS::RootedObject p(cx, &result.toObject());
            if (JS::IsPromiseObject(p) && JS::GetPromiseState(p) == JS::PromiseState::Rejected) {
                JS::RootedValue reason(cx, JS::GetPromiseResult(p));
                JS_SetPendingException(cx, reason);
                return false;
            }
        }
        ns = JS::GetModuleNamespace(cx, mod);
        in_init = false;
        return ns != nullptr;
    }
    // The setup data, parsed and deeply frozen once per realm (read-only in
    // every VU; loaded at the first call after setup() has run).
    bool load_data() {
        if (realm->data) return true;
        JS::RootedString s(cx, new_string(cx, prog.setup_json));
        JS::RootedValue v(cx);
        if (!s || !JS_ParseJSON(cx, s, &v)) return false;
        if (v.isObject()) {
            JS::RootedValue helper(cx);
            if (!loadkit_helper("deepFreeze", &helper)) return false;
            JS::RootedValue out(cx);
            JS::RootedValueArray<1> args(cx);
            args[0].set(v);
            if (!JS_CallFunctionValue(cx, nullptr, helper, args, &out)) return false;
        }
        realm->data = std::make_unique<JS::PersistentRootedValue>(cx, v);
        return true;
    }
    JS::Value data() const { return realm->data ? realm->data->get() : JS::UndefinedValue(); }
    bool loadkit_helper(const char* name, JS::MutableHandleValue out) {
        JS::RootedValue lk(cx);
        if (!JS_GetProperty(cx, global, "__loadkit", &lk) || !lk.isObject()) return false;
        JS::RootedObject o(cx, &lk.toObject());
        return JS_GetProperty(cx, o, name, out);
    }

    // --- modules ---
    JSObject* load_module(const std::string& key) {
        if (auto it = modules.find(key); it != modules.end()) return *it->second;
        // One instance per realm of k6/* (re-exports of the prelude); of the
        // user's modules when the program lets VUs share them.
        std::string shared_key;
        if (builtin_module(key)) shared_key = key;
        else if (prog.shared_modules && realm->async_mode)
            shared_key = std::to_string(reinterpret_cast<std::uintptr_t>(vu() ? vu()->env : nullptr)) + "|" + key;
        if (!shared_key.empty())
            if (auto it = realm->modules.find(shared_key); it != realm->modules.end()) return *(modules[key] = it->second.get());
        JS::Stencil* st = prog.module(cx, key);
        if (!st) return nullptr;
        JS::InstantiateOptions iopts;
        JS::RootedObject m(cx, JS::InstantiateModuleStencil(cx, iopts, st));
        if (!m) return nullptr;
        JS::SetModulePrivate(m, JS::StringValue(new_string(cx, key)));
        auto root = std::make_unique<JS::PersistentRootedObject>(cx, m);
        modules[key] = root.get();
        if (shared_key.empty()) module_roots.push_back(std::move(root));
        else realm->modules.emplace(std::move(shared_key), std::move(root));
        return m;
    }
    static JSObject* resolve_hook(JSContext* cx, JS::HandleValue referrer, JS::HandleObject request) {
        auto& self = of(cx);
        JS::RootedString spec_s(cx, JS::GetModuleRequestSpecifier(cx, request));
        if (!spec_s) return nullptr;
        std::string spec = to_utf8(cx, spec_s);
        if (builtin_module(spec)) return self.load_module(spec);
        std::filesystem::path base = self.prog.dir;
        if (referrer.isString()) base = std::filesystem::path(to_utf8(cx, referrer.toString())).parent_path();
        if (auto path = user_module_path(base, spec)) return self.load_module(*path);
        throw_error(cx, "cannot import '" + spec +
                            "': loadkit imports k6/* modules and the script's own files (a path starting with ./ or ../), and never downloads anything");
        return nullptr;
    }

    // --- natives (the __lk object the prelude wraps) ---
    static bool define_natives(JSContext* cx, JS::HandleObject global, bool async_mode, bool transformed, const nlohmann::json& options) {
        static const JSFunctionSpec natives[] = {
            JS_FN("request", &instance::n_request, 5, 0),       JS_FN("sleep", &instance::n_sleep, 1, 0),
            JS_FN("check", &instance::n_check, 3, 0),           JS_FN("groupEnter", &instance::n_group_enter, 1, 0),
            JS_FN("groupLeave", &instance::n_group_leave, 2, 0), JS_FN("log", &instance::n_log, 2, 0),
            JS_FN("metric", &instance::n_metric, 3, 0),         JS_FN("metricAdd", &instance::n_metric_add, 4, 0),
            JS_FN("hash", &instance::n_hash, 3, 0),             JS_FN("hmac", &instance::n_hmac, 4, 0),
            JS_FN("randomBytes", &instance::n_random_bytes, 1, 0), JS_FN("b64encode", &instance::n_b64encode, 2, 0),
            JS_FN("b64decode", &instance::n_b64decode, 2, 0),   JS_FN("open", &instance::n_open, 2, 0),
            JS_FN("execInfo", &instance::n_exec_info, 1, 0),    JS_FN("abort", &instance::n_abort, 1, 0),
            JS_FN("testOptions", &instance::n_test_options, 0, 0),
            JS_FS_END};
        static const JSFunctionSpec async_natives[] = {
            JS_FN("requestAsync", &instance::n_request_async, 5, 0), JS_FN("sleepAsync", &instance::n_sleep_async, 1, 0), JS_FS_END};
        JS::RootedObject lk(cx, JS_NewPlainObject(cx));
        if (!lk || !JS_DefineFunctions(cx, lk, natives)) return false;
        if (async_mode && !JS_DefineFunctions(cx, lk, async_natives)) return false;
        JS::RootedValue mode(cx, JS::BooleanValue(async_mode));
        JS::RootedValue rewritten(cx, JS::BooleanValue(transformed));
        if (!JS_SetProperty(cx, lk, "asyncMode", mode) || !JS_SetProperty(cx, lk, "transformed", rewritten)) return false;
        // http.batch's limits: at most `batch` requests at once, `batchPerHost`
        // to one host (k6's options, defaults 20 and 6; 0: no limit)
        auto limit = [&](const char* key, double fallback) {
            auto it = options.is_object() ? options.find(key) : options.end();
            return it != options.end() && it->is_number() && it->get<double>() >= 0 ? it->get<double>() : fallback;
        };
        JS::RootedValue batch(cx, JS::NumberValue(limit("batch", 20))), per_host(cx, JS::NumberValue(limit("batchPerHost", 6)));
        if (!JS_SetProperty(cx, lk, "batch", batch) || !JS_SetProperty(cx, lk, "batchPerHost", per_host)) return false;
        JS::RootedValue v(cx, JS::ObjectValue(*lk));
        return JS_DefineProperty(cx, global, "__lk", v, 0);
    }

    // Hands the VU to the engine with `what` asked; false when the answer is
    // that the VU was interrupted (the caller then unwinds, uncatchable).
    bool ask(bridge::ask what) {
        link->asked = what;
        link->answer_interrupted = false;
        link->hand_back();
        if (link->answer_interrupted) {
            terminating = true;
            return false;
        }
        return true;
    }
    bool can_ask(const char* what) {
        if (link && !in_init) return true;
        return throw_error(cx, std::string(what) + " cannot be called in the init context (outside exported functions)");
    }

    // http.*'s arguments (method, url, body, params, headers) into `spec`.
    bool read_request_args(const JS::CallArgs& args, request_spec& spec) {
        assign_utf8(cx, args.get(0), spec.method);
        assign_utf8(cx, args.get(1), spec.url);
        if (args.get(2).isString()) assign_utf8(cx, args.get(2), spec.body);
        else spec.body = bytes_of(cx, args.get(2));
        spec.headers.clear();
        spec.tags.clear();
        spec.cookies.clear();
        spec.name.clear();
        spec.timeout.reset();
        spec.redirects = -1;
        if (args.get(4).isObject()) {
            JS::RootedObject h(cx, &args.get(4).toObject());
            if (!for_each_string(h, [&](std::string k, std::string v) { spec.headers.emplace_back(std::move(k), std::move(v)); }))
                return false;
        }
        if (!args.get(3).isObject()) return true;
        JS::RootedObject p(cx, &args.get(3).toObject());
        JS::RootedValue v(cx);
        if (!JS_GetProperty(cx, p, "tags", &v)) return false;
        if (v.isObject()) {
            JS::RootedObject t(cx, &v.toObject());
            if (!for_each_string(t, [&](std::string k, std::string val) {
                    if (k == "name") spec.name = std::move(val);
                    else spec.tags.emplace_back(std::move(k), std::move(val));
                }))
                return false;
        }
        if (!JS_GetProperty(cx, p, "timeout", &v)) return false;
        if (v.isNumber()) {
            spec.timeout = nanoseconds(static_cast<std::int64_t>(v.toNumber() * 1e6));
        } else if (v.isString()) {
            auto text = to_utf8(cx, v);
            auto d = ld::parse_duration(text);
            if (!d) return throw_error(cx, "params.timeout: expected a duration like '10s' or a number of milliseconds, found '" + text + "'");
            spec.timeout = *d;
        }
        if (!JS_GetProperty(cx, p, "redirects", &v)) return false;
        if (v.isNumber()) spec.redirects = static_cast<int>(v.toNumber());
        if (!JS_GetProperty(cx, p, "cookies", &v)) return false;
        if (v.isObject() && !read_cookies(v, spec.cookies)) return false;
        return true;
    }
    // params.cookies as k6 reads them: {name: value} sends String(value);
    // {name: {value, replace}} (keys in any case) also drops the jar's cookie
    // of that name when `replace` is truthy; null and undefined are skipped.
    bool read_cookies(JS::HandleValue v, std::vector<request_cookie>& out) {
        JS::RootedObject c(cx, &v.toObject());
        JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
        if (!JS_Enumerate(cx, c, &ids)) return false;
        JS::RootedValue key(cx), val(cx), attr_key(cx), attr(cx);
        JS::RootedId id(cx), attr_id(cx);
        for (std::size_t i = 0; i < ids.length(); ++i) {
            id = ids[i];
            if (!JS_IdToValue(cx, id, &key) || !JS_GetPropertyById(cx, c, id, &val)) return false;
            if (val.isNullOrUndefined()) continue;
            auto& rc = out.emplace_back();
            rc.name = to_utf8(cx, key);
            bool plain = false;
            if (val.isObject()) {
                JS::RootedObject o(cx, &val.toObject());
                bool array = false;
                if (!JS::IsArrayObject(cx, o, &array)) return false;
                plain = !array && !JS_ObjectIsFunction(o);
            }
            if (!plain) {
                rc.value = to_utf8(cx, val);
                continue;
            }
            JS::RootedObject o(cx, &val.toObject());
            JS::Rooted<JS::IdVector> attrs(cx, JS::IdVector(cx));
            if (!JS_Enumerate(cx, o, &attrs)) return false;
            for (std::size_t j = 0; j < attrs.length(); ++j) {
                attr_id = attrs[j];
                if (!JS_IdToValue(cx, attr_id, &attr_key) || !JS_GetPropertyById(cx, o, attr_id, &attr)) return false;
                auto name = to_utf8(cx, attr_key);
                for (auto& ch : name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
                if (name == "replace") rc.replace = JS::ToBoolean(attr);
                else if (name == "value") rc.value = to_utf8(cx, attr);
            }
        }
        return true;
    }

    static bool n_request(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (self.host)
            return throw_error(cx, "http.get/post/... block, which an async exec function cannot do: use await http.asyncRequest(method, url, body, params)");
        if (!self.can_ask("http requests")) return false;
        auto& b = *self.link;
        if (!self.read_request_args(args, b.spec)) return false;
        if (!self.ask(bridge::ask::http)) return false;
        JS::RootedObject res(cx, self.response_object(*b.answer));
        if (!res) return false;
        args.rval().setObject(*res);
        return true;
    }
    // Async VUs: a promise the engine settles with the response.
    static bool n_request_async(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (!self.host || self.in_init) return throw_error(cx, "http.asyncRequest cannot be called in the init context");
        JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
        if (!promise) return false;
        if (!self.read_request_args(args, self.host->next_request())) return false;
        if (!self.host->start_request(promise)) return false;
        args.rval().setObject(*promise);
        return true;
    }
    static bool n_sleep_async(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (!self.host || self.in_init) return throw_error(cx, "sleep() cannot be called in the init context");
        double seconds = 0;
        if (!JS::ToNumber(cx, args.get(0), &seconds)) return false;
        JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
        if (!promise || !self.host->start_sleep(seconds > 0 ? seconds : 0, promise)) return false;
        args.rval().setObject(*promise);
        return true;
    }

    template <class F>
    bool for_each_string(JS::HandleObject o, F&& f) {
        JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
        if (!JS_Enumerate(cx, o, &ids)) return false;
        JS::RootedValue key(cx), val(cx);
        JS::RootedId id(cx);
        for (std::size_t i = 0; i < ids.length(); ++i) {
            id = ids[i];
            if (!JS_IdToValue(cx, id, &key) || !JS_GetPropertyById(cx, o, id, &val)) return false;
            if (val.isUndefined()) continue;
            f(to_utf8(cx, key), val.isObject() ? stringify(val) : to_utf8(cx, val));
        }
        return true;
    }
    std::string stringify(JS::HandleValue v) {
        JS::RootedObject json(cx);
        JS::RootedValue jv(cx), out(cx);
        if (!JS_GetProperty(cx, global, "JSON", &jv) || !jv.isObject()) return {};
        json = &jv.toObject();
        JS::RootedValueArray<1> args(cx);
        args[0].set(v);
        if (!JS_CallFunctionName(cx, json, "stringify", args, &out)) return {};
        return out.isString() ? to_utf8(cx, out) : std::string();
    }

    // A response object, made by the prelude's makeResponse (JIT-compiled,
    // one shape for all) from 16 values: cheaper than defining its
    // properties through the API (16k instructions per response, measured).
    // headers and request are built on first use by Response.prototype.
    // __loadkit.<name>, found once per realm
    bool realm_helper(std::unique_ptr<JS::PersistentRootedValue>& slot, const char* name, JS::MutableHandleValue out) {
        if (!slot) {
            if (!loadkit_helper(name, out)) return false;
            slot = std::make_unique<JS::PersistentRootedValue>(cx, out);
        }
        out.set(*slot);
        return true;
    }
    JSObject* response_object(const response& r) {
        JS::RootedValue make_response(cx);
        if (!realm_helper(realm->make_response, "makeResponse", &make_response)) return nullptr;
        std::string& block = realm->header_block;
        block.clear();
        for (auto& [name, value] : r.headers()) block.append(name).append(":").append(value).append("\n");
        auto& t = r.timings;
        JS::RootedValueArray<16> a(cx);
        // a[2..8]: body, url, error, name, headers, method, status text. Each
        // goes into the rooted `a` as soon as it is made: the next allocation
        // may run a GC that moves it. The name is the URL unless one was
        // given; the method and status text repeat (one string each).
        auto put = [&](std::size_t i, JSString* str) {
            if (!str) return false;
            a[i].setString(str);
            return true;
        };
        if (!put(2, new_string(cx, r.body)) || !put(3, new_string(cx, r.url)) || !put(4, new_string(cx, r.error)) ||
            !(r.name == r.url ? (a[5].set(a[3]), true) : put(5, new_string(cx, r.name))) || !put(6, new_string(cx, block)) ||
            !put(7, realm->method.get(cx, r.method)) || !put(8, realm->status_text.get(cx, r.status_text)))
            return nullptr;
        a[0].setInt32(r.status);
        a[1].setInt32(static_cast<int>(r.error_code));
        double ms[] = {timings::ms(t.blocked), timings::ms(t.connecting), timings::ms(t.tls_handshaking), timings::ms(t.sending),
                       timings::ms(t.waiting),  timings::ms(t.receiving),  timings::ms(t.duration)};
        for (std::size_t i = 0; i < std::size(ms); ++i) a[9 + i].setDouble(ms[i]);
        JS::RootedValue out(cx);
        if (!JS_CallFunctionValue(cx, nullptr, make_response, a, &out) || !out.isObject()) return nullptr;
        return &out.toObject();
    }

    static bool n_sleep(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (!self.can_ask("sleep()")) return false;
        double s = 0;
        if (!JS::ToNumber(cx, args.get(0), &s)) return false;
        self.link->sleep_seconds = s > 0 ? s : 0;
        if (!self.ask(bridge::ask::sleep)) return false;
        args.rval().setUndefined();
        return true;
    }

    // A sample for the worker (or, in the init context, recorded at once).
    void push(metric_op op) {
        if (link) {
            link->ops.push_back(std::move(op));
            return;
        }
        apply(op, vu());  // the init context (no VU), or an async VU on its own thread
    }
    static void apply(const metric_op& op, ld::vu_context* v) {
        ld::current_vu = v;
        switch (op.kind) {
            case metric_op::check: ld::record_check(v, op.name, op.flag); break;
            case metric_op::group:
                if (v) v->group = op.name.empty() ? 0 : v->thread->shard.strings.intern(op.name);
                break;
            case metric_op::sample: {
                std::vector<ld::tag_pair> tags;
                tags.reserve(op.tags.size());
                for (auto& [k, val] : op.tags) tags.push_back({k, val});
                ld::record_sample(op.metric, op.metric_kind_, op.flag, op.value, tags);
                break;
            }
        }
    }
    bool read_tags(JS::HandleValue v, std::vector<std::pair<std::string, std::string>>& out) {
        if (!v.isObject()) return true;
        JS::RootedObject o(cx, &v.toObject());
        return for_each_string(o, [&](std::string k, std::string val) { out.emplace_back(std::move(k), std::move(val)); });
    }

    static bool n_check(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        metric_op op{metric_op::check};
        op.name = to_utf8(cx, args.get(0));
        op.flag = JS::ToBoolean(args.get(1));
        self.push(std::move(op));
        args.rval().setUndefined();
        return true;
    }
    static bool n_group_enter(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        auto name = to_utf8(cx, args.get(0));
        if (name.find("::") != std::string::npos) return throw_error(cx, "group names must not contain '::'");
        self.group_stack.push_back(self.group_path.size());
        self.group_path += "::" + name;
        self.push(group_op(self.group_path));
        args.rval().setNumber(static_cast<double>(ld::now_ns()));
        return true;
    }
    static bool n_group_leave(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (self.group_stack.empty()) return true;
        if (JS::ToBoolean(args.get(1)) && args.get(0).isNumber())
        {
            metric_op op{metric_op::sample};
            op.flag = true;
            op.metric_kind_ = metric_kind::trend;
            op.metric = ld::metric_registry::get().group_duration_id();
            op.value = (static_cast<double>(ld::now_ns()) - args.get(0).toNumber()) / 1e6;
            self.push(std::move(op));
        }
        self.group_path.resize(self.group_stack.back());
        self.group_stack.pop_back();
        self.push(group_op(self.group_path));
        args.rval().setUndefined();
        return true;
    }
    void reset_group() {
        if (group_path.empty()) return;
        group_path.clear();
        group_stack.clear();
        push(group_op({}));
    }

    static bool n_log(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        int level = args.get(0).isInt32() ? args.get(0).toInt32() : 1;
        auto text = to_utf8(cx, args.get(1));
        auto* v = of(cx).vu();
        std::string prefix = v ? "[VU " + std::to_string(v->id) + "] " : std::string();
        ld::log(level <= 0 ? log_level::debug : level == 1 ? log_level::info : level == 2 ? log_level::warn : log_level::error, prefix + text);
        args.rval().setUndefined();
        return true;
    }

    static bool n_metric(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto name = to_utf8(cx, args.get(0));
        int kind = args.get(1).isInt32() ? args.get(1).toInt32() : 0;
        try {
            auto id = ld::metric_registry::get().add(name, static_cast<metric_kind>(kind), JS::ToBoolean(args.get(2)));
            args.rval().setNumber(static_cast<double>(id));
        } catch (const std::exception& e) {
            return throw_error(cx, e.what());
        }
        return true;
    }
    static bool n_metric_add(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        metric_op op{metric_op::sample};
        op.metric = static_cast<std::uint32_t>(args.get(0).toNumber());
        op.metric_kind_ = static_cast<metric_kind>(args.get(1).toInt32());
        op.flag = JS::ToBoolean(args.get(4));
        if (!JS::ToNumber(cx, args.get(2), &op.value)) return false;
        if (!self.read_tags(args.get(3), op.tags)) return false;
        self.push(std::move(op));
        args.rval().setUndefined();
        return true;
    }

    // k6/crypto output encodings: hex, base64, base64url, base64rawurl, binary (an ArrayBuffer)
    static bool encode_out(JSContext* cx, const std::string& raw, const std::string& enc, JS::MutableHandleValue out) {
        if (enc == "hex") out.setString(new_string(cx, loadkit::js::detail::hex(raw)));
        else if (enc == "base64") out.setString(new_string(cx, b64encode(raw, "std")));
        else if (enc == "base64url") out.setString(new_string(cx, b64encode(raw, "url")));
        else if (enc == "base64rawurl") out.setString(new_string(cx, b64encode(raw, "rawurl")));
        else if (enc == "binary") {
            JSObject* ab = new_array_buffer(cx, raw);
            if (!ab) return false;
            out.setObject(*ab);
        } else return throw_error(cx, "unknown output encoding '" + enc + "' (expected hex, base64, base64url, base64rawurl or binary)");
        return true;
    }
    static bool n_hash(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        try {
            auto raw = digest(to_utf8(cx, args.get(0)), bytes_of(cx, args.get(1)));
            return encode_out(cx, raw, to_utf8(cx, args.get(2)), args.rval());
        } catch (const std::exception& e) {
            return throw_error(cx, e.what());
        }
    }
    static bool n_hmac(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        try {
            auto raw = hmac(to_utf8(cx, args.get(0)), bytes_of(cx, args.get(1)), bytes_of(cx, args.get(2)));
            return encode_out(cx, raw, to_utf8(cx, args.get(3)), args.rval());
        } catch (const std::exception& e) {
            return throw_error(cx, e.what());
        }
    }
    static bool n_random_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        double n = 0;
        if (!JS::ToNumber(cx, args.get(0), &n)) return false;
        if (n < 0 || n > (64 << 20)) return throw_error(cx, "randomBytes: expected a size between 0 and 64 MiB");
        return encode_out(cx, random_bytes(static_cast<std::size_t>(n)), "binary", args.rval());
    }
    static bool n_b64encode(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        args.rval().setString(new_string(cx, b64encode(bytes_of(cx, args.get(0)), to_utf8(cx, args.get(1)))));
        return true;
    }
    static bool n_b64decode(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto raw = b64decode(to_utf8(cx, args.get(0)));
        if (!raw) return throw_error(cx, "b64decode: the input is not base64");
        if (to_utf8(cx, args.get(1)) == "s") {
            args.rval().setString(new_string(cx, *raw));
            return true;
        }
        return encode_out(cx, *raw, "binary", args.rval());
    }
    static bool n_open(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (!self.in_init) return throw_error(cx, "open() can only be called in the init context (top-level code), as in k6");
        std::filesystem::path p(to_utf8(cx, args.get(0)));
        if (p.is_relative()) p = self.prog.dir / p;
        std::string text, why;  // a regular file within the limit (not /dev/zero)
        if (!loadkit::detail::read_input_file(p.string(), loadkit::detail::max_data_file_bytes, text, why)) return throw_error(cx, "open(): " + why);
        if (to_utf8(cx, args.get(1)) == "b") return encode_out(cx, text, "binary", args.rval());
        args.rval().setString(new_string(cx, text));
        return true;
    }
    // k6/execution's values, read when asked: part 0 exec.vu, 1
    // exec.scenario, 2 exec.instance (k6 v0.48's fields; the prelude builds
    // the objects). Outside a VU it throws k6's messages.
    static bool n_exec_info(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        int part = args.get(0).isInt32() ? args.get(0).toInt32() : 0;
        auto* v = self.vu();             // null in setup/teardown
        auto* ev = self.engine_vu();     // setup/teardown's control VU too
        auto* es = ev && ev->thread ? ev->thread->engine : nullptr;
        if (part == 1 && (self.in_init || !v || !v->scenario_state))
            return throw_error(cx, "getting scenario information outside of the VU context is not supported");
        if (self.in_init || !es)
            return throw_error(cx, std::string("getting ") + (part == 0 ? "VU" : "instance") + " information in the init context is not supported");
        JS::RootedObject o(cx, JS_NewPlainObject(cx));
        if (!o) return false;
        auto n = [&](const char* name, double d) { return set_number(cx, o, name, d); };
        bool ok = true;
        if (part == 0) {
            ok = n("idInInstance", v ? static_cast<double>(v->local_id) : 0) && n("idInTest", v ? static_cast<double>(v->id) : 0) &&
                 n("iterationInInstance", v ? static_cast<double>(v->iteration) : 0) &&
                 n("iterationInScenario", v ? static_cast<double>(v->iteration) : 0) &&
                 set_string(cx, o, "scenario", v ? v->scenario : std::string_view{}) && set_string(cx, o, "group", self.group_path);
        } else if (part == 1) {
            auto& si = *v->scenario_state;
            auto now = ld::now_ns();
            double progress = 0;
            // k6: iterations done of those to do. Those started but this one
            // (the one asking is running): the same while VUs take turns.
            if (si.total_iterations)
                progress = static_cast<double>(si.started.load(std::memory_order_relaxed) - 1) / static_cast<double>(si.total_iterations);
            else if (si.end_ns > si.start_ns)
                progress = static_cast<double>(now - si.start_ns) / static_cast<double>(si.end_ns - si.start_ns);
            progress = std::clamp(progress, 0.0, 1.0);
            ok = set_string(cx, o, "name", v->scenario) && set_string(cx, o, "executor", si.executor) &&
                 n("startTime", static_cast<double>(si.start_unix_ms)) && n("progress", progress) &&
                 n("iterationInInstance", static_cast<double>(v->scenario_iteration)) &&
                 n("iterationInTest", static_cast<double>(v->scenario_iteration_in_test));
        } else {
            double completed = 0, interrupted = 0;
            for (auto* t : es->workers) {
                completed += static_cast<double>(t->iterations_completed.load(std::memory_order_relaxed));
                interrupted += static_cast<double>(t->iterations_interrupted.load(std::memory_order_relaxed));
            }
            ok = n("currentTestRunDuration", static_cast<double>(ld::now_ns() - es->started_ns) / 1e6) && n("iterationsCompleted", completed) &&
                 n("iterationsInterrupted", interrupted) && n("vusActive", static_cast<double>(es->active_vus.load())) &&
                 n("vusInitialized", static_cast<double>(es->initialized_vus.load()));
        }
        if (!ok) return false;
        args.rval().setObject(*o);
        return true;
    }
    // exec.test.options: the test's options as JSON (see program::test_options)
    static bool n_test_options(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        JSString* str = new_string(cx, of(cx).prog.test_options);
        if (!str) return false;
        args.rval().setString(str);
        return true;
    }
    static bool n_abort(JSContext* cx, unsigned argc, JS::Value* vp) {
        auto args = JS::CallArgsFromVp(argc, vp);
        auto& self = of(cx);
        if (self.in_init || (!self.link && !self.host)) return throw_error(cx, "exec.test.abort() cannot be called in the init context");
        (self.link ? self.link->abort_reason : self.abort_reason) = to_utf8(cx, args.get(0));
        self.terminating = true;
        return false;  // uncatchable: unwinds the whole call
    }

    // --- calls into the script ---

    // session.vars <- the VU's vars
    bool vars_in() {
        if (!vars) return true;
        JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
        if (!JS_Enumerate(cx, session_vars, &ids)) return false;
        JS::RootedId id(cx);
        for (std::size_t i = 0; i < ids.length(); ++i) {
            id = ids[i];
            JS::ObjectOpResult deleted;
            if (!JS_DeletePropertyById(cx, session_vars, id, deleted)) return false;
        }
        for (auto& [k, v] : *vars)
            if (!set_string(cx, session_vars, k.c_str(), v)) return false;
        return true;
    }
    // session.vars -> the VU's vars (strings; other values as JSON)
    bool vars_out() {
        if (!vars) return true;
        vars->clear();
        return for_each_string(session_vars, [&](std::string k, std::string v) { (*vars)[std::move(k)] = std::move(v); });
    }

    // Calls `fn` with `args`; waits for a returned promise (async functions).
    bool invoke(JS::HandleValue fn, const JS::HandleValueArray& args, JS::MutableHandleValue result) {
        return JS_CallFunctionValue(cx, nullptr, fn, args, result) && await_here(result);
    }
    // A promise result, settled by running the job queue on this thread (a VU
    // thread or the init context; async VUs wait on the engine instead).
    bool await_here(JS::MutableHandleValue result) {
        if (!result.isObject()) return true;
        JS::RootedObject p(cx, &result.toObject());
        if (!JS::IsPromiseObject(p)) return true;
        ::js::RunJobs(cx);
        if (terminating) return false;
        switch (JS::GetPromiseState(p)) {
            case JS::PromiseState::Fulfilled: result.set(JS::GetPromiseResult(p)); return true;
            case JS::PromiseState::Rejected: {
                JS::RootedValue reason(cx, JS::GetPromiseResult(p));
                JS_SetPendingException(cx, reason);
                return false;
            }
            default: return throw_error(cx, "the async function's promise never settled (it awaits something that never resolves)");
        }
    }
    // An exported function, looked up once (exports are declarations; one
    // that a script reassigns later keeps its first value here).
    // The last one is kept inline: a VU calls the same function every
    // iteration, and at a thousand VUs a lookup elsewhere is a cache miss.
    std::string last_export;
    JS::PersistentRootedValue last_export_fn{cx};
    std::map<std::string, std::unique_ptr<JS::PersistentRootedValue>, std::less<>> exports_seen;
    bool get_export(std::string_view name, JS::MutableHandleValue fn) {
        if (!last_export_fn.isUndefined() && last_export == name) {
            fn.set(last_export_fn);
            return true;
        }
        if (auto it = exports_seen.find(name); it != exports_seen.end()) {
            fn.set(*it->second);
        } else {
            std::string key(name);
            if (!JS_GetProperty(cx, ns, key.c_str(), fn)) return false;
            if (!fn.isObject() || !JS_ObjectIsFunction(&fn.toObject())) return throw_error(cx, "the script exports no function '" + key + "'");
            exports_seen.emplace(std::move(key), std::make_unique<JS::PersistentRootedValue>(cx, fn));
        }
        last_export.assign(name);
        last_export_fn = fn;
        return true;
    }

    // Before every call into the script (in its realm): setup's data, loaded
    // once setup has run; session.vars from the VU. False with
    // `failure` set when the data cannot be loaded.
    bool enter_call(bool needs_data, std::string& failure) {
        terminating = false;
        reset_group();
        if (needs_data && !load_data()) {
            failure = "setup data: " + take_exception(cx);
            return false;
        }
        if (!vars_in()) {
            failure = take_exception(cx);
            return false;
        }
        return true;
    }

    // Calls the export a command names, without waiting for a promise it
    // returns: exec/on_start/on_stop get (data, {vu, iteration, scenario}),
    // setup (), teardown (data), beforeRequest the request object (left in
    // `arg` to be read back), afterRequest the response object.
    bool call_export(bridge::command cmd, const std::string& function, const request* req, const response* res, JS::MutableHandleValue result,
                     JS::MutableHandleObject arg) {
        using command = bridge::command;
        std::string_view name = cmd == command::setup      ? std::string_view("setup")
                                : cmd == command::teardown ? std::string_view("teardown")
                                : cmd == command::before   ? std::string_view("beforeRequest")
                                : cmd == command::after    ? std::string_view("afterRequest")
                                                           : std::string_view(function);
        JS::RootedValue fn(cx);
        if (!get_export(name, &fn)) return false;
        if (cmd == command::call) {
            // through the prelude's callExec, which makes the ctx object in
            // JavaScript: cheaper than defining its properties from here
            JS::RootedValue call_exec(cx);
            if (!realm_helper(realm->call_exec, "callExec", &call_exec)) return false;
            JS::RootedValueArray<5> a(cx);
            a[0].set(fn);
            a[1].set(data());
            if (auto* v = vu()) {
                JSString* scenario = realm->scenario.get(cx, v->scenario);
                if (!scenario) return false;
                a[2].setNumber(static_cast<double>(v->id));
                a[3].setNumber(static_cast<double>(v->iteration));
                a[4].setString(scenario);
            }
            return JS_CallFunctionValue(cx, nullptr, call_exec, a, result);
        }
        JS::RootedValueArray<2> args(cx);
        std::size_t argc = 0;
        switch (cmd) {
            case command::teardown: args[0].set(data()), argc = 1; break;
            case command::before:
            case command::after:
                arg.set(cmd == command::before ? request_object(*req) : response_object(*res));
                if (!arg) return false;
                args[0].setObject(*arg);
                argc = 1;
                break;
            default: break;
        }
        return JS_CallFunctionValue(cx, nullptr, fn, JS::HandleValueArray::subarray(args, 0, argc), result);
    }
    // beforeRequest's outcome into `r`: the object it returned, or else its
    // (possibly changed) argument.
    bool read_back(JS::HandleValue result, JS::HandleObject arg, request& r) {
        JS::RootedObject o(cx, result.isObject() ? &result.toObject() : arg.get());
        return read_request(o, r);
    }

    // Runs one command from the engine, on this VU's thread; leaves the
    // outcome in the bridge.
    void serve(bridge& b) {
        JSAutoRealm realm(cx, global);
        b.failure.clear();
        b.interrupted = false;
        b.abort_reason.reset();
        if (!enter_call(b.cmd != bridge::command::setup, b.failure)) return;  // setup() has run before any other call
        if (b.cmd == bridge::command::setup || b.cmd == bridge::command::teardown) {
            // k6 runs them in a group of their name: their checks and
            // requests are under "::setup" and "::teardown"
            group_path = b.cmd == bridge::command::setup ? "::setup" : "::teardown";
            push(group_op(group_path));
        }
        JS::RootedValue result(cx);
        JS::RootedObject arg(cx);
        bool ok = call_export(b.cmd, b.function, b.req, b.res, &result, &arg) && await_here(&result);
        if (ok && b.cmd == bridge::command::setup) {
            if (result.isUndefined()) {
                prog.setup_json = "null";
            } else {
                std::string json = stringify(result);
                if (json.empty() || JS_IsExceptionPending(cx)) {
                    std::string why = JS_IsExceptionPending(cx) ? take_exception(cx) : "it is not JSON";
                    b.failure = "setup() must return JSON-serialisable data (it is shared with every VU as JSON): " + why;
                } else {
                    prog.setup_json = std::move(json);
                }
            }
        }
        if (ok && b.cmd == bridge::command::before) ok = read_back(result, arg, *b.req);
        if (!ok) {
            bool cut = terminating || b.stop.load();  // uncatchable: interrupted, or exec.test.abort()
            b.interrupted = cut && !b.abort_reason;
            if (!cut && !b.abort_reason) b.failure = take_exception(cx);
        }
        vars_out();
        JS_ClearPendingException(cx);
    }

    JSObject* request_object(const request& r) {
        JS::RootedObject o(cx, JS_NewPlainObject(cx)), h(cx, JS_NewPlainObject(cx));
        if (!o || !h) return nullptr;
        for (auto& [k, v] : r.headers) set_string(cx, h, k.c_str(), v);
        JS::RootedValue hv(cx, JS::ObjectValue(*h));
        bool ok = set_string(cx, o, "name", r.name) && set_string(cx, o, "method", r.method) && set_string(cx, o, "url", r.url) &&
                  set_string(cx, o, "body", r.body) && JS_SetProperty(cx, o, "headers", hv);
        return ok ? o.get() : nullptr;
    }
    bool read_request(JS::HandleObject o, request& r) {
        JS::RootedValue v(cx);
        for (auto [key, field] : {std::pair{"name", &r.name}, std::pair{"method", &r.method}, std::pair{"url", &r.url}, std::pair{"body", &r.body}}) {
            if (!JS_GetProperty(cx, o, key, &v)) return false;
            if (!v.isUndefined()) *field = v.isObject() ? stringify(v) : to_utf8(cx, v);
        }
        if (!JS_GetProperty(cx, o, "headers", &v)) return false;
        if (v.isObject()) {
            r.headers.clear();
            JS::RootedObject h(cx, &v.toObject());
            return for_each_string(h, [&](std::string k, std::string val) { r.headers.emplace_back(std::move(k), std::move(val)); });
        }
        return true;
    }
};

// The context's private is the instance of a VU thread (sync VUs only).
inline bool interrupt_callback(JSContext* cx) {
    auto* p = static_cast<instance*>(JS_GetContextPrivate(cx));
    return !(p && p->link && p->link->stop.load(std::memory_order_relaxed));
}

// --- a VU's JavaScript thread ---------------------------------------------

class vu_thread {
  public:
    // `vu` is null for the setup/teardown instance.
    vu_thread(program& p, ld::vu_context* vu, vars_map* vars) : prog_(p), vars_(vars) {
        // Each VU thread maps about 7 regions (stack, guard, GC chunks, ...);
        // past vm.max_map_count, SpiderMonkey's allocations fail and it
        // crashes (measured at 8000 VUs with the default 65530). Refuse the
        // VU instead, with what to do about it.
        static const long max_maps = [] {
            long n = 65530;
            std::ifstream("/proc/sys/vm/max_map_count") >> n;
            return n;
        }();
        static std::atomic<long> live{0};
        long limit = (max_maps - 4096) / maps_per_vu_thread;
        if (live.fetch_add(1) >= limit) {
            live.fetch_sub(1);
            throw std::runtime_error("too many synchronous JavaScript VUs for vm.max_map_count (" + std::to_string(max_maps) + "): at most " +
                                     std::to_string(limit) + " here; raise it (sysctl -w vm.max_map_count=" +
                                     std::to_string(max_maps * 4) + "), or make the exec function async (one thread for many VUs)");
        }
        live_ = &live;
        b_.vu = vu;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, vu_stack_bytes);
        int rc = pthread_create(&thread_, &attr, &vu_thread::start, this);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            live_->fetch_sub(1);
            throw std::runtime_error(std::string("cannot start a JavaScript VU thread: ") + std::strerror(rc));
        }
    }
    ~vu_thread() {
        int s;
        if (b_.init_state.load(std::memory_order_acquire) != 2) interrupt();  // init code that never ends
        while ((s = b_.init_state.load(std::memory_order_acquire)) != 2) b_.init_state.wait(s);
        b_.cmd = bridge::command::quit;
        b_.give();
        pthread_join(thread_, nullptr);
        live_->fetch_sub(1);
    }
    vu_thread(const vu_thread&) = delete;

    bridge& link() noexcept { return b_; }

    // Engine side: runs the command set in the bridge to its end, serving the
    // requests and sleeps it asks for on `http` (the VU's client).
    task<> drive(client& http) {
        b_.ioc = &http.thread().ioc;
        // setup/teardown: the engine's control VU (checks, groups, sleeps
        // that a deadline or a signal can cut)
        ld::vu_context* vu = b_.vu ? b_.vu : http.vu();
        b_.host_vu = vu;
        b_.stop.store(false);
        if (vu && vu->interrupted) interrupt();  // cut before it got here
        co_await bridge::ready{b_};
        if (!b_.init_error.empty()) throw std::runtime_error(b_.init_error);
        for (;;) {
            co_await bridge::give_turn{b_};
            ld::current_vu = vu;
            for (auto& op : b_.ops) instance::apply(op, vu);
            b_.ops.clear();
            ld::current_vu = vu;
            if (b_.asked == bridge::ask::done) break;
            try {
                if (b_.asked == bridge::ask::http) {
                    auto p = b_.spec.to_params();
                    b_.answer = &co_await http.send(b_.spec.method, b_.spec.url, b_.spec.body, p);
                } else {
                    auto until = ld::now_ns() + static_cast<std::int64_t>(b_.sleep_seconds * 1e9);
                    if (vu) {
                        co_await vu->wait_until(until);
                    } else {
                        boost::asio::steady_timer t(http.thread().ioc);
                        t.expires_at(clock::time_point(nanoseconds(until)));
                        co_await ld::io([&](auto h) { t.async_wait(std::move(h)); });
                    }
                }
            } catch (const interrupted_error&) {
                b_.answer_interrupted = true;
            }
        }
        if (b_.abort_reason) {
            http.thread().engine->abort(*b_.abort_reason, ld::abort_kind::script, true);
            throw ld::script_abort{};
        }
        if (b_.interrupted) throw interrupted_error{};
        if (!b_.failure.empty()) throw std::runtime_error(b_.failure);
    }

    // From any thread: stop the JavaScript now (the VU was interrupted).
    void interrupt() {
        b_.stop.store(true);
        if (auto* cx = b_.cx.load()) JS_RequestInterruptCallback(cx);
    }

  private:
    static void* start(void* self) {
        static_cast<vu_thread*>(self)->main();
        return nullptr;
    }
    void init_done() {
        b_.turn.store(0, std::memory_order_release);
        int prev = b_.init_state.exchange(2, std::memory_order_acq_rel);
        b_.init_state.notify_all();
        if (prev == 1) boost::asio::post(*b_.ioc, [h = b_.waiting] { h.resume(); });
    }
    void main() {
        JSContext* cx = JS_NewContext(heap_max_bytes, prog_.parent);
        if (!cx) {
            b_.init_error = "cannot create a JavaScript context (out of memory?)";
            init_done();
            b_.wait_turn();
            return;
        }
        {
            instance in(cx, prog_, &b_);
            in.vars = vars_;
            JS_SetContextPrivate(cx, &in);
            try {
                setup_context(cx, stack_quota_bytes);
                JS_AddInterruptCallback(cx, &interrupt_callback);
                b_.cx.store(cx);
                if (!in.boot()) b_.init_error = "init code: " + in.error;
            } catch (const std::exception& e) {
                b_.init_error = e.what();
            }
            init_done();
            for (;;) {
                b_.wait_turn();
                if (b_.cmd == bridge::command::quit) break;
                if (b_.init_error.empty()) in.serve(b_);
                b_.asked = bridge::ask::done;
                auto h = b_.waiting;
                b_.turn.store(0, std::memory_order_release);
                boost::asio::post(*b_.ioc, [h] { h.resume(); });
            }
            b_.cx.store(nullptr);
            JS_SetContextPrivate(cx, nullptr);
        }
        JS_DestroyContext(cx);
    }

    static constexpr long maps_per_vu_thread = 7;  // 6.5 measured without the JIT
    program& prog_;
    vars_map* vars_;
    bridge b_;
    pthread_t thread_{};
    std::atomic<long>* live_ = nullptr;
};

}  // namespace detail
}  // namespace loadkit::js

#pragma GCC diagnostic pop
