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

namespace mqttd::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using logging::level;
using logging::log_line;

listener::listener(const listener_options& options, std::vector<std::unique_ptr<worker>>& workers)
    : options_{options}, workers_{workers}, acceptor_{workers.front()->context()} {
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
    log_line{level::info} << "event=listening type=tcp addr="
                          << format_endpoint(tcp::endpoint{acceptor_.local_endpoint().address(), port_});
}

void listener::stop() {
    asio::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    });
}

asio::awaitable<void> listener::accept_loop() {
    while (acceptor_.is_open()) {
        auto& target = *workers_[next_worker_];
        next_worker_ = (next_worker_ + 1) % workers_.size();
        auto [ec, socket] = co_await acceptor_.async_accept(target.context(), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        if (ec) {
            // Out of file descriptors and the like: say so, wait a little, keep serving.
            log_line{level::warning} << "event=accept_failed port=" << port_ << " error=\"" << ec.message() << '"';
            asio::steady_timer pause{acceptor_.get_executor(), std::chrono::milliseconds{100}};
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        asio::post(target.context(), [&target, socket = std::move(socket)]() mutable {
            auto c = std::make_shared<connection<tcp_transport>>(target, tcp_transport{std::move(socket)});
            c->start();
        });
    }
}

}  // namespace mqttd::net
