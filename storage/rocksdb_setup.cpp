#include "storage/rocksdb_setup.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

namespace mqttd::storage::rocks {
namespace {

std::string format_text(const char* format, va_list ap) {
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(small, sizeof small, format, copy);
    va_end(copy);
    if (n < 0) return format;
    if (static_cast<std::size_t>(n) < sizeof small) return std::string(small, static_cast<std::size_t>(n));
    std::string text(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), format, ap);
    text.resize(static_cast<std::size_t>(n));
    return text;
}

bool has_lz4() {
    for (const auto c : rocksdb::GetSupportedCompressions())
        if (c == rocksdb::kLZ4Compression) return true;
    return false;
}

// Who holds dir/LOCK, asked without taking the lock (fcntl F_GETLK, the kind of lock RocksDB takes), so that
// a second broker is refused before RocksDB rotates the first one's LOG file. 0 when nobody does.
pid_t lock_holder(const std::filesystem::path& dir) {
    const int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct flock query {};
    query.l_type = F_WRLCK;
    query.l_whence = SEEK_SET;
    const bool is_held = ::fcntl(fd, F_GETLK, &query) == 0 && query.l_type != F_UNLCK;
    ::close(fd);
    return is_held ? query.l_pid : 0;
}

std::string in_use_message(const std::filesystem::path& dir, const std::string& reason) {
    return dir.string() + " is in use by another mqttd (or another process): " + reason;
}

// A directory with tables or logs but no CURRENT file has lost the file that says which MANIFEST lists the
// tables: RocksDB would start an empty store in it and later delete the old files as obsolete.
bool has_data_without_current(const std::filesystem::path& dir) {
    std::error_code ec;
    if (std::filesystem::exists(dir / "CURRENT", ec)) return false;
    for (const auto& entry : std::filesystem::directory_iterator{dir, ec}) {
        const auto ext = entry.path().extension();
        if (ext == ".sst" || ext == ".log") return true;
    }
    return false;
}

std::string utc_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
    return text;
}

}  // namespace

void note_logger::Logv(const char* format, va_list ap) {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void note_logger::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
    if (level < GetInfoLogLevel()) return;
    const auto text = format_text(format, ap);
    if (file_) rocksdb::Log(level, file_, "%s", text.c_str());
    if (level >= rocksdb::InfoLogLevel::WARN_LEVEL && level != rocksdb::InfoLogLevel::HEADER_LEVEL)
        notes_->add({level == rocksdb::InfoLogLevel::WARN_LEVEL ? note_level::warning : note_level::error,
                     "rocksdb: " + text});
}

void note_logger::Flush() {
    if (file_) file_->Flush();
}

rocksdb::Options make_options() {
    rocksdb::Options o;
    // A record torn at the end of the log (a power cut during its write) is dropped: it was never
    // acknowledged (apply(..., true) returns after the fsync). A record that fails its checksum with records
    // after it is corruption, and opening fails (on_corruption decides what follows): kPointInTimeRecovery
    // would stop the replay there and start without the acknowledged writes after it, silently. A read-write
    // open tries kAbsoluteConsistency first, to notice (and log) a torn tail; see open_database().
    o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
    o.paranoid_checks = true;
    // Memory: two 16 MiB memtables at most, and an 8 MiB block cache. A broker's working set is its
    // recent writes (in the memtable); reads happen only at start-up (recover(), which bypasses the cache):
    // apply() asks its key_index, never the database. The log is flushed into a table every 16 MiB, so its replay
    // at start-up stays short too.
    o.write_buffer_size = 16 << 20;
    o.max_write_buffer_number = 2;
    // Keys are mostly written in order within their kind (message ids and queue entries grow): the memtable
    // starts each insert where the last one of the same kind went instead of searching its skip list from
    // the top. One hint per key kind (its first byte); perf showed the skip-list search as the largest cost
    // of a write.
    // (Hints need writes that are not concurrent; the commit thread is the only writer anyway.)
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
    o.allow_concurrent_memtable_write = false;
    o.max_total_wal_size = 64 << 20;
    // The broker keeps 128 descriptors for listeners, logs and storage (README: max_connections); 64 open
    // tables covers about 4 GiB of store at the default 64 MiB table size.
    o.max_open_files = 64;
    o.max_background_jobs = 2;
    // Spread the writes of flushes and compactions instead of one large writeback that would delay the
    // commit thread's fsync behind it.
    o.bytes_per_sync = 1 << 20;
    o.level_compaction_dynamic_level_bytes = true;
    // LZ4 costs little CPU (only flushes and compactions compress, never apply()) and shrinks topics and
    // text payloads; Debian's librocksdb has it, but a build without it must still open.
    o.compression = has_lz4() ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
    // Queues are write-then-delete: tables fill with tombstones that every scan of a session's keys would
    // step over. A table where half of any 10,000 consecutive entries are deletions is compacted early.
    o.table_properties_collector_factories.push_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(10000, 5000));
    // The LOG file in the store: three of 1 MiB at most.
    o.max_log_file_size = 1 << 20;
    o.keep_log_file_num = 3;

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(8 << 20);
    // No bloom filters: nothing looks a key up (recovery reads every key in order), so they would only cost
    // flushes and compactions their hashing and the tables their space.
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return o;
}

