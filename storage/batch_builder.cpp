#include "storage/batch_builder.hpp"

#include <variant>

#include "storage/encoding.hpp"

namespace mqttd::storage {

void batch_builder::add(const operation& op) { std::visit(*this, op); }

const reference_count* batch_builder::count(std::uint64_t id) const {
    if (const auto it = changes_.find(id); it != changes_.end()) return it->second ? &*it->second : nullptr;
    return references_.find(id);
}

void batch_builder::drop_reference(std::uint64_t id) {
    const auto* current = count(id);
    // An entry whose body is missing can only come from a store damaged outside mqttd; recover() drops
    // such entries, so there is nothing to count here.
    if (current == nullptr) return;
    auto updated = *current;
    if (updated.entries > 0) --updated.entries;
    if (updated.total() == 0) {
        view_.erase(message_key(id));
        changes_.insert_or_assign(id, std::nullopt);
    } else {
        changes_.insert_or_assign(id, updated);
    }
}

bool batch_builder::has_session(const std::string& client_id) { return view_.contains(session_key(client_id)); }

void batch_builder::release_promise(std::uint64_t id) {
    const auto* current = count(id);
    if (current == nullptr || current->promised == 0) return;
    auto updated = *current;
    --updated.promised;
    if (updated.total() == 0) {
        view_.erase(message_key(id));
        changes_.insert_or_assign(id, std::nullopt);
    } else {
        changes_.insert_or_assign(id, updated);
    }
}

void batch_builder::operator()(const put_message& op) {
    const auto id = op.message.id;
    if (id == 0) throw storage_error{"put_message with id 0, which is kept for retained messages"};
    if (count(id) != nullptr) throw storage_error{"put_message " + std::to_string(id) + ": already stored"};
    if (op.message.topic.empty()) throw storage_error{"put_message " + std::to_string(id) + ": empty topic"};
    view_.put(message_key(id), encode_message(op.message));
    changes_.insert_or_assign(id, reference_count{0, op.references});
}

void batch_builder::operator()(const put_retained& op) {
    view_.put(retained_key(op.message.topic), encode_retained(op.message));
}

void batch_builder::operator()(const delete_retained& op) { view_.erase(retained_key(op.topic)); }

void batch_builder::operator()(const put_session& op) {
    view_.put(session_key(op.client_id), encode_session(op.subscriptions));
}

void batch_builder::operator()(const delete_session& op) {
    view_.erase(session_key(op.client_id));
    for (const auto& key : view_.keys_with_prefix(queue_prefix(op.client_id))) {
        parsed_key parsed;
        // keys_with_prefix only returns keys of this client's queue; one that does not parse is damage.
        if (!parse_key(key, parsed) || parsed.kind != key_kind::queue)
            throw corrupt_value_error{describe_key(key) + ": malformed queue key"};
        view_.erase(key);
        drop_reference(parsed.id);
    }
    for (const auto& key : view_.keys_with_prefix(inbound_prefix(op.client_id))) view_.erase(key);
}

void batch_builder::operator()(const put_queue_entry& op) {
    const auto id = op.entry.message_id;
    // A session discarded while a message was routed to it (another worker matched its subscription just
    // before it ended): nothing to queue, and the body's promise for it is given back.
    if (!has_session(op.client_id)) return release_promise(id);
    const auto* current = count(id);
    // The body went with the session's last entry (a state update that lost a race with its delete).
    if (current == nullptr) return;
    const auto key = queue_key(op.client_id, id);
    const bool is_new = !view_.contains(key);
    view_.put(key, encode_queue_entry(op.entry));
    if (!is_new) return;  // a state update: the entry already holds its reference
    auto updated = *current;
    ++updated.entries;
    if (updated.promised > 0) --updated.promised;
    changes_.insert_or_assign(id, updated);
}

void batch_builder::operator()(const delete_queue_entry& op) {
    const auto key = queue_key(op.client_id, op.message_id);
    if (!view_.contains(key)) return;
    view_.erase(key);
    drop_reference(op.message_id);
}

void batch_builder::operator()(const put_inbound_id& op) {
    if (op.packet_id == 0)
        throw storage_error{"put_inbound_id for client " + quote(op.client_id) + ": packet id 0"};
    if (!has_session(op.client_id)) return;  // the publisher's session ended meanwhile
    view_.put(inbound_key(op.client_id, op.packet_id), encode_inbound_id());
}

void batch_builder::operator()(const delete_inbound_id& op) {
    view_.erase(inbound_key(op.client_id, op.packet_id));
}

}  // namespace mqttd::storage
