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
    void attached(bool session_present) override;
    void refused(protocol::connack_code code) override;
    void closed_by_shard(const core::close_connection& why) override;
    void shut_down() override;

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
    // Starts closing: flushes what is queued, then closes the transport. `tell_shard`: the shard did not
    // ask for this close, so it must detach the session (will included).
    void close(core::close_reason why, bool tell_shard = true);
    void finish_close();

    worker& worker_;
    core::connection_id id_;
    Transport transport_;
    bool use_identity_as_username_;
    protocol::decoder decoder_;
    phase phase_ = phase::awaiting_connect;
    core::connection_params params_;

    std::vector<std::uint8_t> rx_;
    std::size_t rx_begin_ = 0;
    std::size_t rx_end_ = 0;

    write_queue tx_;
    bool is_writing_ = false;
    bool is_closing_ = false;
    bool is_closed_ = false;

    core::time_point connect_deadline_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer session_ready_;  // woken (cancelled) when attached() or close() runs
};

}  // namespace mqttd::net
