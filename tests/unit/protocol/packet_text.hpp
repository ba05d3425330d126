#pragma once
// Test support: renders a packet as one line of text holding every field, so tests compare whole packets
// with one CHECK and a failure prints both sides. Also the stream feeder that splits input like a socket.

#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/decoder.hpp"
#include "protocol/packet.hpp"

namespace mqttd::protocol::test {

using byte_vector = std::vector<std::uint8_t>;

inline bytes_view as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline void put_bytes(std::ostream& os, bytes_view b) {
    os << '[';
    for (const auto c : b) os << ' ' << static_cast<unsigned>(c);
    os << " ]";
}

struct packet_printer {
    std::ostream& os;
    void operator()(const connect& c) const {
        os << "connect v=" << static_cast<unsigned>(c.version) << " clean=" << c.clean_session
           << " keep_alive=" << c.keep_alive << " id='" << c.client_id << '\'';
        if (c.last_will) {
            os << " will{topic='" << c.last_will->topic
               << "' qos=" << static_cast<unsigned>(c.last_will->qos_level)
               << " retain=" << c.last_will->retain << " payload=";
            put_bytes(os, c.last_will->payload);
            os << '}';
        }
        if (c.username) os << " user='" << *c.username << '\'';
        if (c.password) {
            os << " password=";
            put_bytes(os, *c.password);
        }
    }
    void operator()(const connack& c) const {
        os << "connack sp=" << c.session_present << " code=" << static_cast<unsigned>(c.code);
    }
    void operator()(const publish& p) const {
        os << "publish dup=" << p.dup << " qos=" << static_cast<unsigned>(p.qos_level)
           << " retain=" << p.retain << " topic='" << p.topic << "' id=" << p.id << " payload=";
        put_bytes(os, p.payload);
    }
    void operator()(const puback& a) const { os << "puback id=" << a.id; }
    void operator()(const pubrec& a) const { os << "pubrec id=" << a.id; }
    void operator()(const pubrel& a) const { os << "pubrel id=" << a.id; }
    void operator()(const pubcomp& a) const { os << "pubcomp id=" << a.id; }
    void operator()(const subscribe& s) const {
        os << "subscribe id=" << s.id;
        for (const auto& sub : s.subscriptions)
            os << " '" << sub.filter << "':" << static_cast<unsigned>(sub.requested);
    }
    void operator()(const suback& s) const {
        os << "suback id=" << s.id << " codes=";
        put_bytes(os, s.return_codes);
    }
    void operator()(const unsubscribe& u) const {
        os << "unsubscribe id=" << u.id;
        for (const auto f : u.filters) os << " '" << f << '\'';
    }
    void operator()(const unsuback& a) const { os << "unsuback id=" << a.id; }
    void operator()(const pingreq&) const { os << "pingreq"; }
    void operator()(const pingresp&) const { os << "pingresp"; }
    void operator()(const disconnect&) const { os << "disconnect"; }
};

inline std::string to_text(const packet& p) {
    std::ostringstream os;
    std::visit(packet_printer{os}, p);
    return os.str();
}

// What a connection sees: the packets (as text, rendered while their bytes are alive), the first error,
// and how many bytes were left unconsumed at the end.
struct stream_result {
    std::vector<std::string> packets;
    std::error_code ec;
    std::size_t leftover = 0;
    bool operator==(const stream_result&) const = default;
};

// Feeds `stream` in chunks ending at each of `cuts` (ascending, inside the stream) and then the rest. Like a
// connection, it appends each chunk to a buffer, decodes every whole packet, and keeps the unconsumed tail.
inline stream_result feed(const decoder& d, bytes_view stream, std::span<const std::size_t> cuts) {
    stream_result result;
    byte_vector buffer;
    std::size_t begin = 0;
    auto deliver = [&](std::size_t end) {
        buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(begin),
                      stream.begin() + static_cast<std::ptrdiff_t>(end));
        begin = end;
        for (;;) {
            packet p;
            const auto used = d.next(buffer, p, result.ec);
            if (result.ec || used == 0) return;
            result.packets.push_back(to_text(p));
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(used));
        }
    };
    for (const auto cut : cuts) {
        deliver(cut);
        if (result.ec) break;
    }
    if (!result.ec) deliver(stream.size());
    // After an error the connection closes; how much was buffered by then depends on the split, so it is
    // only compared for streams that decode cleanly.
    result.leftover = result.ec ? 0 : buffer.size();
    return result;
}

inline stream_result feed_whole(const decoder& d, bytes_view stream) { return feed(d, stream, {}); }

inline stream_result feed_bytewise(const decoder& d, bytes_view stream) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    return feed(d, stream, cuts);
}

}  // namespace mqttd::protocol::test
