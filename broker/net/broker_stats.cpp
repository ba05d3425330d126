#include "broker/net/broker_stats.hpp"

#include <unistd.h>

#include <fstream>

namespace mqttd::net {

process_memory read_process_memory() noexcept {
    process_memory m;
    try {
        std::ifstream statm{"/proc/self/statm"};
        std::uint64_t size_pages = 0;
        std::uint64_t resident_pages = 0;
        if (!(statm >> size_pages >> resident_pages)) return m;
        const auto page = sysconf(_SC_PAGESIZE);
        if (page <= 0) return m;
        m.virtual_bytes = size_pages * static_cast<std::uint64_t>(page);
        m.resident_bytes = resident_pages * static_cast<std::uint64_t>(page);
    } catch (...) {
        // Out of memory opening a file: report zeros rather than end the scrape.
    }
    return m;
}

}  // namespace mqttd::net
