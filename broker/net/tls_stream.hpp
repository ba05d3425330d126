#pragma once
// TLS on a TCP socket with OpenSSL working on the socket's descriptor itself (a socket BIO on its fd): Asio only waits for
// readiness. Asio's ssl::stream keeps some 34 KB of buffers per connection (its engine's input and output
// buffers and a BIO pair) for the connection's whole life; here, with SSL_MODE_RELEASE_BUFFERS, OpenSSL frees
// its record buffers whenever they are empty, so an idle connection holds only the SSL object.
// An AsyncReadStream and AsyncWriteStream (Beast's websocket::stream runs on it for wss), plus a readiness
// wait that knows about the bytes OpenSSL has already taken off the socket. One owner, one thread: a read and
// a write may be under way at once, nothing more.

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include "broker/net/tls_context.hpp"
#include "broker/net/transport.hpp"

namespace mqttd::net {

class tls_stream {
public:
    using socket_type = tcp_socket;
    using executor_type = socket_type::executor_type;
    using next_layer_type = socket_type;

    // Server side. Throws std::bad_alloc when OpenSSL cannot make the SSL object.
    tls_stream(socket_type socket, ssl_context_ptr context);
    tls_stream(tls_stream&&) noexcept = default;
    tls_stream& operator=(tls_stream&&) noexcept = default;
    ~tls_stream() = default;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    socket_type& next_layer() noexcept { return socket_; }  // what beast::get_lowest_layer finds
    SSL* native_handle() noexcept { return ssl_.get(); }

    // void(error_code)
    template <class Token>
    auto async_handshake(Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(
            handshake_op{this}, token, socket_);
    }

    // void(error_code, std::size_t): at most one TLS record's plaintext, into the first non-empty buffer.
    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            read_op{this, first_buffer(buffers)}, token, socket_);
    }

    // void(error_code, std::size_t): one TLS record. Several buffers (Beast's frame header and payload, the
    // write queue's packets) are gathered first, up to one record, so that a small header is not a record
    // of its own.
    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            write_op{this, gather(buffers)}, token, socket_);
    }

    // Calls handler(error_code) once a read would find bytes: at once when OpenSSL holds some already,
    // otherwise when the socket becomes readable.
    template <class Handler>
    void async_wait_readable(Handler&& handler) {
        if (SSL_has_pending(ssl_.get()) == 1) {
            boost::asio::post(socket_.get_executor(),
                              [h = std::forward<Handler>(handler)]() mutable { h(boost::system::error_code{}); });
            return;
        }
        socket_.async_wait(socket_type::wait_read, std::forward<Handler>(handler));
    }

    // Sends close_notify when the handshake is done, the connection healthy and the socket has room (no
    // waiting: the peer may be gone), then closes the socket. Pending operations end with operation_aborted.
    void close();