open_result open_database(const std::filesystem::path& dir, bool read_only,
                          const std::shared_ptr<note_sink>& notes) {
    open_result result;
    if (const auto pid = lock_holder(dir); pid != 0 && !read_only) {
        result.failure = open_failure::in_use;
        result.reason = in_use_message(dir, (dir / "LOCK").string() + " is locked by process " +
                                                std::to_string(pid) + ": " + std::strerror(EAGAIN));
        return result;
    }
    if (read_only) {
        std::error_code ec;
        if (!std::filesystem::exists(dir / "CURRENT", ec)) {
            result.failure = open_failure::other;
            result.reason =
                dir.string() +
                (std::filesystem::exists(dir, ec) ? " holds no store (no CURRENT file)" : " does not exist");
            return result;
        }
    } else if (has_data_without_current(dir)) {
        result.failure = open_failure::corrupt;
        result.reason = "its CURRENT file is missing, but tables or logs are there";
        return result;
    }

    auto options = make_options();
    options.create_if_missing = !read_only;
    std::shared_ptr<rocksdb::Logger> file;
    if (!read_only && !rocksdb::CreateLoggerFromOptions(dir.string(), options, &file).ok()) file.reset();
    const auto open_with = [&](rocksdb::WALRecoveryMode mode, const std::shared_ptr<note_sink>& sink) {
        options.wal_recovery_mode = mode;
        options.info_log = std::make_shared<note_logger>(sink, file);
        rocksdb::DB* db = nullptr;
        const auto status = read_only ? rocksdb::DB::OpenForReadOnly(options, dir.string(), &db)
                                      : rocksdb::DB::Open(options, dir.string(), &db);
        result.db.reset(db);
        return status;
    };

    auto status = rocksdb::Status::OK();
    if (read_only) {
        status = open_with(options.wal_recovery_mode, notes);
    } else {
        // Strictly first, so that a torn tail is noticed and said (RocksDB drops it without a word in the
        // tolerant mode); the tolerant mode then tells a torn tail (it opens) from damage (it fails too).
        // Only a store that was not shut down cleanly and lost power pays for the second open.
        auto strict_notes = std::make_shared<note_sink>();
        status = open_with(rocksdb::WALRecoveryMode::kAbsoluteConsistency, strict_notes);
        if (status.IsCorruption()) {
            const auto strict_error = status.ToString();
            status = open_with(rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, notes);
            if (status.ok())
                notes->add({note_level::warning, "a write torn at the end of the log (a power cut while it was "
                                                 "written; in sync batch mode it was never acknowledged) was "
                                                 "dropped: " + strict_error});
        } else {
            for (auto& n : strict_notes->take()) notes->add(std::move(n));
        }
    }
    if (status.ok()) return result;
    const auto text = status.ToString();
    // A file the store's own records name (CURRENT its MANIFEST, the MANIFEST its tables) that is not there
    // is damage too, not a reason to try again.
    if (status.IsCorruption() || (!read_only && status.IsPathNotFound())) {
        result.failure = open_failure::corrupt;
        result.reason = text;
    } else if (status.IsIOError() && text.find("/LOCK: ") != std::string::npos) {
        result.failure = open_failure::in_use;
        result.reason = in_use_message(dir, text.find("current process") != std::string::npos
                                                ? "this process has it open already"
                                                : text.substr(text.find("/LOCK: ") + 7));
    } else {
        result.failure = open_failure::other;
        result.reason = "cannot open the store in " + dir.string() + ": " + text;
    }
    return result;
}

std::string corrupt_store_message(const std::filesystem::path& dir, const std::string& reason) {
    return "the store in " + dir.string() + " is corrupt (" + reason +
           "). It was left as it is: move the directory away to start with an empty store, or open it with "
           "on_corruption move_aside to have that done";
}

std::filesystem::path move_aside(const std::filesystem::path& dir) {
    const auto base = dir.string() + ".corrupt-" + utc_stamp();
    std::filesystem::path target = base;
    std::error_code ec;
    for (int n = 2; std::filesystem::exists(target, ec); ++n) target = base + "-" + std::to_string(n);
    std::filesystem::rename(dir, target, ec);
    if (ec)
        throw storage_error{"cannot move the corrupt store " + dir.string() + " to " + target.string() +
                            ": " + ec.message()};
    std::filesystem::create_directories(dir, ec);
    if (ec) throw storage_error{"cannot create " + dir.string() + ": " + ec.message()};
    return target;
}

}  // namespace mqttd::storage::rocks
