#pragma once
// Every k6 module of the JavaScript adapter, in one table, as k6's
// js/modules/k6/*: each is a file under modules/ and a row here. A realm
// installs the natives of every row (loader.hpp) and runs the prelude made
// of every row's JavaScript; `import` finds a k6/* module by its name here
// (a file of re-exports of the prelude's objects).
#include <string>
#include <string_view>
#include <vector>

#include "../core/config.hpp"
#include "module.hpp"
#include "modules/console.hpp"
#include "modules/crypto.hpp"
#include "modules/data.hpp"
#include "modules/encoding.hpp"
#include "modules/execution.hpp"
#include "modules/globals.hpp"
#if defined(LOADKIT_WITH_GRPC)  // loadkit::grpc (protobuf) linked: k6/net/grpc
#include "modules/grpc.hpp"
#endif
#include "modules/html.hpp"
#include "modules/http.hpp"
#include "modules/http_cookies.hpp"
#include "modules/http_request.hpp"
#include "modules/k6.hpp"
#include "modules/metrics.hpp"
#include "modules/timers.hpp"
#include "modules/webcrypto.hpp"
#include "modules/websockets.hpp"
#include "modules/ws.hpp"
#include "prelude.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail {

// In the order their natives are installed and their JavaScript runs in the
// prelude (prelude.hpp); the exports are the names of the prelude's
// __loadkit.modules[name].
inline const std::vector<module_entry>& module_table() {
    static const std::vector<module_entry> table{
        {"k6",
         {"check", "group", "sleep", "fail", "randomSeed", "default"},
         k6_module::javascript,
         k6_module::module_object,
         &k6_module::install},
        {"k6/http",
         {"default", "request", "get", "head", "options", "post", "put", "patch", "del", "batch", "asyncRequest",
          "url",
          "file", "cookieJar", "CookieJar",  // the request side (http_cookies.hpp, http_request.hpp)
          "expectedStatuses", "setResponseCallback",
          "TLS_1_0", "TLS_1_1", "TLS_1_2", "TLS_1_3",
          "OCSP_STATUS_GOOD", "OCSP_STATUS_REVOKED", "OCSP_STATUS_SERVER_FAILED", "OCSP_STATUS_UNKNOWN",
          "OCSP_REASON_UNSPECIFIED", "OCSP_REASON_KEY_COMPROMISE", "OCSP_REASON_CA_COMPROMISE",
          "OCSP_REASON_AFFILIATION_CHANGED", "OCSP_REASON_SUPERSEDED", "OCSP_REASON_CESSATION_OF_OPERATION",
          "OCSP_REASON_CERTIFICATE_HOLD", "OCSP_REASON_REMOVE_FROM_CRL", "OCSP_REASON_PRIVILEGE_WITHDRAWN",
          "OCSP_REASON_AA_COMPROMISE"},
         http_module::javascript,
         http_module::module_object,
         &http_module::install},
        // k6/http's request side: added to `http` before its module object is made
        {"", {}, http_cookies::javascript, {}, &http_cookies::install},
        {"", {}, http_request::javascript, {}, &http_request::install},
        {"k6/html",  // after k6/http: its JavaScript adds html() and the like to http's Response
         {"default", "parseHTML"},
         html_module::javascript(),
         html_module::module_object,
         &html_module::install},
        {"k6/ws", {"default", "connect"}, ws_module::javascript, ws_module::module_object, &ws_module::install},
        {"k6/experimental/websockets",  // over k6/ws's natives and helpers (after it)
         {"default", "WebSocket", "EventName"},
         websockets_module::javascript,
         websockets_module::module_object,
         nullptr},
        {"k6/metrics",
         {"Counter", "Gauge", "Rate", "Trend", "default"},
         metrics_module::javascript,
         metrics_module::module_object,
         &metrics_module::install},
        {"k6/crypto",
         {"default", "md4", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512_224", "sha512_256",
          "ripemd160", "hmac", "createHash", "createHMAC", "hexEncode", "randomBytes"},
         crypto_module::javascript,
         crypto_module::module_object,
         &crypto_module::install},
        {"k6/encoding",
         {"default", "b64encode", "b64decode"},
         encoding_module::javascript,
         encoding_module::module_object,
         &encoding_module::install},
        {"k6/experimental/webcrypto",  // also the global crypto (with k6/crypto's functions)
         {"default", "crypto"},
         webcrypto_module::javascript,
         webcrypto_module::module_object,
         &webcrypto_module::install},
        {"k6/execution",
         {"default"},
         execution_module::javascript,
         execution_module::module_object,
         &execution_module::install},
        {"k6/data",
         {"SharedArray", "default"},
         data_module::javascript,
         data_module::module_object},  // JavaScript only (data.hpp)
        {"k6/timers",
         {"default", "setTimeout", "clearTimeout", "setInterval", "clearInterval"},
         timers_module::javascript,
         timers_module::module_object,
         &timers_module::install},  // also the four globals
        {"k6/experimental/timers",  // k6 v0.48's name: the same module, no JavaScript of its own
         {"default", "setTimeout", "clearTimeout", "setInterval", "clearInterval"},
         {},
         timers_module::module_object},
#if defined(LOADKIT_WITH_GRPC)
        {"k6/net/grpc", grpc_module::exports(), grpc_module::javascript, grpc_module::module_object,
         &grpc_module::install},
        {"k6/experimental/grpc",  // k6 v0.48's name of the module with Stream: the same module
         grpc_module::exports(), {}, grpc_module::module_object},
#endif
        {"", {}, console_module::javascript, {}, &console_module::install},  // the console global
        {"",
         {},
         globals_module::javascript,
         {},
         &globals_module::install,
         &globals_module::define_globals},  // open, __VU, __ITER, __ENV, session
    };
    return table;
}

// The prelude (prelude.hpp) of this table, assembled once for the process;
// each script compiles it once to a stencil (program.hpp).
inline const std::string& prelude_source() {
    static const std::string source = assemble_prelude(module_table());
    return source;
}

// The exported names of the k6/* module `specifier`, or null when it is not one.
inline const std::vector<std::string>* builtin_module(std::string_view specifier) {
    for (auto& m : module_table())
        if (!m.name.empty() && specifier == m.name) return &m.exports;
    return nullptr;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail
