#pragma once
// The engines under the same tests: each fixture gives an engine that has been recovered (empty), a way to
// read everything back as a restart would, and a look at the raw keys.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/memory_engine.hpp"
#include "storage/rocksdb_engine.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"

namespace mqttd::storage::test {

struct memory_fixture {
    memory_engine store;

    engine& get() { return store; }
    // The memory engine's restart: recover() on the same instance.
    recovered_state reopen() { return store.recover(); }
    bool has_key(const std::string& key) { return store.contains_key(key); }
};

struct rocksdb_fixture {
    scratch_dir dir;
    std::unique_ptr<rocksdb_engine> store;

    rocksdb_fixture() : store{rocksdb_engine::open(dir / "store")} { (void)store->recover(); }

    engine& get() { return *store; }
    // Closes the database and opens the same directory again.
    recovered_state reopen() {
        store.reset();
        store = rocksdb_engine::open(dir / "store");
        return store->recover();
    }
    bool has_key(const std::string& key);
};

// ---- building operations and reading results

stored_message make_message(std::uint64_t id, std::string topic, std::string payload, std::uint8_t qos = 1,
                            bool retain = false);
queue_entry make_entry(std::uint64_t id, delivery_state state = delivery_state::queued,
                       std::uint16_t packet_id = 0, std::uint8_t qos = 1);
put_session make_session(std::string client_id, std::vector<subscription_record> subscriptions = {});

// The whole state as text, one line per item, for CHECKs that show what differs.
std::string describe(const recovered_state& state);

const recovered_session* find_session(const recovered_state& state, const std::string& client_id);

}  // namespace mqttd::storage::test

TYPE_TO_STRING_AS("memory", mqttd::storage::test::memory_fixture);
TYPE_TO_STRING_AS("rocksdb", mqttd::storage::test::rocksdb_fixture);
