// The error category: names, messages, and the CONNACK mapping the broker uses before closing.
#include "protocol/errc.hpp"

#include <set>
#include <string>

#include <doctest/doctest.h>

#include "error_code_printer.hpp"

namespace protocol = mqttd::protocol;
using protocol::errc;

TEST_CASE("errc: every value has its own message in the mqtt category") {
    std::set<std::string> seen;
    for (int v = static_cast<int>(errc::malformed_remaining_length); v <= static_cast<int>(errc::dup_on_qos0);
         ++v) {
        const std::error_code ec = static_cast<errc>(v);
        CAPTURE(v);
        CHECK(std::string{ec.category().name()} == "mqtt");
        CHECK(ec.message() != "unknown protocol error");
        CHECK(seen.insert(ec.message()).second);
    }
    CHECK(std::error_code{static_cast<errc>(999)}.message() == "unknown protocol error");
}

TEST_CASE("errc: only an unsupported protocol level is answered with CONNACK 0x01 [MQTT-3.1.2-2]") {
    CHECK(protocol::connack_for(errc::unsupported_protocol_level) ==
          protocol::connack_code::unacceptable_protocol_version);
    CHECK_FALSE(protocol::connack_for(errc::invalid_protocol_name));
    CHECK_FALSE(protocol::connack_for(errc::malformed_remaining_length));
    CHECK_FALSE(protocol::connack_for(errc::dup_on_qos0));
}
