#include "broker/net/listener.hpp"

#include <future>
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

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Binds a plain socket (no SO_REUSEPORT) to `endpoint` and returns the port it got. With SO_REUSEPORT alone,
// a second broker of the same user would silently share the port (and a port 0 request could be handed one
// that is taken): this plain bind fails with "address in use" as a single acceptor would.
std::uint16_t probe_port(asio::io_context& context, const tcp::endpoint& endpoint, boost::system::error_code& ec) {
    tcp::acceptor probe{context};
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    return ec ? 0 : probe.local_endpoint().port();
}

void open_shared_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, boost::system::error_code& ec) {
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.set_option(reuse_port(true), ec);
    if (!ec) acceptor.set_option(tcp::no_delay(true), ec);  // copied to every accepted socket: set_no_delay()
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
}

}  // namespace

listener::listener(const listener_options& options, shared_state& shared)
    : options_{options},
      shared_{shared},
      max_packet_size_{shared.options.max_packet_size},
      max_connections_all_{shared.options.max_connections},
      max_connections_{options.max_connections},
      allow_anonymous_{options.allow_anonymous.value_or(shared.options.auth.allow_anonymous)},
      workers_{shared.workers} {
    if (uses_tls(options_.type)) tls_ = std::make_unique<reloadable_ssl_context>(options_.tls);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.bind, ec);
    if (ec) throw std::runtime_error{"bind address \"" + options_.bind + "\" is not an IP address"};
    const auto where = format_endpoint(tcp::endpoint{address, options_.port});
    // Port 0 asks for any free port: the probe picks it, and a port taken between probe and bind is tried
    // again with a new one.
    for (int attempt = 0; attempt < 10; ++attempt) {
        acceptors_.clear();
        const auto port = probe_port(workers_.front()->context(), tcp::endpoint{address, options_.port}, ec);
        if (ec) break;
        for (auto& w : workers_) {
            auto& acceptor = acceptors_.emplace_back(w->context());
            open_shared_acceptor(acceptor, tcp::endpoint{address, port}, ec);
            if (ec) break;
        }
        port_ = port;
        if (!ec || options_.port != 0 || ec != asio::error::address_in_use) break;
    }
    if (ec) throw std::runtime_error{"cannot listen on " + where + ": " + ec.message()};
    name_ = std::string{to_string(options_.type)} + " " + format_endpoint(tcp::endpoint{address, port_});
}

void listener::start() {
    for (std::size_t i = 0; i < acceptors_.size(); ++i)
        asio::co_spawn(acceptors_[i].get_executor(), accept_loop(i), asio::detached);
    log_line{level::info} << "event=listening type=" << to_string(options_.type) << " addr="
                          << format_endpoint(tcp::endpoint{acceptors_.front().local_endpoint().address(), port_})
                          << " acceptors=" << acceptors_.size()
                          << (uses_websocket(options_.type) ? " path=" + options_.websocket.path : std::string{});
}

void listener::stop() {
    for (auto& acceptor : acceptors_)
        asio::post(acceptor.get_executor(), [&acceptor] {
            boost::system::error_code ignored;
            acceptor.close(ignored);
        });
}

void listener::stop_and_wait() {
    std::vector<std::promise<void>> closed(acceptors_.size());
    for (std::size_t i = 0; i < acceptors_.size(); ++i)
        asio::post(acceptors_[i].get_executor(), [&acceptor = acceptors_[i], &done = closed[i]] {
            boost::system::error_code ignored;
            acceptor.close(ignored);
            done.set_value();
        });
    for (auto& done : closed) done.get_future().wait();
}

void listener::apply(const listener_options& options, const server_options& server, ssl_context_ptr tls) {
    max_packet_size_.store(server.max_packet_size, std::memory_order_relaxed);
    max_connections_all_.store(server.max_connections, std::memory_order_relaxed);
    max_connections_.store(options.max_connections, std::memory_order_relaxed);
    allow_anonymous_.store(options.allow_anonymous.value_or(server.auth.allow_anonymous), std::memory_order_relaxed);
    if (tls_ && tls) tls_->replace(options.tls, std::move(tls));
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

// On the target worker's thread. The TLS context is taken now, so a reload affects only later connections.
void listener::start_connection(worker& target, tcp_socket socket, std::string peer, connection_ticket ticket) {
    const connection_policy policy{uses_tls(options_.type) && options_.tls.use_identity_as_username,
                                   allow_anonymous_.load(std::memory_order_relaxed), &name_};
    const auto max_packet_size = max_packet_size_.load(std::memory_order_relaxed);
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
        std::make_shared<connection<ws_transport<tcp_socket>>>(
            target, ws_transport<tcp_socket>{std::move(socket), std::move(peer), options_.websocket, max_packet_size},
            policy, std::move(ticket))
            ->start();
        return;
    case listener_type::wss:
        std::make_shared<connection<ws_transport<wss_next_layer>>>(
            target,
            ws_transport<wss_next_layer>{std::move(socket), std::move(peer), options_.websocket, max_packet_size,
                                         tls_->current()},
            policy, std::move(ticket))
            ->start();
        return;
    }
}

// On workers_[worker_index]'s thread: the accepted socket is already on that worker's io_context.
asio::awaitable<void> listener::accept_loop(std::size_t worker_index) {
    auto& acceptor = acceptors_[worker_index];
    auto& target = *workers_[worker_index];
    while (acceptor.is_open()) {
        // The peer's address as accept() reports it: a peer that resets at once is still named in the logs.
        tcp::endpoint peer;
        auto [ec, socket] = co_await acceptor.async_accept(target.context(), peer, asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        if (ec) {
            // Out of file descriptors and the like: say so, wait a little, keep serving.
            log_line{level::warning} << "event=accept_failed port=" << port_ << " error=" << logging::quoted{ec.message()};
            asio::steady_timer pause{acceptor.get_executor(), std::chrono::milliseconds{100}};
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        auto ticket = connection_ticket::take(shared_.open_connections,
                                              max_connections_all_.load(std::memory_order_relaxed), open_connections_,
                                              max_connections_.load(std::memory_order_relaxed));
        if (!ticket) {
            boost::system::error_code ignored;
            socket.close(ignored);  // before any byte is read: sessions and memory stay as they are
            note_refused(peer);
            continue;
        }
        accepted_.fetch_add(1, std::memory_order_relaxed);  // one accept loop per worker
        start_connection(target, std::move(socket), format_endpoint(peer), std::move(ticket));
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
