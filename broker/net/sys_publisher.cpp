#include "broker/net/sys_publisher.hpp"

#include <boost/asio/post.hpp>

#include "broker/logging/log.hpp"

namespace mqttd::net {

namespace asio = boost::asio;

sys_publisher::sys_publisher(worker& home, std::chrono::seconds interval, std::function<broker_stats()> snapshot)
    : home_{home}, interval_{interval}, snapshot_{std::move(snapshot)}, timer_{home.context()} {}

void sys_publisher::start() {
    asio::post(home_.context(), [this] {
        if (is_stopped_) return;
        publish();
        schedule();
    });
}

void sys_publisher::restart(std::chrono::seconds interval) {
    asio::post(home_.context(), [this, interval] {
        interval_ = interval;
        is_stopped_ = false;
        publish();
        schedule();  // expires_after cancels the old wait: its handler sees operation_aborted and returns
    });
}

void sys_publisher::stop() {
    asio::post(home_.context(), [this] {
        is_stopped_ = true;
        timer_.cancel();
    });
}

void sys_publisher::schedule() {
    timer_.expires_after(interval_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || is_stopped_) return;
        publish();
        schedule();
    });
}

void sys_publisher::publish() {
    try {
        const auto now = core::clock::now();
        const auto stats = snapshot_();
        loads_.update(stats, std::chrono::duration<double>(now - last_).count());
        last_ = now;
        std::vector<core::message_ptr> messages;
        for (const auto& m : sys_topics(stats, loads_)) {
            const protocol::bytes_view payload{reinterpret_cast<const std::uint8_t*>(m.payload.data()), m.payload.size()};
            messages.push_back(core::make_message(m.topic, payload, protocol::qos::at_most_once, true));
        }
        home_.publish_system(messages);
    } catch (const std::exception& e) {
        logging::log_line{logging::level::error} << "event=sys_publish_failed reason=" << logging::quoted{e.what()};
    }
}

}  // namespace mqttd::net
