#pragma once
// The YAML loader: a file in, a validated plan out, or a load_error that says
// FILE:LINE:COL. yaml-cpp parses; plan/build.hpp validates and builds the
// plan from yaml-cpp's nodes, adapted here (with their marks: where each is
// written in the file).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "../core/config.hpp"
#include "../core/file.hpp"
#include "../plan/finish.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

namespace detail {

// A yaml-cpp node as plan/document.hpp's document_node. `text` is the file's
// text, which a template mistake's column is counted in.
class yaml_node {
  public:
    yaml_node(YAML::Node n, const std::string* text) : node_(std::move(n)), text_(text) {}
    yaml_node(const yaml_node&) = default;
    // Rebinds, as a handle should: YAML::Node's own operator= writes through
    // to the node it refers to, so `Node url = v; url = v["url"];` turned the
    // document's `v` itself into its url scalar.
    yaml_node& operator=(const yaml_node& o) {
        node_.reset(o.node_);
        text_ = o.text_;
        return *this;
    }

    explicit operator bool() const { return node_.IsDefined(); }
    node_kind kind() const {
        switch (node_.Type()) {
            case YAML::NodeType::Scalar: return node_kind::scalar;
            case YAML::NodeType::Sequence: return node_kind::sequence;
            case YAML::NodeType::Map: return node_kind::map;
            default: return node_kind::null;
        }
    }
    const std::string& scalar() const { return node_.Scalar(); }
    bool quoted() const { return node_.Tag() == "!"; }
    std::size_t size() const { return node_.size(); }
    yaml_node operator[](std::string_view key) const {
        // Absent unless this is a map: yaml-cpp throws on a scalar's lookup
        // ("operator[] call on a scalar"), and a step written as `ws_send: hi`
        // is asked for its keys as `ws_send: {text: hi}` is.
        if (!node_.IsMap()) return {YAML::Node(YAML::NodeType::Undefined), text_};
        const YAML::Node& n = node_;  // the const lookup: it never adds the key
        return {n[std::string(key)], text_};
    }
    std::vector<std::pair<yaml_node, yaml_node>> entries() const {
        std::vector<std::pair<yaml_node, yaml_node>> out;
        for (auto it = node_.begin(); it != node_.end(); ++it)
            out.emplace_back(yaml_node(it->first, text_), yaml_node(it->second, text_));
        return out;
    }
    std::vector<yaml_node> elements() const {
        std::vector<yaml_node> out;
        for (auto it = node_.begin(); it != node_.end(); ++it) out.emplace_back(*it, text_);
        return out;
    }
    position where() const {
        auto m = node_.Mark();
        return m.is_null() ? position{} : position{m.line + 1, m.column + 1};
    }
    // `offset` bytes into a scalar's value: past its opening quote, if it
    // has one; a value on more than one line is pointed at as a whole
    position where(std::size_t offset) const {
        auto m = node_.Mark();
        if (m.is_null() || m.pos < 0 || static_cast<std::size_t>(m.pos) >= text_->size()) return where();
        auto pos = static_cast<std::size_t>(m.pos);
        bool quoted = (*text_)[pos] == '"' || (*text_)[pos] == '\'';
        if (node_.Scalar().find('\n') != std::string::npos) return where();
        return {m.line + 1, m.column + 1 + static_cast<int>(offset) + (quoted ? 1 : 0)};
    }

  private:
    YAML::Node node_;
    const std::string* text_;
};
static_assert(document_node<yaml_node>);

}  // namespace detail

// Loads a YAML file; throws load_error (a config_error) on any mistake.
inline plan load_string(const std::string& text, const std::string& file = "<string>") {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        throw load_error(file, e.mark.line + 1, e.mark.column + 1, "invalid YAML: " + e.msg);
    }
    return build_plan(detail::yaml_node(root, &text), file);
}
// A file that cannot be read (missing, a directory, not a regular file, over
// loadkit::detail::max_test_file_bytes) throws a config_error with the reason.
inline plan load_file(const std::string& path) {
    std::string text, error;
    if (!loadkit::detail::read_input_file(path, loadkit::detail::max_test_file_bytes, text, error))
        throw config_error(error);
    return load_string(text, path);
}

}  // namespace loadkit::inline LOADKIT_ABI::yaml
