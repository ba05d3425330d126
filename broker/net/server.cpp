#include "broker/net/server.hpp"

#include <future>
#include <stdexcept>
#include <thread>

#include <boost/asio/post.hpp>

#include "broker/logging/log.hpp"

namespace mqttd::net {

namespace asio = boost::asio;

server::server(server_options options) {
    shared_.options = std::move(options);
    auto threads = shared_.options.threads;
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    for (std::size_t i = 0; i < threads; ++i) shared_.workers.push_back(std::make_unique<worker>(i, threads, shared_));
    for (std::size_t i = 0; i < shared_.options.listeners.size(); ++i) {
        try {
            listeners_.push_back(std::make_unique<listener>(shared_.options.listeners[i],
                                                            shared_.options.max_packet_size, shared_.workers));
        } catch (const std::exception& e) {
            throw std::runtime_error{"listeners[" + std::to_string(i) + "]: " + e.what()};
        }
    }
}

server::~server() { stop(std::chrono::milliseconds{0}); }

void server::start() {
    for (auto& w : shared_.workers) w->start();
    for (auto& l : listeners_) l->start();
    logging::log_line{logging::level::info} << "event=started workers=" << shared_.workers.size()
                                            << " listeners=" << listeners_.size();
}

void server::reload_tls() {
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        if (!uses_tls(listeners_[i]->options().type)) continue;
        try {
            listeners_[i]->reload_tls();
            logging::log_line{logging::level::info} << "event=tls_reloaded listener=" << i;
        } catch (const std::exception& e) {
            logging::log_line{logging::level::warning}
                << "event=tls_reload_failed listener=" << i << " reason=" << logging::quoted{e.what()}
                << " kept=previous";
        }
    }
}

void server::stop(std::chrono::milliseconds grace) {
    if (is_stopped_) return;
    is_stopped_ = true;
    for (auto& l : listeners_) l->stop();
    for (auto& w : shared_.workers) {
        asio::post(w->context(), [&w = *w] { w.close_all(); });
        w->stop_when_idle();
    }
    // Each worker's run() returns once its connections have flushed and closed; past the grace period the
    // stragglers (clients that stopped reading) are cut off.
    auto all_idle = std::async(std::launch::async, [this] {
        for (auto& w : shared_.workers) w->join();
    });
    if (all_idle.wait_for(grace) != std::future_status::ready) {
        for (auto& w : shared_.workers) w->stop_now();
    }
    all_idle.wait();
    logging::log_line{logging::level::info} << "event=stopped";
}

}  // namespace mqttd::net
