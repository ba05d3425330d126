// The engine contract (store.hpp), run on both engines: what is applied is what a restart reads back, and
// message bodies go with their last queue entry.

#include <doctest/doctest.h>

#include "engine_fixtures.hpp"
#include "storage/encoding.hpp"

using namespace mqttd::storage;
using namespace mqttd::storage::test;

#define ENGINES memory_fixture, rocksdb_fixture

TEST_CASE_TEMPLATE("engine: a fresh store recovers empty with next message id 1", F, ENGINES) {
    F f;
    const auto state = f.reopen();
    CHECK(describe(state) == "next_message_id 1\n");
}

TEST_CASE_TEMPLATE("engine: retained messages are put and replaced and deleted by topic", F, ENGINES) {
    F f;
    f.get().apply(
        {put_retained{make_message(0, "a/b", "first", 1)}, put_retained{make_message(0, "c", "x", 0)},
         put_retained{make_message(0, "z", std::string{"bin\0\xff", 5}, 2)}},
        true);
    f.get().apply(
        {put_retained{make_message(0, "a/b", "second", 2)}, delete_retained{"c"}, delete_retained{"nothing"}},
        true);
    const auto state = f.reopen();
    CHECK(describe(state) ==
          "next_message_id 1\n"
          "retained \"a/b\" qos 2 payload \"second\"\n"
          "retained \"z\" qos 2 payload \"bin\\x00\xff\"\n");  // only control characters are escaped
    REQUIRE(state.retained.size() == 2);
    CHECK(state.retained[0].id == 0);
    CHECK(state.retained[1].payload == std::string{"bin\0\xff", 5});
}

TEST_CASE_TEMPLATE("engine: sessions keep their subscriptions and are replaced whole", F, ENGINES) {
    F f;
    f.get().apply(
        {make_session("c1", {{"a/#", 1}, {"b/+/c", 2}}), make_session("c2"), make_session("c3", {{"x", 0}})},
        true);
    f.get().apply({make_session("c1", {{"only", 1}}), delete_session{"c3"}}, true);
    const auto state = f.reopen();
    CHECK(describe(state) ==
          "next_message_id 1\n"
          "session \"c1\"\n"
          "  subscription \"only\" 1\n"
          "session \"c2\"\n");
}

TEST_CASE_TEMPLATE("engine: a queue comes back in message id order with each entry's state", F, ENGINES) {
    F f;
    f.get().apply({make_session("c"), put_message{make_message(300, "t", "3"), 1},
                   put_message{make_message(2, "t", "1"), 1}, put_message{make_message(70000, "t", "2"), 1},
                   put_queue_entry{"c", make_entry(300)},
                   put_queue_entry{"c", make_entry(2, delivery_state::awaiting_pubrec, 65535, 2)},
                   put_queue_entry{"c", queue_entry{70000, 1, true, delivery_state::awaiting_puback, 9}}},
                  true);
    const auto state = f.reopen();
    CHECK(describe(state) ==
          "next_message_id 70001\n"
          "message 2 \"t\" qos 1 retain 0 payload \"1\"\n"
          "message 300 \"t\" qos 1 retain 0 payload \"3\"\n"
          "message 70000 \"t\" qos 1 retain 0 payload \"2\"\n"
          "session \"c\"\n"
          "  entry 2 qos 2 retain 0 state 2 packet 65535\n"
          "  entry 300 qos 1 retain 0 state 0 packet 0\n"
          "  entry 70000 qos 1 retain 1 state 1 packet 9\n");
}

TEST_CASE_TEMPLATE("engine: client ids that prefix each other keep separate queues", F, ENGINES) {
    F f;
    f.get().apply({make_session("a"), make_session("ab"), make_session(std::string{"a\0", 2}),
                   put_message{make_message(1, "t", "p"), 3}, put_queue_entry{"a", make_entry(1)},
                   put_queue_entry{"ab", make_entry(1)},
                   put_queue_entry{std::string{"a\0", 2}, make_entry(1)}, put_inbound_id{"ab", 5}},
                  true);
    f.get().apply({delete_session{"a"}}, true);
    const auto state = f.reopen();
    REQUIRE(state.sessions.size() == 2);
    CHECK(find_session(state, "a") == nullptr);
    const auto* ab = find_session(state, "ab");
    REQUIRE(ab != nullptr);
    CHECK(ab->queue.size() == 1);
    CHECK(ab->inbound_ids == std::vector<std::uint16_t>{5});
    REQUIRE(find_session(state, std::string{"a\0", 2}) != nullptr);
    CHECK(find_session(state, std::string{"a\0", 2})->queue.size() == 1);
}

