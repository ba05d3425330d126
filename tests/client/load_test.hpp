#pragma once
// Load mode: subscribers on load/# (clean session), then publishers, each on its own thread and connection,
// publishing a numbered sequence to load/<n>. Checks that every subscriber got every message, and per topic
// in order [MQTT-4.6.0-5, -6]; duplicates count as failures except at QoS 1, where the spec allows them.
// Threads: one per client; each owns its connection, and results are merged only after join.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace mqttd::test_client {

struct load_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    unsigned publishers = 10;
    unsigned messages = 100;       // per publisher
    unsigned qos = 1;
    unsigned subscribers = 1;
    unsigned inflight = 16;        // unacknowledged PUBLISH per publisher
    std::chrono::milliseconds timeout{30'000};
};

// Prints one summary line to `out` (and details of failures before it); returns 0 when all arrived in order.
int run_load(const load_options& options, std::ostream& out);

}  // namespace mqttd::test_client
