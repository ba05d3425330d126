#pragma once
// The broker's side of authentication and authorization: the password file, checked off the event loops on a
// thread pool of its own; the ACL file, published to every shard as core::access_rules; the slowing of
// repeated failures from one address; and SIGHUP reloads, which keep the old files when a new one is broken.
// Warning: shared by all workers; every method is safe from any thread.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
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

    bool has_password_file() const noexcept { return has_password_file_.load(std::memory_order_relaxed); }
    // What the shards consult for every PUBLISH, SUBSCRIBE and delivery.
    core::access_rules_source& rules() noexcept { return rules_; }

    // Checks a password on the pool and hands the verdict straight back to the caller's executor (with
    // use_awaitable: the awaiting coroutine resumes there). When `abandoned` is set by then (the connection
    // closed while the check waited its turn), the hash is skipped and the verdict is false.
    // Arguments by reference, copied inside: GCC 12 destroys some temporaries of a co_await expression twice
    // (GCC PR 100611), so a caller's co_await must hold nothing but this call and its token.
    template <class Token>
    auto async_verify(const std::string& username, const std::string& password,
                      const std::shared_ptr<const std::atomic<bool>>& abandoned, Token&& token) {
        return boost::asio::async_initiate<Token, void(bool)>(
            [this, &username, &password, &abandoned](auto handler) {
                run_on_pool(username, password, abandoned, std::move(handler));
            },
            token);
    }
    failed_logins& failures() noexcept { return failures_; }

    // SIGHUP: re-reads both files. Throws (keeping the files in use) when one is broken.
    void reload();
    // Reload with a new auth section: reads the files it names (either may be new, or gone). Throws, keeping
    // the files in use, when one is broken. Warning: one reloading thread at a time. The failed-login delays
    // are fixed at start-up (README: "Reload").
    void reconfigure(const auth_options& options);

private:
    void load(const auth_options& options);
    std::shared_ptr<const auth::password_file> password_file() const;

    template <class Handler>
    void run_on_pool(std::string user, std::string pass, std::shared_ptr<const std::atomic<bool>> gone, Handler handler) {
        auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
        boost::asio::post(pool_, [passwords = password_file(), user = std::move(user), pass = std::move(pass),
                                  gone = std::move(gone), handler = std::move(handler), work = std::move(work)]() mutable {
            const bool is_valid = passwords && !gone->load(std::memory_order_relaxed) && passwords->verify(user, pass);
            auto executor = work.get_executor();
            boost::asio::dispatch(executor, [handler = std::move(handler), is_valid]() mutable { std::move(handler)(is_valid); });
        });
    }

    auth_options options_;  // the reloading thread's
    std::atomic<bool> has_password_file_{false};
    boost::asio::thread_pool pool_;
    mutable std::mutex mutex_;
    std::shared_ptr<const auth::password_file> passwords_;
    core::access_rules_source rules_;
    failed_logins failures_;
};

}  // namespace mqttd::net
