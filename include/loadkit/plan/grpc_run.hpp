#pragma once
// The gRPC step's runtime (grpc_steps.hpp's seam) on loadkit::grpc: the
// .proto files loaded and the method and message checked when the plan is
// built; at run time, a VU's clients (one connection per address and
// connection settings, kept across iterations, connected again after a
// failure) and the call, timed as grpc_req_duration like every other call.
// Including this header (<loadkit/yaml.hpp> and <loadkit/js.hpp> do when
// loadkit::grpc is linked) installs it.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/config.hpp"
#include "../core/task.hpp"
#include "../grpc/client.hpp"
#include "../grpc/descriptors.hpp"
#include "grpc_steps.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml::detail {

namespace g = loadkit::grpc;

// What a step found at load time.
struct grpc_ready {
    std::shared_ptr<const g::descriptor_set> set;  // null with reflection
    const g::method_info* method = nullptr;
    std::string connection;  // the connection settings, as a key
};

// The field names of `j` against `d`: the keys down to the first unknown one.
inline bool known_fields(const google::protobuf::Descriptor* d, const nlohmann::json& j, std::vector<std::string>& path,
                         int depth = 0) {
    if (!j.is_object() || depth > 32 || d->file()->package() == "google.protobuf") return true;
    for (auto& [k, v] : j.items()) {
        path.push_back(k);
        auto* f = d->FindFieldByName(k);
        for (int i = 0; !f && i < d->field_count(); ++i)
            if (d->field(i)->json_name() == k) f = d->field(i);
        if (!f) return false;
        if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map()) {
            if (v.is_array()) {
                for (auto& e : v)
                    if (!known_fields(f->message_type(), e, path, depth + 1)) return false;
            } else if (!known_fields(f->message_type(), v, path, depth + 1)) {
                return false;
            }
        }
        path.pop_back();
    }
    return true;
}

class grpc_vu_impl final : public grpc_step_vu {
  public:
    explicit grpc_vu_impl(client& http) : http_(http) {}

    task<> call(const grpc_step& s, const std::string& address, const std::string& message,
                const std::vector<std::pair<std::string, std::string>>& metadata, grpc_outcome& out) override {
        auto& ready = *static_cast<const grpc_ready*>(s.ready.get());
        auto& c = client_for(ready, address);
        if (!c.connected()) {  // the first call, or after a failed connect: (again)
            g::connect_options o;
            o.plaintext = s.plaintext;
            o.reflect = s.reflect;
            if (s.timeout) o.timeout = *s.timeout;
            if (s.has_tls) o.tls = g::connect_tls{s.cacerts, s.cert, s.key, s.password};
            co_await c.connect(address, o);  // a failure: the call below fails as Unavailable, counted
        }
        const g::method_info* m = ready.method;
        g::method_info unknown;
        if (!m && !(m = c.method(s.method))) {
            if (c.connected())  // reflection's descriptors lack it: the script's mistake, as k6 throws
                throw std::runtime_error("grpc step at " + s.where + ": method \"" + s.method +
                                         "\" not found in the server's reflection descriptors");
            unknown.path = s.method;  // not connected: counted as a failed call of this method
            auto slash = s.method.find('/', 1);
            unknown.service = s.method.substr(1, slash - 1);
            unknown.name = s.method.substr(slash + 1);
            m = &unknown;
        }
        bytes_.clear();
        std::string why;
        if (m->set && !m->set->to_binary(m->input_url, message, bytes_, why))
            throw std::runtime_error("grpc step at " + s.where + ": " + why);
        params_.md.assign(metadata.begin(), metadata.end());
        params_.tags.clear();
        params_.tags.emplace_back("name", s.name);
        params_.timeout = s.timeout;
        co_await c.invoke(*m, bytes_, params_, res_);
        out.status = res_.status;
        out.error = res_.error;
        out.headers.assign(res_.headers.begin(), res_.headers.end());
        out.trailers.assign(res_.trailers.begin(), res_.trailers.end());
        out.message.clear();
        if (m->set && res_.has_message && !m->set->to_json(m->output_url, res_.message, out.message, why))
            out.message.clear();
    }

  private:
    g::client& client_for(const grpc_ready& r, const std::string& address) {
        for (auto& [key, c] : clients_)
            if (key.size() == address.size() + 1 + r.connection.size() && key.starts_with(address) &&
                key.ends_with(r.connection))
                return *c;
        auto& e = clients_.emplace_back(address + "|" + r.connection, std::make_unique<g::client>(http_));
        if (r.set) e.second->add(r.set);
        return *e.second;
    }

    client& http_;
    std::vector<std::pair<std::string, std::unique_ptr<g::client>>> clients_;
    std::string bytes_;
    g::call_params params_;
    g::response res_;
};

class grpc_runtime_impl final : public grpc_step_runtime {
  public:
    std::string prepare(grpc_step& s, const nlohmann::json& message, bool fixed,
                        std::vector<std::string>& bad_field) const override {
        auto r = std::make_shared<grpc_ready>();
        r->connection = std::string(s.plaintext ? "h2c" : "tls") + (s.reflect ? "|reflect" : "");
        if (s.has_tls) {
            for (auto& c : s.cacerts) r->connection += "|" + c;
            r->connection += "|" + s.cert + "|" + s.password;
        }
        if (!s.reflect) {
            try {
                r->set = g::detail::shared_protos(s.import_paths, s.protos);
            } catch (const std::exception& e) {
                return e.what();
            }
            r->method = r->set->method(s.method);
            if (!r->method) {
                std::string known;
                for (auto& [path, m] : r->set->methods()) known += (known.empty() ? "" : ", ") + path.substr(1);
                return "method \"" + s.method.substr(1) + "\" not found in the .proto files" +
                       (known.empty() ? " (they define no service)" : "; they define " + known);
            }
            if (!known_fields(r->method->input, message, bad_field))
                return "unknown field '" + bad_field.back() + "' in the message: " + r->method->input->full_name() +
                       " has no such field";
            bad_field.clear();
            std::string bytes, why;
            if (fixed && !r->set->to_binary(r->method->input_url, message.dump(), bytes, why)) return why;
        }
        s.ready = std::move(r);
        return {};
    }
    std::unique_ptr<grpc_step_vu> make_vu(client& http) const override { return std::make_unique<grpc_vu_impl>(http); }
};

inline const grpc_runtime_impl grpc_runtime_instance;
// [[gnu::used]]: installed before main in every program that includes this header
[[gnu::used]] inline const bool grpc_runtime_installed = (grpc_installed = &grpc_runtime_instance, true);

}  // namespace loadkit::inline LOADKIT_ABI::yaml::detail
