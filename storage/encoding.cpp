#include "storage/encoding.hpp"

#include <cstddef>
#include <limits>
#include <utility>

namespace mqttd::storage {
namespace {

constexpr std::size_t max_string = std::numeric_limits<std::uint16_t>::max();

// Message and queue entry flags: bits 0-1 QoS, bit 2 RETAIN; queue entries add bits 3-4 delivery state.
constexpr std::uint8_t qos_mask = 0x03;
constexpr std::uint8_t retain_bit = 0x04;
constexpr unsigned state_shift = 3;
constexpr std::uint8_t state_mask = 0x18;

void append_be(std::string& out, std::uint64_t value, int bytes) {
    for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((value >> shift) & 0xff));
}

std::uint64_t read_be(std::string_view bytes) noexcept {
    std::uint64_t value = 0;
    for (const char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
    return value;
}

void check_length(std::string_view what, std::string_view s) {
    if (s.size() > max_string)
        throw storage_error{std::string{what} + " of " + std::to_string(s.size()) +
                            " bytes is longer than the 65535 an MQTT string may have"};
}

void append_string(std::string& out, std::string_view what, std::string_view s) {
    check_length(what, s);
    append_be(out, s.size(), 2);
    out.append(s);
}

std::string client_prefix(char kind, std::string_view client_id) {
    std::string key(1, kind);
    append_string(key, "client id", client_id);
    return key;
}

std::string kind_and(key_kind kind, std::string_view name) {
    std::string key;
    key.reserve(1 + name.size());
    key.push_back(static_cast<char>(kind));
    key.append(name);
    return key;
}

std::uint8_t message_flags(const stored_message& m) {
    if (m.qos > 2) throw storage_error{"QoS " + std::to_string(m.qos) + " is not 0, 1 or 2"};
    return static_cast<std::uint8_t>(m.qos | (m.retain ? retain_bit : 0));
}

// Reads a value front to back; every read checks the bytes are there, so no length in the value is trusted.
class value_reader {
public:
    value_reader(std::string_view key, std::string_view value) : key_{key}, rest_{value} {
        const auto format = byte("format byte");
        if (format != value_format)
            throw storage_error{describe_key(key_) + ": value in format " + std::to_string(format) +
                                ", which this mqttd does not know (written by a newer version?)"};
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw corrupt_value_error{describe_key(key_) + ": corrupt value: " + what};
    }

    std::string_view take(std::size_t n, const char* what) {
        if (rest_.size() < n)
            fail(std::string{what} + " needs " + std::to_string(n) + " bytes, " +
                 std::to_string(rest_.size()) + " left");
        const auto bytes = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return bytes;
    }
    std::uint8_t byte(const char* what) { return static_cast<std::uint8_t>(take(1, what)[0]); }
    std::uint64_t number(std::size_t bytes, const char* what) { return read_be(take(bytes, what)); }
    std::string_view string(const char* what) { return take(number(2, what), what); }
    std::string_view rest() noexcept { return std::exchange(rest_, {}); }

    void expect_end() const {
        if (!rest_.empty()) fail(std::to_string(rest_.size()) + " bytes too many");
    }

private:
    std::string_view key_;
    std::string_view rest_;
};

void read_message_flags(value_reader& in, stored_message& m) {
    const auto flags = in.byte("flags");
    if ((flags & ~(qos_mask | retain_bit)) != 0 || (flags & qos_mask) == 3)
        in.fail("flags " + std::to_string(flags));
    m.qos = flags & qos_mask;
    m.retain = (flags & retain_bit) != 0;
}

void append_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20 || u == 0x7f) {
            out += "\\x";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

}  // namespace

std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    append_escaped(out, s);
    return out;
}

std::string message_key(std::uint64_t id) {
    std::string key(1, static_cast<char>(key_kind::message));
    append_be(key, id, 8);
    return key;
}

std::string queue_prefix(std::string_view client_id) {
    return client_prefix(static_cast<char>(key_kind::queue), client_id);
}

std::string queue_key(std::string_view client_id, std::uint64_t message_id) {
    auto key = queue_prefix(client_id);
    append_be(key, message_id, 8);
    return key;
}

std::string inbound_prefix(std::string_view client_id) {
    return client_prefix(static_cast<char>(key_kind::inbound), client_id);
}

std::string inbound_key(std::string_view client_id, std::uint16_t packet_id) {
    auto key = inbound_prefix(client_id);
    append_be(key, packet_id, 2);
    return key;
}

std::string session_key(std::string_view client_id) {
    check_length("client id", client_id);
    return kind_and(key_kind::session, client_id);
}

std::string retained_key(std::string_view topic) {
    if (topic.empty()) throw storage_error{"a retained message needs a topic"};
    check_length("topic", topic);
    return kind_and(key_kind::retained, topic);
}

