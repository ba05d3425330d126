#include "test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mqttd::auth::test {

scratch_dir::scratch_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string{tmp && *tmp ? tmp : "/tmp"} + "/mqttd-auth-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error{errno, std::generic_category(), "mkdtemp"};
    path_ = pattern;
}

scratch_dir::~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error{"cannot read " + path.string()};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << text;
    if (!out) throw std::runtime_error{"cannot write " + path.string()};
}

run_result run_program(const std::vector<std::string>& argv, std::string_view input) {
    // Files, not pipes, for the three streams: nothing can block on a full pipe.
    const scratch_dir io;
    write_file(io / "in", input);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, (io / "in").c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (io / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, (io / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error{rc, std::generic_category(), "posix_spawn " + argv[0]};
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::system_error{errno, std::generic_category(), "waitpid"};
    }
    run_result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_file(io / "out");
    result.err = read_file(io / "err");
    return result;
}

}  // namespace mqttd::auth::test
