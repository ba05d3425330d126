#include "test_support.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mqttd::storage::test {
namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& io, int stdin_fd) {
    // Files, not pipes, for the output: nothing can block on a full pipe.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    else
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (io / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, (io / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error{rc, std::generic_category(), "posix_spawn " + argv[0]};
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::system_error{errno, std::generic_category(), "waitpid"};
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

scratch_dir::scratch_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string{tmp && *tmp ? tmp : "/tmp"} + "/mqttd-storage-test-XXXXXX";
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

void write_file(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << bytes;
    if (!out) throw std::runtime_error{"cannot write " + path.string()};
}

run_result run_program(const std::vector<std::string>& argv) {
    const scratch_dir io;
    const auto pid = spawn(argv, io.path(), -1);
    run_result result;
    result.exit_code = wait_exit(pid);
    result.out = read_file(io / "out");
    result.err = read_file(io / "err");
    return result;
}

background_program::background_program(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error{errno, std::generic_category(), "pipe2"};
    try {
        pid_ = spawn(argv, io_.path(), fds[0]);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    ::close(fds[0]);
    stdin_ = fds[1];
}

background_program::~background_program() {
    ::close(stdin_);
    if (pid_ > 0) (void)wait_exit(pid_);
}

bool background_program::wait_for_output(std::string_view text) {
    for (int i = 0; i < 500; ++i) {
        if (read_file(io_ / "out").find(text) != std::string::npos) return true;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return false;
}

std::string background_program::err() const { return read_file(io_ / "err"); }

}  // namespace mqttd::storage::test
