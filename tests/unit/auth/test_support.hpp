#pragma once
// Helpers for the auth tests: a scratch directory and running a program (mqttd-passwd, mosquitto_passwd).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mqttd::auth::test {

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

// Runs argv[0] (a path, not looked up in PATH) with input on its stdin, and waits for it.
run_result run_program(const std::vector<std::string>& argv, std::string_view input = {});

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view text);

}  // namespace mqttd::auth::test
