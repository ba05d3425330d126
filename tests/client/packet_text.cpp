#include "packet_text.hpp"

#include <array>
#include <charconv>
#include <sstream>
#include <string_view>

#include "protocol/decoder.hpp"

namespace mqttd::test_client {
namespace {

using namespace mqttd::protocol;

constexpr std::array<std::string_view, 14> type_names{
    "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
    "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect"};

std::string_view as_text(bytes_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// payload=TEXT, payload_hex=HEX or payload_size=N (N bytes of a repeating 0..9 pattern), under `prefix`.
std::optional<std::vector<std::uint8_t>> payload_argument(const arguments& args, const std::string& prefix) {
    const auto text = args.text(prefix);
    auto hex = args.hex(prefix + "_hex");
    const auto size = args.number(prefix + "_size", max_remaining_length);
    if (int{text.has_value()} + int{hex.has_value()} + int{size.has_value()} > 1) {
        args.fail("give only one of " + prefix + "=, " + prefix + "_hex=, " + prefix + "_size=");
    }
    if (text) return std::vector<std::uint8_t>(text->begin(), text->end());
    if (hex) return hex;
    if (size) {
        std::vector<std::uint8_t> bytes(*size);
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>('0' + i % 10);
        return bytes;
    }
    return std::nullopt;
}

std::string_view keep(packet_storage& storage, const std::string& s) {
    const auto& b = storage.bytes.emplace_back(s.begin(), s.end());
    return as_text(b);
}

bytes_view keep(packet_storage& storage, std::vector<std::uint8_t> b) {
    return storage.bytes.emplace_back(std::move(b));
}

qos qos_argument(const arguments& args, const std::string& key) {
    return static_cast<qos>(args.number(key, 2).value_or(0));
}

packet build_connect(const arguments& args, packet_storage& storage) {
    connect c;
    if (const auto v = args.number("version", 4)) {
        if (*v != 3 && *v != 4) args.fail("version= must be 3 (MQIsdp) or 4 (MQTT)");
        c.version = static_cast<protocol_version>(*v);
    }
    c.client_id = keep(storage, args.text("id").value_or(""));
    c.clean_session = args.flag("clean").value_or(true);
    c.keep_alive = static_cast<std::uint16_t>(args.number("keepalive", 0xFFFF).value_or(60));
    if (const auto topic = args.text("will_topic")) {
        auto payload = payload_argument(args, "will_payload").value_or(std::vector<std::uint8_t>{});
        c.last_will = will{keep(storage, *topic), keep(storage, std::move(payload)),
                           qos_argument(args, "will_qos"), args.flag("will_retain").value_or(false)};
    }
    if (const auto user = args.text("username")) c.username = keep(storage, *user);
    if (auto password = payload_argument(args, "password")) c.password = keep(storage, std::move(*password));
    return c;
}

packet build_publish(const arguments& args, packet_storage& storage) {
    publish p;
    p.topic = keep(storage, args.required_text("topic"));
    p.qos_level = qos_argument(args, "qos");
    p.dup = args.flag("dup").value_or(false);
    p.retain = args.flag("retain").value_or(false);
    const auto id = args.packet_id("id");
    if (p.qos_level != qos::at_most_once && !id) args.fail("publish with qos>0 needs id=");
    p.id = id.value_or(0);
    p.payload = keep(storage, payload_argument(args, "payload").value_or(std::vector<std::uint8_t>{}));
    return p;
}

packet build_subscribe(const arguments& args, packet_storage& storage) {
    subscribe s;
    s.id = args.packet_id("id").value_or(1);
    for (const auto& word : args.positional()) {
        const auto colon = word.rfind(':');
        if (colon == std::string::npos) args.fail("subscription " + word + ": expected FILTER:QOS");
        unsigned requested = 0;
        const auto digits = std::string_view{word}.substr(colon + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), requested);
        // Up to 255 so a script can send the reserved bits [MQTT-3.8.3-4] on purpose.
        if (ec != std::errc{} || end != digits.data() + digits.size() || requested > 255) {
            args.fail("subscription " + word + ": bad QoS");
        }
        s.subscriptions.push_back({keep(storage, word.substr(0, colon)), static_cast<qos>(requested)});
    }
    return s;
}

packet build_unsubscribe(const arguments& args, packet_storage& storage) {
    unsubscribe u;
    u.id = args.packet_id("id").value_or(1);
    for (const auto& filter : args.positional()) u.filters.push_back(keep(storage, filter));
    return u;
}

template <class Ack> packet build_ack(const arguments& args) {
    const auto id = args.packet_id("id");
    if (!id) args.fail("missing argument id=");
    return Ack{*id};
}

std::string quoted(std::string_view s) {
    if (!s.empty() && s.find_first_of(" \t\"\\#") == std::string_view::npos) return std::string{s};
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

std::string payload_text(bytes_view payload) {
    bool printable = true;
    for (const auto b : payload) printable = printable && b >= 0x20 && b < 0x7F;
    if (payload.size() > 80) return "payload_size=" + std::to_string(payload.size());
    if (printable) return "payload=" + quoted(as_text(payload));
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (const auto b : payload) {
        hex += digits[b >> 4];
        hex += digits[b & 0xF];
    }
    return "payload_hex=" + hex;
}

// Collects "field: expected X, got Y" for each named field that differs.
class field_checker {
public:
    field_checker(const arguments& args, std::vector<std::string>& out) : args_{args}, out_{out} {}

    void number(const std::string& key, std::uint64_t actual, std::uint64_t max) {
        if (const auto want = args_.number(key, max); want && *want != actual) report(key, *want, actual);
    }
    void id(protocol::packet_id actual) {
        if (const auto want = args_.packet_id("id"); want && *want != actual) report("id", *want, actual);
    }
    void text(const std::string& key, std::string_view actual) {
        if (const auto want = args_.text(key); want && *want != actual) {
            out_.push_back(key + ": expected " + quoted(*want) + ", got " + quoted(actual));
        }
    }
    void payload(bytes_view actual) {
        if (const auto want = payload_argument(args_, "payload");
            want && !std::equal(want->begin(), want->end(), actual.begin(), actual.end())) {
            out_.push_back("payload: expected " + payload_text(*want) + ", got " + payload_text(actual));
        }
    }
    void codes(const std::vector<std::uint8_t>& actual) {
        const auto want = args_.text("codes");
        if (!want) return;
        std::string got;
        for (const auto c : actual) {
            // Two appends rather than (sep + std::to_string(c)): GCC 12 -O3 warns falsely on the latter
            // (-Wrestrict, GCC bug 105329).
            if (!got.empty()) got += ',';
            got += std::to_string(c);
        }
        if (*want != got) out_.push_back("codes: expected " + *want + ", got " + got);
    }

private:
    void report(const std::string& key, std::uint64_t want, std::uint64_t got) {
        out_.push_back(key + ": expected " + std::to_string(want) + ", got " + std::to_string(got));
    }
    const arguments& args_;
    std::vector<std::string>& out_;
};

}  // namespace

std::optional<packet_type> packet_type_from_name(const std::string& name) {
    for (std::size_t i = 0; i < type_names.size(); ++i) {
        if (type_names[i] == name) return static_cast<packet_type>(i + 1);
    }
    return std::nullopt;
}

std::string packet_type_name(packet_type type) {
    return std::string{type_names.at(static_cast<std::size_t>(type) - 1)};
}

packet build_packet(packet_type type, const arguments& args, packet_storage& storage) {
    switch (type) {
    case packet_type::connect: return build_connect(args, storage);
    case packet_type::connack:
        return connack{args.flag("session_present").value_or(false),
                       static_cast<connack_code>(args.number("rc", 255).value_or(0))};
    case packet_type::publish: return build_publish(args, storage);
    case packet_type::puback: return build_ack<puback>(args);
    case packet_type::pubrec: return build_ack<pubrec>(args);
    case packet_type::pubrel: return build_ack<pubrel>(args);
    case packet_type::pubcomp: return build_ack<pubcomp>(args);
    case packet_type::subscribe: return build_subscribe(args, storage);
    case packet_type::unsubscribe: return build_unsubscribe(args, storage);
    case packet_type::unsuback: return build_ack<unsuback>(args);
    case packet_type::pingreq: return pingreq{};
    case packet_type::pingresp: return pingresp{};
    case packet_type::disconnect: return disconnect{};
    case packet_type::suback: break;
    }
    args.fail("send suback is not supported; use raw");
}

std::vector<std::string> mismatches(const arguments& expected, const packet& actual) {
    std::vector<std::string> out;
    field_checker check{expected, out};
    std::visit(
        [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, connack>) {
                check.number("rc", static_cast<std::uint64_t>(p.code), 255);
                check.number("session_present", p.session_present, 1);
            } else if constexpr (std::is_same_v<T, publish>) {
                check.text("topic", p.topic);
                check.number("qos", static_cast<std::uint64_t>(p.qos_level), 2);
                check.id(p.id);
                check.number("dup", p.dup, 1);
                check.number("retain", p.retain, 1);
                check.payload(p.payload);
            } else if constexpr (std::is_same_v<T, suback>) {
                check.id(p.id);
                check.codes(p.return_codes);
            } else if constexpr (requires { p.id; }) {
                check.id(p.id);
            }
        },
        actual);
    return out;
}

std::optional<packet_id> packet_id_of(const packet& p) {
    return std::visit(
        [](const auto& v) -> std::optional<packet_id> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, publish>) {
                if (v.qos_level == qos::at_most_once) return std::nullopt;
                return v.id;
            } else if constexpr (requires { v.id; }) {
                return v.id;
            } else {
                return std::nullopt;
            }
        },
        p);
}

