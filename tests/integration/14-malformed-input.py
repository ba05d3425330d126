#!/usr/bin/python3
"""A corpus of malformed packets against the real broker, one table driven by one loop.

For every case a fresh connection sends the bad bytes (first, or after a valid CONNECT) and the broker must
close it [MQTT-4.8.0-1]: with the CONNACK code the spec names first, where it names one (0x01 for a protocol
level [MQTT-3.1.2-2], 0x02 for a client id [MQTT-3.1.3-8]), otherwise with nothing. After each
case a healthy client, connected before the first case and for the whole table, must still round-trip a
message, and the broker must still be running. Under mqttd the log must name the error with the client id
and the address of the bad connection. Each case names the normative statement it breaks; the error text is
mqttd's (protocol/errc.cpp) and follows the decoder's unit tests (tests/unit/protocol/decoder_errors_test.cpp).
"""

import collections
import struct

import harness
from harness import (BrokerTestCase, PUBACK, PUBLISH, RawClient, connect_packet, encode_string, packet,
                     publish_packet, subscribe_packet, unsubscribe_packet)

MAX_PACKET_SIZE = 2 * 1024 * 1024       # mqttd's default; the harness raises it for the other files
MAX_CONNECT_SIZE = 327702               # the largest legal CONNECT: no packet may claim more before CONNECT

# mqttd's error texts (protocol/errc.cpp, broker/core/session.cpp, broker/net/connection.cpp).
NOT_CONNECT = "first packet is not CONNECT"
PACKET_TYPE = "invalid packet type"
FLAGS = "reserved fixed-header flags are wrong"
QOS = "invalid QoS"
DUP = "PUBLISH DUP flag set on QoS 0"
LENGTH = "malformed remaining length"
TOO_LARGE = "packet larger than the maximum packet size"
TRUNCATED = "field runs past the remaining length"
TRAILING = "bytes left after the last field"
UTF8 = "ill-formed UTF-8 string"
SURROGATE = "UTF-8 string contains a surrogate code point"
NUL = "UTF-8 string contains U+0000"
EMPTY_TOPIC = "empty topic"
WILDCARD = "wildcard in topic name"
HASH_NOT_LAST = "'#' is not alone in the last topic level"
PLUS_NOT_ALONE = "'+' is not alone in its topic level"
ZERO_ID = "packet identifier 0"
NAME = "invalid protocol name"
LEVEL = "unsupported protocol level"
RESERVED_FLAG = "CONNECT reserved flag set"
WILL_FLAGS = "will QoS or retain set without will flag"
WILL_QOS = "invalid will QoS"
PASSWORD = "password flag set without username flag"
NO_SUBSCRIPTIONS = "SUBSCRIBE without topic filters"
SUBSCRIPTION_BITS = "SUBSCRIBE requested QoS byte invalid"
NO_UNSUBSCRIPTIONS = "UNSUBSCRIBE without topic filters"
SECOND_CONNECT = "second CONNECT"
SERVER_ONLY = "packet only a server sends"

NON_MINIMAL = "mosquitto 2.0 accepts a remaining length in more bytes than it needs (3.1.1 has no rule)"

# Invalid UTF-8 [MQTT-1.5.3-1]
BAD_FF = b"ab\xff"                    # 0xFF never appears in UTF-8
OVERLONG = b"a\xc0\xafb"              # '/' as a 2-byte overlong form
OVERLONG3 = b"\xe0\x80\xaf"           # '/' as a 3-byte overlong form
SURROGATE_D800 = b"a\xed\xa0\x80"     # U+D800
SURROGATE_DFFF = b"\xed\xbf\xbf"      # U+DFFF
ABOVE_MAX = b"\xf4\x90\x80\x80"       # U+110000
CUT_SEQUENCE = b"ab\xe2\x82"          # a 3-byte sequence missing its last byte
STRAY = b"a\x80b"                     # a continuation byte with no lead


Case = collections.namedtuple("Case", "name data after_connect connack error client_closes mosquitto")


