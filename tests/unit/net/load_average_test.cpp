// net::load_average: Mosquitto's 1/5/15-minute averages of a counter's rate per minute (sys_tree.c).

#include "broker/net/load_average.hpp"

#include <cmath>

#include <doctest/doctest.h>

using mqttd::net::load_average;

TEST_CASE("load_average: the first sample only sets the starting point") {
    load_average l;
    l.sample(1'000'000, 10);
    CHECK(l.per_minute() == std::array<double, 3>{0, 0, 0});
}

TEST_CASE("load_average: one interval moves each average toward the rate by 1 - exp(-elapsed/window)") {
    load_average l;
    l.sample(0, 0);
    l.sample(100, 10);  // 100 in 10 s: 600 per minute
    const auto& a = l.per_minute();
    CHECK(a[0] == doctest::Approx(600 * (1 - std::exp(-10.0 / 60))));
    CHECK(a[1] == doctest::Approx(600 * (1 - std::exp(-10.0 / 300))));
    CHECK(a[2] == doctest::Approx(600 * (1 - std::exp(-10.0 / 900))));
    CHECK(a[0] > a[1]);
    CHECK(a[1] > a[2]);
}

TEST_CASE("load_average: a steady rate is approached, and a stop decays toward 0") {
    load_average l;
    std::uint64_t total = 0;
    l.sample(total, 0);
    for (int i = 0; i < 60 * 6; ++i) l.sample(total += 50, 10);  // 300 per minute for an hour
    CHECK(l.per_minute()[0] == doctest::Approx(300).epsilon(0.001));
    CHECK(l.per_minute()[1] == doctest::Approx(300).epsilon(0.001));
    CHECK(l.per_minute()[2] == doctest::Approx(300).epsilon(0.02));
    for (int i = 0; i < 6; ++i) l.sample(total, 10);  // a quiet minute
    CHECK(l.per_minute()[0] == doctest::Approx(300 * std::exp(-1.0)));
    CHECK(l.per_minute()[2] > l.per_minute()[0]);  // the long window forgets more slowly
}

TEST_CASE("load_average: a counter that seems to go back counts as no traffic, not a huge rate") {
    load_average l;
    l.sample(100, 0);
    l.sample(50, 10);
    CHECK(l.per_minute() == std::array<double, 3>{0, 0, 0});
}
