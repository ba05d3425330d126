#pragma once
// Builds the OpenSSL context of a TLS or WSS listener from its options, and holds the current one so that
// SIGHUP can swap in freshly read certificate files for new connections while existing ones keep theirs.

#include <memory>
#include <mutex>

#include <boost/asio/ssl/context.hpp>

#include "broker/net/server_options.hpp"

namespace mqttd::net {

using ssl_context_ptr = std::shared_ptr<boost::asio::ssl::context>;

// Throws std::runtime_error naming the file and OpenSSL's reason when a file is missing, unreadable or the
// key does not match the certificate.
ssl_context_ptr make_ssl_context(const tls_options& options);

// Warning: called from all threads (accept on worker 0, reload from the signal thread).
class reloadable_ssl_context {
public:
    explicit reloadable_ssl_context(tls_options options);

    ssl_context_ptr current() const;
    tls_options options() const;
    // Re-reads the files; on failure keeps the old context and throws the reason.
    void reload();
    // Reload with changed options: `context` was built from them (make_ssl_context) and serves new connections.
    void replace(tls_options options, ssl_context_ptr context);

private:
    tls_options options_;
    mutable std::mutex mutex_;
    ssl_context_ptr context_;
};

}  // namespace mqttd::net
