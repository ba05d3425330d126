#pragma once
// An allocator for Asio operations that must cost exactly their size. Asio gives a handler without an
// allocator of its own a "recycling" one, which hands out a block cached on the thread by an earlier operation
// if it is big enough: an idle connection's readiness wait then keeps a ~560-byte block left by a write for as
// long as the connection is idle. Bound to the handler (boost::asio::bind_allocator), this allocator is not
// std::allocator, so Asio uses it as it is: plain new and delete of the operation's own size.

#include <cstddef>
#include <new>

namespace mqttd::net {

template <class T>
struct exact_allocator {
    using value_type = T;

    exact_allocator() noexcept = default;
    template <class U>
    exact_allocator(const exact_allocator<U>&) noexcept {}  // NOLINT: rebinding must be implicit

    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { ::operator delete(p, n * sizeof(T)); }

    template <class U>
    bool operator==(const exact_allocator<U>&) const noexcept { return true; }
};

}  // namespace mqttd::net
