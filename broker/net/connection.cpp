#include "broker/net/connection.hpp"

#include <cstring>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/logging/log.hpp"
#include "broker/net/exact_allocator.hpp"
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
connection<Transport>::connection(worker& owner, Transport transport, connection_policy policy,
                                  connection_ticket ticket)
    : worker_{owner},
      id_{owner.add_connection(this)},
      transport_{std::move(transport)},
      policy_{policy},
      ticket_{std::move(ticket)},
      decoder_{owner.options().max_packet_size},
      connect_decoder_{std::min(owner.options().max_packet_size, max_connect_packet_size)} {}

template <transport Transport>
connection<Transport>::~connection() {
    worker_.remove_connection(id_);
}

template <transport Transport>
void connection<Transport>::start() {
    connect_deadline_ = core::clock::now() + worker_.options().connect_timeout;
    auto self = this->shared_from_this();
    asio::co_spawn(worker_.context(), [self]() { return self->read_loop(); }, asio::detached);
    schedule_check();
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
    } catch (const std::exception& e) {
        failed(e);
        co_return;
    }
    // Read at once rather than wait for readability first: a client sends CONNECT as soon as it is connected, so
    // it is usually there already, and the wait would cost a system call (Asio re-arms the descriptor) and a turn
    // of the event loop per connection. Until the CONNECT is complete the connection holds its receive buffer,
    // for connect_timeout at most.
    co_await read_packets(true);
}

// The last line of defence: one connection ends, the worker and every other client carry on.
template <transport Transport>
void connection<Transport>::failed(const std::exception& e) {
    log_line{level::error} << "event=connection_failed client_id=" << logging::quoted{client_id_}
                           << " addr=" << transport_.peer().address << " reason=" << logging::quoted{e.what()};
    close(core::close_reason::network_error);
}

// Over TCP and TLS: bytes arrived at an idle connection (or the wait failed).
template <transport Transport>
void connection<Transport>::readable(const boost::system::error_code& ec) {
    if (ec) return read_failed(ec);
    if (is_closing_) return;
    auto self = this->shared_from_this();
    asio::co_spawn(worker_.context(), [self]() { return self->read_packets(true); }, asio::detached);
}

template <transport Transport>
asio::awaitable<void> connection<Transport>::read_packets(bool is_readable) {
    auto self = this->shared_from_this();  // the frame keeps the connection alive
    try {
        while (!is_closing_) {
            // A client that does not read what it was sent is not read from either, until its backlog
            // drains (its acknowledgements would otherwise pile up); write_timeout ends a client that never reads.
            while (is_write_blocked_ && !is_closing_) co_await wait_for_wake();
            if (is_closing_) break;
            if constexpr (has_readiness_wait) {
                // Idle between packets: hold no receive buffer, and no coroutine, while waiting for the next
                // bytes. The wait's handler keeps the connection alive.
                rx_.release_if_empty();
                if (rx_.capacity() == 0 && !is_readable) {
                    transport_.async_wait_readable(asio::bind_allocator(
                        exact_allocator<void>{}, [self](boost::system::error_code ec) { self->readable(ec); }));
                    co_return;
                }
                is_readable = false;  // bytes are there now: read them
            } else {
                // Idle between packets: wait with 16 bytes rather than a 4 KB receive buffer.
                rx_.release_if_empty();
                if (rx_.capacity() == 0) {
                    auto [read_ec, n] = co_await transport_.read_some(asio::buffer(idle_bytes_));
                    if (read_ec) {
                        read_failed(read_ec);
                        break;
                    }
                    const auto room = rx_.prepare(0);
                    std::memcpy(room.data(), idle_bytes_.data(), n);
                    rx_.commit(n);
                    bump(worker_.traffic().bytes_received, n);
                    if (!co_await handle_received()) break;
                    continue;
                }
            }
            // Room for the pending packet as its bytes arrive; its size was checked against the limit from the
            // fixed header, and a claim alone allocates nothing.
            protocol::frame_header header;
            std::error_code header_ec;
            const auto& limits = phase_ == phase::awaiting_connect ? connect_decoder_ : decoder_;
            const auto packet_size = limits.peek_header(rx_.data(), header, header_ec) > 0 ? header.total() : 0;
            const auto room = rx_.prepare(packet_size);
            auto [read_ec, n] = co_await transport_.read_some(asio::buffer(room.data(), room.size()));
            if (read_ec) {
                read_failed(read_ec);
                break;
            }
            rx_.commit(n);
            bump(worker_.traffic().bytes_received, n);
            if (!co_await handle_received()) break;
        }
    } catch (const std::exception& e) {
        failed(e);
    }
}

