// What only the RocksDB engine does: refuse a directory in use, survive a torn log, deal with a corrupt
// store, and open read-only beside a running broker.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <unistd.h>

#include <rocksdb/db.h>

#include "engine_fixtures.hpp"
#include "storage/encoding.hpp"
#include "storage/rocksdb_engine.hpp"

using namespace mqttd::storage;
using namespace mqttd::storage::test;
namespace fs = std::filesystem;

namespace {

// A store holding a session with a queued message and `retained` retained messages, closed again.
std::string fill_store(const fs::path& dir, int retained = 3) {
    auto store = rocksdb_engine::open(dir);
    (void)store->recover();
    std::vector<operation> ops{make_session("c", {{"t/#", 1}}),
                               put_message{make_message(1, "t/1", "body"), 1},
                               put_queue_entry{"c", make_entry(1)}};
    for (int i = 0; i < retained; ++i)
        ops.push_back(
            put_retained{make_message(0, "r/" + std::to_string(i), std::string(100, 'a' + i % 26))});
    store->apply(ops, true);
    return describe(store->recover());
}

// Moves what the log holds into a table file, as RocksDB does every write_buffer_size bytes.
void flush_to_table(const fs::path& dir) {
    rocksdb::DB* raw = nullptr;
    const auto opened = rocksdb::DB::Open(rocksdb::Options{}, dir.string(), &raw);
    REQUIRE_MESSAGE(opened.ok(), opened.ToString());
    const std::unique_ptr<rocksdb::DB> db{raw};
    REQUIRE(db->Flush(rocksdb::FlushOptions{}).ok());
    REQUIRE(db->Close().ok());
}

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& ext) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator{dir})
        if (e.path().extension() == ext) found.push_back(e.path());
    std::sort(found.begin(), found.end());
    return found;
}

std::vector<fs::path> moved_aside(const fs::path& dir) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator{dir.parent_path()})
        if (e.path().filename().string().starts_with(dir.filename().string() + ".corrupt-"))
            found.push_back(e.path());
    return found;
}

void overwrite(const fs::path& file, std::size_t offset, std::string_view bytes) {
    auto data = read_file(file);
    REQUIRE(offset + bytes.size() <= data.size());
    data.replace(offset, bytes.size(), bytes);
    write_file(file, data);
}

bool has_note(const std::vector<note>& notes, note_level level, const std::string& part) {
    return std::any_of(notes.begin(), notes.end(), [&](const note& n) {
        return n.level == level && n.text.find(part) != std::string::npos;
    });
}

}  // namespace

TEST_CASE("rocksdb: the directory is created when missing, parents included") {
    const scratch_dir tmp;
    auto store = rocksdb_engine::open(tmp / "a/b/store");
    CHECK(fs::is_directory(tmp / "a/b/store"));
    CHECK(store->directory() == tmp / "a/b/store");
    CHECK(describe(store->recover()) == "next_message_id 1\n");
}

TEST_CASE("rocksdb: a directory this process has open already is refused, saying so") {
    const scratch_dir tmp;
    const auto first = rocksdb_engine::open(tmp / "store");
    CHECK_THROWS_WITH_AS(
        rocksdb_engine::open(tmp / "store"),
        ((tmp / "store").string() +
         " is in use by another mqttd (or another process): this process has it open already")
            .c_str(),
        storage_error);
}

TEST_CASE("rocksdb: a directory another process holds is refused, naming the process and the reason") {
    const scratch_dir tmp;
    fill_store(tmp / "store");
    background_program holder{{MQTTD_STORAGE_LOCK_HOLDER, (tmp / "store").string()}};
    REQUIRE_MESSAGE(holder.wait_for_output("ready"), holder.err());
    try {
        (void)rocksdb_engine::open(tmp / "store");
        FAIL("opened a store another process holds");
    } catch (const storage_error& e) {
        const std::string what = e.what();
        CHECK(what.starts_with((tmp / "store").string() +
                               " is in use by another mqttd (or another process): "));
        CHECK(what.find("LOCK is locked by process ") != std::string::npos);
        CHECK(what.ends_with(": Resource temporarily unavailable"));
    }
    // Inspection still works beside it.
    CHECK(rocksdb_engine::open_read_only(tmp / "store")->recover().sessions.size() == 1);
}

