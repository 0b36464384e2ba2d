#pragma once
// What the plan builder (build.hpp) reads: a document of maps, sequences and
// scalars, whatever format it was written in. A front end adapts its parser's
// nodes to this concept (yaml/loader.hpp: yaml-cpp's nodes and their marks;
// js/options.hpp: k6's exported options as nlohmann::json, positioned in the
// script), and one builder validates both, with the same messages.
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "error.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

enum class node_kind { null, scalar, sequence, map };

// A node is a cheap handle (copied freely). Present or absent: n["key"] of a
// map without that key is absent (false), not an error; a key written with no
// value is present, of kind null.
//   kind()        null, scalar, sequence or map (absent: null)
//   scalar()      a scalar's text as written ("30s", "10", "true"); "" otherwise
//   quoted()      a scalar written as a string ("10" in quotes): never a number
//   size()        a sequence's or map's number of entries
//   n[key]        a map's value for key, or an absent node
//   entries()     a map's (key, value) pairs in order, keys being scalar nodes
//   elements()    a sequence's nodes in order
//   where()       where the node is written (1-based), {0, 0} when unknown
//   where(offset) where the byte `offset` of a scalar's text is written (for a
//                 template's mistake), or where() when that cannot be told
template <class N>
concept document_node = std::copyable<N> && requires(const N& n, std::string_view key, std::size_t offset) {
    { static_cast<bool>(n) } -> std::same_as<bool>;
    { n.kind() } -> std::same_as<node_kind>;
    { n.scalar() } -> std::convertible_to<std::string>;
    { n.quoted() } -> std::same_as<bool>;
    { n.size() } -> std::same_as<std::size_t>;
    { n[key] } -> std::same_as<N>;
    { n.entries() } -> std::same_as<std::vector<std::pair<N, N>>>;
    { n.elements() } -> std::same_as<std::vector<N>>;
    { n.where() } -> std::same_as<position>;
    { n.where(offset) } -> std::same_as<position>;
};

namespace detail {

// What loaders ask of a node, and how messages name what was found.
template <document_node Node>
bool is_map(const Node& n) {
    return n.kind() == node_kind::map;
}
template <document_node Node>
bool is_sequence(const Node& n) {
    return n.kind() == node_kind::sequence;
}
template <document_node Node>
bool is_scalar(const Node& n) {
    return n.kind() == node_kind::scalar;
}
template <document_node Node>
bool is_null(const Node& n) {  // absent, or written with no value
    return !n || n.kind() == node_kind::null;
}

template <document_node Node>
std::string describe(const Node& n) {
    switch (n.kind()) {
        case node_kind::null: return "nothing";
        case node_kind::scalar: return "'" + std::string(n.scalar()) + "'";
        case node_kind::sequence: return "a list";
        case node_kind::map: return "a mapping";
    }
    return "nothing";
}

}  // namespace detail

}  // namespace loadkit::inline LOADKIT_ABI::yaml
