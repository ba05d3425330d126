#pragma once
// What the topic tree and the retained store share: both keep one node per topic level,
//   struct node { std::unordered_map<std::string, std::unique_ptr<node>, level_hash, std::equal_to<>> children;
//                 bool is_empty() const; ... };
// and every walk over them is iterative. A topic may have 32,768 levels ("/" repeated), and a recursion that
// deep, or a destructor chain that long, would overflow a thread's stack.

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace mqttd::core {

// Splits "a/b/c" at the first '/': returns "a" and sets rest to "b/c"; at_end is set on the last level.
std::string_view split_level(std::string_view& rest, bool& at_end) noexcept;

// The nodes along `path` from root (root first), each with the level that leads to it from its parent;
// empty when a level is missing.
template <class Node>
std::vector<std::pair<Node*, std::string_view>> find_path(Node& root, std::string_view path) {
    std::vector<std::pair<Node*, std::string_view>> nodes{{&root, {}}};
    bool at_end = false;
    while (!at_end) {
        const auto level = split_level(path, at_end);
        const auto it = nodes.back().first->children.find(level);
        if (it == nodes.back().first->children.end()) return {};
        nodes.emplace_back(it->second.get(), level);
    }
    return nodes;
}

// Removes the nodes at the end of a found path that became empty, deepest first, so a churn of unique
// topics does not leak nodes.
template <class Node>
void prune_path(const std::vector<std::pair<Node*, std::string_view>>& nodes) {
    for (std::size_t i = nodes.size() - 1; i > 0 && nodes[i].first->is_empty(); --i)
        nodes[i - 1].first->children.erase(nodes[i - 1].first->children.find(nodes[i].second));
}

// Frees every node below root without recursion.
template <class Node>
void destroy_children(Node& root) {
    std::vector<std::unique_ptr<Node>> pending;
    const auto take_children = [&](Node& n) {
        for (auto& [level, child] : n.children) pending.push_back(std::move(child));
        n.children.clear();
    };
    take_children(root);
    while (!pending.empty()) {
        auto n = std::move(pending.back());
        pending.pop_back();
        take_children(*n);
    }
}

}  // namespace mqttd::core
