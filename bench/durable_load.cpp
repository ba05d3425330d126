// Load generator for bench/durable_throughput.py: N publishers -> 1 persistent subscriber at QoS 1, on one
// thread (one Boost.Asio event loop for every connection, so the generator takes as little of the machine's
// CPU from the broker as it can).
//
//   durable_load_bench -p PORT [-h 127.0.0.1] [--publishers 8] [--seconds 5] [--warmup 2] [--window 64]
//                      [--outstanding 1000] [--payload 64] [--client-id durable-load-sub]
//
// The subscriber connects with clean session 0 and subscribes to bench/# at QoS 1; it acknowledges every
// PUBLISH. Each publisher sends QoS 1 PUBLISHes to bench/<n> with up to --window awaiting PUBACK, and all of
// them together stop while --outstanding messages are published but not yet delivered, so the broker's queue
// for the subscriber stays bounded (no message is dropped for max_queued_messages) and the rate measured is
// one the broker sustains end to end. After --warmup seconds it prints `event=measure_start`, after --seconds
// more `event=measure_end`, then stops publishing, waits until every acknowledged message was delivered, and
// prints one summary line:
//
//   delivered_per_s=... delivered=... seconds=... published=... acknowledged=... received=... duplicates=...
//   lost=... drain_ms=...
//
// Exit status 0, or 1 when a connection failed or an acknowledged message did not arrive within 30 s.
// Owned by one thread: every object here lives on the single io_context.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"
#include "protocol/packet.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
namespace protocol = mqttd::protocol;

namespace {

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    unsigned publishers = 8;
    double seconds = 5;
    double warmup = 2;
    unsigned window = 64;
    unsigned outstanding = 1000;
    std::size_t payload = 64;
    std::string client_id = "durable-load-sub";
};

// One MQTT connection: packets out are appended to a buffer and written in batches (one write in progress
// at a time), packets in are decoded and handed to on_packet.
class connection {
public:
    using handler = std::function<void(const protocol::packet&)>;

    connection(asio::io_context& io, std::string name) : io_{io}, socket_{io}, name_{std::move(name)} {}

    void open(const options& o) {
        tcp::resolver resolver{io_};
        asio::connect(socket_, resolver.resolve(o.host, std::to_string(o.port)));
        socket_.set_option(tcp::no_delay{true});
    }

    // Starts reading on the first call; a later call only replaces the handler.
    void start(handler on_packet) {
        on_packet_ = std::move(on_packet);
        if (!is_reading_) {
            is_reading_ = true;
            read();
        }
    }

    void send(const protocol::packet& p) {
        const auto n = protocol::encoded_size(p);
        const auto at = out_.size();
        out_.resize(at + n);
        protocol::encode(p, {out_.data() + at, n});
        if (!is_writing_ && !is_flush_posted_) {
            is_flush_posted_ = true;  // what the current handler sends after this goes in the same write
            asio::post(io_, [this] {
                is_flush_posted_ = false;
                flush();
            });
        }
    }

    // DISCONNECT sent: the broker's close that follows is expected, not a failure.
    void disconnect() {
        is_closing_ = true;
        send(protocol::disconnect{});
    }

private:
    void flush() {
        if (is_writing_ || out_.empty()) return;
        writing_.swap(out_);
        is_writing_ = true;
        asio::async_write(socket_, asio::buffer(writing_), [this](boost::system::error_code ec, std::size_t) {
            is_writing_ = false;
            writing_.clear();
            if (ec) return fail("write: " + ec.message());
            flush();
        });
    }

    void read() {
        if (in_.size() - used_ < 65536) in_.resize(used_ + 65536);
        socket_.async_read_some(asio::buffer(in_.data() + used_, in_.size() - used_),
                                [this](boost::system::error_code ec, std::size_t n) {
                                    if (ec) return fail("read: " + ec.message());
                                    used_ += n;
                                    decode();
                                    read();
                                });
    }

    void decode() {
        std::size_t at = 0;
        for (;;) {
            std::error_code ec;
            const auto n = decoder_.next({in_.data() + at, used_ - at}, packet_, ec);
            if (ec) return fail("decode: " + ec.message());
            if (n == 0) break;
            at += n;
            on_packet_(packet_);
        }
        std::copy(in_.begin() + static_cast<std::ptrdiff_t>(at), in_.begin() + static_cast<std::ptrdiff_t>(used_),
                  in_.begin());
        used_ -= at;
    }