TEST_CASE_TEMPLATE("engine: rewriting an entry (a state update) adds no reference", F, ENGINES) {
    F f;
    f.get().apply(
        {make_session("c"), put_message{make_message(5, "t", "p"), 1}, put_queue_entry{"c", make_entry(5)}},
        true);
    f.get().apply({put_queue_entry{"c", make_entry(5, delivery_state::awaiting_pubrec, 7, 2)}}, true);
    f.get().apply({put_queue_entry{"c", make_entry(5, delivery_state::awaiting_pubcomp, 7, 2)}}, true);
    CHECK(f.has_key(message_key(5)));
    f.get().apply({delete_queue_entry{"c", 5}}, true);
    CHECK_FALSE(f.has_key(message_key(5)));
    // A state update that lost a race with the entry's delete is skipped: the body is gone.
    f.get().apply({put_queue_entry{"c", make_entry(5)}}, true);
    CHECK_FALSE(f.has_key(queue_key("c", 5)));
}

TEST_CASE_TEMPLATE("engine: entries for a session that is not stored are skipped, their promise given back", F, ENGINES) {
    // Another worker routes to a session in the moment it is discarded: its entry finds no session.
    F f;
    f.get().apply({make_session("a"), put_message{make_message(4, "t", "p"), 2}, put_queue_entry{"a", make_entry(4)},
                   put_queue_entry{"gone", make_entry(4)}, put_inbound_id{"gone", 3}},
                  true);
    CHECK_FALSE(f.has_key(queue_key("gone", 4)));
    CHECK_FALSE(f.has_key(inbound_key("gone", 3)));
    f.get().apply({delete_queue_entry{"a", 4}}, true);
    CHECK_FALSE(f.has_key(message_key(4)));  // no promise left keeping it
}

TEST_CASE_TEMPLATE("engine: a body shared by three queues goes with the third delete", F, ENGINES) {
    F f;
    f.get().apply({make_session("a"), make_session("b"), make_session("c"),
                   put_message{make_message(9, "t", "p"), 3}, put_queue_entry{"a", make_entry(9)},
                   put_queue_entry{"b", make_entry(9)}, put_queue_entry{"c", make_entry(9)}},
                  true);
    f.get().apply({delete_queue_entry{"a", 9}}, true);
    f.get().apply({delete_queue_entry{"a", 9}}, true);  // deleting it again drops nothing more
    CHECK(f.has_key(message_key(9)));
    f.get().apply({delete_queue_entry{"b", 9}}, true);
    CHECK(f.has_key(message_key(9)));
    f.get().apply({delete_queue_entry{"c", 9}}, true);
    CHECK_FALSE(f.has_key(message_key(9)));
    CHECK(f.reopen().messages.empty());
}

TEST_CASE_TEMPLATE("engine: delete_session drops its queue, its references and its inbound ids", F, ENGINES) {
    F f;
    f.get().apply({make_session("a"), make_session("b"), put_message{make_message(10, "t", "shared"), 2},
                   put_message{make_message(11, "t", "a only"), 1}, put_queue_entry{"a", make_entry(10)},
                   put_queue_entry{"a", make_entry(11)}, put_queue_entry{"b", make_entry(10)},
                   put_inbound_id{"a", 1}, put_inbound_id{"a", 2}},
                  true);
    f.get().apply({delete_session{"a"}}, true);
    CHECK(f.has_key(message_key(10)));
    CHECK_FALSE(f.has_key(message_key(11)));
    CHECK_FALSE(f.has_key(queue_key("a", 10)));
    CHECK_FALSE(f.has_key(inbound_key("a", 1)));
    f.get().apply({delete_session{"b"}}, true);
    CHECK_FALSE(f.has_key(message_key(10)));
    CHECK(describe(f.reopen()) == "next_message_id 1\n");
}

TEST_CASE_TEMPLATE("engine: put_message's references keep a body for entries of later batches", F, ENGINES) {
    F f;
    f.get().apply({make_session("a"), make_session("b"), put_message{make_message(11, "t", "p"), 2}}, true);
    // a's worker writes and acknowledges before b's worker writes its entry.
    f.get().apply({put_queue_entry{"a", make_entry(11)}}, true);
    f.get().apply({delete_queue_entry{"a", 11}}, true);
    CHECK(f.has_key(message_key(11)));
    f.get().apply({put_queue_entry{"b", make_entry(11)}}, true);
    f.get().apply({delete_queue_entry{"b", 11}}, true);
    CHECK_FALSE(f.has_key(message_key(11)));
}