bool parse_key(std::string_view key, parsed_key& out) noexcept {
    if (key.empty()) return false;
    out = parsed_key{};
    const auto body = key.substr(1);
    switch (key[0]) {
    case 'm':
        if (body.size() != 8) return false;
        out.kind = key_kind::message;
        out.id = read_be(body);
        return true;
    case 'q':
    case 'i': {
        const std::size_t id_size = key[0] == 'q' ? 8 : 2;
        if (body.size() < 2) return false;
        const auto length = read_be(body.substr(0, 2));
        if (body.size() != 2 + length + id_size) return false;
        out.kind = key[0] == 'q' ? key_kind::queue : key_kind::inbound;
        out.name = body.substr(2, length);
        out.id = read_be(body.substr(2 + length));
        return true;
    }
    case 's':
        out.kind = key_kind::session;
        out.name = body;
        return true;
    case 'r':
        if (body.empty()) return false;
        out.kind = key_kind::retained;
        out.name = body;
        return true;
    default: return false;
    }
}

std::string describe_key(std::string_view key) {
    parsed_key k;
    std::string out;
    if (!parse_key(key, k)) {
        static constexpr char hex[] = "0123456789abcdef";
        out = "key 0x";
        for (const char c : key) {
            out.push_back(hex[static_cast<unsigned char>(c) >> 4]);
            out.push_back(hex[static_cast<unsigned char>(c) & 0xf]);
        }
        return out;
    }
    out.push_back(static_cast<char>(k.kind));
    if (k.kind != key_kind::message) {
        out.push_back('/');
        append_escaped(out, k.name);
    }
    if (k.kind == key_kind::message || k.kind == key_kind::queue || k.kind == key_kind::inbound) {
        out.push_back('/');
        out += std::to_string(k.id);
    }
    return out;
}

std::string encode_message(const stored_message& message) {
    std::string value;
    value.reserve(4 + message.topic.size() + message.payload.size());
    value.push_back(static_cast<char>(value_format));
    value.push_back(static_cast<char>(message_flags(message)));
    append_string(value, "topic", message.topic);
    value.append(message.payload);
    return value;
}

stored_message decode_message(std::string_view key, std::uint64_t id, std::string_view value) {
    value_reader in{key, value};
    stored_message m;
    m.id = id;
    read_message_flags(in, m);
    m.topic = in.string("topic");
    if (m.topic.empty()) in.fail("empty topic");
    m.payload = in.rest();
    return m;
}

std::string encode_retained(const stored_message& message) {
    std::string value;
    value.reserve(2 + message.payload.size());
    value.push_back(static_cast<char>(value_format));
    value.push_back(static_cast<char>(message_flags(message)));
    value.append(message.payload);
    return value;
}

stored_message decode_retained(std::string_view key, std::string_view topic, std::string_view value) {
    value_reader in{key, value};
    stored_message m;
    read_message_flags(in, m);
    m.topic = topic;
    m.payload = in.rest();
    return m;
}

std::string encode_queue_entry(const queue_entry& entry) {
    if (entry.qos > 2) throw storage_error{"QoS " + std::to_string(entry.qos) + " is not 0, 1 or 2"};
    const auto state = static_cast<std::uint8_t>(entry.state);
    if (state > static_cast<std::uint8_t>(delivery_state::awaiting_pubcomp))
        throw storage_error{"delivery state " + std::to_string(state) + " does not exist"};
    std::string value;
    value.push_back(static_cast<char>(value_format));
    value.push_back(static_cast<char>(entry.qos | (entry.retain ? retain_bit : 0) | (state << state_shift)));
    append_be(value, entry.packet_id, 2);
    return value;
}

queue_entry decode_queue_entry(std::string_view key, std::uint64_t message_id, std::string_view value) {
    value_reader in{key, value};
    const auto flags = in.byte("flags");
    if ((flags & ~(qos_mask | retain_bit | state_mask)) != 0 || (flags & qos_mask) == 3)
        in.fail("flags " + std::to_string(flags));
    queue_entry e;
    e.message_id = message_id;
    e.qos = flags & qos_mask;
    e.retain = (flags & retain_bit) != 0;
    e.state = static_cast<delivery_state>((flags & state_mask) >> state_shift);
    e.packet_id = static_cast<std::uint16_t>(in.number(2, "packet id"));
    in.expect_end();
    return e;
}

std::string encode_session(const std::vector<subscription_record>& subscriptions) {
    std::string value;
    value.push_back(static_cast<char>(value_format));
    append_be(value, subscriptions.size(), 4);
    for (const auto& s : subscriptions) {
        if (s.qos > 2) throw storage_error{"QoS " + std::to_string(s.qos) + " is not 0, 1 or 2"};
        value.push_back(static_cast<char>(s.qos));
        append_string(value, "topic filter", s.filter);
    }
    return value;
}

std::vector<subscription_record> decode_session(std::string_view key, std::string_view value) {
    value_reader in{key, value};
    const auto count = in.number(4, "subscription count");
    // Each subscription takes at least 3 bytes: a count larger than that cannot be true, and must not
    // reserve memory for it.
    if (count > value.size() / 3) in.fail("subscription count " + std::to_string(count));
    std::vector<subscription_record> subscriptions;
    subscriptions.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        subscription_record s;
        s.qos = in.byte("subscription QoS");
        if (s.qos > 2) in.fail("subscription QoS " + std::to_string(s.qos));
        s.filter = in.string("topic filter");
        subscriptions.push_back(std::move(s));
    }
    in.expect_end();
    return subscriptions;
}

std::string encode_inbound_id() { return std::string(1, static_cast<char>(value_format)); }

void check_inbound_id(std::string_view key, std::string_view value) {
    value_reader in{key, value};
    in.expect_end();
}

}  // namespace mqttd::storage