    void fail(const std::string& why) {
        if (is_failed_ || is_closing_) return;
        is_failed_ = true;
        throw std::runtime_error{name_ + ": " + why};
    }

    asio::io_context& io_;
    tcp::socket socket_;
    std::string name_;
    handler on_packet_;
    protocol::decoder decoder_;
    protocol::packet packet_;
    std::vector<std::uint8_t> in_;
    std::size_t used_ = 0;
    std::vector<std::uint8_t> out_, writing_;
    bool is_writing_ = false;
    bool is_flush_posted_ = false;
    bool is_failed_ = false;
    bool is_reading_ = false;
    bool is_closing_ = false;
};

// Connects and waits (running the loop) for CONNACK, then SUBACK when subscribing.
void handshake(asio::io_context& io, connection& c, const std::string& client_id, bool clean_session,
               const char* filter) {
    bool is_done = false;
    c.start([&](const protocol::packet& p) {
        if (const auto* ack = std::get_if<protocol::connack>(&p)) {
            if (ack->code != protocol::connack_code::accepted) throw std::runtime_error{client_id + ": CONNACK refused"};
            if (filter == nullptr) {
                is_done = true;
            } else {
                c.send(protocol::subscribe{1, {{filter, protocol::qos::at_least_once}}});
            }
        } else if (const auto* sub = std::get_if<protocol::suback>(&p)) {
            if (sub->return_codes != std::vector<std::uint8_t>{1}) throw std::runtime_error{client_id + ": SUBACK"};
            is_done = true;
        }
    });
    protocol::connect request;
    request.clean_session = clean_session;
    request.client_id = client_id;
    request.keep_alive = 0;
    c.send(request);
    while (!is_done) io.run_one();
}

class load {
public:
    explicit load(const options& o) : o_{o}, payload_(o.payload, std::uint8_t{'p'}) {}

    int run() {
        subscriber_ = std::make_unique<connection>(io_, "subscriber");
        subscriber_->open(o_);
        handshake(io_, *subscriber_, o_.client_id, false, "bench/#");
        subscriber_->start([this](const protocol::packet& p) { on_subscriber_packet(p); });
        for (unsigned i = 0; i < o_.publishers; ++i) {
            auto& pub = publishers_.emplace_back();
            pub.topic = "bench/" + std::to_string(i);
            pub.conn = std::make_unique<connection>(io_, "publisher " + std::to_string(i));
            pub.conn->open(o_);
            handshake(io_, *pub.conn, o_.client_id + "-pub-" + std::to_string(i), true, nullptr);
            pub.conn->start([this, i](const protocol::packet& p) { on_publisher_packet(publishers_[i], p); });
        }
        const auto start = clock_type::now();
        asio::steady_timer measure_start{io_, start + seconds(o_.warmup)};
        asio::steady_timer measure_end{io_, start + seconds(o_.warmup + o_.seconds)};
        measure_start.async_wait([this](boost::system::error_code) {
            delivered_at_start_ = received_;
            started_at_ = clock_type::now();
            std::printf("event=measure_start\n");
            std::fflush(stdout);
        });
        measure_end.async_wait([this](boost::system::error_code) {
            delivered_in_window_ = received_ - delivered_at_start_;
            window_seconds_ = std::chrono::duration<double>(clock_type::now() - started_at_).count();
            std::printf("event=measure_end\n");
            std::fflush(stdout);
            is_publishing_ = false;
            stopped_at_ = clock_type::now();
        });
        for (auto& p : publishers_) fill(p);
        while (is_publishing_) io_.run_one();
        // Drain: every acknowledged message must reach the subscriber.
        const auto drain_deadline = clock_type::now() + std::chrono::seconds{30};
        while (received_ < acknowledged_ || std::any_of(publishers_.begin(), publishers_.end(),
                                                        [](const publisher& p) { return p.unacked != 0; })) {
            if (clock_type::now() > drain_deadline) break;
            io_.run_one_for(std::chrono::milliseconds{100});
        }
        const auto drain_ms = std::chrono::duration<double, std::milli>(clock_type::now() - stopped_at_).count();
        const auto lost = acknowledged_ > received_ ? acknowledged_ - received_ : 0;
        std::printf("delivered_per_s=%.0f delivered=%llu seconds=%.3f published=%llu acknowledged=%llu received=%llu "
                    "duplicates=%llu lost=%llu drain_ms=%.0f\n",
                    static_cast<double>(delivered_in_window_) / window_seconds_,
                    static_cast<unsigned long long>(delivered_in_window_), window_seconds_,
                    static_cast<unsigned long long>(published_), static_cast<unsigned long long>(acknowledged_),
                    static_cast<unsigned long long>(received_), static_cast<unsigned long long>(duplicates_),
                    static_cast<unsigned long long>(lost), drain_ms);
        for (auto& p : publishers_) p.conn->disconnect();
        subscriber_->disconnect();
        io_.run_for(std::chrono::milliseconds{100});
        return lost == 0 ? 0 : 1;
    }

private:
    struct publisher {
        std::string topic;
        std::unique_ptr<connection> conn;
        unsigned unacked = 0;
        std::uint16_t next_id = 1;
    };

