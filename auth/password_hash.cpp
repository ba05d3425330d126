#include "auth/password_hash.hpp"

#include <array>
#include <charconv>
#include <climits>
#include <memory>
#include <optional>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/base64.hpp"

namespace mqttd::auth {
namespace {

constexpr std::size_t sha512_size = 64;
constexpr std::size_t pbkdf2_salt_size = 12;
constexpr std::size_t argon2_salt_size = 16;               // RFC 9106 section 3.1: 128 bits
constexpr std::size_t argon2_tag_size = 32;                // RFC 9106 section 4: 256 bits
constexpr std::uint32_t argon2_max_memory_kib = 1u << 20;  // 1 GiB

constexpr std::string_view argon2_shape = "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>";

[[noreturn]] void fail(std::string reason) { throw hash_format_error{std::move(reason)}; }

// Takes the text up to the next '$' (or the end) off the front of s.
std::string_view take_field(std::string_view& s) noexcept {
    const auto dollar = s.find('$');
    const auto field = s.substr(0, dollar);
    s.remove_prefix(dollar == std::string_view::npos ? s.size() : dollar + 1);
    return field;
}

std::optional<std::uint32_t> parse_number(std::string_view s, std::uint32_t max) noexcept {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value > max) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

std::vector<std::uint8_t> decode_field(std::string_view text, std::string_view kind, std::string_view what) {
    auto bytes = base64_decode(text);
    if (!bytes || bytes->empty()) fail(std::string{kind} + " " + std::string{what} + " is not valid base64");
    return std::move(*bytes);
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
    std::vector<std::uint8_t> bytes(n);
    if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) throw std::runtime_error{"RAND_bytes failed"};
    return bytes;
}

// Mosquitto's $6$ and $7$ hashes are exactly one SHA-512 output long.
void check_sha512_size(const std::vector<std::uint8_t>& digest, std::string_view kind) {
    if (digest.size() != sha512_size)
        fail(std::string{kind} + " hash is " + std::to_string(digest.size()) + " bytes, expected 64");
}

// "m=19456" -> 19456, for the named parameter.
std::uint32_t parse_argon2_param(std::string_view field, std::string_view name, std::uint32_t max) {
    if (!field.starts_with(name) || field.size() <= name.size() || field[name.size()] != '=')
        fail("malformed $argon2id$ hash (expected " + std::string{argon2_shape} + ")");
    const auto value = parse_number(field.substr(name.size() + 1), max);
    if (!value) fail("$argon2id$ parameter \"" + std::string{field} + "\" is not a valid number");
    return *value;
}

const unsigned char* bytes_of(std::string_view s) noexcept {
    static constexpr unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

password_hash password_hash::parse(std::string_view encoded) {
    password_hash h;
    h.encoded_ = std::string{encoded};
    if (encoded.empty()) fail("missing password hash");
    if (encoded.front() != '$')
        fail("password is not hashed (mqttd-passwd -U hashes a file of plain-text passwords)");
    // take_field() would let "...$hash$" pass as "...$hash"; Mosquitto's strtok() would too, we do not.
    if (encoded.back() == '$') fail("malformed hash: it ends with '$'");
    auto rest = encoded.substr(1);
    const auto type = take_field(rest);
    if (type == "6")
        h.parse_sha512(rest);
    else if (type == "7")
        h.parse_pbkdf2(rest);
    else if (type == "argon2id")
        h.parse_argon2id(rest);
    else {
        const auto second_dollar = encoded.find('$', 1);
        const auto shown =
            encoded.substr(0, second_dollar == std::string_view::npos ? encoded.size() : second_dollar + 1);
        fail("unknown hash type \"" + std::string{shown} + "\" (expected $6$, $7$ or $argon2id$)");
    }
    return h;
}

void password_hash::parse_sha512(std::string_view rest) {
    kind_ = hash_kind::sha512;
    const auto salt = take_field(rest);
    const auto digest = take_field(rest);
    if (salt.empty() || digest.empty() || !rest.empty())
        fail("malformed $6$ hash (expected $6$<salt>$<hash>)");
    salt_ = decode_field(salt, "$6$", "salt");
    digest_ = decode_field(digest, "$6$", "hash");
    check_sha512_size(digest_, "$6$");
}

void password_hash::parse_pbkdf2(std::string_view rest) {
    kind_ = hash_kind::sha512_pbkdf2;
    const auto iterations = take_field(rest);
    const auto salt = take_field(rest);
    const auto digest = take_field(rest);
    if (iterations.empty() || salt.empty() || digest.empty() || !rest.empty())
        fail("malformed $7$ hash (expected $7$<iterations>$<salt>$<hash>)");
    const auto count = parse_number(iterations, INT_MAX);  // PKCS5_PBKDF2_HMAC takes an int
    if (!count || *count == 0)
        fail("$7$ iterations \"" + std::string{iterations} + "\" is not a number from 1 to 2147483647");
    iterations_ = *count;
    salt_ = decode_field(salt, "$7$", "salt");
    digest_ = decode_field(digest, "$7$", "hash");
    check_sha512_size(digest_, "$7$");
}

void password_hash::parse_argon2id(std::string_view rest) {
    kind_ = hash_kind::argon2id;
    auto field = take_field(rest);
    version_ = ARGON2_VERSION_10;  // libargon2 reads a string without v= as version 1.0
    if (field.starts_with("v=")) {
        const auto version = parse_argon2_param(field, "v", UINT32_MAX);
        if (version != ARGON2_VERSION_10 && version != ARGON2_VERSION_13)
            fail("$argon2id$ version v=" + std::to_string(version) + " is not 16 or 19");
        version_ = version;
        field = take_field(rest);
    }
    // m, t and p in this order, as libargon2 writes and reads them.
    const auto comma1 = field.find(',');
    const auto comma2 = comma1 == std::string_view::npos ? comma1 : field.find(',', comma1 + 1);
    const auto salt = take_field(rest);
    const auto digest = take_field(rest);
    if (comma2 == std::string_view::npos || salt.empty() || digest.empty() || !rest.empty())
        fail("malformed $argon2id$ hash (expected " + std::string{argon2_shape} + ")");
    memory_kib_ = parse_argon2_param(field.substr(0, comma1), "m", UINT32_MAX);
    iterations_ = parse_argon2_param(field.substr(comma1 + 1, comma2 - comma1 - 1), "t", UINT32_MAX);
    lanes_ = parse_argon2_param(field.substr(comma2 + 1), "p", ARGON2_MAX_LANES);
    if (iterations_ < ARGON2_MIN_TIME) fail("$argon2id$ t=0: at least one pass is needed");
    if (lanes_ < ARGON2_MIN_LANES) fail("$argon2id$ p=0: at least one lane is needed");
    if (memory_kib_ < 8 * lanes_)
        fail("$argon2id$ m=" + std::to_string(memory_kib_) + " is below 8 KiB per lane");
    if (memory_kib_ > argon2_max_memory_kib)
        fail("$argon2id$ m=" + std::to_string(memory_kib_) + " KiB is above the 1 GiB limit per login");
    salt_ = decode_field(salt, "$argon2id$", "salt");
    digest_ = decode_field(digest, "$argon2id$", "hash");
    if (salt_.size() < ARGON2_MIN_SALT_LENGTH) fail("$argon2id$ salt is shorter than 8 bytes");
    if (digest_.size() < ARGON2_MIN_OUTLEN) fail("$argon2id$ hash is shorter than 4 bytes");
}

password_hash password_hash::make_argon2id(std::string_view password, const argon2id_params& params) {
    return make_argon2id(password, params, random_bytes(argon2_salt_size));
}

password_hash password_hash::make_pbkdf2(std::string_view password, std::uint32_t iterations) {
    return make_pbkdf2(password, iterations, random_bytes(pbkdf2_salt_size));
}

password_hash password_hash::make_argon2id(std::string_view password, const argon2id_params& params,
                                           std::span<const std::uint8_t> salt) {
    const auto size = argon2_encodedlen(params.passes, params.memory_kib, params.lanes,
                                        static_cast<std::uint32_t>(salt.size()), argon2_tag_size, Argon2_id);
    std::string encoded(size, '\0');
    const int rc = argon2id_hash_encoded(params.passes, params.memory_kib, params.lanes, password.data(),
                                         password.size(), salt.data(), salt.size(), argon2_tag_size,
                                         encoded.data(), encoded.size());
    if (rc != ARGON2_OK) throw std::runtime_error{std::string{"argon2id: "} + argon2_error_message(rc)};
    encoded.resize(encoded.find('\0'));
    return parse(encoded);
}

password_hash password_hash::make_pbkdf2(std::string_view password, std::uint32_t iterations,
                                         std::span<const std::uint8_t> salt) {
    if (iterations == 0 || iterations > INT_MAX)
        throw std::invalid_argument{"PBKDF2 iterations out of range"};
    password_hash h;
    h.kind_ = hash_kind::sha512_pbkdf2;
    h.iterations_ = iterations;
    h.salt_.assign(salt.begin(), salt.end());
    h.digest_.resize(sha512_size);
    if (!h.verify_pbkdf2(password, h.digest_)) throw std::runtime_error{"PKCS5_PBKDF2_HMAC failed"};
    h.encoded_ = "$7$" + std::to_string(iterations) + "$" + base64_encode(h.salt_, base64_padding::with) +
                 "$" + base64_encode(h.digest_, base64_padding::with);
    return h;
}

bool password_hash::verify(std::string_view password) const {
    // Big enough for every kind: argon2's tag length comes from the file, so allocate for it.
    std::array<std::uint8_t, sha512_size> fixed{};
    std::vector<std::uint8_t> dynamic;
    std::span<std::uint8_t> out{fixed};
    if (digest_.size() > fixed.size()) {
        dynamic.resize(digest_.size());
        out = dynamic;
    }
    out = out.first(digest_.size());
    bool computed = false;
    switch (kind_) {
    case hash_kind::sha512: computed = verify_sha512(password, out); break;
    case hash_kind::sha512_pbkdf2: computed = verify_pbkdf2(password, out); break;
    case hash_kind::argon2id: computed = verify_argon2id(password, out); break;
    }
    return computed && CRYPTO_memcmp(out.data(), digest_.data(), digest_.size()) == 0;
}

bool password_hash::verify_sha512(std::string_view password, std::span<std::uint8_t> out) const {
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
    unsigned int size = 0;
    return ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) == 1 &&
           EVP_DigestUpdate(ctx.get(), password.data(), password.size()) == 1 &&
           EVP_DigestUpdate(ctx.get(), salt_.data(), salt_.size()) == 1 &&
           EVP_DigestFinal_ex(ctx.get(), out.data(), &size) == 1 && size == out.size();
}

bool password_hash::verify_pbkdf2(std::string_view password, std::span<std::uint8_t> out) const {
    if (password.size() > INT_MAX) return false;
    return PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(bytes_of(password)),
                             static_cast<int>(password.size()), salt_.data(), static_cast<int>(salt_.size()),
                             static_cast<int>(iterations_), EVP_sha512(), static_cast<int>(out.size()),
                             out.data()) == 1;
}

