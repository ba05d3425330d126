#include "broker/net/listener.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/logging/log.hpp"
#include "broker/net/connection.hpp"
#include "broker/net/tcp_transport.hpp"
#include "broker/net/tls_transport.hpp"
#include "broker/net/ws_transport.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using logging::level;
using logging::log_line;

listener::listener(const listener_options& options, shared_state& shared)
    : options_{options},
      shared_{shared},
      max_packet_size_{shared.options.max_packet_size},
      workers_{shared.workers},
      acceptor_{shared.workers.front()->context()} {
    if (uses_tls(options_.type)) tls_ = std::make_unique<reloadable_ssl_context>(options_.tls);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.bind, ec);
    if (ec) throw std::runtime_error{"bind address \"" + options_.bind + "\" is not an IP address"};
    const tcp::endpoint endpoint{address, options_.port};
    const auto where = format_endpoint(endpoint);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error{"cannot listen on " + where + ": " + ec.message()};
    port_ = acceptor_.local_endpoint().port();
}

void listener::start() {
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
    log_line{level::info} << "event=listening type=" << to_string(options_.type) << " addr="
                          << format_endpoint(tcp::endpoint{acceptor_.local_endpoint().address(), port_})
                          << (uses_websocket(options_.type) ? " path=" + options_.websocket.path : std::string{});
}

void listener::stop() {
    asio::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    });
}

const char* to_string(listener_type t) noexcept {
    switch (t) {
    case listener_type::tcp: return "tcp";
    case listener_type::tls: return "tls";
    case listener_type::ws: return "ws";
    case listener_type::wss: return "wss";
    }
    return "tcp";
}

void listener::reload_tls() {
    if (tls_) tls_->reload();
}

// On the target worker's thread. The TLS context is taken now, so a reload affects only later connections.
void listener::start_connection(worker& target, tcp::socket socket, std::string peer, connection_ticket ticket) {
    const connection_policy policy{uses_tls(options_.type) && options_.tls.use_identity_as_username,
                                   options_.allow_anonymous.value_or(shared_.options.auth.allow_anonymous)};
    switch (options_.type) {
    case listener_type::tcp:
        std::make_shared<connection<tcp_transport>>(target, tcp_transport{std::move(socket), std::move(peer)}, policy,
                                                    std::move(ticket))
            ->start();
        return;
    case listener_type::tls:
        std::make_shared<connection<tls_transport>>(
            target, tls_transport{std::move(socket), std::move(peer), tls_->current()}, policy, std::move(ticket))
            ->start();
        return;
    case listener_type::ws:
        std::make_shared<connection<ws_transport<tcp::socket>>>(
            target, ws_transport<tcp::socket>{std::move(socket), std::move(peer), options_.websocket, max_packet_size_},
            policy, std::move(ticket))
            ->start();
        return;
    case listener_type::wss:
        std::make_shared<connection<ws_transport<wss_next_layer>>>(
            target,
            ws_transport<wss_next_layer>{std::move(socket), std::move(peer), options_.websocket, max_packet_size_,
                                         tls_->current()},
            policy, std::move(ticket))
            ->start();
        return;
    }
}

asio::awaitable<void> listener::accept_loop() {
    while (acceptor_.is_open()) {
        auto& target = *workers_[next_worker_];
        next_worker_ = (next_worker_ + 1) % workers_.size();
        // The peer's address as accept() reports it: a peer that resets at once is still named in the logs.
        tcp::endpoint peer;
        auto [ec, socket] = co_await acceptor_.async_accept(target.context(), peer, asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        if (ec) {
            // Out of file descriptors and the like: say so, wait a little, keep serving.
            log_line{level::warning} << "event=accept_failed port=" << port_ << " error=" << logging::quoted{ec.message()};
            asio::steady_timer pause{acceptor_.get_executor(), std::chrono::milliseconds{100}};
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        auto ticket = connection_ticket::take(shared_.open_connections, shared_.options.max_connections,
                                              open_connections_, options_.max_connections);
        if (!ticket) {
            boost::system::error_code ignored;
            socket.close(ignored);  // before any byte is read: sessions and memory stay as they are
            note_refused(peer);
            continue;
        }
        bump(accepted_);
        asio::post(target.context(), [this, &target, socket = std::move(socket), peer = format_endpoint(peer),
                                      ticket = std::move(ticket)]() mutable {
            start_connection(target, std::move(socket), std::move(peer), std::move(ticket));
        });
    }
}

// max_connections reached. Logged the first time and every 1000th.
void listener::note_refused(const tcp::endpoint& peer) {
    const auto refused = refused_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (refused % 1000 == 1)
        log_line{level::warning} << "event=connection_refused reason=max_connections port=" << port_
                                 << " addr=" << format_endpoint(peer) << " open=" << open_connections_.load()
                                 << " open_all=" << shared_.open_connections.load() << " refused_total=" << refused;
}

}  // namespace mqttd::net
