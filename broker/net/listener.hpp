#pragma once
// Accepts connections on one configured address: one SO_REUSEPORT acceptor per worker, each on its worker's
// io_context, so the kernel spreads new connections over the workers and every worker accepts (no single
// accepting thread, no hand-off). A connection never changes thread after accept.

#include <atomic>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "broker/net/connection_ticket.hpp"
#include "broker/net/server_options.hpp"
#include "broker/net/tls_context.hpp"
#include "broker/net/transport.hpp"
#include "broker/net/worker.hpp"

namespace mqttd::net {

class listener {
public:
    // Loads the TLS files and binds now: throws std::runtime_error naming the file or address when it cannot.
    listener(const listener_options& options, shared_state& shared);

    void start();
    // Warning: may be called from any thread; the acceptor is closed on its own worker.
    void stop();
    // Reload: stop(), and return once the acceptor is closed (its port free for another listener). Never on a
    // worker thread.
    void stop_and_wait();
    // Reload, from the reloading thread: the limits and settings that apply in place, to new connections.
    // `tls`: the new TLS context (null: keep the current one). The key (type, bind, port), the WebSocket options
    // and use_identity_as_username stay as they were built (listener_diff.hpp: needs_restart).
    void apply(const listener_options& options, const server_options& server, ssl_context_ptr tls);
    std::uint16_t port() const noexcept { return port_; }
    // What its connections' tickets point at (connection_ticket::listener_place).
    const void* place() const noexcept { return &open_connections_; }
    // Connections refused because max_connections (broker-wide or this listener's) was reached.
    // Warning: read from any thread.
    std::uint64_t refused_count() const noexcept { return refused_.load(std::memory_order_relaxed); }
    // Connections accepted since start, and open now. Warning: read from any thread.
    std::uint64_t accepted_count() const noexcept { return accepted_.load(std::memory_order_relaxed); }
    std::size_t open_count() const noexcept { return open_connections_.load(std::memory_order_relaxed); }
    // As built: apply() changes what it covers without changing these.
    const listener_options& options() const noexcept { return options_; }

private:
    boost::asio::awaitable<void> accept_loop(std::size_t worker_index);

    void start_connection(worker& target, tcp_socket socket, std::string peer,
                          connection_ticket ticket);
    void note_refused(const boost::asio::ip::tcp::endpoint& peer);

    listener_options options_;
    shared_state& shared_;
    // What apply() changes while the accept loop and the workers read it.
    std::atomic<std::size_t> max_packet_size_;
    std::atomic<std::size_t> max_connections_all_;  // broker-wide
    std::atomic<std::size_t> max_connections_;      // this listener's
    std::atomic<bool> allow_anonymous_;
    std::unique_ptr<reloadable_ssl_context> tls_;
    std::vector<std::unique_ptr<worker>>& workers_;
    std::atomic<std::size_t> open_connections_{0};
    std::atomic<std::uint64_t> refused_{0};  // written by the accept loops
    std::atomic<std::uint64_t> accepted_{0};  // likewise
    std::vector<boost::asio::ip::tcp::acceptor> acceptors_;  // [i] on workers_[i]
    std::uint16_t port_ = 0;
    std::string name_;  // "tcp 127.0.0.1:1883", for the admin API
};

}  // namespace mqttd::net
