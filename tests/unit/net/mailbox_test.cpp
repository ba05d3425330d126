// mailbox: hand-offs to a worker, taken by one handler per burst.

#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "broker/net/mailbox.hpp"

using mqttd::net::mailbox;

TEST_CASE("mailbox: only the hand-off into an empty box asks for a handler; take() empties it in order") {
    mailbox<int> box;
    CHECK(box.put(1));
    CHECK_FALSE(box.put(2));
    CHECK_FALSE(box.put_all({3, 4}));
    CHECK(box.take() == std::vector<int>{1, 2, 3, 4});
    CHECK(box.take().empty());
    CHECK(box.put_all({5, 6}));
    CHECK_FALSE(box.put(7));
    CHECK(box.take() == std::vector<int>{5, 6, 7});
}

TEST_CASE("mailbox: from many threads every item arrives once, and one put per empty box says so") {
    mailbox<int> box;
    constexpr int threads = 4, per_thread = 1000;
    std::vector<std::thread> senders;
    std::vector<int> said_empty(threads, 0);
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) said_empty[static_cast<std::size_t>(t)] += box.put(t * per_thread + i);
        });
    for (auto& s : senders) s.join();
    const auto taken = box.take();
    CHECK(taken.size() == threads * per_thread);
    int empties = 0;
    for (const auto n : said_empty) empties += n;
    CHECK(empties == 1);  // nothing took in between: only the very first put found the box empty
    std::vector<bool> seen(threads * per_thread, false);
    for (const auto v : taken) {
        CHECK_FALSE(seen[static_cast<std::size_t>(v)]);
        seen[static_cast<std::size_t>(v)] = true;
    }
}
