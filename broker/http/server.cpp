#include "broker/http/server.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "broker/logging/log.hpp"
#include "broker/version.hpp"

namespace mqttd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using logging::level;
using logging::log_line;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t max_header_bytes = 8 * 1024;

std::string format_endpoint(const tcp::endpoint& e) {
    const auto address = e.address().to_string();
    return (e.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(e.port());
}

bhttp::response<bhttp::string_body> to_response(const reply& r, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
    res.set(bhttp::field::server, "mqttd/" + std::string{mqttd::version});
    res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::cache_control, "no-store");
    if (!r.allow.empty()) res.set(bhttp::field::allow, r.allow);
    if (r.status == 401) res.set(bhttp::field::www_authenticate, www_authenticate);
    res.keep_alive(keep_alive);
    res.body() = r.body;
    res.prepare_payload();
    return res;
}

}  // namespace

server::server(http_options options, net::server& broker, api_hooks hooks)
    : options_{std::move(options)},
      api_{broker, std::move(hooks)},
      auth_{options_.admin.password_file, options_.admin.failed_login_delay, options_.admin.max_failed_login_delay} {
    for (std::size_t i = 0; i < options_.listeners.size(); ++i) {
        const auto& o = options_.listeners[i];
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(o.bind, ec);
        const tcp::endpoint endpoint{address, o.port};
        auto l = std::make_unique<bound_listener>(o, context_);
        if (!ec) l->acceptor.open(endpoint.protocol(), ec);
        if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) l->acceptor.bind(endpoint, ec);
        if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error{"http listener " + o.bind + ":" + std::to_string(o.port) + ": cannot listen: " +
                                     ec.message()};
        listeners_.push_back(std::move(l));
    }
}

server::~server() { stop(); }

std::vector<std::uint16_t> server::ports() const {
    std::vector<std::uint16_t> out;
    for (const auto& l : listeners_) out.push_back(l->acceptor.local_endpoint().port());
    return out;
}

void server::start() {
    for (auto& l : listeners_) {
        log_line{level::info} << "event=http_listening addr=" << format_endpoint(l->acceptor.local_endpoint())
                              << " api=" << (auth_.is_enabled() ? "on" : "off")
                              << " metrics_auth=" << options_.admin.metrics_auth;
        asio::co_spawn(context_, accept_loop(*l), asio::detached);
    }
    thread_ = std::thread{[this] { context_.run(); }};
}

void server::stop() {
    if (!thread_.joinable()) return;
    asio::post(context_, [this] {
        for (auto& l : listeners_) {
            boost::system::error_code ignored;
            l->acceptor.close(ignored);
        }
    });
    context_.stop();
    thread_.join();
}

asio::awaitable<void> server::accept_loop(bound_listener& l) {
    for (;;) {
        auto [ec, socket] = co_await l.acceptor.async_accept(as_tuple_awaitable);
        if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) co_return;
        if (ec) continue;  // EMFILE and the like: the next accept may succeed
        boost::system::error_code peer_ec;
        const auto peer_endpoint = socket.remote_endpoint(peer_ec);
        if (peer_ec) continue;
        if (l.open.load() >= l.options.max_connections) {
            log_line{level::warning} << "event=http_refused addr=" << format_endpoint(peer_endpoint)
                                     << " reason=max_connections";
            continue;  // the socket closes as it goes out of scope
        }
        ++l.open;
        auto peer = format_endpoint(peer_endpoint);
        asio::co_spawn(context_, serve(std::move(socket), std::move(peer)), [&l](const std::exception_ptr&) { --l.open; });
    }
}

asio::awaitable<bool> server::is_authorized(const std::string& host, std::string_view authorization) {
    // No credentials at all is how a client starts (RFC 7235: it learns the scheme from the 401): answered at
    // once and not counted. Wrong ones wait the failed-login delay of their address, as MQTT logins do.
    if (authorization.empty()) co_return false;
    const auto delay = auth_.delay_for(host);
    if (delay.count() > 0) {
        asio::steady_timer wait{context_, delay};
        co_await wait.async_wait(as_tuple_awaitable);
    }
    co_return auth_.check(host, parse_basic_authorization(authorization));
}

asio::awaitable<void> server::serve(tcp::socket socket, std::string peer) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    const std::string host{net::host_of(peer)};
    for (;;) {
        stream.expires_after(options_.admin.idle_timeout);
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(max_header_bytes);
        parser.body_limit(options_.admin.max_request_bytes);
        auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, as_tuple_awaitable);
        if (ec) {
            // Too large: say so before closing. Anything else (EOF, timeout, garbage) just closes.
            if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
                const auto res = to_response(error_reply(413, "request too large"), 11, false);
                stream.expires_after(options_.admin.idle_timeout);
                co_await bhttp::async_write(stream, res, as_tuple_awaitable);
            } else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                       ec != asio::error::connection_reset && ec != asio::error::eof) {
                const auto res = to_response(error_reply(400, "malformed HTTP request"), 11, false);
                stream.expires_after(options_.admin.idle_timeout);
                co_await bhttp::async_write(stream, res, as_tuple_awaitable);
            }
            break;
        }
        const auto& req = parser.get();
        reply answer;
        const auto target = parse_target(req.target());
        if (!target) {
            answer = error_reply(400, "malformed request target");
        } else {
            const bool is_api = !target->segments.empty() && target->segments.front() == "api";
            const bool is_metrics = target->segments.size() == 1 && target->segments.front() == "metrics";
            const bool needs_auth = is_api || (is_metrics && options_.admin.metrics_auth);
            if (needs_auth && !auth_.is_enabled()) {
                answer = error_reply(403, "the admin API is disabled: set admin.password_file");
            } else if (needs_auth && !co_await is_authorized(host, req[bhttp::field::authorization])) {
                if (!req[bhttp::field::authorization].empty())
                    log_line{level::info} << "event=admin_auth_failed addr=" << peer;
                answer = error_reply(401, "authentication required");
            } else {
                answer = api_.handle(req.method_string(), *target);
            }
        }
        log_line{level::debug} << "event=http_request addr=" << peer << " method=" << req.method_string()
                               << " target=" << logging::quoted{std::string{req.target()}} << " status=" << answer.status;
        const auto res = to_response(answer, req.version(), req.keep_alive());
        stream.expires_after(options_.admin.idle_timeout);
        auto [write_ec, written] = co_await bhttp::async_write(stream, res, as_tuple_awaitable);
        if (write_ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace mqttd::http
