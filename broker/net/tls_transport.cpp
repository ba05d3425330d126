#include "broker/net/tls_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/x509.h>

#include "broker/net/tcp_transport.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string peer_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return {};
    std::string cn;
    if (X509_NAME* subject = X509_get_subject_name(cert)) {
        const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (index >= 0) {
            const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
            unsigned char* utf8 = nullptr;
            const int length = ASN1_STRING_to_UTF8(&utf8, data);
            if (length > 0) cn.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
            OPENSSL_free(utf8);
        }
    }
    X509_free(cert);
    return cn;
}

tls_transport::tls_transport(tcp_socket socket, std::string peer_address, ssl_context_ptr context)
    : stream_{std::move(socket), std::move(context)} {
    peer_.address = std::move(peer_address);
    set_no_delay(stream_.next_layer());
}

asio::awaitable<boost::system::error_code> tls_transport::handshake() {
    auto [ec] = co_await stream_.async_handshake(as_tuple_awaitable);
    if (!ec) cert_cn_ = peer_common_name(stream_.native_handle());
    co_return ec;
}

asio::awaitable<io_result> tls_transport::read_some(asio::mutable_buffer b) {
    co_return co_await stream_.async_read_some(b, as_tuple_awaitable);
}

// The stream gathers the packets into records of up to 16 KB itself.
asio::awaitable<io_result> tls_transport::write_all(std::span<const asio::const_buffer> buffers) {
    co_return co_await asio::async_write(stream_, buffers, as_tuple_awaitable);
}

void tls_transport::close() { stream_.close(); }

}  // namespace mqttd::net