std::string describe(const packet& p) {
    std::ostringstream out;
    out << packet_type_name(type_of(p));
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, connect>) {
                out << " id=" << quoted(v.client_id) << " clean=" << v.clean_session
                    << " keepalive=" << v.keep_alive;
                if (v.last_will) out << " will_topic=" << quoted(v.last_will->topic);
            } else if constexpr (std::is_same_v<T, connack>) {
                out << " rc=" << int(v.code) << " session_present=" << v.session_present;
            } else if constexpr (std::is_same_v<T, publish>) {
                out << " topic=" << quoted(v.topic) << " qos=" << int(v.qos_level);
                if (v.qos_level != qos::at_most_once) out << " id=" << v.id;
                out << " dup=" << v.dup << " retain=" << v.retain << ' ' << payload_text(v.payload);
            } else if constexpr (std::is_same_v<T, subscribe>) {
                out << " id=" << v.id;
                for (const auto& s : v.subscriptions) {
                    out << ' ' << quoted(s.filter) << ':' << int(s.requested);
                }
            } else if constexpr (std::is_same_v<T, suback>) {
                out << " id=" << v.id << " codes=";
                for (std::size_t i = 0; i < v.return_codes.size(); ++i) {
                    out << (i ? "," : "") << int(v.return_codes[i]);
                }
            } else if constexpr (std::is_same_v<T, unsubscribe>) {
                out << " id=" << v.id;
                for (const auto f : v.filters) out << ' ' << quoted(f);
            } else if constexpr (requires { v.id; }) {
                out << " id=" << v.id;
            }
        },
        p);
    return out.str();
}

}  // namespace mqttd::test_client
