#include "broker/core/router.hpp"

#include <algorithm>

namespace mqttd::core {

void router::subscribe(const subscriber& s, std::string_view filter, std::vector<message_ptr>& retained_out) {
    share_filter parts;
    if (parse_share_filter(filter, parts) != share_syntax::ordinary) return subscribe(s, filter);
    const auto retained = retained_.read();
    tree_.write()->subscribe(s, filter);
    retained->match(filter, retained_out);
}

void router::subscribe(const subscriber& s, std::string_view filter) {
    share_filter parts;
    switch (parse_share_filter(filter, parts)) {
    case share_syntax::ordinary:
        tree_.write()->subscribe(s, filter);
        break;
    case share_syntax::shared:
        tree_.write()->subscribe_shared(s, parts, filter, strategies_.for_group(parts.group));
        break;
    case share_syntax::invalid:
        break;  // refused with SUBACK 0x80 before it gets here
    }
}

void router::unsubscribe(const session_slot* s, std::string_view filter) {
    share_filter parts;
    switch (parse_share_filter(filter, parts)) {
    case share_syntax::ordinary:
        tree_.write()->unsubscribe(s, filter);
        break;
    case share_syntax::shared:
        tree_.write()->unsubscribe_shared(s, parts);
        break;
    case share_syntax::invalid:
        break;
    }
}

bool router::pick_shared(const share_ref& tag, std::string_view publisher, subscriber& out) const {
    share_filter parts;
    if (!tag || parse_share_filter(*tag, parts) != share_syntax::shared) return false;
    return tree_.read()->pick_shared(parts, publisher, out);
}

namespace {

// [MQTT-3.3.5-1] overlapping subscriptions: one delivery per session, at the highest granted QoS. Picks of
// shared subscriptions are copies of their own and stay as they are, after the others.
void merge_per_session(std::vector<subscriber>& out) {
    if (out.size() < 2) return;
    const auto shared = std::partition(out.begin(), out.end(), [](const subscriber& s) { return !s.share; });
    if (shared - out.begin() < 2) return;
    std::sort(out.begin(), shared,
              [](const subscriber& a, const subscriber& b) { return a.session.get() < b.session.get(); });
    auto last = out.begin();
    for (auto it = std::next(out.begin()); it != shared; ++it) {
        if (it->session.get() == last->session.get()) {
            last->granted = std::max(last->granted, it->granted);
        } else if (++last != it) {
            *last = std::move(*it);
        }
    }
    out.erase(std::next(last), shared);
}

}  // namespace

void router::publish(const message_ptr& msg, std::vector<subscriber>& out, std::string_view publisher) {
    out.clear();
    if (msg->is_retained()) {
        // [MQTT-3.3.1-5] stored and matched under one hold of the retained lock, so a concurrent
        // subscribe() sees this message either as retained or as a live match, not both.
        auto retained = retained_.write();
        retained->store(msg);
        tree_.read()->match(msg->topic(), out, publisher);
    } else {
        tree_.read()->match(msg->topic(), out, publisher);
    }
    merge_per_session(out);
}

void router::retained_for(std::string_view filter, std::vector<message_ptr>& out) const {
    retained_.read()->match(filter, out);
}

void router::erase_retained(std::string_view filter, std::vector<message_ptr>& out) {
    auto retained = retained_.write();
    const auto first = out.size();
    retained->match(filter, out);
    for (auto i = first; i < out.size(); ++i) retained->erase(out[i]->topic());
}

}  // namespace mqttd::core
