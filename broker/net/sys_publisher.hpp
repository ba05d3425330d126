#pragma once
// Publishes the $SYS tree (sys_topics.hpp) every sys_interval, retained at QoS 0, through worker 0's shard,
// as the broker's own messages: clients cannot publish under $SYS/, the broker can. Its timer runs on
// worker 0's thread; start() and stop() may be called from any thread (they post there).

#include <chrono>
#include <functional>

#include <boost/asio/steady_timer.hpp>

#include "broker/net/broker_stats.hpp"
#include "broker/net/sys_topics.hpp"
#include "broker/net/worker.hpp"

namespace mqttd::net {

class sys_publisher {
public:
    // `snapshot`: called on worker 0's thread, once per interval (server::stats()).
    sys_publisher(worker& home, std::chrono::seconds interval, std::function<broker_stats()> snapshot);

    void start();  // publishes at once, then every interval
    void stop();   // the timer ends, so the worker's event loop can go idle
    // A reload's new sys_interval (> 0): publishes at once, then every `interval`; a stopped publisher resumes.
    void restart(std::chrono::seconds interval);

private:
    void publish();
    void schedule();

    worker& home_;
    std::chrono::seconds interval_;
    std::function<broker_stats()> snapshot_;
    boost::asio::steady_timer timer_;
    sys_loads loads_;
    core::time_point last_{};
    bool is_stopped_ = false;
};

}  // namespace mqttd::net
