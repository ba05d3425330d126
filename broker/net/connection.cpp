#include "broker/net/connection.hpp"

#include <cstring>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/logging/log.hpp"
#include "broker/net/tcp_transport.hpp"
#include "broker/net/tls_transport.hpp"
#include "broker/net/ws_transport.hpp"
#include "protocol/errc.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
using logging::level;
using logging::log_line;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t initial_rx_size = 4096;
constexpr std::size_t idle_rx_limit = 64 * 1024;  // a buffer grown for a big packet shrinks back past this
constexpr auto close_grace = std::chrono::seconds{5};  // how long a closing connection may take to flush

// [MQTT-3.1.3-6] an id for a client that sent none: unique for the broker's life, no clock needed.
std::string generate_client_id() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "mqttd-";
    auto bits = random();
    for (int i = 0; i < 16; ++i, bits >>= 4) id += hex[bits & 0xf];
    return id;
}

}  // namespace

template <transport Transport>
connection<Transport>::connection(worker& owner, Transport transport, bool use_identity_as_username)
    : worker_{owner},
      id_{owner.add_connection(this)},
      transport_{std::move(transport)},
      use_identity_as_username_{use_identity_as_username},
      decoder_{owner.options().max_packet_size},
      watchdog_timer_{owner.context()},
      session_ready_{owner.context()} {}

template <transport Transport>
connection<Transport>::~connection() {
    worker_.remove_connection(id_);
}

template <transport Transport>
void connection<Transport>::start() {
    connect_deadline_ = core::clock::now() + worker_.options().connect_timeout;
    auto self = this->shared_from_this();
    asio::co_spawn(worker_.context(), [self]() { return self->read_loop(); }, asio::detached);
    asio::co_spawn(worker_.context(), [self]() { return self->watchdog(); }, asio::detached);
}

template <transport Transport>
asio::awaitable<void> connection<Transport>::read_loop() {
    auto self = this->shared_from_this();  // the frame keeps the connection alive
    try {
        if (const auto ec = co_await transport_.handshake(); ec) {
            log_line{is_normal_close(ec) ? level::debug : level::info}
                << "event=handshake_failed addr=" << transport_.peer().address << " error=" << logging::quoted{ec.message()};
            close(core::close_reason::network_error);
            co_return;
        }
        rx_.resize(initial_rx_size);
        while (!is_closing_) {
            if (rx_begin_ == rx_end_) {
                rx_begin_ = rx_end_ = 0;
                if (rx_.size() > idle_rx_limit) rx_.resize(initial_rx_size), rx_.shrink_to_fit();
            }
            // Room for the whole pending packet (its size was checked against the limit from the header).
            protocol::frame_header header;
            std::error_code ec;
            const auto pending = std::span{rx_.data() + rx_begin_, rx_end_ - rx_begin_};
            if (decoder_.peek_header(pending, header, ec) > 0 && header.total() > rx_.size() - rx_begin_) {
                std::memmove(rx_.data(), rx_.data() + rx_begin_, pending.size());
                rx_end_ -= rx_begin_;
                rx_begin_ = 0;
                if (header.total() > rx_.size()) rx_.resize(header.total());
            } else if (rx_end_ == rx_.size()) {
                std::memmove(rx_.data(), rx_.data() + rx_begin_, pending.size());
                rx_end_ -= rx_begin_;
                rx_begin_ = 0;
            }
            auto [read_ec, n] = co_await transport_.read_some(asio::buffer(rx_.data() + rx_end_, rx_.size() - rx_end_));
            if (read_ec) {
                if (!is_closing_) {
                    log_line{is_normal_close(read_ec) ? level::debug : level::warning}
                        << "event=read_failed client_id=" << logging::quoted{params_.client_id} << " addr=" << transport_.peer().address
                        << " error=" << logging::quoted{read_ec.message()};
                    close(core::close_reason::network_error);
                }
                break;
            }
            rx_end_ += n;
            if (!co_await handle_received()) break;
        }
    } catch (const std::exception& e) {
        // The last line of defence: one connection ends, the worker and every other client carry on.
        log_line{level::error} << "event=connection_failed client_id=" << logging::quoted{params_.client_id}
                               << " addr=" << transport_.peer().address << " reason=" << logging::quoted{e.what()};
        close(core::close_reason::network_error);
    }
}

