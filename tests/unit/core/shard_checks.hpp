#pragma once
// What the shard tests look at: packets a fake client received, and the invariants of the migration
// protocol (one owner per client id; every message taken in once, in publish order per publisher).

#include <charconv>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "shard_scheduler.hpp"

namespace mqttd::test {

inline protocol::bytes_view bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline std::string text(protocol::bytes_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

inline core::connection_params params(std::string client_id, bool clean_session, core::message_ptr will = nullptr) {
    core::connection_params p;
    p.client_id = std::move(client_id);
    p.clean_session = clean_session;
    p.will = std::move(will);
    return p;
}

inline protocol::publish publish(std::string_view topic, protocol::qos q, protocol::packet_id id, std::string_view payload) {
    return protocol::publish{false, q, false, topic, id, bytes(payload)};
}

inline protocol::subscribe subscribe(protocol::packet_id id, std::string_view filter, protocol::qos q) {
    return protocol::subscribe{id, {{filter, q}}};
}

// Control packets of type P the client received, in order.
template <class P>
std::vector<P> packets_of(const fake_client& c) {
    std::vector<P> out;
    for (const auto& o : c.received)
        if (const auto* s = std::get_if<core::send_packet>(&o))
            if (const auto* p = std::get_if<P>(&s->packet)) out.push_back(*p);
    return out;
}

inline std::vector<core::send_publish> publishes_of(const fake_client& c) {
    std::vector<core::send_publish> out;
    for (const auto& o : c.received)
        if (const auto* p = std::get_if<core::send_publish>(&o)) out.push_back(*p);
    return out;
}

// Payloads are "PUBLISHER:SEQ"; returns {publisher, seq}, or seq 0 for another shape.
inline std::pair<std::string, long> publisher_and_seq(std::string_view payload) {
    const auto colon = payload.rfind(':');
    if (colon == std::string_view::npos) return {std::string{payload}, 0};
    long seq = 0;
    std::from_chars(payload.data() + colon + 1, payload.data() + payload.size(), seq);
    return {std::string{payload.substr(0, colon)}, seq};
}

// Records every message a session takes in, and what breaks the rules: the same message taken in twice by
// one incarnation, or a publisher's messages out of order [MQTT-4.6.0-6].
class intake_log final : public core::shard_observer {
public:
    void taken_in(const core::session_slot& slot, std::uint32_t epoch, const core::message_ptr& msg,
                  bool retained) override {
        if (retained) return;  // sent again on every matching SUBSCRIBE, by design [MQTT-3.3.1-6]
        if (!seen_.emplace(slot.client_id, epoch, msg).second)
            failures.push_back(slot.client_id + " took in " + text(msg->payload()) + " twice");
        taken[slot.client_id].push_back(text(msg->payload()));
        if (!checks_order) return;
        const auto [publisher, seq] = publisher_and_seq(text(msg->payload()));
        auto& last = last_seq_[{slot.client_id, epoch, publisher}];
        if (seq <= last) {
            std::ostringstream why;
            why << slot.client_id << " (epoch " << epoch << ") took in " << publisher << ":" << seq << " after "
                << publisher << ":" << last;
            failures.push_back(why.str());
        }
        last = seq;
    }

    bool checks_order = true;  // payloads are "PUBLISHER:SEQ" (the fuzzer's are not)
    std::vector<std::string> failures;
    std::map<std::string, std::vector<std::string>> taken;  // by client id, in intake order

private:
    std::set<std::tuple<std::string, std::uint32_t, core::message_ptr>> seen_;
    std::map<std::tuple<std::string, std::uint32_t, std::string>, long> last_seq_;
};

// [one owner] a registered client id's session is in exactly one shard's table or in exactly one transfer
// on a channel; a released one is nowhere. Returns a description of the break, or "".
inline std::string owner_problem(const shard_scheduler& s, const std::string& client_id) {
    const auto slot = s.registry.find(client_id);
    if (!slot) return "";
    std::size_t holders = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s.at(i).find_session(slot.get()) != nullptr) ++holders;
    s.for_each_in_flight([&](const core::shard_message& m) {
        if (const auto* t = std::get_if<core::session_transfer>(&m); t != nullptr && t->slot == slot) ++holders;
    });
    if (holders == 1) return "";
    return client_id + " has " + std::to_string(holders) + " holders";
}

inline std::string shard_problems(const shard_scheduler& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s.at(i).stats().unforeseen != 0) return "shard " + std::to_string(i) + " met an unforeseen state";
        // attach -> route -> deliver -> apply is as deep as it goes; a takeover's will adds one level.
        if (s.at(i).max_nesting() > 4) return "shard " + std::to_string(i) + " nested " + std::to_string(s.at(i).max_nesting()) + " deep";
    }
    return "";
}

}  // namespace mqttd::test
