// libFuzzer target: the decoder on any bytes. Properties checked, beyond "no crash, no sanitizer report":
// - a stream decodes to the same packets (and the same first error) whole and split in two at any point;
// - every packet the decoder accepts re-encodes to exactly the bytes it came from (the decoder accepts only
//   what a conforming encoder writes), and decodes again to the same bytes.

#include <cstdint>
#include <cstdlib>
#include <span>
#include <system_error>
#include <vector>

#include "protocol/decoder.hpp"
#include "protocol/encoder.hpp"

namespace {

using namespace mqttd::protocol;

struct decoded {
    std::vector<std::vector<std::uint8_t>> packets;  // each re-encoded
    std::error_code error;
};

void require(bool ok) {
    if (!ok) std::abort();
}

// Feeds `stream` as a connection would, in two reads split at `cut`; keeps undecoded bytes between reads.
decoded decode_stream(const decoder& d, std::span<const std::uint8_t> stream, std::size_t cut) {
    decoded out;
    std::vector<std::uint8_t> buffer;
    for (const auto part : {stream.first(cut), stream.subspan(cut)}) {
        buffer.insert(buffer.end(), part.begin(), part.end());
        std::size_t begin = 0;
        while (true) {
            packet p;
            const auto used = d.next(std::span{buffer}.subspan(begin), p, out.error);
            if (out.error) return out;
            if (used == 0) break;
            const auto bytes = encode(p);
            require(bytes.size() == used);
            require(std::equal(bytes.begin(), bytes.end(), buffer.begin() + static_cast<std::ptrdiff_t>(begin)));
            packet again;
            std::error_code again_ec;
            require(d.next(bytes, again, again_ec) == bytes.size() && !again_ec);
            require(encode(again) == bytes);
            out.packets.push_back(bytes);
            begin += used;
        }
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(begin));
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // The first two bytes choose the size limit (small ones reach the limit checks) and the split point.
    const std::size_t limits[] = {16, 64, 1024, 65536, max_remaining_length + 5};
    const decoder d{limits[data[0] % 5]};
    const std::span<const std::uint8_t> stream{data + 2, size - 2};
    const auto cut = stream.empty() ? 0 : data[1] % (stream.size() + 1);
    const auto whole = decode_stream(d, stream, stream.size());
    const auto split = decode_stream(d, stream, cut);
    require(whole.packets == split.packets);
    require(whole.error == split.error);
    return 0;
}
