// Runs a fuzz target's entry point over saved inputs (files, or every file in a folder), outside libFuzzer:
// the corpus and every crash the fuzzers ever found are regression tests in the ordinary build, with GCC and
// under the sanitizer build too.
//   mqttd_fuzz_replay_decoder tests/fuzz/corpus/decoder tests/fuzz/regressions/decoder

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        std::vector<fs::path> files;
        if (fs::is_directory(argv[i])) {
            for (const auto& entry : fs::directory_iterator{argv[i]})
                if (entry.is_regular_file() && entry.path().filename() != "README.md") files.push_back(entry.path());
        } else {
            files.emplace_back(argv[i]);
        }
        for (const auto& file : files) {
            std::ifstream in{file, std::ios::binary};
            const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>{in}, {}};
            LLVMFuzzerTestOneInput(bytes.data(), bytes.size());  // aborts on a broken property
            ++count;
        }
    }
    std::printf("replayed %zu inputs\n", count);
    return count == 0 ? 1 : 0;
}
