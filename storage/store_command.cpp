#include "storage/store_command.hpp"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/encoding.hpp"
#include "storage/rocksdb_engine.hpp"

namespace mqttd::storage {
namespace {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). Payloads are bytes;
// those that are text are exported as text, for a person to read.
bool is_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;  // cut short
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

// RFC 4648 section 4, with padding. (auth/ has one too, but storage/ must not depend on auth/'s OpenSSL.)
std::string base64(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        std::uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
        out.push_back(alphabet[(group >> 18) & 63]);
        out.push_back(alphabet[(group >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? alphabet[(group >> 6) & 63] : '=');
        out.push_back(i + 2 < bytes.size() ? alphabet[group & 63] : '=');
    }
    return out;
}

void add_payload(nlohmann::ordered_json& j, const std::string& payload) {
    if (is_utf8(payload))
        j["payload"] = payload;
    else
        j["payload_base64"] = base64(payload);
}

const char* state_name(delivery_state s) noexcept {
    switch (s) {
    case delivery_state::queued: return "queued";
    case delivery_state::awaiting_puback: return "awaiting_puback";
    case delivery_state::awaiting_pubrec: return "awaiting_pubrec";
    case delivery_state::awaiting_pubcomp: return "awaiting_pubcomp";
    }
    return "unknown";
}

void print_sessions(const recovered_state& state, std::ostream& out) {
    for (const auto& s : state.sessions) {
        std::size_t inflight = 0;
        for (const auto& e : s.queue) inflight += e.state != delivery_state::queued;
        out << "client_id=" << quote(s.client_id) << " subscriptions=" << s.subscriptions.size()
            << " queue=" << s.queue.size() << " inflight=" << inflight << " inbound_ids=";
        for (std::size_t i = 0; i < s.inbound_ids.size(); ++i) out << (i ? "," : "") << s.inbound_ids[i];
        out << '\n';
    }
}

void print_retained(const recovered_state& state, std::ostream& out) {
    for (const auto& m : state.retained)
        out << "topic=" << quote(m.topic) << " qos=" << int{m.qos} << " payload_bytes=" << m.payload.size()
            << '\n';
}

nlohmann::ordered_json message_json(const stored_message& m, bool has_id) {
    nlohmann::ordered_json j;
    if (has_id) j["id"] = m.id;
    j["topic"] = m.topic;
    j["qos"] = m.qos;
    if (has_id) j["retain"] = m.retain;
    add_payload(j, m.payload);
    return j;
}

// Keys in the order a person reads them (ordered_json), not sorted.
void print_export(const recovered_state& state, std::ostream& out) {
    nlohmann::ordered_json doc;
    doc["next_message_id"] = state.next_message_id;
    auto& retained = doc["retained"] = nlohmann::ordered_json::array();
    for (const auto& m : state.retained) retained.push_back(message_json(m, false));
    auto& sessions = doc["sessions"] = nlohmann::ordered_json::array();
    for (const auto& s : state.sessions) {
        nlohmann::ordered_json j;
        j["client_id"] = s.client_id;
        auto& subs = j["subscriptions"] = nlohmann::ordered_json::array();
        for (const auto& sub : s.subscriptions) subs.push_back({{"filter", sub.filter}, {"qos", sub.qos}});
        auto& queue = j["queue"] = nlohmann::ordered_json::array();
        for (const auto& e : s.queue)
            queue.push_back({{"message_id", e.message_id},
                             {"qos", e.qos},
                             {"retain", e.retain},
                             {"state", state_name(e.state)},
                             {"packet_id", e.packet_id}});
        j["inbound_ids"] = s.inbound_ids;
        sessions.push_back(std::move(j));
    }
    auto& messages = doc["messages"] = nlohmann::ordered_json::array();
    for (const auto& m : state.messages) messages.push_back(message_json(m, true));
    // Client ids and topics are UTF-8 by MQTT's rules; should a damaged one not be, it is shown, not fatal.
    out << doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

}  // namespace

std::string_view store_usage() noexcept {
    return "Usage: mqttd-store DIR sessions | retained | export\n"
           "Shows what the mqttd store in DIR holds. Reads it without changing it, so it works while mqttd "
           "runs.\n"
           "  sessions  one line per persistent session: client id, subscriptions, queued messages (those "
           "in\n"
           "            flight included), messages in flight, inbound QoS 2 packet ids awaiting PUBREL\n"
           "  retained  one line per retained message: topic, QoS, payload size in bytes\n"
           "  export    everything as JSON; a payload that is UTF-8 text is shown as \"payload\", any other "
           "as\n"
           "            \"payload_base64\"\n"
           "Exit codes: 0 done, 1 the store could not be read, 2 a bad command line.\n";
}

int run_store_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
        out << store_usage();
        return 0;
    }
    if (args.size() != 2 || (args[1] != "sessions" && args[1] != "retained" && args[1] != "export")) {
        if (args.size() == 2) err << "mqttd-store: unknown command \"" << args[1] << "\"\n";
        err << store_usage();
        return 2;
    }
    try {
        const auto store = rocksdb_engine::open_read_only(std::string{args[0]});
        const auto state = store->recover();
        for (const auto& n : store->take_notes())
            err << "mqttd-store: " << (n.level == note_level::info ? "note" : "warning") << ": " << n.text
                << '\n';
        if (args[1] == "sessions")
            print_sessions(state, out);
        else if (args[1] == "retained")
            print_retained(state, out);
        else
            print_export(state, out);
        out.flush();
        if (!out) {
            err << "mqttd-store: cannot write the output\n";
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        err << "mqttd-store: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace mqttd::storage