template <transport Transport>
asio::awaitable<bool> connection<Transport>::handle_received() {
    while (!is_closing_) {
        protocol::packet packet;
        std::error_code ec;
        const auto used = decoder_.next(std::span{rx_.data() + rx_begin_, rx_end_ - rx_begin_}, packet, ec);
        if (ec) {
            protocol_error(ec);
            co_return false;
        }
        if (used == 0) co_return true;

        if (phase_ == phase::attached) {
            worker_.shard().packet(id_, packet, core::clock::now());
            rx_begin_ += used;
            worker_.carry_out();
            continue;
        }
        // [MQTT-3.1.0-1] the first packet must be CONNECT.
        const auto* c = std::get_if<protocol::connect>(&packet);
        if (c == nullptr) {
            log_line{level::info} << "event=protocol_error addr=" << transport_.peer().address
                                  << " error=\"first packet is not CONNECT\"";
            close(core::close_reason::protocol_error);
            co_return false;
        }
        const bool is_accepted = on_connect(*c);
        rx_begin_ += used;
        if (!is_accepted) co_return false;
        // Packets pipelined behind CONNECT wait until the session is attached (it may live on another worker).
        while (phase_ == phase::awaiting_session && !is_closing_) {
            session_ready_.expires_at(core::time_point::max());
            co_await session_ready_.async_wait(as_tuple_awaitable);
        }
    }
    co_return false;
}

template <transport Transport>
bool connection<Transport>::on_connect(const protocol::connect& c) {
    params_.client_id = std::string{c.client_id};
    params_.clean_session = c.clean_session;
    params_.keep_alive = c.keep_alive;
    params_.version = c.version;
    if (c.username) params_.username = std::string{*c.username};

    if (const auto code = core::check_client_id(c)) {
        reject_connect(*code, "client id rejected");
        return false;
    }
    if (use_identity_as_username_) {
        // The certificate was verified against ca_file during the handshake: it is the credential.
        if (transport_.peer().cert_cn.empty()) {
            reject_connect(protocol::connack_code::not_authorized, "no client certificate CN to use as username");
            return false;
        }
        params_.username = transport_.peer().cert_cn;
    } else if (!worker_.options().allow_anonymous) {
        // No password file support yet: without anonymous access nobody can be verified.
        reject_connect(c.username ? protocol::connack_code::bad_username_or_password
                                  : protocol::connack_code::not_authorized,
                       "anonymous access disabled");
        return false;
    }
    if (params_.client_id.empty()) params_.client_id = generate_client_id();
    if (c.last_will) {
        params_.will = core::make_message(c.last_will->topic, c.last_will->payload, c.last_will->qos_level,
                                          c.last_will->retain);
    }
    phase_ = phase::awaiting_session;
    worker_.shard().connect(id_, params_, core::clock::now());
    worker_.carry_out();
    return !is_closing_;
}

template <transport Transport>
void connection<Transport>::reject_connect(protocol::connack_code code, const char* reason) {
    log_line{level::info} << "event=connect_rejected client_id=" << logging::quoted{params_.client_id}
                          << " addr=" << transport_.peer().address << " connack=" << static_cast<int>(code)
                          << " reason=" << logging::quoted{reason};
    // [MQTT-3.2.2-4] session present is 0 with a non-zero return code; [MQTT-3.2.2-5] then close.
    send(core::send_packet{protocol::connack{false, code}});
    close(core::close_reason::connect_rejected, false);
}

template <transport Transport>
void connection<Transport>::protocol_error(const std::error_code& ec) {
    log_line{level::info} << "event=protocol_error client_id=" << logging::quoted{params_.client_id}
                          << " addr=" << transport_.peer().address << " error=" << logging::quoted{ec.message()};
    // [MQTT-3.1.2-2] some CONNECT errors have a CONNACK code; everything else closes without one.
    if (phase_ == phase::awaiting_connect && ec.category() == protocol::protocol_category()) {
        if (const auto code = protocol::connack_for(static_cast<protocol::errc>(ec.value()))) {
            send(core::send_packet{protocol::connack{false, *code}});
        }
    }
    close(core::close_reason::protocol_error);
}

template <transport Transport>
void connection<Transport>::attached(bool session_present) {
    phase_ = phase::attached;
    log_line{level::info} << "event=connect client_id=" << logging::quoted{params_.client_id}
                          << " addr=" << transport_.peer().address
                          << " username=" << logging::quoted{params_.username.value_or("")}
                          << " clean_session=" << params_.clean_session << " keepalive=" << params_.keep_alive
                          << " session_present=" << session_present;
    session_ready_.cancel();
    watchdog_timer_.cancel();  // re-arm to the keepalive deadline
}

