// mqttd-bench: an MQTT 3.1.1 load generator for any broker, on one thread (one Boost.Asio event loop for every
// connection, so it takes as little of the machine from the broker as it can). bench/compare.sh drives it.
//
//   mqttd-bench SCENARIO --port PORT [--host 127.0.0.1] [--qos 0|1|2] [--payload 64] [--window 64]
//               [--publishers N] [--subscribers N] [--seconds 5] [--warmup 1] [--rate 5000]
//               [--connections 1000] [--entries 100000] [--outstanding 1000] [--concurrency 64]
//               [--transport tcp|tls|ws] [--path /mqtt]
//
// Scenarios (topics in brackets):
//   fanin     N publishers (8) -> 1 subscriber              [bench/in/<n>, subscriber on bench/in/+]
//   fanout    1 publisher -> N subscribers (100)            [bench/out]
//   pairs     N publisher/subscriber pairs (100)            [bench/pair/<n>]
//   latency   fan-in at a fixed --rate msg/s in total (1 publisher by default); latency percentiles
//   conns     open --connections idle connections, --concurrency at a time, hold them for --seconds;
//             --transport tcp (default), tls (the broker's certificate is not verified) or ws (--path /mqtt)
//             (conns_scenario.hpp)
//   subs      --fill-connections (4) first subscribe to --entries filters bench/in/<k>/s, then fanin
//   retained  --fill-connections (4) first publish --entries retained messages bench/in/<k>/r (QoS 1), then fanin
//   shared    N publishers (8) -> a shared subscription group of M members (10) [bench/in/<n>, members on
//             $share/bench/bench/in/+]: each message to one member; lost counted over the whole group
//
// Every payload starts with the publisher's number (u32), a sequence number (u64) and the send time (u64 ns,
// steady clock), so each subscriber counts lost, duplicated and reordered messages per publisher, and every
// delivery's latency goes into a histogram. Publishers keep at most --window messages unacknowledged (QoS 1/2:
// PUBACK, or PUBREC -> PUBREL -> PUBCOMP) or undelivered (QoS 0), and all of them together stop while
// --outstanding messages (times the subscribers each reaches) are published but not delivered, so the broker's
// queues stay bounded and the rate is one it sustains end to end. Subscribers acknowledge at the granted QoS.
//
// Output: `event=measure_start` after --warmup seconds of publishing and `event=measure_end` --seconds later
// (for a driver that samples the broker's CPU). Then publishing stops, the generator waits until every message
// is delivered and acknowledged (at most 30 s, or 2 s without progress) and prints one JSON line. conns prints
// its JSON line (connect rate) as soon as all are connected, then holds them for --seconds (a driver reads the
// broker's memory meanwhile) and closes them. Exit status 0, 1 on a connection or protocol failure, 2 on bad
// options. In the steady state nothing is allocated per message.
// Owned by one thread: every object here lives on the single io_context.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/bench_client.hpp"
#include "bench/bench_options.hpp"
#include "bench/conns_scenario.hpp"
#include "bench/latency_histogram.hpp"
#include "bench/sequence_tracker.hpp"
#include "protocol/packet.hpp"

namespace asio = boost::asio;
namespace protocol = mqttd::protocol;
using clock_type = std::chrono::steady_clock;
using mqttd::bench::client;
using mqttd::bench::as_duration;
using mqttd::bench::header_size;
using mqttd::bench::json_safe;
using mqttd::bench::keep_alive;
using mqttd::bench::options;
using mqttd::bench::own_cpu_seconds;
using mqttd::bench::scenario;

namespace {

constexpr unsigned fill_filters_per_subscribe = 100;
constexpr unsigned fill_window = 256;            // retained PUBLISHes, or filters in SUBSCRIBEs, in flight

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count());
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

enum class role : std::uint8_t { publisher, subscriber, filler };

struct publisher {
    client* conn = nullptr;
    std::string topic;
    std::vector<std::uint8_t> payload;
    std::uint64_t sent = 0;
    std::uint64_t pending = 0;   // deliveries of its messages not yet seen (the QoS 0 window)
    unsigned unacked = 0;        // QoS 1/2 flows not yet complete
    std::uint16_t next_id = 1;
    bool is_waiting = false;     // in the queue of publishers waiting for budget
};

