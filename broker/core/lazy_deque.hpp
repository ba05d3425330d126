#pragma once
// A std::deque that allocates nothing until the first push_back. libstdc++'s deque allocates its map and a
// 512-byte block as soon as it is constructed, and every session has a queue that most never use: an idle
// connection's session would carry half a kilobyte for nothing. Once used, it keeps its memory (as a vector
// keeps its capacity), so a queue that fills and drains does not allocate each time.

#include <cstddef>
#include <deque>
#include <memory>

namespace mqttd::core {

template <class T>
class lazy_deque {
public:
    bool empty() const noexcept { return !items_ || items_->empty(); }
    std::size_t size() const noexcept { return items_ ? items_->size() : 0; }
    T& front() noexcept { return items_->front(); }
    void pop_front() noexcept { items_->pop_front(); }
    void push_back(T item) {
        if (!items_) items_ = std::make_unique<std::deque<T>>();
        items_->push_back(std::move(item));
    }

    template <class F>
    void for_each(F&& f) const {
        if (items_)
            for (const auto& item : *items_) f(item);
    }

private:
    std::unique_ptr<std::deque<T>> items_;
};

}  // namespace mqttd::core
