// net::deadline_queue on a real io_context: one timer fires every connection's deadline in time order, a
// handler may ask again, an earlier request re-arms the timer, and stop() lets the event loop end.

#include "broker/net/deadline_queue.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <vector>

using namespace mqttd;
using namespace std::chrono_literals;

TEST_CASE("deadline_queue: deadlines fire in time order, each once, not before they are due") {
    boost::asio::io_context context;
    std::vector<std::pair<core::connection_id, bool>> fired;  // id, and whether it was due
    std::map<core::connection_id, core::time_point> due_at;
    net::deadline_queue queue{context, [&](core::connection_id id, core::time_point now) {
                                  fired.emplace_back(id, now >= due_at.at(id));
                              }};
    const auto start = core::clock::now();
    for (const auto& [id, after] : {std::pair{3u, 30ms}, {1u, 10ms}, {2u, 20ms}}) {
        due_at[id] = start + after;
        queue.schedule(id, due_at[id]);
    }
    queue.schedule(9, core::time_point::max());  // "no deadline": never fires, holds nothing
    CHECK(queue.size() == 3);
    context.run_for(2s);
    CHECK(fired == std::vector<std::pair<core::connection_id, bool>>{{1, true}, {2, true}, {3, true}});
    CHECK(queue.size() == 0);
}

TEST_CASE("deadline_queue: an earlier request re-arms the timer, and a handler may ask again") {
    boost::asio::io_context context;
    std::vector<core::connection_id> fired;
    net::deadline_queue* self = nullptr;
    int rounds = 0;
    net::deadline_queue queue{context, [&](core::connection_id id, core::time_point now) {
                                  fired.push_back(id);
                                  if (id == 1 && ++rounds < 3) self->schedule(1, now + 5ms);  // the next check
                              }};
    self = &queue;
    const auto start = core::clock::now();
    queue.schedule(2, start + 10s);   // armed for 10 s first...
    queue.schedule(1, start + 5ms);   // ...then for 5 ms
    context.run_for(500ms);
    CHECK(fired == std::vector<core::connection_id>{1, 1, 1});
    CHECK(queue.size() == 1);         // 2's deadline is still ahead
    queue.stop();
    CHECK(queue.size() == 0);
    context.restart();
    context.run_for(1s);
    CHECK(context.stopped());         // it ran out of work: nothing keeps the loop busy after stop()
    queue.schedule(4, core::clock::now());
    CHECK(queue.size() == 0);         // stopped: requests are ignored
}
