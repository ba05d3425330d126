#include "storage/recovery.hpp"

#include <algorithm>
#include <utility>

#include "storage/encoding.hpp"

namespace mqttd::storage {
namespace {

bool is_known_kind(char c) noexcept { return c == 'm' || c == 'q' || c == 'i' || c == 's' || c == 'r'; }

}  // namespace

recovery_builder::client_data& recovery_builder::client(std::string_view client_id) {
    if (last_client_ < clients_.size() && clients_[last_client_].session.client_id == client_id)
        return clients_[last_client_];
    const auto [it, is_new] = client_index_.try_emplace(std::string{client_id}, clients_.size());
    if (is_new) {
        clients_.emplace_back();
        clients_.back().session.client_id = client_id;
    }
    last_client_ = it->second;
    return clients_[last_client_];
}

void recovery_builder::add(std::string_view key, std::string_view value) {
    parsed_key k;
    if (!parse_key(key, k)) {
        // Unknown kinds are not damage: a later mqttd may add some, and its store must not be set aside.
        if (key.empty() || !is_known_kind(key[0]))
            throw storage_error{describe_key(key) +
                                ": not a key this mqttd knows (written by a newer version?)"};
        throw corrupt_value_error{describe_key(key) + ": malformed key"};
    }
    switch (k.kind) {
    case key_kind::message:
        result_.state.messages.push_back(decode_message(key, k.id, value));
        max_id_ = std::max(max_id_, k.id);
        break;
    case key_kind::queue:
        client(k.name).session.queue.push_back(decode_queue_entry(key, k.id, value));
        max_id_ = std::max(max_id_, k.id);
        break;
    case key_kind::inbound:
        check_inbound_id(key, value);
        client(k.name).session.inbound_ids.push_back(static_cast<std::uint16_t>(k.id));
        break;
    case key_kind::session: {
        auto& c = client(k.name);
        c.session.subscriptions = decode_session(key, value);
        c.has_record = true;
        break;
    }
    case key_kind::retained: result_.state.retained.push_back(decode_retained(key, k.name, value)); break;
    }
}

recovery_result recovery_builder::finish() {
    auto& state = result_.state;
    auto& refs = result_.references;
    const auto by_id = [](const stored_message& a, const stored_message& b) { return a.id < b.id; };
    if (!std::is_sorted(state.messages.begin(), state.messages.end(), by_id))
        std::sort(state.messages.begin(), state.messages.end(), by_id);
    refs.reserve(state.messages.size());
    for (const auto& m : state.messages) refs.set(m.id, {});

    std::size_t dangling = 0, homeless_entries = 0, homeless_ids = 0, homeless_clients = 0;
    std::string first_dangling, first_homeless;
    for (auto& c : clients_) {
        auto& s = c.session;
        if (!c.has_record) {
            if (homeless_clients++ == 0) first_homeless = quote(s.client_id);
            homeless_entries += s.queue.size();
            homeless_ids += s.inbound_ids.size();
            for (const auto& e : s.queue) result_.stale_keys.push_back(queue_key(s.client_id, e.message_id));
            for (const auto id : s.inbound_ids) result_.stale_keys.push_back(inbound_key(s.client_id, id));
            continue;
        }
        std::erase_if(s.queue, [&](const queue_entry& e) {
            if (auto* count = refs.find(e.message_id)) {
                ++count->entries;
                return false;
            }
            auto key = queue_key(s.client_id, e.message_id);
            if (dangling++ == 0) first_dangling = describe_key(key);
            result_.stale_keys.push_back(std::move(key));
            return true;
        });
    }

    std::size_t orphans = 0;
    std::erase_if(state.messages, [&](const stored_message& m) {
        if (refs.find(m.id)->entries > 0) return false;
        ++orphans;
        refs.erase(m.id);
        result_.stale_keys.push_back(message_key(m.id));
        return true;
    });

    std::erase_if(clients_, [](const client_data& c) { return !c.has_record; });
    std::sort(clients_.begin(), clients_.end(), [](const client_data& a, const client_data& b) {
        return a.session.client_id < b.session.client_id;
    });
    state.sessions.reserve(clients_.size());
    for (auto& c : clients_) state.sessions.push_back(std::move(c.session));
    clients_.clear();
    client_index_.clear();
    last_client_ = SIZE_MAX;
    state.next_message_id = max_id_ + 1;

    if (orphans > 0)
        result_.notes.push_back({note_level::info, "dropped " + std::to_string(orphans) +
                                                       " message bodies no queue entry refers to"});
    if (dangling > 0)
        result_.notes.push_back(
            {note_level::warning,
             "dropped " + std::to_string(dangling) +
                 " queue entries whose message body is missing (first: " + first_dangling + ")"});
    if (homeless_clients > 0)
        result_.notes.push_back(
            {note_level::warning, "dropped " + std::to_string(homeless_entries) + " queue entries and " +
                                      std::to_string(homeless_ids) + " inbound packet ids of " +
                                      std::to_string(homeless_clients) +
                                      " clients without a stored session (first: " + first_homeless + ")"});
    return std::move(result_);
}

}  // namespace mqttd::storage