struct subscriber {
    client* conn = nullptr;
    std::size_t first_publisher = 0;
    std::vector<mqttd::bench::sequence_tracker> streams;  // one per publisher it hears, from first_publisher
};

struct filler {
    client* conn = nullptr;
    unsigned next = 0, end = 0;   // entries [next, end) still to send
    unsigned in_flight = 0;
    std::uint16_t next_id = 1;
};

class bench final : public mqttd::bench::client_owner {
public:
    explicit bench(const options& o) : o_{o}, pace_timer_{io_}, watchdog_{io_} {
        asio::ip::tcp::resolver resolver{io_};
        endpoint_ = *resolver.resolve(o.host, std::to_string(o.port)).begin();
        id_prefix_ = "mb" + std::to_string(::getpid()) + "-";
    }

    int run() {
        if (o_.kind == scenario::conns) return mqttd::bench::conns_scenario{o_, io_, endpoint_, id_prefix_}.run();
        setup();
        if (error_.empty()) measure();
        print_result();
        for (auto& c : clients_) c->disconnect();
        io_.run_for(std::chrono::milliseconds{200});
        return error_.empty() ? 0 : 1;
    }

private:
    // ------------------------------------------------------------------------------------------- setup

    client& add_client(role r, std::size_t n, std::size_t read_size) {
        auto& c = *clients_.emplace_back(std::make_unique<client>(io_, *this, roles_.size(), read_size));
        roles_.push_back({r, n});
        return c;
    }

    // Who publishes where and who hears whom, per scenario.
    unsigned publisher_count() const noexcept {
        if (o_.kind == scenario::pairs) return pair_count();
        if (o_.publishers != 0) return o_.publishers;
        return o_.kind == scenario::fanout || o_.kind == scenario::latency ? 1 : 8;
    }

    unsigned subscriber_count() const noexcept {
        if (o_.kind == scenario::pairs) return pair_count();
        if (o_.kind == scenario::fanout) return o_.subscribers != 0 ? o_.subscribers : 100;
        if (o_.kind == scenario::shared) return o_.subscribers != 0 ? o_.subscribers : 10;
        return 1;
    }

    unsigned pair_count() const noexcept {
        return o_.publishers != 0 ? o_.publishers : (o_.subscribers != 0 ? o_.subscribers : 100);
    }

    std::string topic_of(unsigned publisher) const {
        if (o_.kind == scenario::fanout) return "bench/out";
        if (o_.kind == scenario::pairs) return "bench/pair/" + std::to_string(publisher);
        return "bench/in/" + std::to_string(publisher);
    }

    std::string filter_of(unsigned subscriber) const {
        if (o_.kind == scenario::fanout) return "bench/out";
        if (o_.kind == scenario::pairs) return "bench/pair/" + std::to_string(subscriber);
        if (o_.kind == scenario::shared) return "$share/bench/bench/in/+";
        return "bench/in/+";
    }

    void setup() {
        const auto setup_start = clock_type::now();
        const auto pubs = publisher_count(), subs = subscriber_count();
        const auto qos = static_cast<protocol::qos>(o_.qos);
        deliveries_per_message_ = o_.kind == scenario::fanout ? subs : 1;
        const auto sub_read = subs <= 16 ? std::size_t{65536} : std::size_t{16384};
        for (unsigned i = 0; i < subs; ++i) {
            auto& s = subscribers_.emplace_back();
            s.conn = &add_client(role::subscriber, i, sub_read);
            s.first_publisher = o_.kind == scenario::pairs ? i : 0;
            s.streams.resize(o_.kind == scenario::pairs ? 1 : pubs);
            pending_starts_.push_back({s.conn, id_prefix_ + "s" + std::to_string(i), filter_of(i), qos});
        }
        for (unsigned i = 0; i < pubs; ++i) {
            auto& p = publishers_.emplace_back();
            p.conn = &add_client(role::publisher, i, 4096);
            p.topic = topic_of(i);
            p.payload.assign(o_.payload, std::uint8_t{'p'});
            pending_starts_.push_back({p.conn, id_prefix_ + "p" + std::to_string(i), "", qos});
        }
        waiting_.assign(pubs, 0);
        if (o_.kind == scenario::subs || o_.kind == scenario::retained) {
            const auto fill_clients = o_.fill_connections;
            for (unsigned i = 0; i < fill_clients; ++i) {
                auto& f = fillers_.emplace_back();
                f.conn = &add_client(role::filler, i, 4096);
                f.next = static_cast<unsigned>(std::uint64_t{o_.entries} * i / fill_clients);
                f.end = static_cast<unsigned>(std::uint64_t{o_.entries} * (i + 1) / fill_clients);
                pending_starts_.push_back({f.conn, id_prefix_ + "f" + std::to_string(i), "", qos});
            }
        }
        connect_all(o_.concurrency);
        run_until([this] { return ready_ == clients_.size(); }, 60);
        if (!error_.empty()) return;
        if (ready_ != clients_.size()) {
            error_ = "connections not ready within 60 s";
            return;
        }
        setup_seconds_ = since(setup_start);
        if (!fillers_.empty()) {
            const auto fill_start = clock_type::now();
            for (auto& f : fillers_) fill_tree(f);
            run_until([this] { return filled_ == o_.entries; }, 600);
            fill_seconds_ = since(fill_start);
            if (error_.empty() && filled_ != o_.entries) error_ = "tree not filled within 600 s";
        }
    }

