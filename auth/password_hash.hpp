#pragma once
// One password hash in any form mosquitto_passwd has written, parsed once and verified many times:
//   $6$<salt>$<hash>                  Mosquitto 1.x: SHA-512 of the password followed by the salt bytes
//   $7$<iterations>$<salt>$<hash>     Mosquitto 2.0: PBKDF2-HMAC-SHA512, 64-byte key
//   $argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>   Mosquitto 2.1's default, libargon2's PHC string
// Salts and hashes of $6$/$7$ are base64 with padding, as Mosquitto writes them.
//
// Immutable values: verify() is const and may run on any thread at once (the broker runs it on its own pool).
// It never starts a thread: argon2id is computed with one thread whatever its lane count (p).

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mqttd::auth {

enum class hash_kind { sha512, sha512_pbkdf2, argon2id };

// OWASP's Password Storage Cheat Sheet lists five equivalent argon2id settings, from m=47104 KiB (46 MiB),
// t=1 to m=7168 KiB, t=5, all p=1. Mosquitto 2.1 takes the first (m=47104, t=1, p=1). The broker verifies
// logins on a pool, several at once during a reconnect storm, and each verification holds m KiB for its
// whole duration, so the default is OWASP's m=19456 KiB (19 MiB), t=2, p=1: the same resistance to guessing
// for 40% of the memory per login. It also stays under glibc's largest mmap threshold (32 MiB), so a pool
// thread reuses the block from one login to the next instead of mapping and faulting in fresh pages each time
// (on the development VM, where page faults are slow: 21 ms a verification at 19 MiB, 180-250 ms at 46 MiB,
// 47 ms at 46 MiB with the block kept). p=1: the broker never spends more than one thread on one login.
struct argon2id_params {
    std::uint32_t memory_kib = 19456;
    std::uint32_t passes = 2;
    std::uint32_t lanes = 1;
};

// OWASP's figure for PBKDF2-HMAC-SHA512 (Mosquitto 2.0 writes 101, Mosquitto 2.1 1,000).
inline constexpr std::uint32_t default_pbkdf2_iterations = 210'000;

// A hash this program does not understand or that is malformed; what() is the reason, without file or line.
class hash_format_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class password_hash {
public:
    // Throws hash_format_error. Argon2 memory above 1 GiB is refused: a typo in a hand-edited file must not
    // make every login allocate gigabytes.
    static password_hash parse(std::string_view encoded);

    // New hashes with 16 random bytes of salt (RAND_bytes) and a 32-byte tag. Throw std::runtime_error when
    // the random generator or libargon2 fails.
    static password_hash make_argon2id(std::string_view password, const argon2id_params& params = {});
    // New $7$ hashes with 12 random bytes of salt: Mosquitto 2.0 (Debian 12's) reads no other salt length,
    // and 96 random bits never repeat in practice.
    static password_hash make_pbkdf2(std::string_view password,
                                     std::uint32_t iterations = default_pbkdf2_iterations);

    // The same with a given salt, for reproducible output (tests, known vectors). Never reuse a salt.
    static password_hash make_argon2id(std::string_view password, const argon2id_params& params,
                                       std::span<const std::uint8_t> salt);
    static password_hash make_pbkdf2(std::string_view password, std::uint32_t iterations,
                                     std::span<const std::uint8_t> salt);

    // Does password produce this hash? The comparison is constant-time (CRYPTO_memcmp). Every byte of the
    // password counts, a NUL included (Mosquitto stops at the first NUL).
    bool verify(std::string_view password) const;

    hash_kind kind() const noexcept { return kind_; }
    // The text as it goes into a password file.
    const std::string& encoded() const noexcept { return encoded_; }
    // Hashes with equal cost() take the same time to verify, e.g. "sha512-pbkdf2 i=101".
    std::string cost() const;

private:
    password_hash() = default;

    // The text after "$6$", "$7$" or "$argon2id$"; throw hash_format_error.
    void parse_sha512(std::string_view rest);
    void parse_pbkdf2(std::string_view rest);
    void parse_argon2id(std::string_view rest);

    bool verify_sha512(std::string_view password, std::span<std::uint8_t> out) const;
    bool verify_pbkdf2(std::string_view password, std::span<std::uint8_t> out) const;
    bool verify_argon2id(std::string_view password, std::span<std::uint8_t> out) const;

    hash_kind kind_ = hash_kind::sha512;
    std::string encoded_;
    std::vector<std::uint8_t> salt_;
    std::vector<std::uint8_t> digest_;
    std::uint32_t iterations_ = 0;  // PBKDF2 iterations, or argon2's t
    std::uint32_t memory_kib_ = 0;  // argon2's m
    std::uint32_t lanes_ = 0;       // argon2's p
    std::uint32_t version_ = 0;     // argon2's v: 0x13, or 0x10 when the string has no v=
};

}  // namespace mqttd::auth
