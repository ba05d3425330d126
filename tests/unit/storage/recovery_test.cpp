// recovery_builder on keys and values given by hand: what a crash or damage can leave, and what is kept.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "storage/encoding.hpp"
#include "storage/recovery.hpp"

using namespace mqttd::storage;
using namespace std::string_literals;

namespace {

bool contains(const std::vector<std::string>& keys, const std::string& key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

TEST_CASE("recovery: entries and inbound ids of a client without a session are dropped, with a warning") {
    recovery_builder b;
    b.add(inbound_key("ghost", 4), encode_inbound_id());
    b.add(message_key(1), encode_message({1, "t", "p", 1, false}));
    b.add(queue_key("ghost", 1), encode_queue_entry({1, 1, false, delivery_state::queued, 0}));
    b.add(queue_key("real", 1), encode_queue_entry({1, 1, false, delivery_state::queued, 0}));
    b.add(session_key("real"), encode_session({}));
    auto r = b.finish();
    REQUIRE(r.state.sessions.size() == 1);
    CHECK(r.state.sessions[0].client_id == "real");
    CHECK(contains(r.stale_keys, queue_key("ghost", 1)));
    CHECK(contains(r.stale_keys, inbound_key("ghost", 4)));
    CHECK(r.stale_keys.size() == 2);
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0].level == note_level::warning);
    CHECK(r.notes[0].text ==
          "dropped 1 queue entries and 1 inbound packet ids of 1 clients without a stored session (first: "
          "\"ghost\")");
    REQUIRE(r.references.find(1) != nullptr);
    CHECK(r.references.find(1)->entries == 1);  // the ghost's entry does not count
}

TEST_CASE("recovery: an entry whose body is missing is dropped, with a warning naming it") {
    recovery_builder b;
    b.add(queue_key("c", 9), encode_queue_entry({9, 1, false, delivery_state::awaiting_puback, 3}));
    b.add(session_key("c"), encode_session({}));
    auto r = b.finish();
    REQUIRE(r.state.sessions.size() == 1);
    CHECK(r.state.sessions[0].queue.empty());
    CHECK(r.stale_keys == std::vector<std::string>{queue_key("c", 9)});
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0].text == "dropped 1 queue entries whose message body is missing (first: q/\"c\"/9)");
    CHECK(r.state.next_message_id == 10);  // the id is not reused even so
}

TEST_CASE("recovery: sessions come back sorted by client id with their references counted") {
    recovery_builder b;
    b.add(message_key(3), encode_message({3, "t", "p", 1, false}));
    b.add(queue_key("b", 3), encode_queue_entry({3, 1, false, delivery_state::queued, 0}));
    b.add(queue_key("aa", 3), encode_queue_entry({3, 1, false, delivery_state::queued, 0}));
    b.add(session_key("aa"), encode_session({{"x", 1}}));
    b.add(session_key("b"), encode_session({}));
    auto r = b.finish();
    REQUIRE(r.state.sessions.size() == 2);
    CHECK(r.state.sessions[0].client_id == "aa");
    CHECK(r.state.sessions[1].client_id == "b");
    CHECK(r.references.find(3)->entries == 2);
    CHECK(r.references.find(3)->promised == 0);
    CHECK(r.stale_keys.empty());
    CHECK(r.notes.empty());
}

TEST_CASE("recovery: a malformed key of a known kind is corrupt; an unknown kind is a newer store") {
    recovery_builder b;
    CHECK_THROWS_WITH_AS(b.add("m\x01"s, "\x01"), "key 0x6d01: malformed key", corrupt_value_error);
    try {
        b.add("zfuture", "\x01");
        FAIL("no exception");
    } catch (const corrupt_value_error&) {
        FAIL("an unknown kind of key is not damage");
    } catch (const storage_error& e) {
        CHECK(std::string{e.what()}.find("written by a newer version?") != std::string::npos);
    }
}

TEST_CASE("recovery: a corrupt value stops recovery, naming its key") {
    recovery_builder b;
    CHECK_THROWS_WITH_AS(b.add(session_key("c"), "\x01\0\0"s), doctest::Contains("s/\"c\": corrupt value"),
                         corrupt_value_error);
}