    struct start_request {
        client* conn;
        std::string client_id, filter;
        protocol::qos qos;
    };

    // Starts up to `concurrency` connections now; each one ready starts the next.
    void connect_all(unsigned concurrency) {
        for (unsigned i = 0; i < concurrency && next_start_ < pending_starts_.size(); ++i) start_next();
    }

    void start_next() {
        if (next_start_ >= pending_starts_.size()) return;
        auto& r = pending_starts_[next_start_++];
        r.conn->start(endpoint_, r.client_id, keep_alive, r.filter, r.qos);
    }

    template <class Predicate>
    void run_until(Predicate is_done, double seconds) {
        const auto deadline = clock_type::now() + as_duration(seconds);
        while (!is_done() && error_.empty() && clock_type::now() < deadline) {
            io_.run_one_for(std::chrono::milliseconds{100});
        }
    }

    // ------------------------------------------------------------------------------ client_owner

    void on_ready(client&) override {
        ++ready_;
        start_next();
    }

    void on_failed(client& c, const std::string& why) override {
        ++failed_;
        if (error_.empty()) error_ = "connection " + std::to_string(c.index()) + ": " + why;
    }

    void on_packet(client& c, const protocol::packet& p) override {
        const auto [r, n] = roles_[c.index()];
        switch (r) {
        case role::subscriber: return on_subscriber_packet(subscribers_[n], p);
        case role::publisher: return on_publisher_packet(publishers_[n], p);
        case role::filler: return on_filler_packet(fillers_[n], p);
        }
    }

    // -------------------------------------------------------------------------------- publishing

    bool has_budget() const noexcept {
        return pending_ < std::uint64_t{o_.outstanding} * deliveries_per_message_;
    }

    bool has_window(const publisher& p) const noexcept {
        if (o_.qos == 0) return p.pending < std::uint64_t{o_.window} * deliveries_per_message_;
        return p.unacked < o_.window;
    }

    void send_one(publisher& p) {
        const auto index = static_cast<std::uint32_t>(&p - publishers_.data());
        const auto seq = p.sent;
        const auto at = now_ns();
        std::memcpy(p.payload.data(), &index, 4);
        std::memcpy(p.payload.data() + 4, &seq, 8);
        std::memcpy(p.payload.data() + 12, &at, 8);
        protocol::publish msg;
        msg.qos_level = static_cast<protocol::qos>(o_.qos);
        msg.topic = p.topic;
        if (o_.qos > 0) {
            msg.id = p.next_id;
            p.next_id = p.next_id == 65535 ? 1 : p.next_id + 1;  // window <= 30000: never one still in flight
            ++p.unacked;
        }
        msg.payload = p.payload;
        p.conn->send(msg);
        ++p.sent;
        ++sent_;
        if (is_measuring_) ++sent_in_window_;
        p.pending += deliveries_per_message_;
        pending_ += deliveries_per_message_;
    }

    // Sends while the publisher's window and the budget allow; waits in line for budget when only it is short.
    void fill(publisher& p) {
        if (!is_publishing_ || is_paced_) return;
        while (has_window(p) && has_budget()) send_one(p);
        if (has_window(p) && !p.is_waiting) {
            p.is_waiting = true;
            waiting_[(waiting_head_ + waiting_count_++) % waiting_.size()] =
                static_cast<std::uint32_t>(&p - publishers_.data());
        }
    }

