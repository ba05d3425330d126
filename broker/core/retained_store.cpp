#include "broker/core/retained_store.hpp"

namespace mqttd::core {

retained_store::retained_store() = default;
retained_store::~retained_store() = default;

void retained_store::store(const message_ptr& msg) {
    std::string_view rest = msg->topic();
    if (msg->payload().empty()) {
        erase(root_, rest);
        return;
    }
    node* n = &root_;
    bool at_end = false;
    while (!at_end) {
        const auto level = split_level(rest, at_end);
        auto it = n->children.find(level);
        if (it == n->children.end()) it = n->children.emplace(std::string{level}, std::make_unique<node>()).first;
        n = it->second.get();
    }
    if (!n->msg) ++count_;
    n->msg = msg;
}

bool retained_store::erase(node& n, std::string_view rest) {
    bool at_end = false;
    const auto level = split_level(rest, at_end);
    const auto it = n.children.find(level);
    if (it == n.children.end()) return false;
    node& child = *it->second;
    bool erased = false;
    if (at_end) {
        if (child.msg) {
            child.msg.reset();
            --count_;
            erased = true;
        }
    } else {
        erased = erase(child, rest);
    }
    if (child.is_empty()) n.children.erase(it);
    return erased;
}

void retained_store::collect_all(const node& n, std::vector<message_ptr>& out) {
    if (n.msg) out.push_back(n.msg);
    for (const auto& [level, child] : n.children) collect_all(*child, out);
}

void retained_store::match_level(const node& n, std::string_view rest, bool is_first,
                                 std::vector<message_ptr>& out) {
    bool at_end = false;
    const auto level = split_level(rest, at_end);
    if (level == "#") {
        // [MQTT-4.7.1-2] the parent level itself matches too ("a/#" matches "a"); at the root there is
        // no parent topic. [MQTT-4.7.2-1] a leading wildcard skips '$' topics.
        if (!is_first && n.msg) out.push_back(n.msg);
        for (const auto& [name, child] : n.children) {
            if (is_first && !name.empty() && name.front() == '$') continue;
            collect_all(*child, out);
        }
        return;
    }
    const auto visit = [&](const node& child) {
        if (at_end) {
            if (child.msg) out.push_back(child.msg);
        } else {
            match_level(child, rest, false, out);
        }
    };
    if (level == "+") {
        for (const auto& [name, child] : n.children) {
            if (is_first && !name.empty() && name.front() == '$') continue;
            visit(*child);
        }
        return;
    }
    if (const auto it = n.children.find(level); it != n.children.end()) visit(*it->second);
}

void retained_store::match(std::string_view filter, std::vector<message_ptr>& out) const {
    match_level(root_, filter, true, out);
}

}  // namespace mqttd::core
