#include "broker/core/retained_store.hpp"

namespace mqttd::core {

namespace {

std::size_t size_of(const message& m) noexcept { return m.topic().size() + m.payload().size(); }

}  // namespace

retained_store::retained_store() = default;
retained_store::~retained_store() { destroy_children(root_); }

void retained_store::store(const message_ptr& msg) {
    std::string_view rest = msg->topic();
    if (msg->payload().empty()) {
        erase(rest);
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
    if (n->msg) {
        bytes_ -= size_of(*n->msg);
    } else {
        ++count_;
    }
    n->msg = msg;
    bytes_ += size_of(*msg);
}

void retained_store::erase(std::string_view topic) {
    const auto path = find_path(root_, topic);
    if (path.empty() || !path.back().first->msg) return;
    auto& msg = path.back().first->msg;
    bytes_ -= size_of(*msg);
    msg.reset();
    --count_;
    prune_path(path);
}

void retained_store::match(std::string_view filter, std::vector<message_ptr>& out) const {
    // Depth first with explicit stacks: `pending` holds nodes with filter levels still to match, `everything`
    // the subtrees a '#' takes whole.
    struct pending_node {
        const node* n;
        std::string_view rest;
        bool is_first;
    };
    std::vector<pending_node> pending{{&root_, filter, true}};
    std::vector<const node*> everything;
    // [MQTT-4.7.2-1] a leading wildcard skips '$' topics.
    const auto skipped = [](bool is_first, const std::string& name) {
        return is_first && !name.empty() && name.front() == '$';
    };
    while (!pending.empty()) {
        const auto [n, rest_in, is_first] = pending.back();
        pending.pop_back();
        auto rest = rest_in;
        bool at_end = false;
        const auto level = split_level(rest, at_end);
        if (level == "#") {
            // [MQTT-4.7.1-2] the parent level itself matches too ("a/#" matches "a"); at the root there is
            // no parent topic.
            if (!is_first && n->msg) out.push_back(n->msg);
            for (const auto& [name, child] : n->children)
                if (!skipped(is_first, name)) everything.push_back(child.get());
            continue;
        }
        const auto visit = [&](const node& child) {
            if (at_end) {
                if (child.msg) out.push_back(child.msg);
            } else {
                pending.push_back({&child, rest, false});
            }
        };
        if (level == "+") {
            for (const auto& [name, child] : n->children)
                if (!skipped(is_first, name)) visit(*child);
        } else if (const auto it = n->children.find(level); it != n->children.end()) {
            visit(*it->second);
        }
    }
    while (!everything.empty()) {
        const auto* n = everything.back();
        everything.pop_back();
        if (n->msg) out.push_back(n->msg);
        for (const auto& [name, child] : n->children) everything.push_back(child.get());
    }
}

}  // namespace mqttd::core