TEST_CASE("rocksdb: a directory that cannot be made or read is refused with the system's reason") {
    const scratch_dir tmp;
    write_file(tmp / "file", "not a directory");
    CHECK_THROWS_WITH_AS(
        rocksdb_engine::open(tmp / "file/store"),
        doctest::Contains(("cannot create " + (tmp / "file/store").string() + ": Not a directory").c_str()),
        storage_error);
    if (::geteuid() == 0) return;  // root reads every directory whatever its mode
    fill_store(tmp / "store");
    fs::permissions(tmp / "store", fs::perms::none);
    CHECK_THROWS_WITH_AS(rocksdb_engine::open(tmp / "store"), doctest::Contains("Permission denied"),
                         storage_error);
    fs::permissions(tmp / "store", fs::perms::owner_all);
}

TEST_CASE("rocksdb: a write torn at the end of the log is dropped, and every complete one kept") {
    const scratch_dir tmp;
    const auto dir = tmp / "store";
    {
        auto store = rocksdb_engine::open(dir);
        (void)store->recover();
        for (int i = 0; i < 5; ++i)
            store->apply({put_retained{make_message(0, "t/" + std::to_string(i), "v")}}, true);
    }
    // A power cut in the middle of the last write: its record is only partly on disk.
    const auto logs = files_with_extension(dir, ".log");
    REQUIRE_FALSE(logs.empty());
    const auto log = logs.back();
    fs::resize_file(log, fs::file_size(log) - 3);

    auto store = rocksdb_engine::open(dir);
    const auto state = store->recover();
    REQUIRE(state.retained.size() == 4);
    CHECK(state.retained.back().topic == "t/3");
    // Dropped, and said: the broker logs it as a warning.
    CHECK(has_note(store->take_notes(), note_level::warning, "a write torn at the end of the log"));
    // The store goes on from there.
    store->apply({put_retained{make_message(0, "t/9", "v")}}, true);
    store.reset();
    CHECK(rocksdb_engine::open(dir)->recover().retained.size() == 5);
}

TEST_CASE("rocksdb: a corrupt table stops recovery, or is set aside with move_aside") {
    const scratch_dir tmp;
    const auto dir = tmp / "store";
    fill_store(dir, 50);
    flush_to_table(dir);
    const auto tables = files_with_extension(dir, ".sst");
    REQUIRE(tables.size() == 1);
    overwrite(tables[0], 64, "garbage, where the first data block was");

    SUBCASE("stop") {
        try {
            auto store = rocksdb_engine::open(dir);
            (void)store->recover();
            FAIL("a corrupt store recovered");
        } catch (const storage_error& e) {
            const std::string what = e.what();
            CHECK(what.starts_with("the store in " + dir.string() + " is corrupt (Corruption: "));
            CHECK(what.ends_with(
                "). It was left as it is: move the directory away to start with an empty store, "
                "or open it with on_corruption move_aside to have that done"));
        }
        CHECK(moved_aside(dir).empty());
        CHECK(files_with_extension(dir, ".sst") == tables);
    }
    SUBCASE("move_aside") {
        auto store = rocksdb_engine::open(dir, {corruption_action::move_aside});
        CHECK(describe(store->recover()) == "next_message_id 1\n");
        const auto moved = moved_aside(dir);
        REQUIRE(moved.size() == 1);
        CHECK(fs::exists(moved[0] / tables[0].filename()));
        const auto notes = store->take_notes();
        CHECK(has_note(notes, note_level::error,
                       "the store in " + dir.string() + " was corrupt (Corruption: "));
        CHECK(has_note(notes, note_level::error,
                       "; it was moved to " + moved[0].string() + " and mqttd started with an empty store"));
        store->apply({make_session("new")}, true);
        store.reset();
        CHECK(rocksdb_engine::open(dir)->recover().sessions.size() == 1);
    }
}

