#pragma once
// One timer per worker for every connection's deadlines (connect, keepalive, write timeout, close grace),
// instead of a timer and a waiting coroutine per connection: an idle connection costs one entry here (24
// bytes), not a coroutine frame and a timer operation. Entries are never cancelled: a connection asked again
// finds what is due itself and schedules its next check; an entry for a connection that has gone is dropped.
// Owned by one worker; on its thread only.

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/core/session.hpp"
#include "broker/core/shard_message.hpp"

namespace mqttd::net {

class deadline_queue {
public:
    // `at` is the time the entry was scheduled for: a connection keeps only its latest request current and
    // ignores the others (entries are never cancelled).
    using due_handler = std::function<void(core::connection_id, core::time_point at, core::time_point now)>;

    deadline_queue(boost::asio::io_context& context, due_handler on_due)
        : timer_{context}, on_due_{std::move(on_due)} {}

    // Asks for on_due(id, at, now) at (or soon after) `at`. Earlier requests for the same id stay and fire too.
    void schedule(core::connection_id id, core::time_point at);
    // Shutdown: no more callbacks, and the timer stops keeping the event loop busy.
    void stop();
    std::size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        core::time_point at;
        core::connection_id id;
        bool operator>(const entry& other) const noexcept { return at > other.at; }
    };

    void arm();
    void fire();

    std::priority_queue<entry, std::vector<entry>, std::greater<>> entries_;
    boost::asio::steady_timer timer_;
    core::time_point armed_for_ = core::time_point::max();
    due_handler on_due_;
    bool is_stopped_ = false;
};

}  // namespace mqttd::net