TEST_CASE_TEMPLATE("engine: an entry beyond put_message's references adds one", F, ENGINES) {
    F f;
    f.get().apply({make_session("a"), make_session("b"), put_message{make_message(12, "t", "p"), 0},
                   put_queue_entry{"a", make_entry(12)}, put_queue_entry{"b", make_entry(12)}},
                  true);
    f.get().apply({delete_queue_entry{"a", 12}}, true);
    CHECK(f.has_key(message_key(12)));
    f.get().apply({delete_queue_entry{"b", 12}}, true);
    CHECK_FALSE(f.has_key(message_key(12)));
}

TEST_CASE_TEMPLATE("engine: inbound packet ids are stored per session", F, ENGINES) {
    F f;
    f.get().apply({make_session("c"), put_inbound_id{"c", 3}, put_inbound_id{"c", 65535},
                   put_inbound_id{"c", 1}, put_inbound_id{"c", 3}},
                  true);
    f.get().apply({delete_inbound_id{"c", 65535}, delete_inbound_id{"c", 8}}, true);
    const auto state = f.reopen();
    REQUIRE(state.sessions.size() == 1);
    CHECK(state.sessions[0].inbound_ids == std::vector<std::uint16_t>{1, 3});
}

TEST_CASE_TEMPLATE("engine: a batch sees its own earlier operations", F, ENGINES) {
    F f;
    f.get().apply({make_session("c"), put_message{make_message(1, "t", "p"), 1},
                   put_queue_entry{"c", make_entry(1)}, put_inbound_id{"c", 4}, delete_session{"c"}},
                  true);
    CHECK_FALSE(f.has_key(message_key(1)));
    CHECK(describe(f.reopen()) == "next_message_id 1\n");
}

TEST_CASE_TEMPLATE("engine: recover() returns exactly what was applied", F, ENGINES) {
    F f;
    f.get().apply(
        {put_retained{make_message(0, "home/t", "21.5", 1)}, make_session("s1", {{"home/#", 2}}),
         make_session("s2", {{"+/t", 1}}), put_message{make_message(40, "home/t", "21.5", 2, true), 2},
         put_queue_entry{"s1", make_entry(40, delivery_state::awaiting_pubcomp, 17, 2)},
         put_queue_entry{"s2", make_entry(40)}, put_inbound_id{"s2", 44}},
        true);
    f.get().apply({put_message{make_message(41, "home/u", "", 1), 1}, put_queue_entry{"s2", make_entry(41)}},
                  false);
    const auto expected =
        "next_message_id 42\n"
        "retained \"home/t\" qos 1 payload \"21.5\"\n"
        "message 40 \"home/t\" qos 2 retain 1 payload \"21.5\"\n"
        "message 41 \"home/u\" qos 1 retain 0 payload \"\"\n"
        "session \"s1\"\n"
        "  subscription \"home/#\" 2\n"
        "  entry 40 qos 2 retain 0 state 3 packet 17\n"
        "session \"s2\"\n"
        "  subscription \"+/t\" 1\n"
        "  entry 40 qos 1 retain 0 state 0 packet 0\n"
        "  entry 41 qos 1 retain 0 state 0 packet 0\n"
        "  inbound 44\n";
    CHECK(describe(f.reopen()) == expected);
    CHECK(describe(f.reopen()) == expected);  // recovery changed nothing
    // The references were rebuilt: the body of 40 goes with the second of its two entries.
    f.get().apply({delete_queue_entry{"s1", 40}}, true);
    CHECK(f.has_key(message_key(40)));
    f.get().apply({delete_queue_entry{"s2", 40}}, true);
    CHECK_FALSE(f.has_key(message_key(40)));
}

TEST_CASE_TEMPLATE("engine: recover() drops bodies no entry refers to", F, ENGINES) {
    F f;
    f.get().apply({make_session("c"), put_message{make_message(20, "t", "never queued"), 2},
                   put_message{make_message(21, "t", "queued"), 1}, put_queue_entry{"c", make_entry(21)}},
                  true);
    const auto state = f.reopen();
    REQUIRE(state.messages.size() == 1);
    CHECK(state.messages[0].id == 21);
    CHECK(state.next_message_id == 22);
    CHECK_FALSE(f.has_key(message_key(20)));
    const auto notes = f.get().take_notes();
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].text == "dropped 1 message bodies no queue entry refers to");
    f.get().apply({put_queue_entry{"c", make_entry(20)}}, true);  // its body is gone: skipped
    CHECK_FALSE(f.has_key(queue_key("c", 20)));
}

