#pragma once
// How rocksdb_engine opens its database: the options, the info log that also feeds the notes, and what an
// open that fails means (in use, corrupt, anything else). For rocksdb_engine's .cpp files only: this header
// brings in RocksDB's.

#include <filesystem>
#include <memory>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include "storage/note_sink.hpp"

namespace mqttd::storage::rocks {

// Writes RocksDB's info log to the LOG file in the store (when it has one: a read-only open writes nothing
// there), and keeps what RocksDB reports at warning level or above as notes for the broker's log.
// Warning: called from RocksDB's background threads too.
class note_logger final : public rocksdb::Logger {
public:
    note_logger(std::shared_ptr<note_sink> notes, std::shared_ptr<rocksdb::Logger> file)
        : rocksdb::Logger{rocksdb::InfoLogLevel::INFO_LEVEL},
          notes_{std::move(notes)},
          file_{std::move(file)} {}

    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override;
    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
    void Flush() override;

private:
    std::shared_ptr<note_sink> notes_;
    std::shared_ptr<rocksdb::Logger> file_;
};

// The options of every open; see the .cpp for why each value.
rocksdb::Options make_options();

enum class open_failure { none, in_use, corrupt, other };

struct open_result {
    std::unique_ptr<rocksdb::DB> db;
    open_failure failure = open_failure::none;
    std::string
        reason;  // for a failure: the message, naming dir (in_use, other) or what is damaged (corrupt)
};

// Opens dir (which exists). Read-write opens create a store in an empty directory.
open_result open_database(const std::filesystem::path& dir, bool read_only,
                          const std::shared_ptr<note_sink>& notes);

// The message for a corrupt store left in place.
std::string corrupt_store_message(const std::filesystem::path& dir, const std::string& reason);

// Renames dir to <dir>.corrupt-<UTC time> and creates dir again, empty. Returns the new name of the old
// directory. Throws storage_error.
std::filesystem::path move_aside(const std::filesystem::path& dir);

}  // namespace mqttd::storage::rocks
