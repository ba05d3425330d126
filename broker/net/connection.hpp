#pragma once
// One client's network connection, on one worker, over any transport: reads bytes, decodes packets, feeds
// them to the session core and writes what it asks for. Three coroutines share the object (reader, writer,
// watchdog); all run on the worker's single thread, so its state needs no lock. Explicitly instantiated
// for each transport in connection.cpp.

#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/net/session_host.hpp"
#include "broker/net/transport.hpp"
#include "broker/net/worker.hpp"
#include "broker/net/write_queue.hpp"
#include "protocol/decoder.hpp"

namespace mqttd::net {

template <transport Transport>
class connection final : public session_host, public std::enable_shared_from_this<connection<Transport>> {
public:
    // use_identity_as_username: the TLS client certificate's CN replaces the CONNECT username.
    connection(worker& owner, Transport transport, bool use_identity_as_username = false);
    ~connection() override;

    // Starts the coroutines; the connection keeps itself alive until they end.
    void start();

    void send(const core::send_packet& p) override;
    void send(const core::send_publish& p) override;
    void close(core::close_reason why) override;
    void attach(session_entry& entry, bool session_present) override;
    bool is_open() const noexcept override { return !is_closing_; }
    const core::connection_params& connect_params() const noexcept override { return params_; }

private:
    enum class phase { awaiting_connect, awaiting_session, attached };

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> watchdog();
    // Decodes and handles every whole packet in rx; false when the connection must stop reading.
    boost::asio::awaitable<bool> handle_received();
    bool on_connect(const protocol::connect& c);
    void reject_connect(protocol::connack_code code, const char* reason);
    void protocol_error(const std::error_code& ec);
    void start_writing();
    void finish_close();

    worker& worker_;
    Transport transport_;
    bool use_identity_as_username_;
    protocol::decoder decoder_;
    phase phase_ = phase::awaiting_connect;
    core::connection_params params_;
    session_entry* entry_ = nullptr;
    core::effects fx_;

    std::vector<std::uint8_t> rx_;
    std::size_t rx_begin_ = 0;
    std::size_t rx_end_ = 0;

    write_queue tx_;
    bool is_writing_ = false;
    bool is_closing_ = false;
    bool is_closed_ = false;
    core::close_reason close_reason_ = core::close_reason::network_error;

    core::time_point connect_deadline_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer session_ready_;  // woken (cancelled) when attach() or close() runs
};

}  // namespace mqttd::net