TEST_CASE_TEMPLATE("engine: next_message_id is one past the largest id stored", F, ENGINES) {
    F f;
    f.get().apply({make_session("c"), put_message{make_message(7, "t", "p"), 1},
                   put_message{make_message(5, "t", "p"), 1}, put_queue_entry{"c", make_entry(7)},
                   put_queue_entry{"c", make_entry(5)}},
                  true);
    CHECK(f.reopen().next_message_id == 8);
    f.get().apply({delete_queue_entry{"c", 7}}, true);
    CHECK(f.reopen().next_message_id == 6);
}

TEST_CASE_TEMPLATE("engine: a batch that fails leaves nothing applied", F, ENGINES) {
    F f;
    f.get().apply({make_session("keep"), put_message{make_message(1, "t", "p"), 1},
                   put_queue_entry{"keep", make_entry(1)}},
                  true);
    const auto before = describe(f.reopen());

    SUBCASE("inbound packet id 0") {
        CHECK_THROWS_AS(f.get().apply({delete_session{"keep"}, put_inbound_id{"keep", 0}}, true),
                        storage_error);
    }
    SUBCASE("a message id stored already") {
        // (Not after delete_session "keep": that deletes the body, and the id may then be stored again.)
        CHECK_THROWS_WITH_AS(f.get().apply({put_retained{make_message(0, "x", "p")},
                                            put_message{make_message(1, "t", "again"), 1}},
                                           true),
                             "put_message 1: already stored", storage_error);
    }
    SUBCASE("message id 0") {
        CHECK_THROWS_AS(
            f.get().apply({delete_session{"keep"}, put_message{make_message(0, "t", "p"), 1}}, true),
            storage_error);
    }
    SUBCASE("a client id longer than an MQTT string") {
        CHECK_THROWS_WITH_AS(
            f.get().apply({delete_session{"keep"}, make_session(std::string(65536, 'c'))}, true),
            "client id of 65536 bytes is longer than the 65535 an MQTT string may have", storage_error);
    }
    SUBCASE("QoS 3") {
        CHECK_THROWS_AS(
            f.get().apply({delete_session{"keep"}, put_retained{make_message(0, "x", "p", 3)}}, true),
            storage_error);
    }
    CHECK(describe(f.reopen()) == before);
    // The references are as before too, and the engine takes the next batch.
    f.get().apply({put_queue_entry{"keep", make_entry(1, delivery_state::awaiting_puback, 3)}}, true);
    f.get().apply({delete_queue_entry{"keep", 1}}, true);
    CHECK_FALSE(f.has_key(message_key(1)));
}

TEST_CASE_TEMPLATE("engine: an empty batch is allowed", F, ENGINES) {
    F f;
    f.get().apply({}, true);
    f.get().apply({}, false);
    f.get().flush();
    CHECK(describe(f.reopen()) == "next_message_id 1\n");
}

TEST_CASE_TEMPLATE("engine: a batch that fails changes nothing the next batch sees", F, ENGINES) {
    // Without a restart in between: what the engine keeps in memory about the store (the memory engine's
    // map, rocksdb_engine's key_index) must be taken back with the failed batch.
    F f;
    f.get().apply({make_session("keep"), put_message{make_message(1, "t", "p"), 1},
                   put_queue_entry{"keep", make_entry(1)}},
                  true);
    CHECK_THROWS_AS(f.get().apply({delete_session{"keep"}, make_session("gone"), put_inbound_id{"keep", 0}}, true),
                    storage_error);
    // "keep" is still stored (its entry is taken), entry 1 is still there (a rewrite, not a new reference),
    // and "gone" never was (its entry is skipped).
    f.get().apply({put_message{make_message(2, "t", "p2"), 2}, put_queue_entry{"keep", make_entry(2)},
                   put_queue_entry{"gone", make_entry(2)},
                   put_queue_entry{"keep", make_entry(1, delivery_state::awaiting_puback, 7)}},
                  true);
    const auto state = f.reopen();
    const auto* keep = find_session(state, "keep");
    REQUIRE(keep != nullptr);
    REQUIRE(keep->queue.size() == 2);
    CHECK(keep->queue[0].state == delivery_state::awaiting_puback);
    CHECK(find_session(state, "gone") == nullptr);
    // One reference each: deleting keep's entries deletes both bodies.
    f.get().apply({delete_queue_entry{"keep", 1}, delete_queue_entry{"keep", 2}}, true);
    CHECK_FALSE(f.has_key(message_key(1)));
    CHECK_FALSE(f.has_key(message_key(2)));
}
