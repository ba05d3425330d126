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
topic_tree::~topic_tree() = default;

bool topic_tree::subscribe(const subscriber& s, std::string_view filter) {
    node* n = &root_;
    bool at_end = false;
    while (!at_end) {
        const auto level = split_level(filter, at_end);
        auto it = n->children.find(level);
        if (it == n->children.end()) it = n->children.emplace(std::string{level}, std::make_unique<node>()).first;
        n = it->second.get();
    }
    for (auto& sub : n->subscribers) {
        if (sub.session == s.session) {
            sub = s;
            return false;
        }
    }
    n->subscribers.push_back(s);
    ++count_;
    return true;
}

bool topic_tree::remove(node& n, std::string_view rest, const session_slot* s, bool& removed) {
    bool at_end = false;
    const auto level = split_level(rest, at_end);
    const auto it = n.children.find(level);
    if (it == n.children.end()) return false;
    node& child = *it->second;
    if (at_end) {
        auto& subs = child.subscribers;
        const auto found = std::find_if(subs.begin(), subs.end(),
                                        [s](const subscriber& sub) { return sub.session.get() == s; });
        if (found != subs.end()) {
            *found = std::move(subs.back());
            subs.pop_back();
            removed = true;
        }
    } else {
        remove(child, rest, s, removed);
    }
    // Prune empty branches so a churn of unique filters does not leak nodes.
    if (child.is_empty()) n.children.erase(it);
    return removed;
}

bool topic_tree::unsubscribe(const session_slot* s, std::string_view filter) {
    bool removed = false;
    remove(root_, filter, s, removed);
    if (removed) --count_;
    return removed;
}

void topic_tree::collect(const node& n, std::vector<subscriber>& out) {
    out.insert(out.end(), n.subscribers.begin(), n.subscribers.end());
}

void topic_tree::match_level(const node& n, std::string_view rest, bool is_first, bool is_dollar,
                             std::vector<subscriber>& out) const {
    bool at_end = false;
    const auto level = split_level(rest, at_end);
    // [MQTT-4.7.2-1] a leading wildcard never matches a '$' topic.
    const bool wildcards_allowed = !(is_first && is_dollar);

    if (wildcards_allowed) {
        // [MQTT-4.7.1-2] '#' matches this level and everything below it.
        if (const auto hash = n.children.find(std::string_view{"#"}); hash != n.children.end())
            collect(*hash->second, out);
    }
    const auto visit = [&](const node& child) {
        if (at_end) {
            collect(child, out);
            // "sport/#" also matches "sport" itself [MQTT-4.7.1-2].
            if (const auto hash = child.children.find(std::string_view{"#"}); hash != child.children.end())
                collect(*hash->second, out);
        } else {
            match_level(child, rest, false, is_dollar, out);
        }
    };
    if (const auto exact = n.children.find(level); exact != n.children.end()) visit(*exact->second);
    if (wildcards_allowed) {
        if (const auto plus = n.children.find(std::string_view{"+"}); plus != n.children.end())
            visit(*plus->second);
    }
}

void topic_tree::match(std::string_view topic, std::vector<subscriber>& out) const {
    match_level(root_, topic, true, !topic.empty() && topic.front() == '$', out);
}

}  // namespace mqttd::core
