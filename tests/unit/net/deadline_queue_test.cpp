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
    net::deadline_queue queue{context, [&](core::connection_id id, core::time_point at, core::time_point now) {
                                  fired.emplace_back(id, now >= at && at == due_at.at(id));
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
    net::deadline_queue queue{context, [&](core::connection_id id, core::time_point, core::time_point now) {
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

TEST_CASE("deadline_queue: a client that keeps only its latest request current leaves one entry, however often it asks") {
    // connection::on_deadline's rule: entries are never cancelled, so an entry superseded by an earlier
    // request fires later and must be ignored, or each one would schedule another and they would pile up.
    boost::asio::io_context context;
    net::deadline_queue* self = nullptr;
    auto next_check = core::time_point::max();
    int checks = 0;
    const auto ask = [&](core::time_point at) {
        if (at >= next_check) return;
        next_check = at;
        self->schedule(1, at);
    };
    net::deadline_queue queue{context, [&](core::connection_id, core::time_point at, core::time_point now) {
                                  if (at != next_check) return;  // superseded
                                  next_check = core::time_point::max();
                                  ++checks;
                                  ask(now + 20ms);               // the keepalive deadline again
                              }};
    self = &queue;
    ask(core::clock::now() + 20ms);
    for (int i = 0; i < 10; ++i) {
        context.run_for(7ms);
        ask(core::clock::now() + 5ms);  // an earlier deadline: a write's timeout
    }
    context.run_for(100ms);
    CHECK(checks > 0);
    CHECK(queue.size() == 1);  // the superseded entries fired and left; only the current one is there
    queue.stop();
}
