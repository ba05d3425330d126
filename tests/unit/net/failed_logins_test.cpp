#include "broker/net/failed_logins.hpp"

#include <doctest/doctest.h>

using mqttd::net::failed_logins;
using mqttd::net::host_of;
using namespace std::chrono_literals;

namespace {

const failed_logins::clock::time_point t0{std::chrono::seconds{100}};

}  // namespace

TEST_CASE("failed_logins: each recent failure from an address adds a step, up to the cap; a minute forgets") {
    failed_logins f{1000ms, 3500ms, 100};
    CHECK(f.begin("10.0.0.1", t0) == 0ms);
    f.end("10.0.0.1", true, t0);
    CHECK(f.begin("10.0.0.1", t0 + 1s) == 1000ms);
    f.end("10.0.0.1", true, t0 + 1s);
    CHECK(f.begin("10.0.0.2", t0 + 2s) == 0ms);  // per address
    f.end("10.0.0.2", false, t0 + 2s);
    for (int i = 0; i < 3; ++i) {
        f.begin("10.0.0.1", t0 + 2s);
        f.end("10.0.0.1", true, t0 + 2s);
    }
    CHECK(f.begin("10.0.0.1", t0 + 3s) == 3500ms);  // capped
    f.end("10.0.0.1", false, t0 + 3s);
    CHECK(f.begin("10.0.0.1", t0 + 61s) == 0ms);  // the window has passed
    f.end("10.0.0.1", false, t0 + 61s);
}

TEST_CASE("failed_logins: a burst from one address waits beyond its concurrent checks, before any has failed") {
    failed_logins f{1000ms, 30'000ms, 2};
    CHECK(f.begin("10.0.0.9", t0) == 0ms);
    CHECK(f.begin("10.0.0.9", t0) == 0ms);
    CHECK(f.begin("10.0.0.9", t0) == 0ms);     // the second and third run beside the first
    CHECK(f.begin("10.0.0.9", t0) == 1000ms);  // the fourth waits
    CHECK(f.begin("10.0.0.9", t0) == 2000ms);
    CHECK(f.begin("10.0.0.8", t0) == 0ms);  // another address does not
    for (int i = 0; i < 5; ++i) f.end("10.0.0.9", false, t0);
    CHECK(f.begin("10.0.0.9", t0) == 0ms);  // all ended well: nothing held against it
}

TEST_CASE("failed_logins: failures count per host, whatever the port") {
    CHECK(host_of("127.0.0.1:53122") == "127.0.0.1");
    CHECK(host_of("[::1]:53122") == "::1");
    CHECK(host_of("[2001:db8::1]:1") == "2001:db8::1");
}
