#pragma once
// Who may publish, subscribe to and receive what, as the core sees it: an immutable snapshot (the ACL file,
// parsed), read from every shard thread. A reload makes a new snapshot and publishes it through an
// access_rules_source; each shard picks it up at its next input, so new rules apply to the next PUBLISH,
// SUBSCRIBE or delivery of clients already connected.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace mqttd::core {

struct client_identity {
    std::optional<std::string_view> username;  // none: an anonymous client
    std::string_view client_id;
};

class access_rules {
public:
    virtual ~access_rules() = default;
    // Write access to a topic name: a PUBLISH, a retained message or a will.
    virtual bool may_publish(const client_identity& who, std::string_view topic) const = 0;
    // A SUBSCRIBE filter as a whole; a filter allowed here may still overlap topics the client may not read.
    virtual bool may_subscribe(const client_identity& who, std::string_view filter) const = 0;
    // Read access to a topic name, checked per message delivered (live or retained).
    virtual bool may_receive(const client_identity& who, std::string_view topic) const = 0;
};

// Warning: called from all threads. Holds the current snapshot (null: everything allowed).
class access_rules_source {
public:
    void publish(std::shared_ptr<const access_rules> rules) {
        std::lock_guard lock{mutex_};
        rules_ = std::move(rules);
        generation_.fetch_add(1, std::memory_order_release);
    }
    // Cheap enough to check on every input; fetch current() only when it changed.
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    std::shared_ptr<const access_rules> current() const {
        std::lock_guard lock{mutex_};
        return rules_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const access_rules> rules_;
    std::atomic<std::uint64_t> generation_{0};
};

}  // namespace mqttd::core