template <transport Transport>
void connection<Transport>::read_failed(const boost::system::error_code& ec) {
    if (is_closing_) return;  // the broker closed it: nothing to report
    log_line{is_normal_close(ec) ? level::debug : level::warning}
        << "event=read_failed client_id=" << logging::quoted{client_id_} << " addr=" << transport_.peer().address
        << " error=" << logging::quoted{ec.message()};
    close(core::close_reason::network_error);
}

template <transport Transport>
asio::awaitable<bool> connection<Transport>::handle_received() {
    while (!is_closing_) {
        protocol::packet packet;
        std::error_code ec;
        const auto& limits = phase_ == phase::awaiting_connect ? connect_decoder_ : decoder_;
        const auto used = limits.next(rx_.data(), packet, ec);
        if (ec) {
            protocol_error(ec);
            co_return false;
        }
        if (used == 0) co_return true;

        if (phase_ == phase::attached) {
            if (const auto* p = std::get_if<protocol::publish>(&packet))
                bump(worker_.traffic().publishes_received[static_cast<std::size_t>(p->qos_level)]);
            worker_.shard().packet(id_, packet, core::clock::now());
            rx_.consume(used);
            worker_.carry_out();
            continue;
        }
        // [MQTT-3.1.0-1] the first packet must be CONNECT.
        const auto* c = std::get_if<protocol::connect>(&packet);
        if (c == nullptr) {
            log_line{level::info} << "event=protocol_error client_id=\"\" addr=" << transport_.peer().address
                                  << " error=\"first packet is not CONNECT\"";
            close(core::close_reason::protocol_error);
            co_return false;
        }
        const auto verdict = on_connect(*c);
        // The password is copied out only when it is to be checked, and lives here until then: a connection
        // holds no password once its CONNECT is handled.
        std::string password;
        if (verdict == connect_verdict::check_password && c->password)
            password.assign(reinterpret_cast<const char*>(c->password->data()), c->password->size());
        rx_.consume(used);  // `c` points into rx_: nothing below reads it
        if (verdict == connect_verdict::rejected) co_return false;
        if (verdict == connect_verdict::check_password && !co_await check_password(password)) co_return false;
        password.clear();
        password.shrink_to_fit();
        start_session();
        // Packets pipelined behind CONNECT wait until the session is attached (it may live on another worker).
        while (phase_ == phase::awaiting_session && !is_closing_) co_await wait_for_wake();
    }
    co_return false;
}

// The checks that need no waiting: client id, certificate identity, anonymous access. What is left is a
// password to check (on the password threads) or nothing.
template <transport Transport>
auto connection<Transport>::on_connect(const protocol::connect& c) -> connect_verdict {
    login_ = std::make_unique<core::connection_params>();
    auto& params = *login_;
    params.client_id = std::string{c.client_id};
    client_id_ = params.client_id;
    params.clean_session = c.clean_session;
    params.keep_alive = c.keep_alive;
    params.version = c.version;
    if (c.username) params.username = std::string{*c.username};
    phase_ = phase::authenticating;

    if (const auto code = core::check_client_id(c)) {
        reject_connect(*code, "client id rejected");
        return connect_verdict::rejected;
    }
    if (params.client_id.empty()) client_id_ = params.client_id = generate_client_id();
    if (c.last_will) {
        params.will = core::make_message(c.last_will->topic, c.last_will->payload, c.last_will->qos_level,
                                          c.last_will->retain);
    }
    if (policy_.use_identity_as_username) {
        // The certificate was verified against ca_file during the handshake: it is the credential.
        std::string cn;
        if constexpr (requires { transport_.cert_cn(); }) cn = transport_.cert_cn();
        if (cn.empty()) {
            reject_connect(protocol::connack_code::not_authorized, "no client certificate CN to use as username");
            return connect_verdict::rejected;
        }
        params.username = std::move(cn);
        return connect_verdict::accepted;
    }
    if (params.username) {
        // A username is checked whenever there is a password file, anonymous access or not: a wrong
        // password never falls back to anonymous.
        if (worker_.access().has_password_file()) return connect_verdict::check_password;
        if (policy_.allow_anonymous) return connect_verdict::accepted;  // nothing to check it against
        reject_connect(protocol::connack_code::bad_username_or_password, "no password file to check against");
        return connect_verdict::rejected;
    }
    if (!policy_.allow_anonymous) {
        reject_connect(protocol::connack_code::not_authorized, "anonymous access not allowed");  // [MQTT-3.2.2-6]
        return connect_verdict::rejected;
    }
    return connect_verdict::accepted;
}

