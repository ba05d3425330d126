#pragma once
// An engine that keeps the store in memory, for persistence off and for tests. It keeps the same keys and
// values as rocksdb_engine, in a byte-ordered map, and shares its batch_builder and recovery_builder, so the
// two cannot differ in meaning; recover() reads back what this same instance was given. Nothing is durable:
// apply()'s sync and flush() do nothing. Used by one thread at a time (the commit thread).

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "storage/note_sink.hpp"
#include "storage/reference_table.hpp"
#include "storage/store.hpp"

namespace mqttd::storage {

class memory_engine final : public engine {
public:
    recovered_state recover() override;
    void apply(const std::vector<operation>& ops, bool sync) override;
    void flush() override {}
    std::vector<note> take_notes() override { return notes_.take(); }

    // The keys stored (store.hpp's layout, encoding.hpp's bytes), for tests to look at.
    std::size_t key_count() const noexcept { return data_.size(); }
    bool contains_key(std::string_view key) const { return data_.find(key) != data_.end(); }

private:
    std::map<std::string, std::string, std::less<>> data_;
    reference_table references_;
    note_sink notes_;
};

}  // namespace mqttd::storage
