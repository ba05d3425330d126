#pragma once
// The shard invariants (shard_checks.hpp) as doctest checks, for the unit tests (the fuzzer has no doctest).

#include <doctest/doctest.h>

#include "shard_checks.hpp"

namespace mqttd::test {

inline void check_clean(const shard_scheduler& s, const intake_log& log) {
    CHECK(shard_problems(s) == "");
    for (const auto& f : log.failures) FAIL_CHECK(f);
}

}  // namespace mqttd::test