// Off the event loop: the hash costs tens of milliseconds by design. An address with recent failures, or with
// more checks under way than the password threads, waits first (a timer, not a hash): failed_logins.hpp.
template <transport Transport>
asio::awaitable<bool> connection<Transport>::check_password(const std::string& password) {
    auto& access = worker_.access();
    const auto host = std::string{host_of(transport_.peer().address)};
    const auto delay = access.failures().begin(host, core::clock::now());
    bool is_valid = false;
    if (delay.count() > 0) {
        log_line{level::debug} << "event=login_slowed addr=" << transport_.peer().address << " delay_ms=" << delay.count();
        asio::steady_timer wait{worker_.context(), delay};
        co_await wait.async_wait(as_tuple_awaitable);
    }
    if (!is_closing_) {
        // Set when the connection closes, so a check still queued for the password threads is skipped.
        login_abandoned_ = std::make_shared<std::atomic<bool>>(false);
        const std::shared_ptr<const std::atomic<bool>> abandoned = login_abandoned_;
        is_valid = co_await access.async_verify(*login_->username, password, abandoned, asio::use_awaitable);
        login_abandoned_.reset();  // the check is over: a logged-in connection holds nothing for it
    }
    access.failures().end(host, !is_valid && !is_closing_, core::clock::now());
    if (is_closing_) co_return false;
    if (!is_valid) {
        reject_connect(protocol::connack_code::bad_username_or_password, "bad username or password");
        co_return false;
    }
    co_return true;
}

template <transport Transport>
void connection<Transport>::start_session() {
    phase_ = phase::awaiting_session;
    worker_.shard().connect(id_, *login_, core::clock::now());
    worker_.carry_out();
}

template <transport Transport>
void connection<Transport>::reject_connect(protocol::connack_code code, const char* reason) {
    log_line{level::info} << "event=connect_rejected client_id=" << logging::quoted{client_id_}
                          << " addr=" << transport_.peer().address << " connack=" << static_cast<int>(code)
                          << " reason=" << logging::quoted{reason};
    bump(worker_.traffic().connacks[static_cast<std::size_t>(code)]);
    // [MQTT-3.2.2-4] session present is 0 with a non-zero return code; [MQTT-3.2.2-5] then close.
    send(core::send_packet{protocol::connack{false, code}});
    close(core::close_reason::connect_rejected, false);
}

template <transport Transport>
void connection<Transport>::protocol_error(const std::error_code& ec) {
    log_line{level::info} << "event=protocol_error client_id=" << logging::quoted{client_id_}
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
    bump(worker_.traffic().connacks[static_cast<std::size_t>(protocol::connack_code::accepted)]);
    if (login_) {
        log_line{level::info} << "event=connect client_id=" << logging::quoted{client_id_}
                              << " addr=" << transport_.peer().address
                              << " username=" << logging::quoted{login_->username.value_or("")}
                              << " clean_session=" << login_->clean_session << " keepalive=" << login_->keep_alive
                              << " session_present=" << session_present << " worker=" << worker_.index();
        login_.reset();
    }
    wake();
    schedule_check();  // the keepalive deadline, from now on
}

template <transport Transport>
void connection<Transport>::refused(protocol::connack_code code) {
    reject_connect(code, "session unavailable");
}

template <transport Transport>
void connection<Transport>::closed_by_shard(const core::close_connection& why) {
    if (why.reason == core::close_reason::protocol_error && why.detail != nullptr)
        log_line{level::info} << "event=protocol_error client_id=" << logging::quoted{client_id_}
                              << " addr=" << transport_.peer().address << " error=" << logging::quoted{why.detail};
    close(why.reason, false);
}

template <transport Transport>
connection_info connection<Transport>::info() const {
    return {transport_.peer().address, policy_.listener_name != nullptr ? *policy_.listener_name : std::string{},
            connected_since_};
}

template <transport Transport>
void connection<Transport>::shut_down() {
    close(core::close_reason::server_shutdown);
}

