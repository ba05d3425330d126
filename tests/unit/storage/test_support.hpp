#pragma once
// Helpers for the storage tests: scratch directories, files, and running programs (mqttd-store, the lock
// holder).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace mqttd::storage::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end of the scope.
class scratch_dir {
public:
    scratch_dir();
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir();

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

struct run_result {
    int exit_code = -1;  // 128 + signal number when the program was killed
    std::string out;
    std::string err;
};

// Runs argv[0] (a path, not looked up in PATH) and waits for it.
run_result run_program(const std::vector<std::string>& argv);

// A program left running: its stdin is a pipe, closed (and the program waited for) at the end of the scope.
class background_program {
public:
    explicit background_program(const std::vector<std::string>& argv);
    background_program(const background_program&) = delete;
    background_program& operator=(const background_program&) = delete;
    ~background_program();

    // Waits (up to a few seconds) until its stdout holds text; false if it exits or times out first.
    bool wait_for_output(std::string_view text);
    std::string err() const;

private:
    scratch_dir io_;
    pid_t pid_ = -1;
    int stdin_ = -1;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace mqttd::storage::test
