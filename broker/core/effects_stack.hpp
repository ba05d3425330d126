#pragma once
// Reusable effects vectors by nesting depth. Applying a session's effects can run another session's
// (a PUBLISH delivers to local subscribers, a takeover publishes a will), so each level needs its own
// vector; a lease takes the next one and gives it back when it goes out of scope, exceptions included.
// Owned by one shard; not thread-safe.

#include <cstddef>
#include <deque>

#include "broker/core/effects.hpp"

namespace mqttd::core {

class effects_stack {
public:
    class lease {
    public:
        explicit lease(effects_stack& stack) : stack_{stack}, fx_{stack.push()} {}
        ~lease() { stack_.pop(); }
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        effects& operator*() const noexcept { return fx_; }

    private:
        effects_stack& stack_;
        effects& fx_;
    };

    std::size_t depth() const noexcept { return depth_; }
    // The deepest nesting seen so far: a bounded number by design (tests check it).
    std::size_t max_depth() const noexcept { return max_depth_; }

private:
    effects& push() {
        if (depth_ == vectors_.size()) vectors_.emplace_back();  // deque: references stay valid
        auto& fx = vectors_[depth_++];
        fx.clear();
        if (depth_ > max_depth_) max_depth_ = depth_;
        return fx;
    }
    void pop() noexcept { --depth_; }

    std::deque<effects> vectors_;
    std::size_t depth_ = 0;
    std::size_t max_depth_ = 0;
};

}  // namespace mqttd::core