    // Budget came back: the publishers that waited longest go first.
    void release() {
        while (waiting_count_ > 0 && has_budget() && is_publishing_) {
            auto& p = publishers_[waiting_[waiting_head_]];
            waiting_head_ = (waiting_head_ + 1) % waiting_.size();
            --waiting_count_;
            p.is_waiting = false;
            fill(p);
        }
    }

    void on_publisher_packet(publisher& p, const protocol::packet& packet) {
        if (const auto* rec = std::get_if<protocol::pubrec>(&packet)) {
            p.conn->send(protocol::pubrel{rec->id});
            return;
        }
        if (!std::holds_alternative<protocol::puback>(packet) && !std::holds_alternative<protocol::pubcomp>(packet)) {
            return protocol_error("publisher: unexpected packet");
        }
        if (p.unacked == 0) return protocol_error("publisher: acknowledgement without a PUBLISH");
        --p.unacked;
        ++acknowledged_;
        ++progress_;
        fill(p);
    }

    // -------------------------------------------------------------------------------- subscribing

    void on_subscriber_packet(subscriber& s, const protocol::packet& packet) {
        if (const auto* rel = std::get_if<protocol::pubrel>(&packet)) {
            s.conn->send(protocol::pubcomp{rel->id});
            return;
        }
        const auto* msg = std::get_if<protocol::publish>(&packet);
        if (msg == nullptr) return protocol_error("subscriber: unexpected packet");
        if (msg->qos_level == protocol::qos::at_least_once) s.conn->send(protocol::puback{msg->id});
        if (msg->qos_level == protocol::qos::exactly_once) s.conn->send(protocol::pubrec{msg->id});
        if (msg->payload.size() < header_size) return protocol_error("subscriber: payload without a header");
        std::uint32_t index = 0;
        std::uint64_t seq = 0, at = 0;
        std::memcpy(&index, msg->payload.data(), 4);
        std::memcpy(&seq, msg->payload.data() + 4, 8);
        std::memcpy(&at, msg->payload.data() + 12, 8);
        if (index < s.first_publisher || index - s.first_publisher >= s.streams.size()) {
            return protocol_error("subscriber: message from a publisher it does not hear");
        }
        ++received_;
        ++progress_;
        if (!s.streams[index - s.first_publisher].see(seq, counts_)) return;  // a duplicate frees nothing
        if (is_measuring_) {
            ++delivered_in_window_;
            const auto now = now_ns();
            latency_.record(now > at ? (now - at) / 1000 : 0);
        }
        auto& p = publishers_[index];
        if (p.pending > 0) --p.pending;
        if (pending_ > 0) --pending_;
        release();
        if (o_.qos == 0) fill(p);
    }

    void protocol_error(const char* what) {
        if (error_.empty()) error_ = what;
    }

    // --------------------------------------------------------------------------------- tree fill

    void fill_tree(filler& f) {
        if (o_.kind == scenario::retained) {
            while (f.next < f.end && f.in_flight < fill_window) {
                const auto topic = "bench/in/" + std::to_string(f.next++) + "/r";
                protocol::publish msg;
                msg.qos_level = protocol::qos::at_least_once;
                msg.retain = true;
                msg.topic = topic;
                msg.id = f.next_id;
                f.next_id = f.next_id == 65535 ? 1 : f.next_id + 1;
                static constexpr std::uint8_t body[16] = {'r', 'e', 't', 'a', 'i', 'n', 'e', 'd'};
                msg.payload = body;
                f.conn->send(msg);
                ++f.in_flight;
            }
            return;
        }
        while (f.next < f.end && f.in_flight < fill_window) {
            std::vector<std::string> filters;
            protocol::subscribe request;
            request.id = f.next_id;
            f.next_id = f.next_id == 65535 ? 1 : f.next_id + 1;
            while (f.next < f.end && filters.size() < fill_filters_per_subscribe) {
                filters.push_back("bench/in/" + std::to_string(f.next++) + "/s");
            }
            for (const auto& filter : filters) request.subscriptions.push_back({filter, protocol::qos::at_most_once});
            f.conn->send(request);
            f.in_flight += static_cast<unsigned>(filters.size());
        }
    }

