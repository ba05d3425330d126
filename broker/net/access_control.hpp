#pragma once
// The broker's side of authentication and authorization: the password file, checked off the event loops on a
// thread pool of its own; the ACL file, published to every shard as core::access_rules; the slowing of
// repeated failures from one address; and SIGHUP reloads, which keep the old files when a new one is broken.
// Warning: shared by all workers; every method is safe from any thread.

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth/acl_file.hpp"
#include "auth/password_file.hpp"
#include "broker/core/access_rules.hpp"
#include "broker/net/failed_logins.hpp"
#include "broker/net/server_options.hpp"

namespace mqttd::net {

class access_control {
public:
    // Loads the files now; throws auth::load_error naming file, line and reason.
    explicit access_control(const auth_options& options);
    ~access_control();

    bool has_password_file() const noexcept { return !options_.password_file.empty(); }
    // What the shards consult for every PUBLISH, SUBSCRIBE and delivery.
    core::access_rules_source& rules() noexcept { return rules_; }

    // Checks a password on the pool; the awaiting coroutine resumes on its own executor.
    boost::asio::awaitable<bool> verify(std::string username, std::string password);
    failed_logins& failures() noexcept { return failures_; }

    // SIGHUP: re-reads both files. Throws (keeping the files in use) when one is broken.
    void reload();

private:
    void load();

    auth_options options_;
    boost::asio::thread_pool pool_;
    mutable std::mutex mutex_;
    std::shared_ptr<const auth::password_file> passwords_;
    core::access_rules_source rules_;
    failed_logins failures_;
};

}  // namespace mqttd::net
