#include "storage/memory_engine.hpp"

#include <optional>
#include <string_view>
#include <utility>

#include "storage/batch_builder.hpp"
#include "storage/recovery.hpp"

namespace mqttd::storage {
namespace {

using key_map = std::map<std::string, std::string, std::less<>>;

// The map as it is plus the batch's writes, which reach the map only when the whole batch has been built.
class memory_view final : public batch_view {
public:
    explicit memory_view(const key_map& data) : data_{data} {}

    bool contains(std::string_view key) override {
        if (const auto it = writes_.find(key); it != writes_.end()) return it->second.has_value();
        return data_.find(key) != data_.end();
    }

    std::vector<std::string> keys_with_prefix(std::string_view prefix) override {
        std::vector<std::string> keys;
        auto stored = data_.lower_bound(prefix);
        auto written = writes_.lower_bound(prefix);
        const auto in_prefix = [&](const std::string& key) { return key.starts_with(prefix); };
        while (true) {
            const bool has_stored = stored != data_.end() && in_prefix(stored->first);
            const bool has_written = written != writes_.end() && in_prefix(written->first);
            if (!has_stored && !has_written) break;
            if (has_written && (!has_stored || written->first <= stored->first)) {
                if (has_stored && written->first == stored->first) ++stored;
                if (written->second) keys.push_back(written->first);
                ++written;
            } else {
                keys.push_back(stored->first);
                ++stored;
            }
        }
        return keys;
    }

    void put(std::string_view key, std::string_view value) override {
        writes_.insert_or_assign(std::string{key}, std::string{value});
    }
    void erase(std::string_view key) override { writes_.insert_or_assign(std::string{key}, std::nullopt); }

    void commit_to(key_map& data) {
        for (auto& [key, value] : writes_) {
            if (value)
                data.insert_or_assign(key, std::move(*value));
            else
                data.erase(key);
        }
    }

private:
    const key_map& data_;
    std::map<std::string, std::optional<std::string>, std::less<>> writes_;  // nullopt: erased
};

}  // namespace

recovered_state memory_engine::recover() {
    recovery_builder builder;
    for (const auto& [key, value] : data_) builder.add(key, value);
    auto result = builder.finish();
    for (const auto& key : result.stale_keys) data_.erase(key);
    references_ = std::move(result.references);
    for (auto& n : result.notes) notes_.add(std::move(n));
    return std::move(result.state);
}

void memory_engine::apply(const std::vector<operation>& ops, bool /*sync*/) {
    memory_view view{data_};
    batch_builder builder{view, references_};
    builder.add_all(ops);  // throws before anything reaches data_
    view.commit_to(data_);
    references_.apply(builder.changes());
}

}  // namespace mqttd::storage
