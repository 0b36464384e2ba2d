#pragma once
// The message layer: a set of protobuf descriptors (from .proto files parsed
// at run time, from protosets, or from a server's reflection), the methods of
// their services by path ("/pkg.Service/Method"), and JSON <-> protobuf bytes
// as k6's protojson does it.
//
// Built once (a script's init code, a plan's load), then read-only: the pool
// has no fallback database, so its lookups take no lock, and the type
// resolver reads it only. Converting JSON straight to the wire bytes (and
// back) through the resolver skips a dynamic message per call: what protobuf
// itself allocates is all a call costs. Identical loads share one set
// (shared_set): every VU's init code loads the same files.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "../core/config.hpp"
#include "../core/errors.hpp"

namespace loadkit::inline LOADKIT_ABI::grpc {

namespace pb = google::protobuf;

class descriptor_set;

// One RPC method as a call needs it.
struct method_info {
    const descriptor_set* set = nullptr;  // whose resolver converts its messages
    std::string path;     // "/pkg.Service/Method"
    std::string service;  // "pkg.Service"
    std::string name;     // "Method"
    std::string input_url, output_url;  // type URLs for the resolver
    const pb::Descriptor* input = nullptr;
    const pb::Descriptor* output = nullptr;
    bool client_streaming = false, server_streaming = false;
    bool output_nulls = false;  // the output has message fields k6 prints as null when unset
};

class descriptor_set {
  public:
    descriptor_set() = default;
    descriptor_set(const descriptor_set&) = delete;
    descriptor_set& operator=(const descriptor_set&) = delete;

    // .proto files by name, found under the import paths (a file given by an
    // absolute or existing relative path is found by its own directory too).
    // Throws config_error with the compiler's file:line:column messages.
    void load_protos(const std::vector<std::string>& import_paths, const std::vector<std::string>& files) {
        pb::compiler::DiskSourceTree tree;
        for (auto& p : import_paths) tree.MapPath("", p);
        // the well-known types (google/protobuf/empty.proto, ...) from the
        // installed protobuf, as k6 has them built in
        std::error_code ec;
        for (const char* dir : {"/usr/include", "/usr/local/include"})
            if (std::filesystem::exists(std::string(dir) + "/google/protobuf/empty.proto", ec)) {
                tree.MapPath("google/protobuf", std::string(dir) + "/google/protobuf");
                break;
            }
        std::vector<std::string> names;
        for (auto& f : files) {
            std::string name = f;
            bool under = false;
            for (auto& p : import_paths)
                if (std::filesystem::exists(std::filesystem::path(p) / f, ec)) under = true;
            if (!under && std::filesystem::exists(f, ec)) {
                auto path = std::filesystem::path(f);
                tree.MapPath("", path.parent_path().empty() ? "." : path.parent_path().string());
                name = path.filename().string();
            }
            names.push_back(name);
        }
        if (import_paths.empty()) tree.MapPath("", ".");
        collector errors;
        pb::compiler::Importer importer(&tree, &errors);
        for (auto& n : names) {
            auto* fd = importer.Import(n);
            if (!fd) {
                if (errors.text.empty()) errors.text = n + ": not found in the import paths";
                throw config_error("grpc: cannot load " + n + ": " + errors.text);
            }
            collect(fd);
        }
        build();
    }