template <transport Transport>
void connection<Transport>::send(const core::send_packet& p) {
    if (is_closed_) return;
    tx_.push(p);
    check_backlog();
    start_writing();
}

template <transport Transport>
void connection<Transport>::send(const core::send_publish& p) {
    if (is_closed_) return;
    bump(worker_.traffic().publishes_sent[static_cast<std::size_t>(p.qos_level)]);
    tx_.push(p);
    check_backlog();
    start_writing();
}

template <transport Transport>
void connection<Transport>::check_backlog() {
    const auto limit = worker_.options().max_outbound_bytes;
    const auto backlog = tx_.backlog_bytes();
    // Blocked past the limit, unblocked below half of it, so a client near the line does not flap.
    const bool should_block = is_write_blocked_ ? backlog > limit / 2 : backlog > limit;
    if (should_block == is_write_blocked_ || is_closing_) return;
    is_write_blocked_ = should_block;
    log_line{level::debug} << "event=write_blocked client_id=" << logging::quoted{client_id_}
                           << " addr=" << transport_.peer().address << " blocked=" << should_block
                           << " backlog_bytes=" << backlog;
    if (!should_block) wake();
    schedule_check();  // the keepalive deadline is off while blocked, and on again after
    if (phase_ == phase::attached) worker_.write_blocked(id_, should_block);
}

template <transport Transport>
asio::awaitable<void> connection<Transport>::wait_for_wake() {
    // The timer lives in the coroutine frame, which exists only while something waits: an idle connection
    // holds no timer.
    asio::steady_timer timer{worker_.context(), core::time_point::max()};
    wake_ = &timer;
    co_await timer.async_wait(as_tuple_awaitable);
    wake_ = nullptr;
}

template <transport Transport>
void connection<Transport>::wake() {
    if (wake_ != nullptr) wake_->cancel();
}

template <transport Transport>
void connection<Transport>::start_writing() {
    if (is_writing_) return;
    is_writing_ = true;
    // Posted, not started here: whatever else this turn of the event loop queues for the connection (the rest
    // of a read's PUBACKs, the rest of a batch of deliveries) goes out in the same write, one system call.
    auto self = this->shared_from_this();
    asio::post(worker_.context(), [self] {
        std::size_t written = 0;
        if (self->write_at_once(written)) return;
        asio::co_spawn(self->worker_.context(), [self, written]() { return self->write_loop(written); },
                       asio::detached);
    });
}

// Over TCP: the queued batches written with non-blocking system calls while the socket takes them whole, which
// is almost always (a CONNACK, a burst of acknowledgements): no coroutine, no wait for a completion to come back
// through the event loop. True when that finished the writing; false when write_loop() must go on, with the
// batch taken and `written` of its bytes sent (or an error to meet and report there).
template <transport Transport>
bool connection<Transport>::write_at_once(std::size_t& written) {
    if constexpr (has_try_write) {
        while (!tx_.is_empty() && !is_closed_) {
            const auto& buffers = tx_.take_batch();
            std::size_t size = 0;
            for (const auto& b : buffers) size += b.size();
            auto [ec, n] = transport_.try_write(buffers);
            if (ec || n < size) {
                is_batch_taken_ = true;
                written = n;
                return false;
            }
            bump(worker_.traffic().bytes_sent, n);
            record_latencies();
            tx_.release_written();
            check_backlog();
        }
        is_writing_ = false;
        if (is_closing_) finish_close();
        return true;
    } else {
        (void)written;
        return false;
    }
}