private:
    struct ssl_free_t {
        void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
    };
    // What one OpenSSL call asked for.
    enum class step { done, want_read, want_write, failed };
    struct outcome {
        step next = step::failed;
        boost::system::error_code ec;
    };

    // Interprets a return value of SSL_do_handshake/SSL_read_ex/SSL_write_ex, and errno right after it.
    outcome result_of(int ret, int saved_errno);
    outcome try_handshake();
    outcome try_read(boost::asio::mutable_buffer b, std::size_t& n);
    outcome try_write(boost::asio::const_buffer b, std::size_t& n);

    template <class MutableBuffers>
    static boost::asio::mutable_buffer first_buffer(const MutableBuffers& buffers) {
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
            if (boost::asio::mutable_buffer b{*it}; b.size() != 0) return b;
        return {};
    }

    // The bytes to write, and their copy when there was more than one buffer to gather.
    struct write_source {
        boost::asio::const_buffer bytes;
        std::unique_ptr<std::uint8_t[]> gathered;
    };
    static constexpr std::size_t max_record = 16 * 1024;
    template <class ConstBuffers>
    static write_source gather(const ConstBuffers& buffers) {
        write_source src;
        std::size_t count = 0;
        std::size_t total = 0;
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
            const boost::asio::const_buffer b{*it};
            if (b.size() == 0) continue;
            if (count++ == 0) src.bytes = b;
            total += b.size();
        }
        // One buffer, or a first buffer that fills a record by itself: no copy.
        if (count <= 1 || src.bytes.size() >= max_record) return src;
        const auto size = std::min(total, max_record);
        src.gathered = std::make_unique_for_overwrite<std::uint8_t[]>(size);
        boost::asio::buffer_copy(boost::asio::buffer(src.gathered.get(), size), buffers);
        src.bytes = boost::asio::const_buffer{src.gathered.get(), size};
        return src;
    }

    // The operations run their OpenSSL call, wait for the readiness it asks for, and call again. A first
    // call that completes at once is posted: a handler never runs inside the call that started it.
    struct op_base {
        explicit op_base(tls_stream* stream) : self{stream} {}
        tls_stream* self;
        bool started = false;
        bool has_result = false;  // posted with this result
        boost::system::error_code result;

        // false: complete now with o.ec; true: `op` was moved to a wait or a post.
        template <class Self>
        bool wait_or_post(Self& op, const outcome& o) {
            const bool first = !std::exchange(started, true);
            if (o.next == step::want_read) {
                self->socket_.async_wait(socket_type::wait_read, std::move(op));
            } else if (o.next == step::want_write) {
                self->socket_.async_wait(socket_type::wait_write, std::move(op));
            } else if (first) {
                has_result = true;
                result = o.ec;
                boost::asio::post(self->socket_.get_executor(), std::move(op));
            } else {
                return false;
            }
            return true;
        }
    };

    struct handshake_op : op_base {
        explicit handshake_op(tls_stream* stream) : op_base{stream} {}
        template <class Self>
        void operator()(Self& op, boost::system::error_code ec = {}) {
            if (ec || has_result) return op.complete(ec ? ec : result);
            const auto o = self->try_handshake();
            if (!wait_or_post(op, o)) op.complete(o.ec);
        }
    };

    struct read_op : op_base {
        read_op(tls_stream* stream, boost::asio::mutable_buffer b) : op_base{stream}, buffer{b} {}
        boost::asio::mutable_buffer buffer;
        std::size_t n = 0;
        template <class Self>
        void operator()(Self& op, boost::system::error_code ec = {}) {
            if (ec) return op.complete(ec, std::size_t{0});
            if (has_result) return op.complete(result, n);
            const auto o = buffer.size() == 0 ? outcome{step::done, {}} : self->try_read(buffer, n);
            if (!wait_or_post(op, o)) op.complete(o.ec, n);
        }
    };

    struct write_op : op_base {
        write_op(tls_stream* stream, write_source s) : op_base{stream}, source{std::move(s)} {}
        write_source source;
        std::size_t n = 0;
        template <class Self>
        void operator()(Self& op, boost::system::error_code ec = {}) {
            if (ec) return op.complete(ec, std::size_t{0});
            if (has_result) return op.complete(result, n);
            const auto o = source.bytes.size() == 0 ? outcome{step::done, {}} : self->try_write(source.bytes, n);
            if (!wait_or_post(op, o)) op.complete(o.ec, n);
        }
    };

    socket_type socket_;
    ssl_context_ptr context_;  // the listener's context at accept time: a reload affects only later connections
    std::unique_ptr<SSL, ssl_free_t> ssl_;
    bool is_broken_ = false;  // after a fatal error OpenSSL must not be asked to send close_notify
};

// Beast's websocket::stream ends a closed connection through these (found by argument-dependent lookup).
void teardown(boost::beast::role_type role, tls_stream& stream, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, tls_stream& stream, TeardownHandler&& handler) {
    boost::system::error_code ec;
    teardown(role, stream, ec);
    boost::asio::post(stream.get_executor(), boost::beast::bind_front_handler(std::forward<TeardownHandler>(handler), ec));
}

}  // namespace mqttd::net
