#include "broker/net/tls_context.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mqttd::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's own words for the last failure, e.g. "key values mismatch".
std::string openssl_reason(const boost::system::error_code& ec) {
    std::string reason = ec.message();
    if (const auto code = ERR_get_error(); code != 0) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        reason = text;
    }
    ERR_clear_error();
    return reason;
}

void check_readable(const std::string& key, const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error{key + " \"" + path + "\": cannot open the file"};
}

std::string read_passphrase(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error{"key_password_file \"" + path + "\": cannot open the file"};
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    return line;
}

}  // namespace

ssl_context_ptr make_ssl_context(const tls_options& options) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    boost::system::error_code ec;
    // No SSLv2/3, TLS 1.0 or 1.1: OpenSSL 3 refuses most of them already; say so explicitly.
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::single_dh_use);
    const int min_version = options.min_tls_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx->native_handle(), min_version);
    if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx->native_handle(), options.ciphers.c_str()) != 1)
        throw std::runtime_error{"ciphers \"" + options.ciphers + "\": " + openssl_reason({})};
    if (!options.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(ctx->native_handle(), options.ciphersuites.c_str()) != 1)
        throw std::runtime_error{"ciphersuites \"" + options.ciphersuites + "\": " + openssl_reason({})};

    if (!options.key_password_file.empty()) {
        auto passphrase = read_passphrase(options.key_password_file);
        ctx->set_password_callback([passphrase](std::size_t, ssl::context::password_purpose) { return passphrase; });
    }
    check_readable("cert_file", options.cert_file);
    ctx->use_certificate_chain_file(options.cert_file, ec);
    if (ec) throw std::runtime_error{"cert_file \"" + options.cert_file + "\": " + openssl_reason(ec)};
    check_readable("key_file", options.key_file);
    ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec)
        throw std::runtime_error{"key_file \"" + options.key_file + "\" (for cert_file \"" + options.cert_file +
                                 "\"): " + openssl_reason(ec)};
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        throw std::runtime_error{"key_file \"" + options.key_file + "\" does not match cert_file \"" +
                                 options.cert_file + "\": " + openssl_reason({})};

    if (!options.ca_file.empty()) {
        check_readable("ca_file", options.ca_file);
        ctx->load_verify_file(options.ca_file, ec);
        if (ec) throw std::runtime_error{"ca_file \"" + options.ca_file + "\": " + openssl_reason(ec)};
        ctx->set_verify_mode(ssl::verify_peer |
                             (options.require_client_cert ? ssl::verify_fail_if_no_peer_cert : ssl::verify_none));
    } else {
        ctx->set_verify_mode(ssl::verify_none);
    }
    return ctx;
}

reloadable_ssl_context::reloadable_ssl_context(tls_options options)
    : options_{std::move(options)}, context_{make_ssl_context(options_)} {}

tls_options reloadable_ssl_context::options() const {
    std::lock_guard lock{mutex_};
    return options_;
}

ssl_context_ptr reloadable_ssl_context::current() const {
    std::lock_guard lock{mutex_};
    return context_;
}

void reloadable_ssl_context::reload() {
    auto fresh = make_ssl_context(options());
    std::lock_guard lock{mutex_};
    context_ = std::move(fresh);
}

void reloadable_ssl_context::replace(tls_options options, ssl_context_ptr context) {
    std::lock_guard lock{mutex_};
    options_ = std::move(options);
    context_ = std::move(context);
}

}  // namespace mqttd::net
