// tls_stream against Asio's own TLS client, in one process on loopback: records whole in both directions, the
// readiness wait that must see what OpenSSL already holds, close_notify, truncation and garbage.

#include "broker/net/tls_stream.hpp"

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "broker/net/transport.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace mqttd;

namespace {

constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);
using client_stream = asio::ssl::stream<tcp::socket>;

// A throwaway self-signed P-256 certificate, made in memory: no key material in the repository.
net::ssl_context_ptr make_server_context() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    REQUIRE(SSL_CTX_use_certificate(context->native_handle(), cert) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(context->native_handle(), key) == 1);
    X509_free(cert);
    EVP_PKEY_free(key);
    return context;
}

std::vector<std::uint8_t> pattern(std::size_t n, unsigned seed) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(i * 31 + seed);
    return bytes;
}

// One accepted server stream and one connected client, on one io_context; `server` and `client` run as
// coroutines against them, bounded by a 10 s run.
struct pair_fixture {
    asio::io_context ioc;
    asio::ssl::context client_context{asio::ssl::context::tls_client};
    std::unique_ptr<net::tls_stream> server;
    std::unique_ptr<client_stream> client;

    pair_fixture() {
        tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
        tcp::socket client_socket{ioc};
        client_socket.connect(acceptor.local_endpoint());
        server = std::make_unique<net::tls_stream>(acceptor.accept(ioc), make_server_context());
        client_context.set_verify_mode(asio::ssl::verify_none);
        client = std::make_unique<client_stream>(std::move(client_socket), client_context);
    }

    template <class Server, class Client>
    void run(Server server_side, Client client_side) {
        asio::co_spawn(ioc, server_side(), asio::detached);
        asio::co_spawn(ioc, client_side(), asio::detached);
        ioc.run_for(std::chrono::seconds{10});
    }
};

}  // namespace

TEST_CASE("tls_stream: 300 KB one way and a gathered write the other arrive whole") {
    pair_fixture f;
    const auto up = pattern(300 * 1024, 1);
    const auto down_a = pattern(3, 2), down_b = pattern(100 * 1024, 3), down_c = pattern(5, 4);
    std::vector<std::uint8_t> got_up(up.size()), got_down(down_a.size() + down_b.size() + down_c.size());
    boost::system::error_code server_ec, client_ec;
    f.run(
        [&]() -> asio::awaitable<void> {
            auto [ec] = co_await f.server->async_handshake(as_tuple_awaitable);
            if (!ec) std::tie(ec, std::ignore) = co_await asio::async_read(*f.server, asio::buffer(got_up), as_tuple_awaitable);
            const std::array buffers{asio::buffer(down_a), asio::buffer(down_b), asio::buffer(down_c)};
            if (!ec) std::tie(ec, std::ignore) = co_await asio::async_write(*f.server, buffers, as_tuple_awaitable);
            server_ec = ec;
        },
        [&]() -> asio::awaitable<void> {
            auto [ec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, as_tuple_awaitable);
            if (!ec) std::tie(ec, std::ignore) = co_await asio::async_write(*f.client, asio::buffer(up), as_tuple_awaitable);
            if (!ec) std::tie(ec, std::ignore) = co_await asio::async_read(*f.client, asio::buffer(got_down), as_tuple_awaitable);
            client_ec = ec;
        });
    CHECK_FALSE(server_ec);
    CHECK_FALSE(client_ec);
    CHECK(got_up == up);
    std::vector<std::uint8_t> down = down_a;
    down.insert(down.end(), down_b.begin(), down_b.end());
    down.insert(down.end(), down_c.begin(), down_c.end());
    CHECK(got_down == down);
}

