#pragma once
// The durable engine: the store in a RocksDB database in one directory, written through its write-ahead
// log (one WriteBatch per apply(), fsynced when asked). Used by one thread at a time (the commit thread),
// recover() first; take_notes() from any thread. RocksDB's headers stay in the .cpp files.
//
// Opening: the directory is created when missing. A directory another process holds (RocksDB's LOCK file)
// is refused; so is a corrupt store, unless on_corruption is move_aside: then the directory is renamed to
// <dir>.corrupt-<UTC time>, an empty store takes its place, and an error note says so. A write torn by a
// power cut at the end of the log is dropped (point-in-time recovery): the store is as of the last complete
// write, which is every write apply(..., true) returned from.

#include <filesystem>
#include <memory>
#include <vector>

#include "storage/store.hpp"

namespace mqttd::storage {

enum class corruption_action { stop, move_aside };

struct rocksdb_engine_options {
    corruption_action on_corruption = corruption_action::stop;
};

class rocksdb_engine final : public engine {
public:
    using options = rocksdb_engine_options;

    // Throws storage_error naming the directory and the reason.
    static std::unique_ptr<rocksdb_engine> open(const std::filesystem::path& dir, const options& opts = {});
    // For inspection while a broker runs on the same directory (no lock is taken): recover() reads what was
    // stored when it opened and deletes nothing; apply() and flush() throw storage_error.
    static std::unique_ptr<rocksdb_engine> open_read_only(const std::filesystem::path& dir);

    ~rocksdb_engine() override;
    rocksdb_engine(const rocksdb_engine&) = delete;
    rocksdb_engine& operator=(const rocksdb_engine&) = delete;

    recovered_state recover() override;
    void apply(const std::vector<operation>& ops, bool sync) override;
    void flush() override;
    std::vector<note> take_notes() override;

    const std::filesystem::path& directory() const noexcept;
    bool is_read_only() const noexcept;

    struct impl;
    explicit rocksdb_engine(std::unique_ptr<impl> state);

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace mqttd::storage
