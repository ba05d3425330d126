// The admin API's side of the server: each call posts to the workers that own the state it needs (a shard
// is touched only on its own thread) and waits for the answers, so the caller must not be a worker.

#include "broker/net/server.hpp"

#include <algorithm>
#include <future>

#include <boost/asio/post.hpp>

namespace mqttd::net {

namespace {

// Runs f on the worker's thread and waits for its result; nullopt when it did not come within the timeout
// (a stalled or stopping worker must not hang the admin API).
template <class F>
auto ask(worker& w, F f) -> std::optional<decltype(f())> {
    using result = decltype(f());
    auto promise = std::make_shared<std::promise<result>>();
    auto answer = promise->get_future();
    boost::asio::post(w.context(), [promise, f = std::move(f)]() mutable {
        try {
            promise->set_value(f());
        } catch (...) {
            promise->set_exception(std::current_exception());
        }
    });
    if (answer.wait_for(server::admin_timeout) != std::future_status::ready) return std::nullopt;
    return answer.get();
}

client_info with_connection(const worker& w, core::session_view s) {
    client_info c{std::move(s), std::nullopt};
    if (c.session.conn != 0) c.connection = w.connection_info_of(c.session.conn);
    return c;
}

}  // namespace

std::optional<std::vector<client_info>> server::clients() const {
    std::vector<client_info> all;
    for (const auto& w : shared_.workers) {
        auto part = ask(*w, [&w = *w] {
            std::vector<client_info> out;
            for (auto& s : w.shard().sessions()) out.push_back(with_connection(w, std::move(s)));
            return out;
        });
        if (!part) return std::nullopt;
        std::move(part->begin(), part->end(), std::back_inserter(all));
    }
    std::sort(all.begin(), all.end(),
              [](const client_info& a, const client_info& b) { return a.session.client_id < b.session.client_id; });
    return all;
}

std::optional<std::optional<client_info>> server::client(std::string_view client_id) const {
    const auto slot = shared_.registry.find(client_id);
    if (!slot) return std::optional<client_info>{};
    auto& w = *shared_.workers[slot->owner() % shared_.workers.size()];
    return ask(w, [&w, id = std::string{client_id}]() -> std::optional<client_info> {
        auto s = w.shard().session_of(id);
        if (!s) return std::nullopt;
        return with_connection(w, std::move(*s));
    });
}

std::optional<core::kick_result> server::kick(std::string_view client_id, bool discard_session) {
    const auto slot = shared_.registry.find(client_id);
    if (!slot) return core::kick_result::not_found;
    auto& w = *shared_.workers[slot->owner() % shared_.workers.size()];
    return ask(w, [&w, id = std::string{client_id}, discard_session] {
        const auto result = w.shard().kick(id, discard_session, core::clock::now());
        w.carry_out();
        return result;
    });
}

std::vector<core::message_ptr> server::retained(std::string_view filter) const {
    std::vector<core::message_ptr> out;
    shared_.router.retained_for(filter, out);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->topic() < b->topic(); });
    return out;
}

std::optional<std::size_t> server::delete_retained(std::string_view filter) {
    // On worker 0: the deletes of stored copies go through a shard's storage requests like any other change.
    auto& w = *shared_.workers.front();
    return ask(w, [&w, filter = std::string{filter}] {
        const auto removed = w.shard().delete_retained(filter, core::clock::now());
        w.carry_out();
        return removed;
    });
}

}  // namespace mqttd::net
