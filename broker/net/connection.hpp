#pragma once
// One client's network connection, on one worker, over any transport: reads bytes, decodes packets, feeds
// them to the session core and writes what it asks for. Two coroutines share the object (reader, writer; over
// TCP and TLS the reader ends while the connection is idle and a readiness callback starts it again),
// and its deadlines are entries in the worker's deadline queue; all run on the worker's single thread, so its
// state needs no lock. Explicitly instantiated for each transport in connection.cpp.

#include <array>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/net/connection_ticket.hpp"
#include "broker/net/receive_buffer.hpp"
#include "broker/net/session_host.hpp"
#include "broker/net/transport.hpp"
#include "broker/net/worker.hpp"
#include "broker/net/write_queue.hpp"
#include "protocol/decoder.hpp"

namespace mqttd::net {

template <transport Transport>
class connection final : public session_host, public std::enable_shared_from_this<connection<Transport>> {
public:
    // The ticket is the connection's place under max_connections, held for its life.
    connection(worker& owner, Transport transport, connection_policy policy, connection_ticket ticket);
    ~connection() override;

    // Starts the coroutines; the connection keeps itself alive until they end.
    void start();

    void send(const core::send_packet& p) override;
    void send(const core::send_publish& p) override;
    void attached(bool session_present) override;
    void refused(protocol::connack_code code) override;
    void closed_by_shard(const core::close_connection& why) override;
    void shut_down() override;
    void on_deadline(core::time_point at, core::time_point now) override;
    connection_info info() const override;
    const void* listener_place() const noexcept override { return ticket_.listener_place(); }

private:
    enum class phase { awaiting_connect, authenticating, awaiting_session, attached };
    enum class connect_verdict { rejected, check_password, accepted };

    boost::asio::awaitable<void> read_loop();
    // The loop after the handshake. Over TCP and TLS it ends whenever the connection is idle, and readable() starts it
    // again when bytes arrive: an idle connection then holds no coroutine frame (about 1.4 KB).
    boost::asio::awaitable<void> read_packets(bool is_readable);  // is_readable: bytes are waiting
    void readable(const boost::system::error_code& ec);
    void failed(const std::exception& e);  // logs and closes
    boost::asio::awaitable<void> write_loop(std::size_t written);
    bool write_at_once(std::size_t& written);
    void schedule_check();
    // Decodes and handles every whole packet in rx; false when the connection must stop reading.
    boost::asio::awaitable<bool> handle_received();
    void read_failed(const boost::system::error_code& ec);  // logs (unless the broker is closing it) and closes
    connect_verdict on_connect(const protocol::connect& c);
    // `password` belongs to the caller's frame, which waits for this check.
    boost::asio::awaitable<bool> check_password(const std::string& password);
    void start_session();
    void reject_connect(protocol::connack_code code, const char* reason);
    void protocol_error(const std::error_code& ec);
    void start_writing();
    // The read coroutine waits until wake(); it checks again what it waited for (a wake may be for another reason).
    boost::asio::awaitable<void> wait_for_wake();
    void wake();
    void record_latencies();  // after a write: the PUBLISHes it carried, received -> written
    // After queueing or writing: tells the shard when the unsent backlog crosses max_outbound_bytes.
    void check_backlog();
    // Starts closing: flushes what is queued, then closes the transport. `tell_shard`: the shard did not
    // ask for this close, so it must detach the session (will included).
    void close(core::close_reason why, bool tell_shard = true);
    void finish_close();

    worker& worker_;
    core::connection_id id_;
    Transport transport_;
    connection_policy policy_;
    connection_ticket ticket_;
    protocol::decoder decoder_;
    // Until a CONNECT is accepted no packet may claim more than the largest legal CONNECT.
    protocol::decoder connect_decoder_;
    phase phase_ = phase::awaiting_connect;
    std::string client_id_;  // for the log lines
    // What the CONNECT asked for, from its arrival until the session is attached: the shard keeps its own copy,
    // so a logged-in connection does not carry a second one.
    std::unique_ptr<core::connection_params> login_;
    std::shared_ptr<std::atomic<bool>> login_abandoned_;  // shared with a password check under way

    receive_buffer rx_;
    // WebSocket has no readiness wait (Beast keeps input of its own): an idle connection's read waits with
    // this small buffer instead of a receive buffer, and what it gets moves into rx_.
    static constexpr bool has_readiness_wait =
        requires(Transport& t) { t.async_wait_readable([](boost::system::error_code) {}); };
    struct no_idle_bytes {};
    [[no_unique_address]] std::conditional_t<has_readiness_wait, no_idle_bytes, std::array<std::uint8_t, 16>>
        idle_bytes_;

    // TCP can write without waiting (try_write): a write that the socket takes whole needs no coroutine.
    static constexpr bool has_try_write =
        requires(Transport& t, std::span<const boost::asio::const_buffer> b) { t.try_write(b); };

    write_queue tx_;
    bool is_writing_ = false;
    bool is_batch_taken_ = false;  // the batch write_loop() goes on with was taken by write_at_once()
    core::time_point write_started_ = core::time_point::max();  // of the write in progress
    bool is_write_blocked_ = false;  // unsent backlog over max_outbound_bytes: reading pauses
    bool is_closing_ = false;
    bool is_closed_ = false;

    std::chrono::system_clock::time_point connected_since_ = std::chrono::system_clock::now();
    core::time_point connect_deadline_;
    core::time_point close_deadline_ = core::time_point::max();
    core::time_point next_check_ = core::time_point::max();  // the earliest entry in the worker's deadline queue
    // The read coroutine's wait for the session to be attached, or for the backlog to drain: woken when
    // attached() or close() runs, or the backlog falls. Points into the waiting coroutine's frame.
    boost::asio::steady_timer* wake_ = nullptr;
};

}  // namespace mqttd::net