    // A FileDescriptorSet (protoc --descriptor_set_out, --include_imports).
    void load_protoset(std::string_view bytes, std::string_view from = "protoset") {
        pb::FileDescriptorSet set;
        if (!set.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
            throw config_error("grpc: couldn't unmarshal protoset file " + std::string(from) +
                               ": not a FileDescriptorSet");
        for (auto& f : set.file()) add(f);
        build();
    }

    // Serialized FileDescriptorProtos (what reflection answers with); build()
    // once all of them are in.
    bool add_serialized(std::string_view bytes) {
        pb::FileDescriptorProto f;
        if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
        add(f);
        return true;
    }
    bool has_file(const std::string& name) const { return pending_.count(name) || pool_.FindFileByName(name); }

    // Builds the pending files (dependencies first) and indexes their methods.
    void build() {
        std::set<std::string> visiting;
        while (!pending_.empty()) build_one(pending_.begin()->first, visiting);
        if (!resolver_) resolver_.reset(pb::util::NewTypeResolverForDescriptorPool(url_prefix, &pool_));
    }

    const method_info* method(std::string_view path) const {
        auto it = methods_.find(path);
        return it == methods_.end() ? nullptr : &it->second;
    }
    const std::map<std::string, method_info, std::less<>>& methods() const noexcept { return methods_; }
    const pb::DescriptorPool& pool() const noexcept { return pool_; }

    // JSON (protojson: lowerCamelCase or proto names, int64 as strings or
    // numbers, enums by name or number) to the message's wire bytes.
    bool to_binary(const std::string& type_url, std::string_view json, std::string& out, std::string& error) const {
        out.clear();
        pb::util::JsonParseOptions o;  // unknown fields are errors, as protojson's default
        auto s = pb::util::JsonToBinaryString(resolver_.get(), type_url, std::string(json), &out, o);
        if (s.ok()) return true;
        error.assign("unable to serialise request object to protocol buffer: ").append(s.message().data(),
                                                                                       s.message().size());
        return false;
    }
    // Wire bytes to JSON as k6 prints them (protojson with EmitUnpopulated:
    // lowerCamelCase names, int64 as strings, zero values present).
    // Differs from k6: an unset message field is absent, where k6 prints null.
    // Stream messages are printed without the zero values (k6's streams use
    // protojson's defaults there): `zero_values` false.
    bool to_json(const std::string& type_url, std::string_view bytes, std::string& out, std::string& error,
                 bool zero_values = true) const {
        out.clear();
        pb::util::JsonPrintOptions o;
        o.always_print_primitive_fields = zero_values;
        auto s = pb::util::BinaryToJsonString(resolver_.get(), type_url, std::string(bytes), &out, o);
        if (s.ok()) return true;
        error.assign("unable to parse the response message: ").append(s.message().data(), s.message().size());
        return false;
    }

    static constexpr const char* url_prefix = "type.googleapis.com";

    // Whether messages of `d` have a singular message field (at any depth),
    // which k6 prints as null when unset: only those need with_nulls().
    static bool has_message_fields(const pb::Descriptor* d, int depth = 0) {
        if (!d || depth > 32) return false;
        for (int i = 0; i < d->field_count(); ++i) {
            auto* f = d->field(i);
            if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || f->is_map()) continue;
            if (!f->is_repeated() && !f->real_containing_oneof()) return true;
            if (!is_well_known(f->message_type()) && has_message_fields(f->message_type(), depth + 1)) return true;
        }
        return false;
    }
    // `json` (to_json's, with zero values) with null for every unset singular
    // message field, in field order, as protojson's EmitUnpopulated prints it.
    static std::string with_nulls(const pb::Descriptor* d, const std::string& json) {
        auto j = nlohmann::ordered_json::parse(json, nullptr, false);
        if (j.is_discarded()) return json;
        fill_nulls(d, j, 0);
        return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }

  private:
    static bool is_well_known(const pb::Descriptor* d) { return d->file()->package() == "google.protobuf"; }
    static void fill_nulls(const pb::Descriptor* d, nlohmann::ordered_json& j, int depth) {
        if (!j.is_object() || depth > 32 || is_well_known(d)) return;
        nlohmann::ordered_json out = nlohmann::ordered_json::object();
        for (int i = 0; i < d->field_count(); ++i) {
            auto* f = d->field(i);
            auto it = j.find(f->json_name());
            bool message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map();
            if (it == j.end()) {
                if (message && !f->is_repeated() && !f->real_containing_oneof()) out[f->json_name()] = nullptr;
                continue;
            }
            if (message && f->is_repeated()) {
                for (auto& e : *it) fill_nulls(f->message_type(), e, depth + 1);
            } else if (message) {
                fill_nulls(f->message_type(), *it, depth + 1);
            }
            out[f->json_name()] = std::move(*it);
        }
        for (auto& [k, v] : j.items())  // anything else (extensions): kept
            if (!out.contains(k)) out[k] = std::move(v);
        j = std::move(out);
    }