TEST_CASE("rocksdb: a damaged CURRENT or MANIFEST file is corruption") {
    const scratch_dir tmp;
    const auto dir = tmp / "store";
    fill_store(dir);
    flush_to_table(dir);

    SUBCASE("CURRENT without its newline") { write_file(dir / "CURRENT", "MANIFEST-000"); }
    SUBCASE("CURRENT naming a MANIFEST that is not there") {
        write_file(dir / "CURRENT", "MANIFEST-999999\n");
    }
    SUBCASE("CURRENT missing, with tables beside it") { fs::remove(dir / "CURRENT"); }
    SUBCASE("a table missing") { fs::remove(files_with_extension(dir, ".sst").at(0)); }
    SUBCASE("MANIFEST cut short") {
        const auto manifests = [&] {
            std::vector<fs::path> found;
            for (const auto& e : fs::directory_iterator{dir})
                if (e.path().filename().string().starts_with("MANIFEST-")) found.push_back(e.path());
            return found;
        }();
        REQUIRE(manifests.size() == 1);
        fs::resize_file(manifests[0], 20);
    }

    CHECK_THROWS_WITH_AS(rocksdb_engine::open(dir),
                         doctest::Contains(("the store in " + dir.string() + " is corrupt (").c_str()),
                         storage_error);
    auto store = rocksdb_engine::open(dir, {corruption_action::move_aside});
    CHECK(describe(store->recover()) == "next_message_id 1\n");
    CHECK(moved_aside(dir).size() == 1);
    CHECK(has_note(store->take_notes(), note_level::error, "and mqttd started with an empty store"));
}

TEST_CASE("rocksdb: a value that does not decode is corruption too") {
    const scratch_dir tmp;
    const auto dir = tmp / "store";
    fill_store(dir);
    {
        rocksdb::DB* raw = nullptr;
        REQUIRE(rocksdb::DB::Open(rocksdb::Options{}, dir.string(), &raw).ok());
        const std::unique_ptr<rocksdb::DB> db{raw};
        REQUIRE(db->Put(rocksdb::WriteOptions{}, session_key("c"), "\x01\x00\x00").ok());
    }
    CHECK_THROWS_WITH_AS(
        rocksdb_engine::open(dir)->recover(),
        doctest::Contains("is corrupt (s/\"c\": corrupt value: subscription count needs 4 bytes"),
        storage_error);
    auto store = rocksdb_engine::open(dir, {corruption_action::move_aside});
    CHECK(store->recover().sessions.empty());
    CHECK(moved_aside(dir).size() == 1);
}

TEST_CASE("rocksdb: a read-only open sees what a running engine stored, and changes nothing") {
    const scratch_dir tmp;
    const auto dir = tmp / "store";
    auto running = rocksdb_engine::open(dir);
    (void)running->recover();
    running->apply({make_session("c"), put_message{make_message(4, "t", "orphan"), 1},
                    put_message{make_message(5, "t", "queued"), 1}, put_queue_entry{"c", make_entry(5)}},
                   false);
    running.reset();  // the orphan stays: only a read-write recover() deletes it
    running = rocksdb_engine::open(dir);

    auto reader = rocksdb_engine::open_read_only(dir);
    CHECK(reader->is_read_only());
    const auto state = reader->recover();
    REQUIRE(state.messages.size() == 1);
    CHECK(state.messages[0].id == 5);
    CHECK_THROWS_WITH_AS(reader->apply({make_session("x")}, true),
                         ("the store in " + dir.string() + " is open read-only").c_str(), storage_error);
    CHECK_THROWS_AS(reader->flush(), storage_error);
    reader.reset();
    // The orphan is still there for the read-write engine to drop.
    (void)running->recover();
    CHECK(has_note(running->take_notes(), note_level::info, "dropped 1 message bodies"));
}

TEST_CASE("rocksdb: a read-only open of what is not a store says so") {
    const scratch_dir tmp;
    CHECK_THROWS_WITH_AS(rocksdb_engine::open_read_only(tmp / "none"),
                         ((tmp / "none").string() + " does not exist").c_str(), storage_error);
    CHECK_THROWS_WITH_AS(rocksdb_engine::open_read_only(tmp.path()),
                         (tmp.path().string() + " holds no store (no CURRENT file)").c_str(), storage_error);
}

TEST_CASE("rocksdb: apply() before recover() is refused") {
    const scratch_dir tmp;
    auto store = rocksdb_engine::open(tmp / "store");
    CHECK_THROWS_AS(store->apply({make_session("c")}, true), storage_error);
}
