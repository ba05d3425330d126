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

topic_tree::node& topic_tree::make_path(std::string_view filter) {
    node* n = &root_;
    bool at_end = false;
    while (!at_end) {
        const auto level = split_level(filter, at_end);
        auto it = n->children.find(level);
        if (it == n->children.end()) it = n->children.emplace(std::string{level}, std::make_unique<node>()).first;
        n = it->second.get();
    }
    return *n;
}

bool topic_tree::subscribe(const subscriber& s, std::string_view filter) {
    auto& n = make_path(filter);
    if (const auto at = n.find(s.session.get()); at != n.subscribers.size()) {
        n.subscribers[at] = s;
        return false;
    }
    n.add(s);
    ++count_;
    return true;
}

share_group* topic_tree::node::find_group(std::string_view name) const noexcept {
    if (!groups) return nullptr;
    for (const auto& g : *groups)
        if (g->name() == name) return g.get();
    return nullptr;
}

bool topic_tree::subscribe_shared(const subscriber& s, const share_filter& parts, std::string_view full,
                                  share_strategy strategy) {
    auto& n = make_path(parts.filter);
    auto* group = n.find_group(parts.group);
    if (group == nullptr) {
        if (!n.groups) n.groups = std::make_unique<std::vector<std::unique_ptr<share_group>>>();
        group = n.groups->emplace_back(std::make_unique<share_group>(full, parts.group, strategy)).get();
    }
    if (!group->add(s)) return false;
    ++count_;
    return true;
}

bool topic_tree::unsubscribe_shared(const session_slot* s, const share_filter& parts) {
    const auto path = find_path(root_, parts.filter);
    if (path.empty()) return false;
    auto& n = *path.back().first;
    auto* group = n.find_group(parts.group);
    if (group == nullptr || !group->remove(s)) return false;
    --count_;
    if (group->is_empty()) {
        std::erase_if(*n.groups, [group](const auto& g) { return g.get() == group; });
        if (n.groups->empty()) n.groups.reset();
        prune_path(path);
    }
    return true;
}

bool topic_tree::pick_shared(const share_filter& parts, std::string_view publisher, subscriber& out) const {
    const auto path = find_path(root_, parts.filter);
    if (path.empty()) return false;
    const auto* group = path.back().first->find_group(parts.group);
    return group != nullptr && group->pick(publisher, out);
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

void topic_tree::match(std::string_view topic, std::vector<subscriber>& out, std::string_view publisher) const {
    // [MQTT-4.7.2-1] a leading wildcard never matches a '$' topic.
    const bool is_dollar = !topic.empty() && topic.front() == '$';
    const auto collect = [&out, publisher](const node& n) {
        out.insert(out.end(), n.subscribers.begin(), n.subscribers.end());
        if (!n.groups) return;
        for (const auto& g : *n.groups) {
            subscriber picked;
            if (g->pick(publisher, picked)) out.push_back(std::move(picked));
        }
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
