#include "auth/text_file.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/load_error.hpp"

namespace mqttd::auth {
namespace {

// Owns a file descriptor.
class descriptor {
public:
    explicit descriptor(int fd) noexcept : fd_{fd} {}
    descriptor(const descriptor&) = delete;
    descriptor& operator=(const descriptor&) = delete;
    ~descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }

    int get() const noexcept { return fd_; }
    int close() noexcept { return ::close(std::exchange(fd_, -1)); }

private:
    int fd_;
};

// A file made by mkstemp: removed at the end of the scope unless released (renamed into place).
class temporary_file {
public:
    temporary_file(int fd, std::string path) : fd_{fd}, path_{std::move(path)} {}
    temporary_file(const temporary_file&) = delete;
    temporary_file& operator=(const temporary_file&) = delete;
    ~temporary_file() {
        if (!is_released_) ::unlink(path_.c_str());
    }

    int fd() const noexcept { return fd_.get(); }
    const std::string& path() const noexcept { return path_; }
    int close() noexcept { return fd_.close(); }
    void release() noexcept { is_released_ = true; }

private:
    descriptor fd_;
    std::string path_;
    bool is_released_ = false;
};

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error{errno, std::generic_category(), what};
}

void write_all(int fd, std::string_view text, const std::string& what) {
    while (!text.empty()) {
        const auto n = ::write(fd, text.data(), text.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(what);
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path) {
    const descriptor fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.get() < 0) throw load_error{path.string(), 0, std::strerror(errno)};
    std::string text;
    char buffer[65536];
    for (;;) {
        const auto n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0) return text;
        if (n < 0) {
            if (errno == EINTR) continue;
            throw load_error{path.string(), 0, std::strerror(errno)};  // a directory: EISDIR
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

bool line_cursor::next(std::string_view& line) noexcept {
    if (rest_.empty()) return false;
    const auto newline = rest_.find('\n');
    line = rest_.substr(0, newline);
    rest_.remove_prefix(newline == std::string_view::npos ? rest_.size() : newline + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    ++number_;
    return true;
}

std::string_view trim_blanks(std::string_view s) noexcept {
    constexpr std::string_view blanks = " \t\r\n\v\f";
    const auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           std::filesystem::perms new_file_mode) {
    std::error_code ec;
    // The target of a symbolic link is what gets replaced, as mosquitto_passwd's realpath() does.
    const auto target = std::filesystem::weakly_canonical(path, ec);
    const auto& final_path = ec ? path : target;
    const auto name = final_path.string();

    struct stat existing {};
    const bool exists = ::stat(name.c_str(), &existing) == 0;
    if (!exists && errno != ENOENT) throw_errno(name);

    // mkstemp creates the file 0600, so no other user can open it before fchmod below.
    std::string pattern = name + ".tmp-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw_errno("cannot create a temporary file next to " + name);
    temporary_file tmp{fd, pattern};

    const auto mode = exists ? existing.st_mode & 07777 : static_cast<mode_t>(new_file_mode);
    if (::fchmod(tmp.fd(), mode) != 0) throw_errno(tmp.path());
    // The broker may read the file as another user through its group; keep the owner when allowed (root).
    if (exists && (existing.st_uid != ::geteuid() || existing.st_gid != ::getegid())) {
        [[maybe_unused]] const int ignored = ::fchown(tmp.fd(), existing.st_uid, existing.st_gid);
    }

    write_all(tmp.fd(), text, tmp.path());
    if (::fsync(tmp.fd()) != 0) throw_errno(tmp.path());
    if (tmp.close() != 0) throw_errno(tmp.path());
    if (::rename(tmp.path().c_str(), name.c_str()) != 0) throw_errno("cannot replace " + name);
    tmp.release();

    // Make the rename itself durable.
    const auto directory =
        final_path.has_parent_path() ? final_path.parent_path().string() : std::string{"."};
    const descriptor dir{::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.get() >= 0) ::fsync(dir.get());
}

}  // namespace mqttd::auth