// `written`: bytes of a batch that write_at_once() took and partly sent.
template <transport Transport>
asio::awaitable<void> connection<Transport>::write_loop(std::size_t written) {
    auto self = this->shared_from_this();
    std::vector<asio::const_buffer> rest;
    while ((is_batch_taken_ || !tx_.is_empty()) && !is_closed_) {
        const auto& taken = is_batch_taken_ ? tx_.taken_batch() : tx_.take_batch();
        is_batch_taken_ = false;
        std::span<const asio::const_buffer> buffers = taken;
        if (written > 0) {
            // The rest of a batch write_at_once() began: skip what went out.
            rest.assign(taken.begin(), taken.end());
            auto skip = written;
            auto first = rest.begin();
            for (; first != rest.end() && skip >= first->size(); ++first) skip -= first->size();
            if (first != rest.end()) *first += skip;
            rest.erase(rest.begin(), first);
            buffers = rest;
        }
        write_started_ = core::clock::now();
        schedule_check();  // this write's timeout
        auto [ec, n] = co_await transport_.write_all(buffers);
        n += std::exchange(written, 0);
        write_started_ = core::time_point::max();
        bump(worker_.traffic().bytes_sent, n);
        if (!ec) record_latencies();
        tx_.release_written();
        check_backlog();
        if (ec) {
            is_writing_ = false;
            if (!is_closing_) {
                log_line{is_normal_close(ec) ? level::debug : level::warning}
                    << "event=write_failed client_id=" << logging::quoted{client_id_} << " addr=" << transport_.peer().address
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

// One clock read per write, however many PUBLISHes it carried.
template <transport Transport>
void connection<Transport>::record_latencies() {
    const auto& received = tx_.written_received_times();
    if (received.empty()) return;
    const auto now = core::clock::now();
    for (const auto at : received) worker_.traffic().record_latency(now - at);
}

template <transport Transport>
void connection<Transport>::close(core::close_reason why, bool tell_shard) {
    if (is_closing_) return;
    is_closing_ = true;
    worker_.count_close(why);
    log_line{level::info} << "event=disconnect client_id=" << logging::quoted{client_id_}
                          << " addr=" << transport_.peer().address << " reason=" << core::to_string(why);
    if (tell_shard && (phase_ == phase::awaiting_session || phase_ == phase::attached)) {
        worker_.shard().connection_lost(id_, why, core::clock::now());
        worker_.carry_out();
    }
    wake();
    if (login_abandoned_) login_abandoned_->store(true, std::memory_order_relaxed);
    close_deadline_ = core::clock::now() + close_grace;
    schedule_check();
    if (!is_writing_) finish_close();
}

template <transport Transport>
void connection<Transport>::finish_close() {
    if (is_closed_) return;
    is_closed_ = true;
    transport_.close();
}

// The nearest of this connection's deadlines, in the worker's deadline queue: the flush grace of a closing
// connection, the connect deadline, the keepalive deadline (not while reading is paused for the client's own
// backlog), and the write timeout of a write in progress. Only an earlier deadline adds an entry: a later one
// is found when the earlier entry fires.
template <transport Transport>
void connection<Transport>::schedule_check() {
    if (is_closed_) return;
    const auto unset = core::time_point::max();
    auto deadline = is_closing_                  ? close_deadline_
                    : phase_ != phase::attached ? connect_deadline_
                    : is_write_blocked_         ? unset
                                                : worker_.shard().keepalive_deadline(id_);
    if (write_started_ != unset) deadline = std::min(deadline, write_started_ + worker_.options().write_timeout);
    if (deadline >= next_check_) return;
    next_check_ = deadline;
    worker_.deadlines().schedule(id_, deadline);
}

template <transport Transport>
void connection<Transport>::on_deadline(core::time_point at, core::time_point now) {
    // Only the latest request is current: an entry superseded by an earlier one (and never cancelled) must
    // not schedule another, or entries would pile up for the life of the connection.
    if (at != next_check_) return;
    next_check_ = core::time_point::max();
    if (is_closed_) return;
    if (write_started_ != core::time_point::max() && now >= write_started_ + worker_.options().write_timeout) {
        log_line{level::info} << "event=write_timeout client_id=" << logging::quoted{client_id_}
                              << " addr=" << transport_.peer().address << " backlog_bytes=" << tx_.backlog_bytes();
        close(core::close_reason::write_timeout);
        finish_close();  // nothing more will get through: do not wait out the flush grace
        return;
    }
    if (is_closing_) {
        if (now >= close_deadline_) return finish_close();  // a client that stopped reading cannot stall its close
    } else if (phase_ != phase::attached) {
        if (now >= connect_deadline_) {
            log_line{level::info} << "event=connect_timeout addr=" << transport_.peer().address;
            return close(core::close_reason::connect_timeout);
        }
    } else if (!is_write_blocked_) {
        worker_.shard().tick(id_, now);  // [MQTT-3.1.2-24]
        worker_.carry_out();
    }
    schedule_check();
}

template class connection<tcp_transport>;
template class connection<tls_transport>;
template class connection<ws_transport<tcp_socket>>;
template class connection<ws_transport<wss_next_layer>>;

}  // namespace mqttd::net