    struct collector : pb::compiler::MultiFileErrorCollector {
        std::string text;
        void AddError(const std::string& file, int line, int column, const std::string& message) override {
            if (!text.empty()) text += "; ";
            text += file;
            if (line >= 0) text += ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1);
            text += ": " + message;
        }
    };
    void collect(const pb::FileDescriptor* fd) {
        if (has_file(fd->name())) return;
        for (int i = 0; i < fd->dependency_count(); ++i) collect(fd->dependency(i));
        pb::FileDescriptorProto p;
        fd->CopyTo(&p);
        add(p);
    }
    void add(const pb::FileDescriptorProto& f) {
        if (!pool_.FindFileByName(f.name())) pending_.emplace(f.name(), f);
    }
    // `name` by value: the caller's is often the key of the entry erased below.
    void build_one(std::string name, std::set<std::string>& visiting) {
        auto it = pending_.find(name);
        if (it == pending_.end()) return;
        if (!visiting.insert(name).second) throw config_error("grpc: import cycle at " + name);
        for (auto& dep : it->second.dependency()) {
            if (pool_.FindFileByName(dep)) continue;
            if (!pending_.count(dep)) {
                // a well-known type the set did not carry: protobuf's own copy
                if (auto* known = pb::DescriptorPool::generated_pool()->FindFileByName(dep)) {
                    pb::FileDescriptorProto p;
                    known->CopyTo(&p);
                    pending_.emplace(dep, p);
                } else {
                    throw config_error("grpc: " + name + " imports " + dep + ", which is not loaded");
                }
            }
            build_one(dep, visiting);
        }
        it = pending_.find(name);
        collector_once errors;
        auto* fd = pool_.BuildFileCollectingErrors(it->second, &errors);
        pending_.erase(it);
        visiting.erase(name);
        if (!fd) throw config_error("grpc: " + name + ": " + errors.text);
        index(fd);
    }
    struct collector_once : pb::DescriptorPool::ErrorCollector {
        std::string text;
        void AddError(const std::string&, const std::string& element, const pb::Message*, ErrorLocation,
                      const std::string& message) override {
            if (!text.empty()) text += "; ";
            text += element + ": " + message;
        }
    };
    void index(const pb::FileDescriptor* fd) {
        for (int s = 0; s < fd->service_count(); ++s) {
            auto* svc = fd->service(s);
            for (int m = 0; m < svc->method_count(); ++m) {
                auto* md = svc->method(m);
                method_info mi;
                mi.set = this;
                mi.service = svc->full_name();
                mi.name = md->name();
                mi.path = "/" + mi.service + "/" + mi.name;
                mi.input = md->input_type();
                mi.output = md->output_type();
                mi.input_url = std::string(url_prefix) + "/" + mi.input->full_name();
                mi.output_url = std::string(url_prefix) + "/" + mi.output->full_name();
                mi.output_nulls = has_message_fields(mi.output);
                mi.client_streaming = md->client_streaming();
                mi.server_streaming = md->server_streaming();
                methods_.emplace(mi.path, std::move(mi));
            }
        }
    }

    pb::DescriptorPool pool_;
    std::map<std::string, pb::FileDescriptorProto> pending_;
    std::map<std::string, method_info, std::less<>> methods_;
    std::unique_ptr<pb::util::TypeResolver> resolver_;
};

namespace detail {

// One descriptor set per distinct load, shared by every VU that asks for it
// (init code runs once per VU; the set is read-only once built).
inline std::shared_ptr<const descriptor_set> shared_protos(const std::vector<std::string>& import_paths,
                                                           const std::vector<std::string>& files) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<const descriptor_set>> cache;
    std::string key;
    for (auto& p : import_paths) key.append(p).push_back('\0');
    key.push_back('\1');
    for (auto& f : files) key.append(f).push_back('\0');
    std::lock_guard lock(mu);
    if (auto hit = cache[key].lock()) return hit;
    auto set = std::make_shared<descriptor_set>();
    set->load_protos(import_paths, files);
    cache[key] = set;
    return set;
}

}  // namespace detail
}  // namespace loadkit::inline LOADKIT_ABI::grpc