    static std::chrono::nanoseconds seconds(double s) {
        return std::chrono::nanoseconds{static_cast<long long>(s * 1e9)};
    }

    bool has_budget() const noexcept { return published_ - received_ < o_.outstanding; }

    void fill(publisher& p) {
        while (is_publishing_ && p.unacked < o_.window && has_budget()) {
            protocol::publish msg;
            msg.qos_level = protocol::qos::at_least_once;
            msg.topic = p.topic;
            msg.id = p.next_id;
            p.next_id = p.next_id == 65535 ? 1 : p.next_id + 1;  // window << 65535: never one still in flight
            msg.payload = payload_;
            p.conn->send(msg);
            ++p.unacked;
            ++published_;
        }
    }

    void on_publisher_packet(publisher& p, const protocol::packet& packet) {
        if (!std::holds_alternative<protocol::puback>(packet)) throw std::runtime_error{p.topic + ": not a PUBACK"};
        --p.unacked;
        ++acknowledged_;
        fill(p);
    }

    void on_subscriber_packet(const protocol::packet& packet) {
        const auto* msg = std::get_if<protocol::publish>(&packet);
        if (msg == nullptr) throw std::runtime_error{"subscriber: not a PUBLISH"};
        if (msg->qos_level != protocol::qos::at_least_once) throw std::runtime_error{"subscriber: not QoS 1"};
        subscriber_->send(protocol::puback{msg->id});
        ++received_;
        if (msg->dup) ++duplicates_;
        // Delivery frees budget: publishers that waited for it go on, the least recently served first.
        for (std::size_t k = 0; k < publishers_.size() && has_budget(); ++k) {
            fill(publishers_[next_fill_]);
            next_fill_ = (next_fill_ + 1) % publishers_.size();
        }
    }

    options o_;
    std::vector<std::uint8_t> payload_;
    asio::io_context io_;
    std::unique_ptr<connection> subscriber_;
    std::deque<publisher> publishers_;  // a deque: handlers hold references to its elements
    std::size_t next_fill_ = 0;
    bool is_publishing_ = true;
    std::uint64_t published_ = 0, acknowledged_ = 0, received_ = 0, duplicates_ = 0;
    std::uint64_t delivered_at_start_ = 0, delivered_in_window_ = 0;
    double window_seconds_ = 0;
    clock_type::time_point started_at_, stopped_at_;
};

int usage() {
    std::cerr << "usage: durable_load_bench -p PORT [-h HOST] [--publishers 8] [--seconds 5] [--warmup 2] "
                 "[--window 64] [--outstanding 1000] [--payload 64] [--client-id ID]\n";
    return 2;
}

}  // namespace

int main(int argc, char* argv[]) {
    options o;
    try {
        for (int i = 1; i + 1 < argc; i += 2) {
            const std::string key = argv[i], value = argv[i + 1];
            if (key == "-p") o.port = static_cast<std::uint16_t>(std::stoul(value));
            else if (key == "-h") o.host = value;
            else if (key == "--publishers") o.publishers = static_cast<unsigned>(std::stoul(value));
            else if (key == "--seconds") o.seconds = std::stod(value);
            else if (key == "--warmup") o.warmup = std::stod(value);
            else if (key == "--window") o.window = static_cast<unsigned>(std::stoul(value));
            else if (key == "--outstanding") o.outstanding = static_cast<unsigned>(std::stoul(value));
            else if (key == "--payload") o.payload = std::stoul(value);
            else if (key == "--client-id") o.client_id = value;
            else return usage();
        }
        if (argc % 2 == 0 || o.port == 0 || o.publishers == 0 || o.window == 0 || o.window > 30000) return usage();
    } catch (const std::exception&) {
        return usage();
    }
    try {
        return load{o}.run();
    } catch (const std::exception& e) {
        std::cerr << "durable_load_bench: " << e.what() << '\n';
        return 1;
    }
}
