#include "broker/net/deadline_queue.hpp"

namespace mqttd::net {

void deadline_queue::schedule(core::connection_id id, core::time_point at) {
    if (is_stopped_ || at == core::time_point::max()) return;
    entries_.push({at, id});
    if (at < armed_for_) arm();
}

void deadline_queue::arm() {
    armed_for_ = entries_.top().at;
    timer_.expires_at(armed_for_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || is_stopped_) return;  // re-armed for an earlier deadline, or stopping
        fire();
    });
}

void deadline_queue::fire() {
    armed_for_ = core::time_point::max();
    const auto now = core::clock::now();
    // Handlers may schedule again (their next deadline): those land in the heap and wait for the next round.
    std::vector<entry> due;
    while (!entries_.empty() && entries_.top().at <= now) {
        due.push_back(entries_.top());
        entries_.pop();
    }
    for (const auto& e : due) on_due_(e.id, e.at, now);
    if (!entries_.empty() && entries_.top().at < armed_for_) arm();
}

void deadline_queue::stop() {
    is_stopped_ = true;
    timer_.cancel();
    entries_ = {};
}

}  // namespace mqttd::net
