#include "engine_fixtures.hpp"

#include <sstream>

#include <rocksdb/db.h>

#include "storage/encoding.hpp"

namespace mqttd::storage::test {

bool rocksdb_fixture::has_key(const std::string& key) {
    // A second, read-only view of the files: the engine under test is left alone.
    rocksdb::DB* raw = nullptr;
    const auto status = rocksdb::DB::OpenForReadOnly(rocksdb::Options{}, (dir / "store").string(), &raw);
    REQUIRE_MESSAGE(status.ok(), status.ToString());
    const std::unique_ptr<rocksdb::DB> db{raw};
    std::string value;
    const auto found = db->Get(rocksdb::ReadOptions{}, key, &value);
    REQUIRE((found.ok() || found.IsNotFound()));
    return found.ok();
}

stored_message make_message(std::uint64_t id, std::string topic, std::string payload, std::uint8_t qos,
                            bool retain) {
    return stored_message{id, std::move(topic), std::move(payload), qos, retain};
}

queue_entry make_entry(std::uint64_t id, delivery_state state, std::uint16_t packet_id, std::uint8_t qos) {
    return queue_entry{id, qos, false, state, packet_id};
}

put_session make_session(std::string client_id, std::vector<subscription_record> subscriptions) {
    return put_session{std::move(client_id), std::move(subscriptions)};
}

std::string describe(const recovered_state& state) {
    std::ostringstream out;
    out << "next_message_id " << state.next_message_id << '\n';
    for (const auto& m : state.retained)
        out << "retained " << quote(m.topic) << " qos " << int{m.qos} << " payload " << quote(m.payload)
            << '\n';
    for (const auto& m : state.messages)
        out << "message " << m.id << ' ' << quote(m.topic) << " qos " << int{m.qos} << " retain " << m.retain
            << " payload " << quote(m.payload) << '\n';
    for (const auto& s : state.sessions) {
        out << "session " << quote(s.client_id) << '\n';
        for (const auto& sub : s.subscriptions)
            out << "  subscription " << quote(sub.filter) << ' ' << int{sub.qos} << '\n';
        for (const auto& e : s.queue)
            out << "  entry " << e.message_id << " qos " << int{e.qos} << " retain " << e.retain << " state "
                << int(e.state) << " packet " << e.packet_id << '\n';
        for (const auto id : s.inbound_ids) out << "  inbound " << id << '\n';
    }
    return out.str();
}

const recovered_session* find_session(const recovered_state& state, const std::string& client_id) {
    for (const auto& s : state.sessions)
        if (s.client_id == client_id) return &s;
    return nullptr;
}

}  // namespace mqttd::storage::test
