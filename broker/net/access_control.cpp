#include "broker/net/access_control.hpp"

#include <thread>


#include "broker/logging/log.hpp"

namespace mqttd::net {

namespace asio = boost::asio;
using logging::level;
using logging::log_line;

namespace {

// The ACL file as the shards see it. SUBSCRIBE filters are checked as a whole (covering_rule): the client
// gets SUBACK 0x80 for a filter none of its read rules covers, as this project's README promises, where
// Mosquitto grants every SUBSCRIBE and only filters deliveries (which mqttd does too).
class acl_rules final : public core::access_rules {
public:
    explicit acl_rules(auth::acl_file acl) : acl_{std::move(acl)} {}
    bool may_publish(const core::client_identity& who, std::string_view topic) const override {
        return acl_.may_publish({who.username, who.client_id}, topic);
    }
    bool may_subscribe(const core::client_identity& who, std::string_view filter) const override {
        return acl_.may_subscribe({who.username, who.client_id}, filter);
    }
    bool may_receive(const core::client_identity& who, std::string_view topic) const override {
        return acl_.may_receive({who.username, who.client_id}, topic);
    }

private:
    auth::acl_file acl_;
};

// Hashing is CPU-bound by design: a thread per core, beside (not instead of) the event loops.
std::size_t pool_size() { return std::max(1u, std::thread::hardware_concurrency()); }

void log_warnings(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings) log_line{level::warning} << "event=auth_file_warning detail=" << logging::quoted{w};
}

}  // namespace

access_control::access_control(const auth_options& options)
    : options_{options},
      pool_{pool_size()},
      failures_{options.failed_login_delay, options.max_failed_login_delay, pool_size()} {
    load(options_);
}

access_control::~access_control() {
    pool_.stop();
    pool_.join();
}

void access_control::load(const auth_options& options) {
    // Both files are read before either is used, so a broken one changes nothing.
    std::shared_ptr<const auth::password_file> passwords;
    std::shared_ptr<const core::access_rules> rules;
    if (!options.password_file.empty()) {
        auto file = auth::password_file::load(options.password_file);
        log_warnings(file.warnings());
        passwords = std::make_shared<const auth::password_file>(std::move(file));
    }
    if (!options.acl_file.empty()) {
        auto acl = auth::acl_file::load(options.acl_file, auth::subscribe_check::covering_rule);
        log_warnings(acl.warnings());
        rules = std::make_shared<const acl_rules>(std::move(acl));
    }
    {
        std::lock_guard lock{mutex_};
        passwords_ = std::move(passwords);
        has_password_file_.store(passwords_ != nullptr, std::memory_order_relaxed);
    }
    rules_.publish(std::move(rules));
}

void access_control::reload() { load(options_); }

void access_control::reconfigure(const auth_options& options) {
    load(options);  // throws before anything changes
    options_ = options;
}

std::shared_ptr<const auth::password_file> access_control::password_file() const {
    std::lock_guard lock{mutex_};
    return passwords_;
}

}  // namespace mqttd::net
