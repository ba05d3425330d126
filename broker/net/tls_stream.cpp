#include "broker/net/tls_stream.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <new>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>

namespace mqttd::net {

namespace asio = boost::asio;

namespace {

// OpenSSL's socket BIO writes with plain send(): a peer that has gone would raise SIGPIPE, which kills any
// process that has not ignored it (mqttd does, a test binary or an embedding program may not). This BIO is
// OpenSSL's socket BIO with MSG_NOSIGNAL on its writes.
int send_without_sigpipe(BIO* bio, const char* data, int size) {
    int fd = -1;
    BIO_get_fd(bio, &fd);
    const auto sent = ::send(fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    BIO_clear_retry_flags(bio);
    if (sent <= 0 && BIO_sock_should_retry(static_cast<int>(sent)) != 0) BIO_set_retry_write(bio);
    return static_cast<int>(sent);
}

const BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        const BIO_METHOD* base = BIO_s_socket();
        BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "mqttd socket");
        if (m == nullptr) throw std::bad_alloc{};
        BIO_meth_set_write(m, send_without_sigpipe);
        BIO_meth_set_read(m, BIO_meth_get_read(base));
        BIO_meth_set_puts(m, BIO_meth_get_puts(base));
        BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
        BIO_meth_set_create(m, BIO_meth_get_create(base));
        BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
        return m;
    }();
    return method;
}

}  // namespace

tls_stream::tls_stream(socket_type socket, ssl_context_ptr context)
    : socket_{std::move(socket)}, context_{std::move(context)}, ssl_{SSL_new(context_->native_handle())} {
    if (!ssl_) throw std::bad_alloc{};
    // OpenSSL reads and writes the descriptor itself, and must never block the worker's thread.
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    BIO* bio = BIO_new(socket_method());
    if (bio == nullptr) throw std::bad_alloc{};
    BIO_set_fd(bio, static_cast<int>(socket_.native_handle()), BIO_NOCLOSE);
    SSL_set_bio(ssl_.get(), bio, bio);  // one reference, for both directions
    SSL_set_accept_state(ssl_.get());
    // Release: no 16 KB record buffers while there is nothing in them (an idle connection). Partial writes:
    // SSL_write_ex returns after each record, as a write_some should. Moving buffer: a retried write may come
    // from another copy of the same bytes.
    SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A client asking to renegotiate could make a read wait for a write and back; MQTT has no use for it.
    SSL_set_options(ssl_.get(), SSL_OP_NO_RENEGOTIATION);
}

auto tls_stream::result_of(int ret, int saved_errno) -> outcome {
    if (ret == 1) return {step::done, {}};
    const int error = SSL_get_error(ssl_.get(), ret);
    switch (error) {
    case SSL_ERROR_WANT_READ:
        return {step::want_read, {}};
    case SSL_ERROR_WANT_WRITE:
        return {step::want_write, {}};
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify: a clean end
        return {step::failed, asio::error::eof};
    case SSL_ERROR_SYSCALL: {
        is_broken_ = true;
        const auto code = ERR_get_error();
        ERR_clear_error();
        if (code != 0) return {step::failed, {static_cast<int>(code), asio::error::get_ssl_category()}};
        // No errno: the peer closed the TCP connection without close_notify.
        if (saved_errno == 0) return {step::failed, asio::ssl::error::stream_truncated};
        return {step::failed, {saved_errno, boost::system::system_category()}};
    }
    default: {
        is_broken_ = true;
        const auto code = ERR_peek_last_error();
        ERR_clear_error();
        // OpenSSL 3 reports a TCP close without close_notify as an SSL error of its own.
        if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return {step::failed, asio::ssl::error::stream_truncated};
        if (code == 0) return {step::failed, asio::ssl::error::unspecified_system_error};
        return {step::failed, {static_cast<int>(code), asio::error::get_ssl_category()}};
    }
    }
}

// The error queue is per thread and shared by every connection on it: clear it before each call, so that
// SSL_get_error reads this call's errors only.
auto tls_stream::try_handshake() -> outcome {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_.get());
    return result_of(ret, errno);
}

auto tls_stream::try_read(asio::mutable_buffer b, std::size_t& n) -> outcome {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_read_ex(ssl_.get(), b.data(), b.size(), &n);
    return result_of(ret, errno);
}

auto tls_stream::try_write(asio::const_buffer b, std::size_t& n) -> outcome {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_write_ex(ssl_.get(), b.data(), b.size(), &n);
    return result_of(ret, errno);
}

void tls_stream::close() {
    if (!socket_.is_open()) return;
    if (ssl_ && !is_broken_ && SSL_is_init_finished(ssl_.get()) == 1) {
        // One attempt, never a wait: close_notify goes out when the socket has room for it.
        ERR_clear_error();
        SSL_shutdown(ssl_.get());
        ERR_clear_error();
    }
    boost::system::error_code ignored;
    socket_.shutdown(socket_type::shutdown_both, ignored);
    socket_.close(ignored);
}

void teardown(boost::beast::role_type, tls_stream& stream, boost::system::error_code& ec) {
    ec = {};
    stream.close();
}

}  // namespace mqttd::net
