#include "broker/core/topic_tree.hpp"

#include <algorithm>

namespace mqttd::core {

std::string_view split_level(std::string_view& rest, bool& at_end) noexcept {
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        const auto level = rest;
        rest = {};
        at_end = true;
        return level;
    }
    const auto level = rest.substr(0, slash);
    rest.remove_prefix(slash + 1);
    at_end = false;
    return level;
}

topic_tree::topic_tree() = default;
topic_tree::~topic_tree() { destroy_children(root_); }

bool topic_tree::subscribe(const subscriber& s, std::string_view filter) {
    node* n = &root_;
    bool at_end = false;
    while (!at_end) {
        const auto level = split_level(filter, at_end);
        auto it = n->children.find(level);
        if (it == n->children.end()) it = n->children.emplace(std::string{level}, std::make_unique<node>()).first;
        n = it->second.get();
    }
    if (const auto at = n->find(s.session.get()); at != n->subscribers.size()) {
        n->subscribers[at] = s;
        return false;
    }
    n->add(s);
    ++count_;
    return true;
}

std::size_t topic_tree::node::find(const session_slot* s) const {
    if (index) {
        const auto it = index->find(s);
        return it == index->end() ? subscribers.size() : it->second;
    }
    const auto it = std::find_if(subscribers.begin(), subscribers.end(),
                                 [s](const subscriber& sub) { return sub.session.get() == s; });
    return static_cast<std::size_t>(it - subscribers.begin());
}

void topic_tree::node::add(const subscriber& s) {
    subscribers.push_back(s);
    if (index) {
        index->emplace(s.session.get(), subscribers.size() - 1);
    } else if (subscribers.size() >= indexed_from) {
        index = std::make_unique<std::unordered_map<const session_slot*, std::size_t>>();
        index->reserve(subscribers.size() * 2);
        for (std::size_t i = 0; i < subscribers.size(); ++i) index->emplace(subscribers[i].session.get(), i);
    }
}

void topic_tree::node::remove_at(std::size_t position) {
    if (index) index->erase(subscribers[position].session.get());
    if (position != subscribers.size() - 1) {
        subscribers[position] = std::move(subscribers.back());
        if (index) (*index)[subscribers[position].session.get()] = position;
    }
    subscribers.pop_back();
    // Hysteresis: a node hovering around the threshold does not rebuild its index on every change.
    if (index && subscribers.size() < indexed_from / 2) index.reset();
}

bool topic_tree::unsubscribe(const session_slot* s, std::string_view filter) {
    const auto path = find_path(root_, filter);
    if (path.empty()) return false;
    auto& n = *path.back().first;
    const auto at = n.find(s);
    if (at == n.subscribers.size()) return false;
    n.remove_at(at);
    --count_;
    prune_path(path);
    return true;
}

void topic_tree::match(std::string_view topic, std::vector<subscriber>& out) const {
    // [MQTT-4.7.2-1] a leading wildcard never matches a '$' topic.
    const bool is_dollar = !topic.empty() && topic.front() == '$';
    const auto collect = [&out](const node& n) {
        out.insert(out.end(), n.subscribers.begin(), n.subscribers.end());
    };
    const auto collect_hash_child = [&](const node& n) {
        if (const auto hash = n.children.find(std::string_view{"#"}); hash != n.children.end()) collect(*hash->second);
    };
    // Depth first with an explicit stack: each entry is a node and the topic levels still to match below it.
    // Reused per thread, so a match allocates nothing in the steady state.
    struct pending {
        const node* n;
        std::string_view rest;
        bool is_first;
    };
    thread_local std::vector<pending> stack;
    stack.clear();
    stack.push_back({&root_, topic, true});
    while (!stack.empty()) {
        const auto [n, rest_in, is_first] = stack.back();
        stack.pop_back();
        auto rest = rest_in;
        bool at_end = false;
        const auto level = split_level(rest, at_end);
        const bool wildcards_allowed = !(is_first && is_dollar);
        // [MQTT-4.7.1-2] '#' matches this level and everything below it.
        if (wildcards_allowed) collect_hash_child(*n);
        const auto visit = [&](const node& child) {
            if (at_end) {
                collect(child);
                collect_hash_child(child);  // "sport/#" also matches "sport" itself [MQTT-4.7.1-2]
            } else {
                stack.push_back({&child, rest, false});
            }
        };
        if (const auto exact = n->children.find(level); exact != n->children.end()) visit(*exact->second);
        if (wildcards_allowed) {
            if (const auto plus = n->children.find(std::string_view{"+"}); plus != n->children.end())
                visit(*plus->second);
        }
    }
}

}  // namespace mqttd::core