    void on_filler_packet(filler& f, const protocol::packet& packet) {
        unsigned done = 0;
        if (std::holds_alternative<protocol::puback>(packet)) {
            done = 1;
        } else if (const auto* ack = std::get_if<protocol::suback>(&packet)) {
            done = static_cast<unsigned>(ack->return_codes.size());
            if (std::count(ack->return_codes.begin(), ack->return_codes.end(), protocol::suback_failure) != 0) {
                return protocol_error("filler: SUBACK refused a filter");
            }
        } else {
            return protocol_error("filler: unexpected packet");
        }
        f.in_flight -= std::min(done, f.in_flight);
        filled_ += done;
        fill_tree(f);
    }

    // --------------------------------------------------------------------------------- measuring

    void measure() {
        is_paced_ = o_.kind == scenario::latency;
        const auto start = clock_type::now();
        if (is_paced_) {
            paced_start_ = start;
            pace();
        } else {
            for (auto& p : publishers_) fill(p);
        }
        watch();
        run_until([] { return false; }, o_.warmup);
        if (!error_.empty()) return;
        latency_.clear();
        is_measuring_ = true;
        const auto measure_start = clock_type::now();
        const auto cpu_at_start = own_cpu_seconds();
        std::printf("event=measure_start\n");
        std::fflush(stdout);
        run_until([] { return false; }, o_.seconds);
        if (!error_.empty()) return;
        is_measuring_ = false;
        window_seconds_ = since(measure_start);
        own_cores_ = (own_cpu_seconds() - cpu_at_start) / window_seconds_;
        std::printf("event=measure_end\n");
        std::fflush(stdout);
        is_publishing_ = false;
        pace_timer_.cancel();
        // Drain: every message published must arrive and every flow complete, or nothing move for 2 s.
        const auto drain_start = clock_type::now();
        auto last_progress = progress_;
        auto last_progress_at = drain_start;
        while (error_.empty() && since(drain_start) < 30 && since(last_progress_at) < 2) {
            if (pending_ == 0 && std::all_of(publishers_.begin(), publishers_.end(),
                                             [](const publisher& p) { return p.unacked == 0 && p.pending == 0; })) {
                break;
            }
            io_.run_one_for(std::chrono::milliseconds{50});
            if (progress_ != last_progress) {
                last_progress = progress_;
                last_progress_at = clock_type::now();
            }
        }
        watchdog_.cancel();
        drain_seconds_ = since(drain_start);
    }

