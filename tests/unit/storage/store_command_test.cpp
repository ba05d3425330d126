// mqttd-store: its three listings, its command line and exit codes, and that it reads a store a running
// engine holds.

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_fixtures.hpp"
#include "storage/rocksdb_engine.hpp"
#include "storage/store_command.hpp"

using namespace mqttd::storage;
using namespace mqttd::storage::test;

namespace {

struct command_result {
    int exit_code;
    std::string out, err;
};

command_result run(std::vector<std::string_view> args) {
    std::ostringstream out, err;
    const int code = run_store_command(args, out, err);
    return {code, out.str(), err.str()};
}

// A running broker's store: the engine stays open (and holds the lock) while the tool reads it.
struct running_store {
    scratch_dir tmp;
    std::string dir = (tmp / "store").string();
    std::unique_ptr<rocksdb_engine> engine = rocksdb_engine::open(dir);

    running_store() {
        (void)engine->recover();
        engine->apply({put_retained{make_message(0, "home/temp", "21.5", 1)},
                       put_retained{make_message(0, "bin", std::string{"\x00\xff\x10", 3}, 2)},
                       make_session("sensor-1", {{"home/#", 1}, {"cmd/+", 2}}), make_session("quiet\n"),
                       put_message{make_message(7, "home/temp", "21.5", 1), 1},
                       put_message{make_message(8, "home/door", "open", 2), 1},
                       put_queue_entry{"sensor-1", make_entry(7, delivery_state::awaiting_puback, 3)},
                       put_queue_entry{"sensor-1", make_entry(8, delivery_state::queued, 0, 2)},
                       put_inbound_id{"sensor-1", 12}, put_inbound_id{"sensor-1", 4}},
                      false);
    }
};

}  // namespace

TEST_CASE("mqttd-store: sessions lists one line per session") {
    const running_store store;
    const auto r = run({store.dir, "sessions"});
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
    CHECK(r.out ==
          "client_id=\"quiet\\x0a\" subscriptions=0 queue=0 inflight=0 inbound_ids=\n"
          "client_id=\"sensor-1\" subscriptions=2 queue=2 inflight=1 inbound_ids=4,12\n");
}

TEST_CASE("mqttd-store: retained lists topic, QoS and payload size") {
    const running_store store;
    const auto r = run({store.dir, "retained"});
    CHECK(r.exit_code == 0);
    CHECK(r.out ==
          "topic=\"bin\" qos=2 payload_bytes=3\n"
          "topic=\"home/temp\" qos=1 payload_bytes=4\n");
}

TEST_CASE("mqttd-store: export writes everything as JSON, binary payloads in base64") {
    const running_store store;
    const auto r = run({store.dir, "export"});
    REQUIRE(r.exit_code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["next_message_id"] == 9);
    REQUIRE(doc["retained"].size() == 2);
    CHECK(doc["retained"][0] == nlohmann::json{{"topic", "bin"}, {"qos", 2}, {"payload_base64", "AP8Q"}});
    CHECK(doc["retained"][1] == nlohmann::json{{"topic", "home/temp"}, {"qos", 1}, {"payload", "21.5"}});
    REQUIRE(doc["sessions"].size() == 2);
    const auto& s = doc["sessions"][1];
    CHECK(s["client_id"] == "sensor-1");
    CHECK(s["subscriptions"] ==
          nlohmann::json::parse(R"([{"filter":"home/#","qos":1},{"filter":"cmd/+","qos":2}])"));
    CHECK(s["queue"] == nlohmann::json::parse(R"([
        {"message_id":7,"qos":1,"retain":false,"state":"awaiting_puback","packet_id":3},
        {"message_id":8,"qos":2,"retain":false,"state":"queued","packet_id":0}])"));
    CHECK(s["inbound_ids"] == nlohmann::json::parse("[4,12]"));
    CHECK(doc["messages"] == nlohmann::json::parse(R"([
        {"id":7,"topic":"home/temp","qos":1,"retain":false,"payload":"21.5"},
        {"id":8,"topic":"home/door","qos":2,"retain":false,"payload":"open"}])"));
}

TEST_CASE("mqttd-store: usage is exit code 2, help 0, an unreadable store 1 with the reason") {
    CHECK(run({}).exit_code == 2);
    CHECK(run({"dir"}).exit_code == 2);
    const auto unknown = run({"dir", "list"});
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.err.starts_with("mqttd-store: unknown command \"list\"\nUsage: mqttd-store DIR"));
    const auto help = run({"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out == store_usage());
    const scratch_dir tmp;
    const auto missing = run({(tmp / "none").string(), "sessions"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "mqttd-store: " + (tmp / "none").string() + " does not exist\n");
}

TEST_CASE("mqttd-store: the program reads a store a running engine holds") {
    const running_store store;
    const auto r = run_program({MQTTD_STORE_PATH, store.dir, "sessions"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("client_id=\"sensor-1\" subscriptions=2 queue=2 inflight=1 inbound_ids=4,12\n") !=
          std::string::npos);
    CHECK(run_program({MQTTD_STORE_PATH}).exit_code == 2);
}
