#include "broker/net/prometheus_text.hpp"

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "broker/version.hpp"

namespace mqttd::net {

namespace {

using label = std::pair<std::string_view, std::string_view>;

class exposition {
public:
    // # HELP and # TYPE, once per family, before its samples.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        for (const char c : help) {
            if (c == '\\') out_ += "\\\\";
            else if (c == '\n') out_ += "\\n";
            else out_ += c;
        }
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    template <class Number>
    void sample(std::string_view name, std::initializer_list<label> labels, Number value) {
        out_ += name;
        if (labels.size() != 0) {
            out_ += '{';
            bool first = true;
            for (const auto& [key, text] : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += key;
                out_ += "=\"";
                append_label_value(text);
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        append_number(value);
        out_ += '\n';
    }

    // A family with one unlabelled sample.
    template <class Number>
    void single(std::string_view name, std::string_view type, std::string_view help, Number value) {
        family(name, type, help);
        sample(name, {}, value);
    }

    std::string take() { return std::move(out_); }

private:
    void append_label_value(std::string_view text) {
        for (const char c : text) {
            if (c == '\\') out_ += "\\\\";
            else if (c == '"') out_ += "\\\"";
            else if (c == '\n') out_ += "\\n";
            else out_ += c;
        }
    }
    template <class Number>
    void append_number(Number value) {
        char buffer[64];
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
        out_.append(buffer, ec == std::errc{} ? end : buffer);
    }

    std::string out_;
};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// A bucket bound as people write it ("0.0001", not "1e-04").
std::string bound_text(double value) {
    char buffer[64];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    return std::string(buffer, ec == std::errc{} ? end : buffer);
}

const char* connack_reason(std::size_t code) {
    switch (code) {
    case 1: return "unacceptable_protocol_version";
    case 2: return "identifier_rejected";
    case 3: return "server_unavailable";
    case 4: return "bad_username_or_password";
    case 5: return "not_authorized";
    }
    return "accepted";
}

void render_connections(exposition& e, const broker_stats& s) {
    const auto& t = s.totals;
    e.family("mqttd_listener_connections", "gauge", "Network connections open now, by listener.");
    for (const auto& l : s.listeners) {
        const auto address = l.bind + ":" + std::to_string(l.port);
        e.sample("mqttd_listener_connections", {{"transport", to_string(l.type)}, {"address", address}}, l.open);
    }
    e.family("mqttd_listener_accepted_connections_total", "counter", "Network connections accepted, by listener.");
    for (const auto& l : s.listeners) {
        const auto address = l.bind + ":" + std::to_string(l.port);
        e.sample("mqttd_listener_accepted_connections_total",
                 {{"transport", to_string(l.type)}, {"address", address}}, l.accepted);
    }
    e.family("mqttd_connects_total", "counter",
             "CONNECTs answered with CONNACK 0 (accepted), by outcome; refusals are in mqttd_connects_refused_total.");
    e.sample("mqttd_connects_total", {{"outcome", "accepted"}}, t.connacks[0]);
    e.family("mqttd_connects_refused_total", "counter",
             "Connections refused, by reason: a CONNACK return code, or max_connections (closed before any byte).");
    for (std::size_t code = 1; code < connack_code_count; ++code)
        e.sample("mqttd_connects_refused_total", {{"reason", connack_reason(code)}}, t.connacks[code]);
    e.sample("mqttd_connects_refused_total", {{"reason", "max_connections"}}, t.refused_connections);
    e.family("mqttd_connections_closed_total", "counter", "Network connections ended, by reason.");
    for (std::size_t i = 0; i < t.closes.size(); ++i)
        e.sample("mqttd_connections_closed_total", {{"reason", core::to_string(static_cast<core::close_reason>(i))}},
                 t.closes[i]);
    e.family("mqttd_sessions", "gauge", "Sessions held, by state (offline: persistent sessions without a connection).");
    e.sample("mqttd_sessions", {{"state", "connected"}}, t.connected_sessions);
    e.sample("mqttd_sessions", {{"state", "offline"}},
             t.sessions > t.connected_sessions ? t.sessions - t.connected_sessions : 0);
    e.single("mqttd_sessions_expired_total", "counter", "Offline persistent sessions discarded by session_expiry.",
             t.sessions_expired);
    e.single("mqttd_session_takeovers_total", "counter", "CONNECTs that took over an existing session's connection.",
             t.takeovers);
}

void render_messages(exposition& e, const broker_stats& s) {
    const auto& t = s.totals;
    static constexpr const char* qos_label[] = {"0", "1", "2"};
    e.family("mqttd_messages_received_total", "counter", "PUBLISH packets received from clients, by QoS.");
    for (std::size_t q = 0; q < qos_count; ++q)
        e.sample("mqttd_messages_received_total", {{"qos", qos_label[q]}}, t.publishes_received[q]);
    e.family("mqttd_messages_sent_total", "counter", "PUBLISH packets sent to clients, by the delivery's QoS.");
    for (std::size_t q = 0; q < qos_count; ++q)
        e.sample("mqttd_messages_sent_total", {{"qos", qos_label[q]}}, t.publishes_sent[q]);
    e.single("mqttd_received_bytes_total", "counter", "Bytes read from clients, every transport.", t.bytes_received);
    e.single("mqttd_sent_bytes_total", "counter", "Bytes written to clients, every transport.", t.bytes_sent);
    e.family("mqttd_messages_dropped_total", "counter", "Messages that did not reach a session, by reason.");
    for (std::size_t i = 0; i < t.dropped.size(); ++i)
        e.sample("mqttd_messages_dropped_total", {{"reason", core::to_string(static_cast<core::drop_reason>(i))}},
                 t.dropped[i]);
    e.sample("mqttd_messages_dropped_total", {{"reason", "publish_denied"}}, t.publishes_denied);
    e.sample("mqttd_messages_dropped_total", {{"reason", "delivery_denied"}}, t.deliveries_denied);
    e.sample("mqttd_messages_dropped_total", {{"reason", "shared_undeliverable"}}, t.shared_undeliverable);
    e.single("mqttd_subscriptions_denied_total", "counter", "SUBSCRIBE filters the ACL refused (SUBACK 0x80).",
             t.subscriptions_denied);
    e.single("mqttd_queued_messages", "gauge", "Messages waiting in session queues, every session.", t.queued_messages);
    e.single("mqttd_queued_messages_max", "gauge", "Messages waiting in the longest queue of one session.",
             t.max_queued_messages);
    e.single("mqttd_inflight_messages", "gauge", "QoS 1 and 2 messages sent and not yet acknowledged, every session.",
             t.inflight_messages);
    e.single("mqttd_subscriptions", "gauge", "Subscriptions in the topic tree.", s.subscriptions);
    e.single("mqttd_retained_messages", "gauge", "Retained messages held.", s.retained_messages);
    e.single("mqttd_retained_bytes", "gauge", "Topic and payload bytes of the retained messages.", s.retained_bytes);
}

void render_latency(exposition& e, const broker_stats& s) {
    const auto& t = s.totals;
    e.family("mqttd_publish_latency_seconds", "histogram",
             "Time from a PUBLISH received to a copy written to a subscriber's socket.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < latency_bounds.size(); ++i) {
        cumulative += t.latency_buckets[i];
        const auto le = bound_text(seconds(latency_bounds[i]));
        e.sample("mqttd_publish_latency_seconds_bucket", {{"le", le}}, cumulative);
    }
    cumulative += t.latency_buckets.back();
    e.sample("mqttd_publish_latency_seconds_bucket", {{"le", "+Inf"}}, cumulative);
    e.sample("mqttd_publish_latency_seconds_sum", {}, seconds(std::chrono::nanoseconds{t.latency_sum_ns}));
    e.sample("mqttd_publish_latency_seconds_count", {}, cumulative);
}

void render_process(exposition& e, const broker_stats& s) {
    e.family("mqttd_build_info", "gauge", "Always 1; the version is in the label.");
    e.sample("mqttd_build_info", {{"version", mqttd::version}}, 1);
    e.single("mqttd_uptime_seconds", "gauge", "Seconds since the broker started.", s.uptime_seconds);
    e.family("mqttd_event_loop_lag_seconds", "gauge",
             "How late each worker's once-a-second timer last fired: what a packet waits behind other work.");
    for (std::size_t i = 0; i < s.workers.size(); ++i) {
        const auto worker = std::to_string(i);
        e.sample("mqttd_event_loop_lag_seconds", {{"worker", worker}}, s.workers[i].loop_lag_seconds);
    }
    e.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", s.memory.resident_bytes);
    e.single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", s.memory.virtual_bytes);
}

}  // namespace

std::string render_prometheus(const broker_stats& stats) {
    exposition e;
    render_process(e, stats);
    render_connections(e, stats);
    render_messages(e, stats);
    render_latency(e, stats);
    return e.take();
}

}  // namespace mqttd::net
