#include "broker/core/router.hpp"

#include <algorithm>

namespace mqttd::core {

void router::subscribe(const session_ref& s, std::string_view filter, protocol::qos granted) {
    tree_.write()->subscribe(s, filter, granted);
}

void router::unsubscribe(const session_slot* s, std::string_view filter) {
    tree_.write()->unsubscribe(s, filter);
}

void router::publish(const message_ptr& msg, std::vector<subscriber>& out) {
    out.clear();
    // [MQTT-3.3.1-5] retain before matching, so a subscriber that arrives between the two still gets it.
    if (msg->is_retained()) retained_.write()->store(msg);
    tree_.read()->match(msg->topic(), out);
    if (out.size() < 2) return;
    // [MQTT-3.3.5-1] overlapping subscriptions: one delivery per session, at the highest granted QoS.
    std::sort(out.begin(), out.end(),
              [](const subscriber& a, const subscriber& b) { return a.session.get() < b.session.get(); });
    auto last = out.begin();
    for (auto it = std::next(out.begin()); it != out.end(); ++it) {
        if (it->session.get() == last->session.get()) {
            last->granted = std::max(last->granted, it->granted);
        } else if (++last != it) {
            *last = std::move(*it);
        }
    }
    out.erase(std::next(last), out.end());
}

void router::retained_for(std::string_view filter, std::vector<message_ptr>& out) const {
    retained_.read()->match(filter, out);
}

}  // namespace mqttd::core
