// key_index: the durable engine's memory of which session, queue and inbound id keys are stored.

#include <doctest/doctest.h>

#include "storage/encoding.hpp"
#include "storage/key_index.hpp"

using namespace mqttd::storage;

namespace {

recovered_state two_sessions() {
    recovered_state state;
    state.sessions.push_back({"a", {}, {{.message_id = 7}, {.message_id = 3}}, {5, 2}});
    state.sessions.push_back({"ab", {}, {}, {}});
    return state;
}

}  // namespace

TEST_CASE("key_index: reset() knows what recovery read, and nothing more") {
    key_index index;
    index.reset(two_sessions());
    CHECK(index.contains(session_key("a")) == true);
    CHECK(index.contains(session_key("ab")) == true);
    CHECK(index.contains(session_key("b")) == false);
    CHECK(index.contains(queue_key("a", 7)) == true);
    CHECK(index.contains(queue_key("a", 4)) == false);
    CHECK(index.contains(queue_key("ab", 7)) == false);
    CHECK(index.contains(inbound_key("a", 2)) == true);
    CHECK(index.contains(inbound_key("a", 3)) == false);
    index.reset({});
    CHECK(index.contains(session_key("a")) == false);
}

TEST_CASE("key_index: message and retained keys are not indexed") {
    key_index index;
    CHECK_FALSE(index.contains(message_key(1)).has_value());
    CHECK_FALSE(index.contains(retained_key("t")).has_value());
    CHECK_FALSE(index.contains("x").has_value());
    index.put(message_key(1));  // ignored, and nothing to take back
    index.rollback();
    CHECK_FALSE(index.keys_with_prefix("m").has_value());
}

TEST_CASE("key_index: keys_with_prefix lists one client's queue or inbound ids in key order") {
    key_index index;
    index.reset(two_sessions());
    CHECK(index.keys_with_prefix(queue_prefix("a")) ==
          std::vector<std::string>{queue_key("a", 3), queue_key("a", 7)});
    CHECK(index.keys_with_prefix(inbound_prefix("a")) ==
          std::vector<std::string>{inbound_key("a", 2), inbound_key("a", 5)});
    CHECK(index.keys_with_prefix(queue_prefix("ab"))->empty());
    CHECK(index.keys_with_prefix(queue_prefix("nobody"))->empty());
}

TEST_CASE("key_index: writes show at once; commit() keeps them and rollback() takes them back") {
    key_index index;
    index.reset(two_sessions());
    index.put(session_key("c"));
    index.put(queue_key("c", 1));
    index.erase(queue_key("a", 7));
    index.erase(session_key("a"));
    index.put(inbound_key("ab", 9));
    index.erase(inbound_key("a", 5));
    CHECK(index.contains(session_key("c")) == true);
    CHECK(index.contains(queue_key("c", 1)) == true);
    CHECK(index.contains(queue_key("a", 7)) == false);
    CHECK(index.contains(session_key("a")) == false);
    CHECK(index.contains(inbound_key("ab", 9)) == true);
    CHECK(index.contains(inbound_key("a", 5)) == false);

    SUBCASE("rolled back") {
        index.rollback();
        CHECK(index.contains(session_key("c")) == false);
        CHECK(index.contains(queue_key("c", 1)) == false);
        CHECK(index.contains(queue_key("a", 7)) == true);
        CHECK(index.contains(session_key("a")) == true);
        CHECK(index.contains(inbound_key("ab", 9)) == false);
        CHECK(index.contains(inbound_key("a", 5)) == true);
    }
    SUBCASE("committed, then a later batch rolled back") {
        index.commit();
        index.put(queue_key("c", 2));
        index.erase(session_key("c"));
        index.rollback();
        CHECK(index.contains(session_key("c")) == true);
        CHECK(index.contains(queue_key("c", 1)) == true);
        CHECK(index.contains(queue_key("c", 2)) == false);
        CHECK(index.contains(session_key("a")) == false);
    }
}

TEST_CASE("key_index: a key written twice in one batch rolls back to what was stored") {
    key_index index;
    index.put(queue_key("a", 1));
    index.erase(queue_key("a", 1));
    index.put(queue_key("a", 1));
    CHECK(index.contains(queue_key("a", 1)) == true);
    index.rollback();
    CHECK(index.contains(queue_key("a", 1)) == false);
    CHECK(index.keys_with_prefix(queue_prefix("a"))->empty());
}