TEST_CASE("tls_stream: the readiness wait completes for bytes OpenSSL already took off the socket") {
    // One 10-byte record; the server reads 1 byte of it. The other 9 are decrypted inside OpenSSL and the
    // socket has nothing more: a wait on the socket alone would never end (an idle connection would hang).
    pair_fixture f;
    bool woke = false;
    std::size_t rest = 0;
    f.run(
        [&]() -> asio::awaitable<void> {
            auto [ec] = co_await f.server->async_handshake(as_tuple_awaitable);
            REQUIRE_FALSE(ec);
            std::array<std::uint8_t, 10> bytes{};
            auto [read_ec, n] = co_await f.server->async_read_some(asio::buffer(bytes.data(), 1), as_tuple_awaitable);
            REQUIRE_FALSE(read_ec);
            REQUIRE(n == 1);
            asio::steady_timer give_up{f.ioc, std::chrono::seconds{3}};
            give_up.async_wait([&](boost::system::error_code timer_ec) {
                if (!timer_ec) f.server->close();
            });
            f.server->async_wait_readable([&](boost::system::error_code wait_ec) {
                woke = !wait_ec;
                give_up.cancel();
            });
            co_await give_up.async_wait(as_tuple_awaitable);
            if (!woke) co_return;
            std::tie(read_ec, rest) = co_await f.server->async_read_some(asio::buffer(bytes), as_tuple_awaitable);
            f.server->close();
        },
        [&]() -> asio::awaitable<void> {
            auto [ec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, as_tuple_awaitable);
            REQUIRE_FALSE(ec);
            const auto record = pattern(10, 5);
            co_await asio::async_write(*f.client, asio::buffer(record), as_tuple_awaitable);
            std::array<std::uint8_t, 16> sink{};
            co_await f.client->async_read_some(asio::buffer(sink), as_tuple_awaitable);  // until the server closes
        });
    CHECK(woke);
    CHECK(rest == 9);
}

TEST_CASE("tls_stream: close() sends close_notify, and a peer's TCP close without it is stream_truncated") {
    SUBCASE("the broker closes") {
        pair_fixture f;
        boost::system::error_code client_read;
        f.run(
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await f.server->async_handshake(as_tuple_awaitable);
                REQUIRE_FALSE(ec);
                f.server->close();
            },
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, as_tuple_awaitable);
                REQUIRE_FALSE(ec);
                std::array<std::uint8_t, 16> sink{};
                std::tie(client_read, std::ignore) = co_await f.client->async_read_some(asio::buffer(sink), as_tuple_awaitable);
            });
        CHECK(client_read == asio::error::eof);  // close_notify; without it, Asio reports stream_truncated
    }
    SUBCASE("the client drops the TCP connection") {
        pair_fixture f;
        boost::system::error_code server_read;
        f.run(
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await f.server->async_handshake(as_tuple_awaitable);
                REQUIRE_FALSE(ec);
                std::array<std::uint8_t, 16> sink{};
                std::tie(server_read, std::ignore) = co_await f.server->async_read_some(asio::buffer(sink), as_tuple_awaitable);
            },
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, as_tuple_awaitable);
                REQUIRE_FALSE(ec);
                f.client->next_layer().close();
            });
        CHECK(server_read == asio::ssl::error::stream_truncated);
        CHECK(net::is_normal_close(server_read));
    }
}

TEST_CASE("tls_stream: garbage instead of a ClientHello fails the handshake at once, as an SSL error") {
    pair_fixture f;
    boost::system::error_code handshake_ec;
    f.run(
        [&]() -> asio::awaitable<void> {
            std::tie(handshake_ec) = co_await f.server->async_handshake(as_tuple_awaitable);
            f.server->close();
        },
        [&]() -> asio::awaitable<void> {
            const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            co_await asio::async_write(f.client->next_layer(), asio::buffer(request), as_tuple_awaitable);
            std::array<std::uint8_t, 64> sink{};
            co_await f.client->next_layer().async_read_some(asio::buffer(sink), as_tuple_awaitable);
        });
    REQUIRE(handshake_ec);
    CHECK(handshake_ec.category() == asio::error::get_ssl_category());
}
