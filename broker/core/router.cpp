#include "broker/core/router.hpp"

#include <algorithm>

namespace mqttd::core {

void router::subscribe(const subscriber& s, std::string_view filter, std::vector<message_ptr>& retained_out) {
    const auto retained = retained_.read();
    tree_.write()->subscribe(s, filter);
    retained->match(filter, retained_out);
}

void router::subscribe(const subscriber& s, std::string_view filter) { tree_.write()->subscribe(s, filter); }

void router::unsubscribe(const session_slot* s, std::string_view filter) {
    tree_.write()->unsubscribe(s, filter);
}

namespace {

// [MQTT-3.3.5-1] overlapping subscriptions: one delivery per session, at the highest granted QoS.
void merge_per_session(std::vector<subscriber>& out) {
    if (out.size() < 2) return;
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

}  // namespace

void router::publish(const message_ptr& msg, std::vector<subscriber>& out) {
    out.clear();
    if (msg->is_retained()) {
        // [MQTT-3.3.1-5] stored and matched under one hold of the retained lock, so a concurrent
        // subscribe() sees this message either as retained or as a live match, not both.
        auto retained = retained_.write();
        retained->store(msg);
        tree_.read()->match(msg->topic(), out);
    } else {
        tree_.read()->match(msg->topic(), out);
    }
    merge_per_session(out);
}

void router::retained_for(std::string_view filter, std::vector<message_ptr>& out) const {
    retained_.read()->match(filter, out);
}

}  // namespace mqttd::core