def case(name, data, after_connect=False, connack=None, error=None, client_closes=False, mosquitto=None):
    """One malformed input. after_connect: sent by a client that has a CONNACK 0 (else as the first bytes).
    connack: the return code the broker must send before closing. error: mqttd's log text. client_closes: the
    packet is incomplete, so the client gives up and closes. mosquitto: why the case is skipped there."""
    return Case(name, data, after_connect, connack, error, client_closes, mosquitto)


def connect_raw(header, flags, payload, keepalive=60):
    """CONNECT from parts: header = protocol name field + level, payload = the payload bytes."""
    return packet(0x10, header + bytes([flags]) + struct.pack("!H", keepalive) + payload)


MQTT4 = encode_string("MQTT") + b"\x04"
ID = encode_string("bad")

BEFORE_CONNECT = [
    # [MQTT-3.1.0-1] the first packet must be CONNECT: each other type, well-formed, as the first packet.
    case("CONNACK first [MQTT-3.1.0-1]", b"\x20\x02\x00\x00", error=NOT_CONNECT),
    case("PUBLISH first [MQTT-3.1.0-1]", publish_packet("t", b"x"), error=NOT_CONNECT),
    case("PUBACK first [MQTT-3.1.0-1]", b"\x40\x02\x00\x01", error=NOT_CONNECT),
    case("PUBREC first [MQTT-3.1.0-1]", b"\x50\x02\x00\x01", error=NOT_CONNECT),
    case("PUBREL first [MQTT-3.1.0-1]", b"\x62\x02\x00\x01", error=NOT_CONNECT),
    case("PUBCOMP first [MQTT-3.1.0-1]", b"\x70\x02\x00\x01", error=NOT_CONNECT),
    case("SUBSCRIBE first [MQTT-3.1.0-1]", subscribe_packet(1, [("t", 0)]), error=NOT_CONNECT),
    case("SUBACK first [MQTT-3.1.0-1]", b"\x90\x03\x00\x01\x00", error=NOT_CONNECT),
    case("UNSUBSCRIBE first [MQTT-3.1.0-1]", unsubscribe_packet(1, ["t"]), error=NOT_CONNECT),
    case("UNSUBACK first [MQTT-3.1.0-1]", b"\xb0\x02\x00\x01", error=NOT_CONNECT),
    case("PINGREQ first [MQTT-3.1.0-1]", b"\xc0\x00", error=NOT_CONNECT),
    case("PINGRESP first [MQTT-3.1.0-1]", b"\xd0\x00", error=NOT_CONNECT),
    case("DISCONNECT first [MQTT-3.1.0-1]", b"\xe0\x00", error=NOT_CONNECT),
    # Section 2.2.1: types 0 and 15 are reserved (forbidden).
    case("type 0 first (section 2.2.1)", b"\x00\x00", error=PACKET_TYPE),
    case("type 15 first (section 2.2.1)", b"\xf0\x00", error=PACKET_TYPE),
    case("CONNECT with reserved fixed-header flags 0x11 [MQTT-2.2.2-2]",
         b"\x11" + connect_packet("bad")[1:], error=FLAGS),
    # Remaining length (section 2.2.3) and the limit before CONNECT.
    case("CONNECT with a 5-byte remaining length (section 2.2.3)", b"\x10\x80\x80\x80\x80\x01", error=LENGTH),
    case("CONNECT claiming 256 MB (more than the largest legal CONNECT)", b"\x10\xff\xff\xff\x7f",
         error=TOO_LARGE),
    case("CONNECT claiming 327,698 bytes (the largest legal CONNECT), then the client closes",
         b"\x10" + harness.encode_remaining_length(MAX_CONNECT_SIZE - 4) + MQTT4, client_closes=True),
    case("CONNECT claiming 327,699 bytes (1 more than the largest legal CONNECT)",
         b"\x10" + harness.encode_remaining_length(MAX_CONNECT_SIZE - 4 + 1), error=TOO_LARGE,
         mosquitto="mosquitto takes a CONNECT of up to max_packet_size"),
    case("CONNECT claiming 200 bytes, 21 sent, then the client closes",
         b"\x10\xc8\x01" + MQTT4 + b"\x02\x00\x3c" + encode_string("cut-short"), client_closes=True),
    case("CONNECT with remaining length 0 [MQTT-3.1.2-1]", b"\x10\x00", error=TRUNCATED),
    # A length in more bytes than it needs: 3.1.1 shows only the minimal encoding, MQTT 5 makes it a rule
    # [MQTT-1.5.5-1], and mqttd refuses the others so that no two parsers can read a packet two ways.
    case("CONNECT with remaining length 0 in two bytes (0x80 0x00) (section 2.2.3)", b"\x10\x80\x00",
         error=LENGTH, mosquitto=NON_MINIMAL),
    case("whole CONNECT with its remaining length in two bytes (section 2.2.3)",
         b"\x10" + bytes([len(connect_packet("bad")) - 2 | 0x80, 0x00]) + connect_packet("bad")[2:],
         error=LENGTH, mosquitto=NON_MINIMAL),
    # Protocol name [MQTT-3.1.2-1]: no CONNACK, close.
    case("protocol name MQTX [MQTT-3.1.2-1]", connect_packet("bad", protocol_name="MQTX"), error=NAME),
    case("protocol name mqtt [MQTT-3.1.2-1]", connect_packet("bad", protocol_name="mqtt"), error=NAME),
    case("protocol name empty [MQTT-3.1.2-1]", connect_packet("bad", protocol_name=""), error=NAME),
    case("protocol name MQTT with ill-formed UTF-8 after it [MQTT-3.1.2-1]",
         connect_packet("bad", protocol_name=b"MQTT\xff"), error=NAME),
    case("protocol name cut short [MQTT-3.1.2-1]", b"\x10\x03\x00\x04M", error=TRUNCATED),
    # Protocol level [MQTT-3.1.2-2]: the name is right, the level is not: CONNACK 0x01, then close.
    case("MQTT level 0 [MQTT-3.1.2-2]", connect_packet("bad", protocol_level=0), connack=1, error=LEVEL),
    case("MQTT level 2 [MQTT-3.1.2-2]", connect_packet("bad", protocol_level=2), connack=1, error=LEVEL),
    case("MQTT level 3 (the level of MQIsdp) [MQTT-3.1.2-2]", connect_packet("bad", protocol_level=3),
         connack=1, error=LEVEL),
    case("MQTT level 5 [MQTT-3.1.2-2]", connect_packet("bad", protocol_level=5), connack=1, error=LEVEL,
         mosquitto="mosquitto 2 implements MQTT 5"),
    case("MQTT level 255 [MQTT-3.1.2-2]", connect_packet("bad", protocol_level=255), connack=1, error=LEVEL),
    case("MQIsdp level 4 [MQTT-3.1.2-2]", connect_packet("bad", protocol_name="MQIsdp", protocol_level=4),
         connack=1, error=LEVEL),
    # CONNECT flags.
    case("reserved connect flag bit 0 [MQTT-3.1.2-3]", connect_packet("bad", flags=0x03), error=RESERVED_FLAG),
    case("will QoS 3 [MQTT-3.1.2-14]", connect_packet("bad", will=("w", b"x", 3, False)), error=WILL_QOS),
    case("will QoS 1 without will flag [MQTT-3.1.2-13]", connect_packet("bad", flags=0x0A), error=WILL_FLAGS),
    case("will QoS 2 without will flag [MQTT-3.1.2-13]", connect_packet("bad", flags=0x12), error=WILL_FLAGS),
    case("will retain without will flag [MQTT-3.1.2-15]", connect_packet("bad", flags=0x22), error=WILL_FLAGS),
    case("password flag without username flag [MQTT-3.1.2-22]",
         connect_raw(MQTT4, 0x42, ID + encode_string("secret")), error=PASSWORD),
    # Client identifier: the spec's CONNACK 0x02, then close.
    case("empty client id with clean session 0 [MQTT-3.1.3-8]", connect_packet("", clean_session=False),
         connack=2),
    case("MQTT 3.1 client id of 24 characters (3.1 allows 1..23)",
         connect_packet("x" * 24, protocol_name="MQIsdp", protocol_level=3), connack=2,
         mosquitto="mosquitto 2.0 accepts longer MQTT 3.1 client ids"),
    case("MQTT 3.1 empty client id (3.1 allows 1..23)", connect_packet("", protocol_name="MQIsdp",
                                                                        protocol_level=3), connack=2),
    # The payload shorter than its fields [MQTT-3.1.3-1].
    case("no client id field [MQTT-3.1.3-3]", connect_raw(MQTT4, 0x02, b""), error=TRUNCATED),
    case("client id length runs past the packet [MQTT-3.1.3-3]", connect_raw(MQTT4, 0x02, b"\x00\x64abc"),
         error=TRUNCATED),
    case("will flag without will topic [MQTT-3.1.2-9]", connect_raw(MQTT4, 0x06, ID), error=TRUNCATED),
    case("will topic without will message [MQTT-3.1.2-9]", connect_raw(MQTT4, 0x06, ID + encode_string("w")),
         error=TRUNCATED),
    case("username flag without username [MQTT-3.1.2-19]", connect_raw(MQTT4, 0x82, ID), error=TRUNCATED),
    case("password flag without password [MQTT-3.1.2-21]",
         connect_raw(MQTT4, 0xC2, ID + encode_string("user")), error=TRUNCATED),
    case("bytes after the last CONNECT field [MQTT-3.1.3-1]", connect_raw(MQTT4, 0x02, ID + b"\x00"),
         error=TRAILING),
    # Strings in CONNECT [MQTT-1.5.3-1] [MQTT-1.5.3-2].
    case("client id with 0xFF [MQTT-1.5.3-1]", connect_packet(BAD_FF), error=UTF8),
    case("client id with an overlong '/' [MQTT-1.5.3-1]", connect_packet(OVERLONG), error=UTF8),
    case("client id with U+D800 [MQTT-1.5.3-1]", connect_packet(SURROGATE_D800), error=SURROGATE),
    case("client id above U+10FFFF [MQTT-1.5.3-1]", connect_packet(ABOVE_MAX), error=UTF8),
    case("client id with a cut multi-byte sequence [MQTT-1.5.3-1]", connect_packet(CUT_SEQUENCE), error=UTF8),
    case("client id with a stray continuation byte [MQTT-1.5.3-1]", connect_packet(STRAY), error=UTF8),
    case("client id with U+0000 [MQTT-1.5.3-2]", connect_packet(b"a\x00b"), error=NUL),
    case("username with a 3-byte overlong form [MQTT-1.5.3-1]", connect_packet("bad", username=OVERLONG3),
         error=UTF8),
    case("username with U+DFFF [MQTT-1.5.3-1]", connect_packet("bad", username=SURROGATE_DFFF),
         error=SURROGATE),
    case("will topic with 0xFF [MQTT-3.1.3-10]", connect_packet("bad", will=(BAD_FF, b"x", 0, False)),
         error=UTF8),
    case("will topic with '#' [MQTT-3.3.2-2]", connect_packet("bad", will=("w/#", b"x", 0, False)),
         error=WILDCARD),
]

