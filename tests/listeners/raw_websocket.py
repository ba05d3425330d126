"""Raw sockets for the WebSocket tests: HTTP/1.1 upgrade requests, an RFC 6455 client that sends frames exactly as
a test cuts them, and the few MQTT 3.1.1 packets those tests need as bytes."""

import base64
import hashlib
import os
import re
import socket
import struct
import time


def _upgrade_request(host, port, path, subprotocol, origin, upgrade, extra_headers):
    """Returns (request bytes, expected Sec-WebSocket-Accept)."""
    key = base64.b64encode(os.urandom(16)).decode()
    host_header = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    lines = ["GET %s HTTP/1.1" % path, "Host: " + host_header]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
                  "Sec-WebSocket-Version: 13"]
        if subprotocol is not None:
            lines.append("Sec-WebSocket-Protocol: " + subprotocol)
    if origin is not None:
        lines.append("Origin: " + origin)
    lines += list(extra_headers)
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), accept.decode()


class HttpResponse:
    def __init__(self, status, headers, body, accept_expected):
        self.status, self.headers, self.body, self.accept_expected = status, headers, body, accept_expected

    def __repr__(self):
        return "HTTP %d %r %r" % (self.status, self.headers, self.body[:200])


def _read_response(sock, request, accept, timeout):
    """Reads the status line and headers; for a refusal also the body (until Content-Length or close)."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head:
        raise AssertionError("no HTTP response to %r" % request)
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3})", status_line)
    if not match:
        raise AssertionError("not an HTTP status line: %r" % status_line)
    headers = {}
    for h in header_lines:
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(match.group(1))
    if status != 101:
        length = int(headers.get("content-length", "-1"))
        while (length < 0 or len(rest) < length) and time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk
    return HttpResponse(status, headers, rest, accept)


def http_upgrade(host, port, path="/mqtt", subprotocol="mqtt", origin=None, upgrade=True, extra_headers=(),
                 timeout=5.0):
    """Sends one HTTP/1.1 request (a WebSocket upgrade unless upgrade=False) over a plain socket and
    returns the HttpResponse; the connection is closed afterwards."""
    request, accept = _upgrade_request(host, port, path, subprotocol, origin, upgrade, extra_headers)
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(request)
        return _read_response(s, request, accept, timeout)


OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawWebSocket:
    """RFC 6455 client over a plain socket, frame by frame, so a test chooses where frames split packets."""

    def __init__(self, host, port, path="/mqtt", subprotocol="mqtt", timeout=5.0):
        request, accept = _upgrade_request(host, port, path, subprotocol, None, True, ())
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(request)
        self.response = _read_response(self.sock, request, accept, timeout)
        if self.response.status != 101:
            raise AssertionError("WebSocket upgrade refused: %r" % self.response)
        self.buffer = self.response.body   # bytes the server sent after its 101 response
        self.response.body = b""

    def send_frame(self, opcode, payload, fin=True, masked=True):
        header = bytearray([(0x80 if fin else 0) | opcode])
        mask_bit = 0x80 if masked else 0
        n = len(payload)
        if n < 126:
            header.append(mask_bit | n)
        elif n < 65536:
            header.append(mask_bit | 126)
            header += struct.pack("!H", n)
        else:
            header.append(mask_bit | 127)
            header += struct.pack("!Q", n)
        if masked:
            mask = os.urandom(4)
            header += mask
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + payload)

    def _need(self, n, deadline):
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionClosed("connection closed by the broker")
            self.buffer += chunk

    def recv_frame(self, timeout=5.0):
        """Returns (fin, opcode, payload) of the next frame from the server."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buffer[0], self.buffer[1]
        if b1 & 0x80:
            raise AssertionError("the server masked a frame (RFC 6455 5.1 forbids it)")
        n, offset = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
        self._need(offset + n, deadline)
        payload = self.buffer[offset:offset + n]
        self.buffer = self.buffer[offset + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_mqtt_stream(self, nbytes, timeout=5.0):
        """Concatenates binary frame payloads until nbytes of MQTT stream arrived; fails on a text frame."""
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < nbytes:
            fin, opcode, payload = self.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
            if opcode in (OP_BINARY, OP_CONTINUATION):
                data += payload
            elif opcode == OP_TEXT:
                raise AssertionError("the broker sent a text frame [MQTT-6.0.0-1]")
            elif opcode == OP_CLOSE:
                raise ConnectionClosed("close frame %r after %r" % (payload, data))
        return data

    def expect_closed(self, timeout=5.0):
        """Waits for a close frame and/or the end of the TCP stream; returns the close frame's payload."""
        deadline = time.monotonic() + timeout
        close_payload = None
        while True:
            try:
                fin, opcode, payload = self.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
            except ConnectionClosed:
                return close_payload
            except ConnectionResetError:
                return close_payload
            except socket.timeout:
                raise AssertionError("the broker kept the WebSocket open for %.0f s" % timeout) from None
            if opcode == OP_CLOSE:
                close_payload = payload
                try:
                    self.send_frame(OP_CLOSE, payload[:2])
                except OSError:
                    pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class ConnectionClosed(Exception):
    pass


# ---------------------------------------------------------------------------------------- MQTT bytes

def _utf8(value):
    data = value.encode("utf-8")
    return struct.pack("!H", len(data)) + data


def _remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_packet(first_byte, body=b""):
    return bytes([first_byte]) + _remaining_length(len(body)) + body


def connect_packet(client_id, keepalive=60):
    """CONNECT, MQTT 3.1.1 (level 4), clean session."""
    return mqtt_packet(0x10, _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + _utf8(client_id))


CONNACK_ACCEPTED = bytes([0x20, 0x02, 0x00, 0x00])


def subscribe_packet(packet_id, topic_filter, qos=0):
    return mqtt_packet(0x82, struct.pack("!H", packet_id) + _utf8(topic_filter) + bytes([qos]))


def suback_packet(packet_id, granted):
    return mqtt_packet(0x90, struct.pack("!H", packet_id) + bytes([granted]))


def publish_packet(topic, payload, qos=0, packet_id=None, retain=False):
    body = _utf8(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return mqtt_packet(0x30 | (qos << 1) | (1 if retain else 0), body)


DISCONNECT = bytes([0xE0, 0x00])