    // Fixed rate: sends every message that is due by now, round robin over the publishers, then sleeps until
    // the next is due. A message whose publisher's window (or the budget) is full is skipped and counted.
    void pace() {
        if (!is_publishing_) return;
        const auto now = clock_type::now();
        for (;;) {
            const auto due = paced_start_ + as_duration(static_cast<double>(paced_) / o_.rate);
            if (due > now) {
                pace_timer_.expires_at(due);
                break;
            }
            auto& p = publishers_[paced_ % publishers_.size()];
            ++paced_;
            if (has_window(p) && has_budget()) {
                send_one(p);
            } else {
                ++skipped_;
            }
        }
        pace_timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) pace();
        });
    }

    // QoS 0 messages a broker drops never come back to free their budget: after 1 s without any delivery or
    // acknowledgement, the undelivered ones are written off and publishing goes on.
    void watch() {
        watchdog_.expires_after(std::chrono::milliseconds{250});
        watchdog_.async_wait([this](boost::system::error_code ec) {
            if (ec || !is_publishing_) return;
            const auto now = clock_type::now();
            if (progress_ != watched_progress_) {
                watched_progress_ = progress_;
                watched_at_ = now;
            } else if (now - watched_at_ > std::chrono::seconds{1} && pending_ > 0 && o_.qos == 0) {
                ++written_off_;
                pending_ = 0;
                for (auto& p : publishers_) p.pending = 0;
                release();
                for (auto& p : publishers_) fill(p);
                watched_at_ = now;
            }
            watch();
        });
    }

    void print_result() const {
        std::uint64_t lost = 0;
        auto duplicates = counts_.duplicates;
        if (o_.kind == scenario::shared) {
            // Each member hears part of every publisher's stream: what counts is the group's total. (Gaps in one
            // member's part are other members' turns, so reordering is not measured here.)
            std::uint64_t sent = 0, unique = 0;
            for (const auto& p : publishers_) sent += p.sent;
            for (const auto& s : subscribers_)
                for (const auto& stream : s.streams) unique += stream.unique();
            lost = sent > unique ? sent - unique : 0;
            duplicates += unique > sent ? unique - sent : 0;  // one message at two members
        } else {
            for (const auto& s : subscribers_) {
                for (std::size_t k = 0; k < s.streams.size(); ++k) {
                    const auto sent = publishers_[s.first_publisher + k].sent;
                    const auto unique = s.streams[k].unique();
                    if (sent > unique) lost += sent - unique;
                }
            }
        }
        const auto w = window_seconds_ > 0 ? window_seconds_ : 1;
        std::printf("{\"scenario\":\"%s\",\"qos\":%u,\"publishers\":%zu,\"subscribers\":%zu,\"payload\":%zu,"
                    "\"window\":%u,\"entries\":%u,\"seconds\":%.3f,\"delivered\":%llu,\"rate\":%.0f,\"sent_rate\":%.0f,"
                    "\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"duplicates\":%llu,\"reordered\":%llu,"
                    "\"skipped\":%llu,\"written_off\":%llu,"
                    "\"latency_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%llu},"
                    "\"bench_cores\":%.2f,\"setup_s\":%.3f,\"fill_s\":%.3f,\"drain_s\":%.3f,\"error\":\"%s\"}\n",
                    o_.name.c_str(), o_.qos, publishers_.size(), subscribers_.size(), o_.payload, o_.window,
                    fillers_.empty() ? 0 : o_.entries, window_seconds_,
                    static_cast<unsigned long long>(delivered_in_window_),
                    static_cast<double>(delivered_in_window_) / w, static_cast<double>(sent_in_window_) / w,
                    static_cast<unsigned long long>(sent_), static_cast<unsigned long long>(received_),
                    static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicates),
                    static_cast<unsigned long long>(counts_.reordered), static_cast<unsigned long long>(skipped_),
                    static_cast<unsigned long long>(written_off_), latency_.percentile(0.5),
                    latency_.percentile(0.9), latency_.percentile(0.99), latency_.percentile(0.999),
                    static_cast<unsigned long long>(latency_.max()), own_cores_, setup_seconds_, fill_seconds_,
                    drain_seconds_,
                    json_safe(error_).c_str());
        std::fflush(stdout);
    }

    // ------------------------------------------------------------------------------------- conns

    struct role_entry {
        role r;
        std::size_t n;
    };

    options o_;
    asio::io_context io_;
    asio::ip::tcp::endpoint endpoint_;
    std::string id_prefix_;
    std::vector<std::unique_ptr<client>> clients_;
    std::vector<role_entry> roles_;                  // by client index
    std::vector<publisher> publishers_;
    std::vector<subscriber> subscribers_;
    std::vector<filler> fillers_;
    std::vector<start_request> pending_starts_;
    std::size_t next_start_ = 0, ready_ = 0, failed_ = 0;
    std::vector<std::uint32_t> waiting_;             // ring of publisher numbers waiting for budget
    std::size_t waiting_head_ = 0, waiting_count_ = 0;
    std::uint64_t deliveries_per_message_ = 1;
    std::uint64_t pending_ = 0;                      // deliveries published, not yet seen
    std::uint64_t sent_ = 0, sent_in_window_ = 0, acknowledged_ = 0, received_ = 0, delivered_in_window_ = 0;
    std::uint64_t progress_ = 0, watched_progress_ = 0, written_off_ = 0, skipped_ = 0;
    std::uint64_t filled_ = 0, paced_ = 0;
    mqttd::bench::sequence_counts counts_;
    mqttd::bench::latency_histogram latency_;
    asio::steady_timer pace_timer_, watchdog_;
    clock_type::time_point paced_start_, watched_at_ = clock_type::now();
    double setup_seconds_ = 0, fill_seconds_ = 0, window_seconds_ = 0, drain_seconds_ = 0, own_cores_ = 0;
    bool is_publishing_ = true, is_paced_ = false, is_measuring_ = false;
    std::string error_;
};

}  // namespace

int main(int argc, char* argv[]) {
    options o;
    try {
        if (!mqttd::bench::parse(argc, argv, o)) return mqttd::bench::usage();
    } catch (const std::exception&) {
        return mqttd::bench::usage();
    }
    try {
        return bench{o}.run();
    } catch (const std::exception& e) {
        std::cerr << "mqttd-bench: " << e.what() << '\n';
        return 1;
    }
}
