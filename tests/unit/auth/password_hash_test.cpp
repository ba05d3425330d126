#include "auth/password_hash.hpp"

#include <doctest/doctest.h>

#include <argon2.h>

#include <array>
#include <string>

using namespace mqttd::auth;

namespace {

// Computed at authoring time with Python's hashlib (sha512, pbkdf2_hmac), independently of this code:
//   salt = bytes(range(1, 13)); sha512(b"correct horse" + salt); pbkdf2_hmac("sha512", ..., salt, 101, 64)
constexpr const char* sha512_vector =
    "$6$AQIDBAUGBwgJCgsM$"
    "k4h6DJTPKKgPqwiLW87w0j5t6eo2nkDOCc72xNQ6goxbMrAMEDvsnYteF9SSd1cyXtc8SuF5I0GVPt7YRi6Wdw==";
constexpr const char* sha512_empty_vector =
    "$6$AQIDBAUGBwgJCgsM$JZltvjGgT/"
    "A+TmPJxkesbUWUdeKEVSkjjz0I9KN+vFSMGTYjIbt3MFzvdYIaM4s80+tiK6LI5ZWJGcxHBQxsDg==";
constexpr const char* pbkdf2_vector =
    "$7$101$AQIDBAUGBwgJCgsM$mIOMyf0G01/LkKvFuu6raA+sJydkdh2qDZD+cyTDcrMk08Rnc3N+vIiTgRJqnolJL9TU+/R/"
    "F+mbz31mQG16jg==";
constexpr const char* pbkdf2_210k_vector =
    "$7$210000$AQIDBAUGBwgJCgsM$OJSi27ULuscl74dUhQrM6A2Yrcui+1kqj4DWNzHFDYiJAeXYpPksWeubCm/"
    "Ew22xoSpQlgwy2IJ8gNQSwn4INg==";
// Mosquitto 2.1's shape: 64-byte salt, 1,000 iterations; password "pässw:rd" (UTF-8).
constexpr const char* pbkdf2_long_salt_vector =
    "$7$1000$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==$"
    "WXWU515Fh6zKoy4y/fqHv3VANAOE1Eeg0xQ/hli3DPPWtCAkE5HJaykQh9AYal5hK/HuNariYbXH+tTPkD9UQg==";
// From the reference implementation's CLI: echo -n "correct horse" | argon2 saltsaltsaltsalt -id -t 2
// -k 19456 -p 1 -l 32 -e (and the variations named).
constexpr const char* argon2_default_vector =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AdweBLwcflnNX2HVW8i1Mtu7frrn4Ki7h/rYSGuU7Is";
constexpr const char* argon2_mosquitto21_vector =  // -t 1 -k 47104 -l 64: Mosquitto 2.1's parameters
    "$argon2id$v=19$m=47104,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$KRrxzgGxJ7BkE/K5HCsFpPlnV2R3HbpUm5cLo2uQ/"
    "OGnAVKRvf9T8Q5T/"
    "FITL6/BEnSmCeM8nMBUya/cpKuLlQ";
constexpr const char* argon2_four_lanes_vector =  // -t 3 -k 64 -p 4
    "$argon2id$v=19$m=64,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q/di10m/0dw24OZUhC0";
constexpr const char* argon2_version_16_vector =  // -t 3 -k 64 -p 4 -v 10
    "$argon2id$v=16$m=64,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$FSjHzEBNQE/LFDHGx8G+7Yz5A2LY2kHgUyTqt3p1zaY";

constexpr std::array<std::uint8_t, 12> salt12{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

std::string parse_error(std::string_view encoded) {
    try {
        password_hash::parse(encoded);
    } catch (const hash_format_error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("password_hash: $6$ (Mosquitto 1.x) is SHA-512 of the password then the salt") {
    const auto h = password_hash::parse(sha512_vector);
    CHECK(h.kind() == hash_kind::sha512);
    CHECK(h.verify("correct horse"));
    CHECK_FALSE(h.verify("correct horsf"));
    CHECK_FALSE(h.verify("correct horse "));
    CHECK_FALSE(h.verify(""));
    CHECK(password_hash::parse(sha512_empty_vector).verify(""));
    CHECK(h.encoded() == sha512_vector);
}

TEST_CASE("password_hash: $7$ (Mosquitto 2.0) is PBKDF2-HMAC-SHA512 with the iterations it names") {
    const auto h = password_hash::parse(pbkdf2_vector);
    CHECK(h.kind() == hash_kind::sha512_pbkdf2);
    CHECK(h.cost() == "sha512-pbkdf2 i=101");
    CHECK(h.verify("correct horse"));
    CHECK_FALSE(h.verify("Correct horse"));
    SUBCASE("a 64-byte salt and a non-ASCII password with ':' in it, as Mosquitto 2.1 writes") {
        const auto long_salt = password_hash::parse(pbkdf2_long_salt_vector);
        CHECK(long_salt.verify("p\xc3\xa4ssw:rd"));
        CHECK_FALSE(long_salt.verify("passw:rd"));
    }
}

TEST_CASE("password_hash: make_pbkdf2 writes exactly what Python's hashlib computes") {
    CHECK(password_hash::make_pbkdf2("correct horse", 101, salt12).encoded() == pbkdf2_vector);
    const auto h = password_hash::make_pbkdf2("correct horse", default_pbkdf2_iterations, salt12);
    CHECK(h.encoded() == pbkdf2_210k_vector);
    CHECK(h.verify("correct horse"));
}

TEST_CASE("password_hash: $argon2id$ (Mosquitto 2.1) verifies the reference CLI's strings") {
    const auto h = password_hash::parse(argon2_default_vector);
    CHECK(h.kind() == hash_kind::argon2id);
    CHECK(h.cost() == "argon2id m=19456,t=2,p=1");
    CHECK(h.verify("correct horse"));
    CHECK_FALSE(h.verify("correct horse!"));
    CHECK(password_hash::parse(argon2_mosquitto21_vector).verify("correct horse"));
    SUBCASE("four lanes computed on one thread give the same tag") {
        CHECK(password_hash::parse(argon2_four_lanes_vector).verify("correct horse"));
    }
    SUBCASE("version 1.0 (v=16)") {
        CHECK(password_hash::parse(argon2_version_16_vector).verify("correct horse"));
        CHECK_FALSE(password_hash::parse(argon2_version_16_vector).verify("wrong"));
    }
    SUBCASE("agrees with argon2id_verify") {
        for (const auto* encoded :
             {argon2_default_vector, argon2_four_lanes_vector, argon2_version_16_vector}) {
            for (const std::string password : {"correct horse", "nope"}) {
                CHECK(password_hash::parse(encoded).verify(password) ==
                      (argon2id_verify(encoded, password.data(), password.size()) == ARGON2_OK));
            }
        }
    }
}

TEST_CASE("password_hash: make_argon2id writes libargon2's PHC string with the default parameters") {
    const std::array<std::uint8_t, 16> salt{'s', 'a', 'l', 't', 's', 'a', 'l', 't',
                                            's', 'a', 'l', 't', 's', 'a', 'l', 't'};
    CHECK(password_hash::make_argon2id("correct horse", {}, salt).encoded() == argon2_default_vector);
    const auto fresh = password_hash::make_argon2id("correct horse");
    CHECK(fresh.encoded().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    CHECK(fresh.verify("correct horse"));
    CHECK_FALSE(fresh.verify("correct hors"));
    CHECK(password_hash::make_argon2id("correct horse").encoded() !=
          fresh.encoded());  // a new salt each time
}

TEST_CASE("password_hash: every byte of the password counts, NUL included") {
    const auto h = password_hash::make_pbkdf2(std::string_view{"a\0b", 3}, 10, salt12);
    CHECK(h.verify(std::string_view{"a\0b", 3}));
    CHECK_FALSE(h.verify("a"));
    CHECK(password_hash::make_pbkdf2("", 10, salt12).verify(""));
}

TEST_CASE("password_hash: malformed and unknown hashes are refused with a reason") {
    CHECK(parse_error("") == "missing password hash");
    CHECK(parse_error("hunter2") ==
          "password is not hashed (mqttd-passwd -U hashes a file of plain-text passwords)");
    CHECK(parse_error("$5$rounds=5000$salt$hash") ==
          "unknown hash type \"$5$\" (expected $6$, $7$ or $argon2id$)");
    CHECK(parse_error("$2y$10$abc") == "unknown hash type \"$2y$\" (expected $6$, $7$ or $argon2id$)");
    CHECK(parse_error("$argon2i$v=19$m=64,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q/di10m/"
                      "0dw24OZUhC0") == "unknown hash type \"$argon2i$\" (expected $6$, $7$ or $argon2id$)");
    CHECK(parse_error("$6$AQIDBAUGBwgJCgsM") == "malformed $6$ hash (expected $6$<salt>$<hash>)");
    CHECK(parse_error("$6$AQIDBAUGBwgJCgsM$AAAA") == "$6$ hash is 3 bytes, expected 64");
    CHECK(parse_error("$6$!!!!$AAAA") == "$6$ salt is not valid base64");
    CHECK(parse_error("$7$AQIDBAUGBwgJCgsM$AAAA") ==
          "malformed $7$ hash (expected $7$<iterations>$<salt>$<hash>)");
    CHECK(parse_error("$7$0$AQIDBAUGBwgJCgsM$AAAA") ==
          "$7$ iterations \"0\" is not a number from 1 to 2147483647");
    CHECK(parse_error("$7$-5$AQIDBAUGBwgJCgsM$AAAA") ==
          "$7$ iterations \"-5\" is not a number from 1 to 2147483647");
    CHECK(parse_error(std::string{pbkdf2_vector} + "$") == "malformed hash: it ends with '$'");
    CHECK(parse_error(std::string{pbkdf2_vector} + "$x") ==
          "malformed $7$ hash (expected $7$<iterations>$<salt>$<hash>)");
    CHECK(parse_error("$argon2id$v=19$m=19456,t=2$c2FsdHNhbHRzYWx0c2FsdA$AdweBLwc") ==
          "malformed $argon2id$ hash (expected $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>)");
    CHECK(parse_error("$argon2id$v=18$m=64,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q") ==
          "$argon2id$ version v=18 is not 16 or 19");
    CHECK(parse_error("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q") ==
          "$argon2id$ m=4194304 KiB is above the 1 GiB limit per login");
    CHECK(parse_error("$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q") ==
          "$argon2id$ t=0: at least one pass is needed");
    CHECK(parse_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06") ==
          "$argon2id$ salt is shorter than 8 bytes");
    CHECK(parse_error("$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$J6rOp0uRPYZ0wNbYYDsezB06q") ==
          "$argon2id$ parameter \"m=x\" is not a valid number");
}
