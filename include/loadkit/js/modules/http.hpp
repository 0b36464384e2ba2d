#pragma once
// k6/http: the request natives under http.* (sync: the VU's thread asks the
// engine through the bridge; async: a promise the engine settles). The
// methods, batch and form bodies are the prelude's JavaScript.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../core/duration.hpp"
#include "../../http/client.hpp"
#include "../bridge.hpp"
#include "../errors.hpp"
#include "../instance.hpp"
#include "../module.hpp"
#include "../spidermonkey.hpp"
#include "../strings.hpp"

// SpiderMonkey's rooting keeps stack roots' addresses (see spidermonkey.hpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"

namespace loadkit::js::detail::http_module {

namespace ld = loadkit::detail;

// params.cookies as k6 reads them: {name: value} sends String(value);
// {name: {value, replace}} (keys in any case) also drops the jar's cookie
// of that name when `replace` is truthy; null and undefined are skipped.
inline bool read_cookies(instance& self, JS::HandleValue v, std::vector<request_cookie>& out) {
    JSContext* cx = self.cx;
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
// http.*'s arguments (method, url, body, params, headers) into `spec`.
inline bool read_request_args(instance& self, const JS::CallArgs& args, request_spec& spec) {
    JSContext* cx = self.cx;
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
        if (!self.for_each_string(h, [&](std::string k, std::string v) { spec.headers.emplace_back(std::move(k), std::move(v)); }))
            return false;
    }
    if (!args.get(3).isObject()) return true;
    JS::RootedObject p(cx, &args.get(3).toObject());
    JS::RootedValue v(cx);
    if (!JS_GetProperty(cx, p, "tags", &v)) return false;
    if (v.isObject()) {
        JS::RootedObject t(cx, &v.toObject());
        if (!self.for_each_string(t, [&](std::string k, std::string val) {
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
    if (v.isObject() && !read_cookies(self, v, spec.cookies)) return false;
    return true;
}

inline bool n_request(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (self.host)
        return throw_error(cx, "http.get/post/... block, which an async exec function cannot do: use await http.asyncRequest(method, url, body, params)");
    if (!self.can_ask("http requests")) return false;
    auto& b = *self.link;
    if (!read_request_args(self, args, b.spec)) return false;
    if (!self.ask(bridge::ask::http)) return false;
    JS::RootedObject res(cx, self.response_object(*b.answer));
    if (!res) return false;
    args.rval().setObject(*res);
    return true;
}
// Async VUs: a promise the engine settles with the response.
inline bool n_request_async(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    auto& self = instance::of(cx);
    if (!self.host || self.in_init) return throw_error(cx, "http.asyncRequest cannot be called in the init context");
    JS::RootedObject promise(cx, JS::NewPromiseObject(cx, nullptr));
    if (!promise) return false;
    if (!read_request_args(self, args, self.host->next_request())) return false;
    if (!self.host->start_request(promise)) return false;
    args.rval().setObject(*promise);
    return true;
}

// request (requestAsync for async VUs), and http.batch's limits.
inline bool install(JSContext* cx, JS::HandleObject lk, const install_args& a) {
    static const JSFunctionSpec natives[] = {JS_FN("request", &n_request, 5, 0), JS_FS_END};
    static const JSFunctionSpec async_natives[] = {JS_FN("requestAsync", &n_request_async, 5, 0), JS_FS_END};
    if (!JS_DefineFunctions(cx, lk, natives)) return false;
    if (a.async_mode && !JS_DefineFunctions(cx, lk, async_natives)) return false;
    const nlohmann::json& options = a.options;
    // http.batch's limits: at most `batch` requests at once, `batchPerHost`
    // to one host (k6's options, defaults 20 and 6; 0: no limit)
    auto limit = [&](const char* key, double fallback) {
        auto it = options.is_object() ? options.find(key) : options.end();
        return it != options.end() && it->is_number() && it->get<double>() >= 0 ? it->get<double>() : fallback;
    };
    JS::RootedValue batch(cx, JS::NumberValue(limit("batch", 20))), per_host(cx, JS::NumberValue(limit("batchPerHost", 6)));
    if (!JS_SetProperty(cx, lk, "batch", batch) || !JS_SetProperty(cx, lk, "batchPerHost", per_host)) return false;
    return true;
}

}  // namespace loadkit::js::detail::http_module

#pragma GCC diagnostic pop
