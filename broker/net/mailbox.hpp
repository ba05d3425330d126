#pragma once
// What other threads hand one worker, taken all at once by a single handler that the first hand-off posts:
// a burst of hand-offs costs one trip through the worker's event loop, not one each. The lock travels with
// the items. put() from any thread; take() on the owning worker.

#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

namespace mqttd::net {

template <class T>
class mailbox {
public:
    // Warning: callable from any thread. True when the box was empty: the caller then posts the handler that
    // calls take().
    bool put(T item) {
        std::lock_guard lock{mutex_};
        items_.push_back(std::move(item));
        return items_.size() == 1;
    }
    bool put_all(std::vector<T>&& items) {
        std::lock_guard lock{mutex_};
        const bool was_empty = items_.empty();
        if (was_empty)
            items_ = std::move(items);
        else
            items_.insert(items_.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
        return was_empty;
    }

    // Everything put so far, oldest first; the box is empty after.
    std::vector<T> take() {
        std::vector<T> taken;
        std::lock_guard lock{mutex_};
        taken.swap(items_);
        return taken;
    }

private:
    std::mutex mutex_;
    std::vector<T> items_;
};

}  // namespace mqttd::net