AFTER_CONNECT = [
    # Reserved fixed-header flags of every type whose flags are fixed [MQTT-2.2.2-1] [MQTT-2.2.2-2].
    case("CONNACK with flags 0x1 [MQTT-2.2.2-2]", b"\x21\x02\x00\x00", error=FLAGS),
    case("PUBACK with flags 0x2 [MQTT-2.2.2-2]", b"\x42\x02\x00\x01", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("PUBREC with flags 0x8 [MQTT-2.2.2-2]", b"\x58\x02\x00\x01", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("PUBREL with flags 0x0 [MQTT-3.6.1-1]", b"\x60\x02\x00\x01", error=FLAGS),
    case("PUBREL with flags 0x3 [MQTT-3.6.1-1]", b"\x63\x02\x00\x01", error=FLAGS),
    case("PUBCOMP with flags 0x4 [MQTT-2.2.2-2]", b"\x74\x02\x00\x01", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("SUBSCRIBE with flags 0x0 [MQTT-3.8.1-1]", b"\x80" + subscribe_packet(1, [("t", 0)])[1:], error=FLAGS),
    case("SUBSCRIBE with flags 0xA [MQTT-3.8.1-1]", b"\x8a" + subscribe_packet(1, [("t", 0)])[1:], error=FLAGS),
    case("SUBACK with flags 0x1 [MQTT-2.2.2-2]", b"\x91\x03\x00\x01\x00", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("UNSUBSCRIBE with flags 0x0 [MQTT-3.10.1-1]", b"\xa0" + unsubscribe_packet(1, ["t"])[1:], error=FLAGS),
    case("UNSUBACK with flags 0x2 [MQTT-2.2.2-2]", b"\xb2\x02\x00\x01", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("PINGREQ with flags 0x1 [MQTT-2.2.2-2]", b"\xc1\x00", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("PINGRESP with flags 0x8 [MQTT-2.2.2-2]", b"\xd8\x00", error=FLAGS,
         mosquitto="mosquitto 2.0 does not check this type's fixed-header flags"),
    case("DISCONNECT with flags 0x1 [MQTT-2.2.2-2]", b"\xe1\x00", error=FLAGS),
    case("second CONNECT with flags 0xF [MQTT-2.2.2-2]", b"\x1f" + connect_packet("bad")[1:], error=FLAGS),
    # PUBLISH fixed header.
    case("PUBLISH QoS 3 [MQTT-3.3.1-4]", b"\x36\x05\x00\x01t\x00\x01", error=QOS),
    case("PUBLISH QoS 3 with DUP and RETAIN [MQTT-3.3.1-4]", b"\x3f\x05\x00\x01t\x00\x01", error=QOS),
    case("PUBLISH DUP on QoS 0 [MQTT-3.3.1-2]", b"\x38\x03\x00\x01t", error=DUP,
         mosquitto="mosquitto 2.0 accepts DUP on QoS 0"),
    # Remaining length (section 2.2.3) and max_packet_size.
    case("PUBLISH with a 5-byte remaining length (section 2.2.3)", b"\x30\xff\xff\xff\xff\x7f", error=LENGTH),
    case("PINGREQ with remaining length 0 in two bytes (section 2.2.3)", b"\xc0\x80\x00", error=LENGTH,
         mosquitto=NON_MINIMAL),
    case("PINGREQ with remaining length 0 in four bytes (section 2.2.3)", b"\xc0\x80\x80\x80\x00", error=LENGTH,
         mosquitto=NON_MINIMAL),
    case("PUBACK with remaining length 2 in two bytes (section 2.2.3)", b"\x40\x82\x00\x00\x01", error=LENGTH,
         mosquitto=NON_MINIMAL),
    case("PUBLISH with remaining length 128 in three bytes (section 2.2.3)",
         b"\x30\x80\x81\x00" + encode_string("t") + b"x" * 125, error=LENGTH, mosquitto=NON_MINIMAL),
    case("PUBLISH claiming 256 MB (over max_packet_size)", b"\x30\xff\xff\xff\x7f", error=TOO_LARGE),
    case("PUBLISH one byte over max_packet_size",
         b"\x30" + harness.encode_remaining_length(MAX_PACKET_SIZE - 4 + 1), error=TOO_LARGE,
         mosquitto="mosquitto 2.0 counts the fixed header differently"),
    case("PUBLISH claiming 1000 bytes, 10 sent, then the client closes",
         b"\x30\xe8\x07" + encode_string("cut") + b"12345", client_closes=True),
    # PUBLISH variable header and topic.
    case("PUBLISH topic length past the packet [MQTT-3.3.2-1]", b"\x30\x02\x00\x05", error=TRUNCATED),
    case("PUBLISH topic length cut in half [MQTT-3.3.2-1]", b"\x30\x01\x00", error=TRUNCATED),
    case("PUBLISH QoS 1 packet id cut in half [MQTT-2.3.1-1]", b"\x32\x04\x00\x01t\x00", error=TRUNCATED),
    case("PUBLISH QoS 1 packet id 0 [MQTT-2.3.1-1]", publish_packet("t", qos=1, packet_id=0), error=ZERO_ID),
    case("PUBLISH QoS 2 packet id 0 [MQTT-2.3.1-1]", publish_packet("t", qos=2, packet_id=0), error=ZERO_ID),
    case("PUBLISH topic with '+' [MQTT-3.3.2-2]", publish_packet("a/+/b", b"x"), error=WILDCARD),
    case("PUBLISH topic '#' [MQTT-3.3.2-2]", publish_packet("#", b"x"), error=WILDCARD),
    case("PUBLISH topic with a trailing '#' [MQTT-3.3.2-2]", publish_packet("a/b#", b"x"), error=WILDCARD),
    case("PUBLISH empty topic [MQTT-4.7.3-1]", publish_packet("", b"x"), error=EMPTY_TOPIC),
    case("PUBLISH topic with 0xFF [MQTT-1.5.3-1]", publish_packet(BAD_FF, b"x"), error=UTF8),
    case("PUBLISH topic with an overlong '/' [MQTT-1.5.3-1]", publish_packet(OVERLONG, b"x"), error=UTF8),
    case("PUBLISH topic with U+D800 [MQTT-1.5.3-1]", publish_packet(SURROGATE_D800, b"x"), error=SURROGATE),
    case("PUBLISH topic with U+0000 [MQTT-1.5.3-2]", publish_packet(b"a\x00b", b"x"), error=NUL),
    # SUBSCRIBE.
    case("SUBSCRIBE without topic filters [MQTT-3.8.3-3]", packet(0x82, b"\x00\x01"), error=NO_SUBSCRIPTIONS),
    case("SUBSCRIBE packet id 0 [MQTT-2.3.1-1]", subscribe_packet(0, [("t", 0)]), error=ZERO_ID),
    case("SUBSCRIBE empty filter [MQTT-4.7.3-1]", subscribe_packet(1, [("", 0)]), error=EMPTY_TOPIC),
    case("SUBSCRIBE filter a/#/b [MQTT-4.7.1-2]", subscribe_packet(1, [("a/#/b", 0)]), error=HASH_NOT_LAST),
    case("SUBSCRIBE filter #a [MQTT-4.7.1-2]", subscribe_packet(1, [("#a", 0)]), error=HASH_NOT_LAST),
    case("SUBSCRIBE filter a/b# [MQTT-4.7.1-2]", subscribe_packet(1, [("a/b#", 0)]), error=HASH_NOT_LAST),
    case("SUBSCRIBE filter a+ [MQTT-4.7.1-3]", subscribe_packet(1, [("a+", 0)]), error=PLUS_NOT_ALONE),
    case("SUBSCRIBE filter +a/b [MQTT-4.7.1-3]", subscribe_packet(1, [("+a/b", 0)]), error=PLUS_NOT_ALONE),
    case("SUBSCRIBE good filter then a/#/b [MQTT-4.7.1-2]", subscribe_packet(1, [("ok", 0), ("a/#/b", 0)]),
         error=HASH_NOT_LAST),
    case("SUBSCRIBE filter with U+D800 [MQTT-1.5.3-1]", subscribe_packet(1, [(SURROGATE_D800, 0)]),
         error=SURROGATE),
    case("SUBSCRIBE filter with U+0000 [MQTT-1.5.3-2]", subscribe_packet(1, [(b"a\x00", 0)]), error=NUL),
    case("SUBSCRIBE requested QoS 3 [MQTT-3.8.3-4]", subscribe_packet(1, [("t", 3)]), error=SUBSCRIPTION_BITS),
    case("SUBSCRIBE requested QoS byte 0x04 [MQTT-3.8.3-4]", subscribe_packet(1, [("t", 4)]),
         error=SUBSCRIPTION_BITS),
    case("SUBSCRIBE requested QoS byte 0x81 [MQTT-3.8.3-4]", subscribe_packet(1, [("t", 0x81)]),
         error=SUBSCRIPTION_BITS),
    case("SUBSCRIBE without its requested QoS byte (section 3.8.3)",
         packet(0x82, b"\x00\x01" + encode_string("t")), error=TRUNCATED),
    # UNSUBSCRIBE.
    case("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]", packet(0xA2, b"\x00\x01"),
         error=NO_UNSUBSCRIPTIONS),
    case("UNSUBSCRIBE packet id 0 [MQTT-2.3.1-1]", unsubscribe_packet(0, ["t"]), error=ZERO_ID),
    case("UNSUBSCRIBE empty filter [MQTT-4.7.3-1]", unsubscribe_packet(1, [""]), error=EMPTY_TOPIC),
    case("UNSUBSCRIBE filter a/#/b [MQTT-4.7.1-2]", unsubscribe_packet(1, ["a/#/b"]), error=HASH_NOT_LAST),
    case("UNSUBSCRIBE filter with 0xFF [MQTT-1.5.3-1]", unsubscribe_packet(1, [BAD_FF]), error=UTF8),
    # Acknowledgements and the packets without a body.
    case("PUBACK packet id 0 [MQTT-2.3.1-1]", b"\x40\x02\x00\x00", error=ZERO_ID),
    case("PUBACK with remaining length 1 (section 3.4.1)", b"\x40\x01\x01", error=TRUNCATED),
    case("PUBREC with remaining length 3 (section 3.5.1)", b"\x50\x03\x00\x01\x00", error=TRAILING,
         mosquitto="mosquitto 2.0 accepts a PUBREC longer than 2 bytes"),
    case("PUBREL with remaining length 0 (section 3.6.1)", b"\x62\x00", error=TRUNCATED),
    case("PINGREQ with a body (section 3.12)", b"\xc0\x01\x00", error=TRAILING,
         mosquitto="mosquitto 2.0 accepts a PINGREQ with a body"),
    case("DISCONNECT with a body (section 3.14)", b"\xe0\x01\x00", error=TRAILING),
    # Packets only a server sends, and a second CONNECT.
    case("CONNACK from a client (section 3.2: server to client)", b"\x20\x02\x00\x00", error=SERVER_ONLY),
    case("SUBACK from a client (section 3.9: server to client)", b"\x90\x03\x00\x01\x00", error=SERVER_ONLY,
         mosquitto="mosquitto 2.0 ignores it"),
    case("UNSUBACK from a client (section 3.11: server to client)", b"\xb0\x02\x00\x01", error=SERVER_ONLY,
         mosquitto="mosquitto 2.0 ignores it"),
    case("PINGRESP from a client (section 3.13: server to client)", b"\xd0\x00", error=SERVER_ONLY,
         mosquitto="mosquitto 2.0 ignores it"),
    case("second CONNECT [MQTT-3.1.0-2]", connect_packet("bad"), error=SECOND_CONNECT),
    # Garbage after a valid CONNECT.
    case("type 0 after CONNECT (section 2.2.1)", b"\x00\x00\x00\x00", error=PACKET_TYPE),
    case("type 15 after CONNECT (section 2.2.1)", b"\xf0\x00", error=PACKET_TYPE),
    case("0xFF bytes after CONNECT (type 15)", b"\xff" * 16, error=PACKET_TYPE),
]

CASES = BEFORE_CONNECT + [c._replace(after_connect=True) for c in AFTER_CONNECT]


class MalformedInput(BrokerTestCase):
    broker_overrides = {"max_packet_size": MAX_PACKET_SIZE}

    def setUp(self):
        super().setUp()
        # The healthy client: connected before the first case, subscribed to its own topic, for the whole table.
        self.healthy = self.raw_connected("healthy", keepalive=0)
        self.raw_subscribe(self.healthy, 1, [("healthy/echo", 1)])
        self.round_trips = 0

    def _healthy_round_trip(self, why):
        """The healthy client publishes QoS 1 to its own subscription: PUBACK and the message must come."""
        self.round_trips += 1
        pid = self.round_trips
        payload = b"after %d" % pid
        self.healthy.send(publish_packet("healthy/echo", payload, qos=1, packet_id=pid))
        got = {}
        for _ in range(2):
            p = self.healthy.read_packet(5.0)
            got[p.type] = p
        self.assertEqual(set(got), {PUBACK, PUBLISH}, "the healthy client's round trip %s" % why)
        self.assertEqual(harness.packet_id_of(got[PUBACK]), pid)
        m = harness.parse_publish(got[PUBLISH])
        self.assertEqual(m.payload, payload, "the healthy client's message %s" % why)
        self.healthy.send(harness.puback_packet(m.packet_id))

    def _expect_logged(self, c, port, cid):
        """The disconnect line of the bad connection comes last: every line about it is in the log by then."""
        addr = "addr=127.0.0.1:%d" % port
        self.broker.wait_log("event=disconnect", addr)
        if c.client_closes:
            return
        if c.error is None:
            needles = ("event=connect_rejected", addr, "connack=%d" % c.connack)
        else:
            needles = ("event=protocol_error", 'client_id="%s"' % cid, addr, 'error="%s"' % c.error)
        if not self.broker.log_lines(*needles):
            self.fail("no log line with %s; the lines about %s:\n%s"
                      % (" and ".join(needles), addr, "\n".join(self.broker.log_lines(addr))))

    def _run_case(self, index, c):
        bad = RawClient(self.port)
        self.addCleanup(bad.close)
        port = bad.sock.getsockname()[1]
        cid = ""
        if c.after_connect:
            cid = "bad-%03d" % index
            self.assertEqual(bad.connect(cid)[1], 0)
        bad.send(c.data, tolerate_close=True)
        if c.client_closes:
            bad.close()
        else:
            if c.connack is not None:
                bad.expect_bytes(bytes([0x20, 0x02, 0x00, c.connack]),
                                 why="(CONNACK 0x%02x before closing)" % c.connack)
            took = bad.expect_closed(timeout=3.0, why="for the malformed input")
            self.assertLess(took, 2.0, "closed at once, not by a timeout")
        self._healthy_round_trip("after case %r" % c.name)
        self.assertTrue(self.broker.is_running(), "the broker must survive %r" % c.name)
        if not self.is_mosquitto:
            self._expect_logged(c, port, cid)

    def _run_table(self, cases, offset=0):
        for index, c in enumerate(cases, offset):
            with self.subTest("%03d %s" % (index, c.name)):
                if self.is_mosquitto and c.mosquitto:
                    self.skipTest("mosquitto deviation: " + c.mosquitto)
                self._run_case(index, c)
        print("(%d cases) " % len(cases), end="", flush=True)

    def test_before_connect(self):
        self._run_table(CASES[:len(BEFORE_CONNECT)])

    def test_after_connect(self):
        self._run_table(CASES[len(BEFORE_CONNECT):], len(BEFORE_CONNECT))


class Tolerated(BrokerTestCase):
    """Not a case: what looks odd but is valid MQTT 3.1.1 must work, not close the connection."""

    def test_client_id_with_unusual_characters_is_allowed(self):
        # [MQTT-3.1.3-5] the server MUST allow 0-9a-zA-Z and MAY allow more: any well-formed UTF-8 is taken.
        c = self.raw_connected("dev/#+ $é\u00a0\u4e2d\U0001f600")
        c.expect_open("with a client id of unusual characters")


if __name__ == "__main__":
    print("malformed-input corpus: %d cases (%d before CONNECT, %d after)"
          % (len(CASES), len(BEFORE_CONNECT), len(AFTER_CONNECT)))
    harness.run()
