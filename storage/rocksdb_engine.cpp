#include "storage/rocksdb_engine.hpp"

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include "storage/batch_builder.hpp"
#include "storage/encoding.hpp"
#include "storage/key_index.hpp"
#include "storage/recovery.hpp"
#include "storage/rocksdb_setup.hpp"

namespace mqttd::storage {

struct rocksdb_engine::impl {
    std::filesystem::path dir;
    bool is_read_only = false;
    corruption_action on_corruption = corruption_action::stop;
    std::shared_ptr<note_sink> notes = std::make_shared<note_sink>();
    std::unique_ptr<rocksdb::DB> db;
    reference_table references;  // filled by recover(); apply() needs it
    key_index keys;              // likewise
    bool is_recovered = false;

    void close() {
        if (db) (void)db->Close();
        db.reset();
    }

    // A store found corrupt (at open, or by recover()): refused, or set aside for an empty one.
    void on_corrupt(const std::string& reason) {
        if (is_read_only || on_corruption == corruption_action::stop)
            throw storage_error{rocks::corrupt_store_message(dir, reason)};
        close();
        const auto moved_to = rocks::move_aside(dir);
        auto reopened = rocks::open_database(dir, false, notes);
        if (reopened.failure != rocks::open_failure::none) throw storage_error{reopened.reason};
        db = std::move(reopened.db);
        notes->add({note_level::error, "the store in " + dir.string() + " was corrupt (" + reason +
                                           "); it was moved to " + moved_to.string() +
                                           " and mqttd started with an empty store"});
    }
};

namespace {

std::string_view view(const rocksdb::Slice& s) noexcept { return {s.data(), s.size()}; }

// The store plus the batch being built, for batch_builder. Every key it asks about is a session, queue or
// inbound id key, which the key_index answers without reading the database; the writes go to a plain
// WriteBatch, and to the index, which takes them back unless the batch is stored (commit()).
class rocksdb_view final : public batch_view {
public:
    rocksdb_view(rocksdb::WriteBatch& batch, key_index& keys) : batch_{batch}, keys_{keys} {}
    rocksdb_view(const rocksdb_view&) = delete;
    rocksdb_view& operator=(const rocksdb_view&) = delete;
    ~rocksdb_view() { keys_.rollback(); }

    bool contains(std::string_view key) override {
        if (const auto found = keys_.contains(key)) return *found;
        throw storage_error{"the store cannot look up " + describe_key(key) + " (not an indexed key)"};
    }

    std::vector<std::string> keys_with_prefix(std::string_view prefix) override {
        if (auto keys = keys_.keys_with_prefix(prefix)) return std::move(*keys);
        throw storage_error{"the store cannot list " + describe_key(prefix) + " (not an indexed prefix)"};
    }

    void put(std::string_view key, std::string_view value) override {
        check(batch_.Put(rocksdb::Slice{key.data(), key.size()}, rocksdb::Slice{value.data(), value.size()}));
        keys_.put(key);
    }
    void erase(std::string_view key) override {
        check(batch_.Delete(rocksdb::Slice{key.data(), key.size()}));
        keys_.erase(key);
    }

    void commit() noexcept { keys_.commit(); }

private:
    static void check(const rocksdb::Status& s) {
        if (!s.ok()) throw storage_error{"building a write batch: " + s.ToString()};
    }

