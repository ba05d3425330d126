#pragma once
// The broker-wide subscription index and retained store, shared by every shard.
// Warning: every method is called from all shard threads; each takes its own short locks, never across I/O.
// Lock order, everywhere: the retained store before the topic tree.

#include <string_view>
#include <vector>

#include "broker/core/guarded.hpp"
#include "broker/core/message.hpp"
#include "broker/core/retained_store.hpp"
#include "broker/core/topic_tree.hpp"

namespace mqttd::core {

class router {
public:
    // How shared subscriptions pick members; set before the first subscription (a group keeps the strategy
    // it was made with).
    void set_share_strategies(share_strategies strategies) { strategies_ = std::move(strategies); }

    // Adds the subscription and appends the retained messages its filter matches [MQTT-3.8.4-3], as one
    // step with respect to publish(): a message published concurrently is either found here as a retained
    // message or matched by the new subscription, never both [MQTT-3.3.1-9]. A valid `$share/GROUP/FILTER`
    // joins the group instead, and finds no retained messages (MQTT 5, 4.8.2); callers refuse invalid ones.
    void subscribe(const subscriber& s, std::string_view filter, std::vector<message_ptr>& retained_out);
    // Restores a stored subscription at start-up: no retained messages are sent for it.
    void subscribe(const subscriber& s, std::string_view filter);
    void unsubscribe(const session_slot* s, std::string_view filter);

    // Updates the retained store when the message is retained, then fills `out` with one target per
    // subscribed session at the highest QoS any of its matching filters grants (overlapping subscriptions
    // deliver once), and one per matching group, picked for `publisher` (its client id), kept apart: a session
    // that is a group's pick gets that copy as well as its own. `out` is cleared first; callers reuse it.
    void publish(const message_ptr& msg, std::vector<subscriber>& out, std::string_view publisher = {});

    // Another member of the group a share tag names, for a message the member it went to cannot finish;
    // false when the group has no member left.
    bool pick_shared(const share_ref& tag, std::string_view publisher, subscriber& out) const;

    void retained_for(std::string_view filter, std::vector<message_ptr>& out) const;
    // Removes every retained message the filter matches, as if an empty retained message had been published
    // to each topic but without delivering one [MQTT-3.3.1-10]; appends what it removed to `out`.
    void erase_retained(std::string_view filter, std::vector<message_ptr>& out);

    std::size_t subscription_count() const { return tree_.read()->subscription_count(); }
    std::size_t retained_count() const { return retained_.read()->size(); }
    std::size_t retained_bytes() const { return retained_.read()->bytes(); }

private:
    share_strategies strategies_;
    guarded<topic_tree> tree_;
    guarded<retained_store> retained_;
};

}  // namespace mqttd::core