template <transport Transport>
void connection<Transport>::refused(protocol::connack_code code) {
    reject_connect(code, "session unavailable");
}

template <transport Transport>
void connection<Transport>::closed_by_shard(const core::close_connection& why) {
    if (why.reason == core::close_reason::protocol_error && why.detail != nullptr)
        log_line{level::info} << "event=protocol_error client_id=" << logging::quoted{params_.client_id}
                              << " addr=" << transport_.peer().address << " error=" << logging::quoted{why.detail};
    close(why.reason, false);
}

template <transport Transport>
void connection<Transport>::shut_down() {
    close(core::close_reason::server_shutdown);
}

template <transport Transport>
void connection<Transport>::send(const core::send_packet& p) {
    if (is_closed_) return;
    tx_.push(p);
    start_writing();
}

template <transport Transport>
void connection<Transport>::send(const core::send_publish& p) {
    if (is_closed_) return;
    tx_.push(p);
    start_writing();
}

template <transport Transport>
void connection<Transport>::start_writing() {
    if (is_writing_) return;
    is_writing_ = true;
    auto self = this->shared_from_this();
    asio::co_spawn(worker_.context(), [self]() { return self->write_loop(); }, asio::detached);
}

template <transport Transport>
asio::awaitable<void> connection<Transport>::write_loop() {
    auto self = this->shared_from_this();
    while (!tx_.is_empty() && !is_closed_) {
        const auto& buffers = tx_.take_batch();
        auto [ec, n] = co_await transport_.write_all(buffers);
        tx_.release_written();
        if (ec) {
            is_writing_ = false;
            if (!is_closing_) {
                log_line{is_normal_close(ec) ? level::debug : level::warning}
                    << "event=write_failed client_id=" << logging::quoted{params_.client_id} << " addr=" << transport_.peer().address
                    << " error=" << logging::quoted{ec.message()};
            }
            close(core::close_reason::network_error);
            finish_close();
            co_return;
        }
    }
    is_writing_ = false;
    if (is_closing_) finish_close();
}

template <transport Transport>
void connection<Transport>::close(core::close_reason why, bool tell_shard) {
    if (is_closing_) return;
    is_closing_ = true;
    log_line{level::info} << "event=disconnect client_id=" << logging::quoted{params_.client_id}
                          << " addr=" << transport_.peer().address << " reason=" << core::to_string(why);
    if (tell_shard && phase_ != phase::awaiting_connect) {
        worker_.shard().connection_lost(id_, why);
        worker_.carry_out();
    }
    session_ready_.cancel();
    watchdog_timer_.cancel();  // the watchdog now enforces the flush grace period
    if (!is_writing_) finish_close();
}

template <transport Transport>
void connection<Transport>::finish_close() {
    if (is_closed_) return;
    is_closed_ = true;
    transport_.close();
    watchdog_timer_.cancel();
}

template <transport Transport>
asio::awaitable<void> connection<Transport>::watchdog() {
    auto self = this->shared_from_this();
    const auto close_deadline_unset = core::time_point::max();
    auto close_deadline = close_deadline_unset;
    while (!is_closed_) {
        if (is_closing_ && close_deadline == close_deadline_unset) close_deadline = core::clock::now() + close_grace;
        const auto deadline = is_closing_                  ? close_deadline
                              : phase_ != phase::attached ? connect_deadline_
                                                          : worker_.shard().keepalive_deadline(id_);
        watchdog_timer_.expires_at(deadline);
        co_await watchdog_timer_.async_wait(as_tuple_awaitable);
        if (is_closed_) break;
        const auto now = core::clock::now();
        if (is_closing_) {
            if (now >= close_deadline) finish_close();  // a client that stopped reading cannot stall its close
            continue;
        }
        if (phase_ != phase::attached) {
            if (now >= connect_deadline_) {
                log_line{level::info} << "event=connect_timeout addr=" << transport_.peer().address;
                close(core::close_reason::connect_timeout);
            }
            continue;
        }
        worker_.shard().tick(id_, now);
        worker_.carry_out();
    }
}

template class connection<tcp_transport>;
template class connection<tls_transport>;
template class connection<ws_transport<asio::ip::tcp::socket>>;
template class connection<ws_transport<wss_next_layer>>;

}  // namespace mqttd::net
