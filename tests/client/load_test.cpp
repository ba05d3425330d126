#include "load_test.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <latch>
#include <map>
#include <ostream>
#include <thread>
#include <unistd.h>

#include "mqtt_connection.hpp"
#include "packet_text.hpp"

namespace mqttd::test_client {
namespace {

using namespace mqttd::protocol;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds poll_interval{200};

struct client_error {
    std::string what;
};

struct subscriber_result {
    std::uint64_t received = 0;      // distinct messages
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;  // a new message arriving after a later one from the same topic
    std::string error;
};

struct shared_state {
    const load_options& options;
    clock::time_point deadline;
    std::string client_prefix;
    std::atomic<bool> is_stopping{false};

    milliseconds remaining() const {
        return std::max(milliseconds{0}, std::chrono::duration_cast<milliseconds>(deadline - clock::now()));
    }
};

void send_or_throw(mqtt_connection& c, const packet& p, const shared_state& s) {
    if (const auto ec = c.send(p, std::max(s.remaining(), milliseconds{1}))) {
        throw client_error{"send " + describe(p) + ": " + ec.message()};
    }
}

// The next packet before the deadline, or throws. Returns nullopt on a poll interval with nothing, so the
// caller can look at the stop flag.
std::optional<received_packet> poll(mqtt_connection& c, const shared_state& s) {
    const auto wait = std::min(poll_interval, s.remaining());
    if (wait.count() == 0) throw client_error{"timed out"};
    auto r = c.receive(wait);
    if (r.status == receive_status::timed_out) return std::nullopt;
    if (r.status != receive_status::packet) throw client_error{"connection lost: " + r.error.message()};
    return std::move(r.packet);
}

template <class T> received_packet wait_for(mqtt_connection& c, const shared_state& s) {
    for (;;) {
        if (auto p = poll(c, s)) {
            if (!std::holds_alternative<T>(p->packet())) {
                throw client_error{"unexpected " + describe(p->packet())};
            }
            return std::move(*p);
        }
    }
}

void open_session(mqtt_connection& c, const std::string& client_id, const shared_state& s) {
    if (const auto ec = c.open(s.options.host, s.options.port, s.remaining())) {
        throw client_error{"connect: " + ec.message()};
    }
    connect request;
    request.client_id = client_id;
    request.keep_alive = 0;  // the loop never idles long enough to need PINGREQ
    send_or_throw(c, request, s);
    const auto reply = wait_for<connack>(c, s);
    const auto& ack = std::get<connack>(reply.packet());
    if (ack.code != connack_code::accepted) throw client_error{"connack rc=" + std::to_string(int(ack.code))};
}

// "load/<n>" and payload "<n>:<seq>" -> (n, seq)
std::optional<std::pair<unsigned, unsigned>> parse_message(const publish& p) {
    const std::string_view payload{reinterpret_cast<const char*>(p.payload.data()), p.payload.size()};
    const auto colon = payload.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    unsigned publisher = 0, seq = 0;
    const auto a = std::from_chars(payload.data(), payload.data() + colon, publisher);
    const auto b = std::from_chars(payload.data() + colon + 1, payload.data() + payload.size(), seq);
    if (a.ec != std::errc{} || b.ec != std::errc{}) return std::nullopt;
    if (p.topic != "load/" + std::to_string(publisher)) return std::nullopt;
    return std::pair{publisher, seq};
}

void run_subscriber(unsigned index, shared_state& s, std::latch& ready, subscriber_result& result) {
    const auto& o = s.options;
    bool is_ready = false;
    try {
        mqtt_connection c;
        open_session(c, s.client_prefix + "sub-" + std::to_string(index), s);
        send_or_throw(c, subscribe{1, {{"load/#", static_cast<qos>(o.qos)}}}, s);
        const auto reply = wait_for<suback>(c, s);
        const auto& granted = std::get<suback>(reply.packet());
        if (granted.return_codes != std::vector<std::uint8_t>{static_cast<std::uint8_t>(o.qos)}) {
            throw client_error{"suback " + describe(granted)};
        }
        ready.count_down();
        is_ready = true;

        const std::uint64_t expected = std::uint64_t{o.publishers} * o.messages;
        std::vector<std::vector<bool>> seen(o.publishers, std::vector<bool>(o.messages));
        std::vector<long> newest(o.publishers, -1);
        while (result.received < expected && !s.is_stopping) {
            const auto r = poll(c, s);
            if (!r) continue;
            if (const auto* rel = std::get_if<pubrel>(&r->packet())) {
                send_or_throw(c, pubcomp{rel->id}, s);
                continue;
            }
            const auto* p = std::get_if<publish>(&r->packet());
            if (!p) throw client_error{"unexpected " + describe(r->packet())};
            if (p->qos_level == qos::at_least_once) send_or_throw(c, puback{p->id}, s);
            if (p->qos_level == qos::exactly_once) send_or_throw(c, pubrec{p->id}, s);
            const auto m = parse_message(*p);
            if (!m || m->first >= o.publishers || m->second >= o.messages) {
                throw client_error{"unexpected " + describe(r->packet())};
            }
            const auto [publisher, seq] = *m;
            if (seen[publisher][seq]) {
                ++result.duplicates;
                continue;
            }
            seen[publisher][seq] = true;
            ++result.received;
            if (static_cast<long>(seq) < newest[publisher]) ++result.out_of_order;
            newest[publisher] = std::max(newest[publisher], static_cast<long>(seq));
        }
        send_or_throw(c, disconnect{}, s);
    } catch (const client_error& e) {
        result.error = "subscriber " + std::to_string(index) + ": " + e.what;
        if (!is_ready) ready.count_down();
    }
}

void run_publisher(unsigned index, shared_state& s, std::string& error) {
    const auto& o = s.options;
    try {
        mqtt_connection c;
        open_session(c, s.client_prefix + "pub-" + std::to_string(index), s);
        const std::string topic = "load/" + std::to_string(index);
        unsigned next = 0, unacknowledged = 0;
        const auto q = static_cast<qos>(o.qos);
        while (next < o.messages || unacknowledged > 0) {
            while (next < o.messages && (q == qos::at_most_once || unacknowledged < o.inflight)) {
                const std::string payload = std::to_string(index) + ':' + std::to_string(next);
                publish p;
                p.topic = topic;
                p.qos_level = q;
                // Ids stay unique: fewer than 65535 are ever unacknowledged at once.
                p.id = q == qos::at_most_once ? 0 : static_cast<packet_id>(next % 65535 + 1);
                p.payload = {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
                send_or_throw(c, p, s);
                ++next;
                if (q != qos::at_most_once) ++unacknowledged;
            }
            if (unacknowledged == 0) break;
            const auto r = poll(c, s);
            if (!r) continue;
            if (std::holds_alternative<puback>(r->packet()) || std::holds_alternative<pubcomp>(r->packet())) {
                --unacknowledged;
            } else if (const auto* rec = std::get_if<pubrec>(&r->packet())) {
                send_or_throw(c, pubrel{rec->id}, s);
            } else {
                throw client_error{"unexpected " + describe(r->packet())};
            }
        }
        // The broker handles a connection's packets in order: a PINGRESP means every PUBLISH was read.
        send_or_throw(c, pingreq{}, s);
        wait_for<pingresp>(c, s);
        send_or_throw(c, disconnect{}, s);
    } catch (const client_error& e) {
        error = "publisher " + std::to_string(index) + ": " + e.what;
    }
}

}  // namespace

int run_load(const load_options& o, std::ostream& out) {
    const auto started = clock::now();
    shared_state s{o, started + o.timeout, "mqttd-load-" + std::to_string(::getpid()) + "-"};
    std::vector<subscriber_result> subscribers(o.subscribers);
    std::vector<std::string> publisher_errors(o.publishers);

    std::latch ready{static_cast<std::ptrdiff_t>(o.subscribers)};
    std::vector<std::jthread> subscriber_threads;
    for (unsigned i = 0; i < o.subscribers; ++i) {
        subscriber_threads.emplace_back([&, i] { run_subscriber(i, s, ready, subscribers[i]); });
    }
    ready.wait();

    const auto publishing = clock::now();
    {
        std::vector<std::jthread> publisher_threads;
        for (unsigned i = 0; i < o.publishers; ++i) {
            publisher_threads.emplace_back([&, i] { run_publisher(i, s, publisher_errors[i]); });
        }
    }
    // A publisher that failed leaves messages missing for good: no point waiting for them.
    const auto has_failed = [](const std::string& e) { return !e.empty(); };
    if (std::any_of(publisher_errors.begin(), publisher_errors.end(), has_failed)) {
        s.is_stopping = true;
    }
    subscriber_threads.clear();  // each ends when complete or at the deadline
    const auto elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - publishing);

    subscriber_result total;
    bool has_errors = false;
    for (const auto& e : publisher_errors) {
        if (!e.empty()) out << e << '\n';
        has_errors = has_errors || !e.empty();
    }
    for (const auto& r : subscribers) {
        if (!r.error.empty()) out << r.error << '\n';
        has_errors = has_errors || !r.error.empty();
        total.received += r.received;
        total.duplicates += r.duplicates;
        total.out_of_order += r.out_of_order;
    }
    const std::uint64_t expected = std::uint64_t{o.publishers} * o.messages * o.subscribers;
    out << "received=" << total.received << " expected=" << expected << " out_of_order=" << total.out_of_order
        << " duplicates=" << total.duplicates << " elapsed_ms=" << elapsed.count() << '\n';
    const bool are_duplicates_allowed = o.qos == 1;
    const bool is_ok = !has_errors && total.received == expected && total.out_of_order == 0 &&
                       (are_duplicates_allowed || total.duplicates == 0);
    return is_ok ? 0 : 1;
}

}  // namespace mqttd::test_client