bool password_hash::verify_argon2id(std::string_view password, std::span<std::uint8_t> out) const {
    if (password.size() > ARGON2_MAX_PWD_LENGTH) return false;
    // argon2id_verify() would do the same, but with one thread per lane; the broker's pool decides threads.
    argon2_context ctx{};
    ctx.out = out.data();
    ctx.outlen = static_cast<std::uint32_t>(out.size());
    // Read only: libargon2 writes to the password only with ARGON2_FLAG_CLEAR_PASSWORD, which is not set.
    ctx.pwd = const_cast<std::uint8_t*>(bytes_of(password));
    ctx.pwdlen = static_cast<std::uint32_t>(password.size());
    ctx.salt = const_cast<std::uint8_t*>(salt_.data());
    ctx.saltlen = static_cast<std::uint32_t>(salt_.size());
    ctx.t_cost = iterations_;
    ctx.m_cost = memory_kib_;
    ctx.lanes = lanes_;
    ctx.threads = 1;
    ctx.version = version_;
    ctx.flags = ARGON2_DEFAULT_FLAGS;
    return argon2_ctx(&ctx, Argon2_id) == ARGON2_OK;
}

std::string password_hash::cost() const {
    switch (kind_) {
    case hash_kind::sha512: return "sha512";
    case hash_kind::sha512_pbkdf2: return "sha512-pbkdf2 i=" + std::to_string(iterations_);
    case hash_kind::argon2id:
        return "argon2id m=" + std::to_string(memory_kib_) + ",t=" + std::to_string(iterations_) +
               ",p=" + std::to_string(lanes_);
    }
    return {};
}

}  // namespace mqttd::auth
