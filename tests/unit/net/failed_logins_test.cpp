#include "broker/net/failed_logins.hpp"

#include <doctest/doctest.h>

using mqttd::net::failed_logins;
using mqttd::net::host_of;
using namespace std::chrono_literals;

TEST_CASE("failed_logins: each recent failure from an address adds a step, up to the cap; a minute forgets") {
    failed_logins f{1000ms, 3500ms};
    const failed_logins::clock::time_point t0{std::chrono::seconds{100}};
    CHECK(f.delay_for("10.0.0.1", t0) == 0ms);
    f.record("10.0.0.1", t0);
    f.record("10.0.0.1", t0 + 1s);
    CHECK(f.delay_for("10.0.0.1", t0 + 2s) == 2000ms);
    CHECK(f.delay_for("10.0.0.2", t0 + 2s) == 0ms);  // per address
    f.record("10.0.0.1", t0 + 2s);
    f.record("10.0.0.1", t0 + 3s);
    CHECK(f.delay_for("10.0.0.1", t0 + 3s) == 3500ms);  // capped
    CHECK(f.delay_for("10.0.0.1", t0 + 61s) == 0ms);    // the window has passed
    f.record("10.0.0.1", t0 + 62s);
    CHECK(f.delay_for("10.0.0.1", t0 + 62s) == 1000ms);  // and counting starts again
}

TEST_CASE("failed_logins: failures count per host, whatever the port") {
    CHECK(host_of("127.0.0.1:53122") == "127.0.0.1");
    CHECK(host_of("[::1]:53122") == "::1");
    CHECK(host_of("[2001:db8::1]:1") == "2001:db8::1");
}
