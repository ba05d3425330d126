#pragma once
// The HTTP listeners (Boost.Beast): /metrics and the admin API, on a thread of their own with its own
// io_context, so admin traffic and password hashing never stall an MQTT worker. Each connection is one
// coroutine reading a request at a time (keep-alive honoured), bounded in size, in time (idle_timeout) and
// in number (max_connections per listener).
// Built, started and stopped from the main thread; reload_passwords() may be called from any thread.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "broker/http/api.hpp"
#include "broker/http/basic_auth.hpp"
#include "broker/http/http_options.hpp"

namespace mqttd::http {

class server {
public:
    // Binds every listener and loads the password file; throws std::runtime_error naming the listener, or
    // auth::load_error naming the file.
    server(http_options options, net::server& broker, api_hooks hooks);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    void start();  // logs event=http_listening per listener, then serves on its own thread
    void stop();   // closes the listeners and every connection, and joins the thread
    // Warning: called from any thread. Re-reads admin.password_file; a broken file keeps the old one (throws why).
    void reload_passwords() { auth_.reload(); }

    std::vector<std::uint16_t> ports() const;

private:
    struct bound_listener {
        bound_listener(http_listener_options o, boost::asio::io_context& context) : options{std::move(o)}, acceptor{context} {}
        http_listener_options options;
        boost::asio::ip::tcp::acceptor acceptor;
        std::atomic<std::size_t> open{0};
    };

    boost::asio::awaitable<void> accept_loop(bound_listener& l);
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, std::string peer);
    // The Authorization check for one request: waits the failed-login delay of its address, then hashes.
    boost::asio::awaitable<bool> is_authorized(const std::string& host, std::string_view authorization);

    http_options options_;
    admin_api api_;
    admin_auth auth_;
    boost::asio::io_context context_{1};
    std::vector<std::unique_ptr<bound_listener>> listeners_;
    std::thread thread_;
};

}  // namespace mqttd::http