    rocksdb::WriteBatch& batch_;
    key_index& keys_;
};

std::filesystem::path normalized(const std::filesystem::path& dir) {
    auto p = dir.lexically_normal();
    if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "store/" names "store"
    return p;
}

}  // namespace

rocksdb_engine::rocksdb_engine(std::unique_ptr<impl> state) : impl_{std::move(state)} {}

rocksdb_engine::~rocksdb_engine() {
    if (impl_) impl_->close();
}

std::unique_ptr<rocksdb_engine> rocksdb_engine::open(const std::filesystem::path& dir, const options& opts) {
    auto state = std::make_unique<impl>();
    state->dir = normalized(dir);
    state->on_corruption = opts.on_corruption;
    std::error_code ec;
    std::filesystem::create_directories(state->dir, ec);
    if (ec) throw storage_error{"cannot create " + state->dir.string() + ": " + ec.message()};
    auto opened = rocks::open_database(state->dir, false, state->notes);
    if (opened.failure == rocks::open_failure::corrupt)
        state->on_corrupt(opened.reason);
    else if (opened.failure != rocks::open_failure::none)
        throw storage_error{opened.reason};
    else
        state->db = std::move(opened.db);
    return std::make_unique<rocksdb_engine>(std::move(state));
}

std::unique_ptr<rocksdb_engine> rocksdb_engine::open_read_only(const std::filesystem::path& dir) {
    auto state = std::make_unique<impl>();
    state->dir = normalized(dir);
    state->is_read_only = true;
    auto opened = rocks::open_database(state->dir, true, state->notes);
    if (opened.failure == rocks::open_failure::corrupt) state->on_corrupt(opened.reason);  // throws
    if (opened.failure != rocks::open_failure::none) throw storage_error{opened.reason};
    state->db = std::move(opened.db);
    return std::make_unique<rocksdb_engine>(std::move(state));
}

recovered_state rocksdb_engine::recover() {
    auto& s = *impl_;
    recovery_result result;
    try {
        rocksdb::ReadOptions ro;
        ro.fill_cache = false;  // read once: keep the cache for what apply() looks up later
        ro.readahead_size = 2 << 20;
        std::unique_ptr<rocksdb::Iterator> it{s.db->NewIterator(ro)};
        recovery_builder builder;
        for (it->SeekToFirst(); it->Valid(); it->Next()) builder.add(view(it->key()), view(it->value()));
        const auto status = it->status();
        if (status.IsCorruption()) throw corrupt_value_error{status.ToString()};
        if (!status.ok())
            throw storage_error{"reading the store in " + s.dir.string() + ": " + status.ToString()};
        result = builder.finish();
    } catch (const corrupt_value_error& e) {
        s.on_corrupt(e.what());
        s.references = {};
        s.keys.reset({});
        s.is_recovered = true;
        return {};
    }
    if (!s.is_read_only && !result.stale_keys.empty()) {
        rocksdb::WriteBatch batch;
        for (const auto& key : result.stale_keys) batch.Delete(key);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        const auto status = s.db->Write(wo, &batch);
        if (!status.ok())
            throw storage_error{"deleting what recovery left behind in " + s.dir.string() + ": " +
                                status.ToString()};
    }
    for (auto& n : result.notes) s.notes->add(std::move(n));
    s.references = std::move(result.references);
    s.keys.reset(result.state);
    s.is_recovered = true;
    return std::move(result.state);
}

void rocksdb_engine::apply(const std::vector<operation>& ops, bool sync) {
    auto& s = *impl_;
    if (s.is_read_only) throw storage_error{"the store in " + s.dir.string() + " is open read-only"};
    if (!s.is_recovered)
        throw storage_error{"apply() before recover(): the message references are not read yet"};
    if (ops.empty()) {
        if (sync) flush();
        return;
    }
    // RocksDB counts every step in a thread-local perf context by default (kEnableCount); nothing reads those
    // counts, and from a shared library each one is a TLS lookup (perf: about 12 % of the broker's CPU in
    // sync batch mode). The level is per thread; this is the commit thread.
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    rocksdb::WriteBatch batch;
    rocksdb_view batch_view{batch, s.keys};  // takes the index's changes back unless committed
    batch_builder builder{batch_view, s.references};
    builder.add_all(ops);
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    const auto status = s.db->Write(wo, &batch);
    if (!status.ok())
        throw storage_error{"writing to the store in " + s.dir.string() + ": " + status.ToString()};
    batch_view.commit();
    s.references.apply(builder.changes());
}

void rocksdb_engine::flush() {
    auto& s = *impl_;
    if (s.is_read_only) throw storage_error{"the store in " + s.dir.string() + " is open read-only"};
    const auto status = s.db->FlushWAL(true);
    if (!status.ok())
        throw storage_error{"syncing the store's log in " + s.dir.string() + ": " + status.ToString()};
}

std::vector<note> rocksdb_engine::take_notes() { return impl_->notes->take(); }

const std::filesystem::path& rocksdb_engine::directory() const noexcept { return impl_->dir; }

bool rocksdb_engine::is_read_only() const noexcept { return impl_->is_read_only; }

}  // namespace mqttd::storage
