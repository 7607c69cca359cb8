"""HTTP hygiene under hostile or careless clients (issue #20): keep-alive connections carry
request after request, a WebSocket upgrade included (served like a first request, refused with
LiveKit's reason when its token is bad); oversized headers and silent or stalled connections do not stop
the server from answering everyone else."""
import base64
import hashlib
import json
import os
import socket
import struct
import time

from conftest import API_KEY, API_SECRET
from lk_rtc import token
from livekit import api
from livekit.protocol import rtc as lk_proto_rtc


def read_response(sock, timeout=5):
    """Reads one HTTP/1.1 response with a Content-Length body: (status, headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length].decode(errors="replace")


def read_head(sock, timeout=5):
    """Reads a response head only, byte by byte, so the WebSocket frames after a 101 stay unread:
    (status, headers)."""
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise EOFError(f"connection closed after {data!r}")
        data += chunk
    lines = data.decode().split("\r\n")[:-2]
    return int(lines[0].split()[1]), {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}


def closed_by_peer(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def request(path, method="GET", body=b"", headers=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def test_keep_alive_connection_serves_every_request(server):
    tok = token("kim", "hall")
    admin = api.AccessToken(API_KEY, API_SECRET).with_grants(api.VideoGrants(room_list=True)).to_jwt()
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        answers = []
        for _ in range(3):
            s.sendall(request("/"))
            answers.append(read_response(s)[::2])
            s.sendall(request(f"/rtc/validate?access_token={tok}"))
            answers.append(read_response(s)[::2])
            s.sendall(request("/twirp/livekit.RoomService/ListRooms", "POST", b"{}",
                              {"Content-Type": "application/json", "Authorization": f"Bearer {admin}"}))
            status, _, body = read_response(s)
            answers.append((status, json.loads(body).get("rooms", [])))
        print(f"\n9 requests on one connection: {answers[:3]}")
        assert answers == [(200, "OK"), (200, "success"), (200, [])] * 3
        # A WebSocket upgrade after other requests is served like a first request: 101, then a real
        # LiveKit signalling exchange on the same TCP connection.
        t0 = time.monotonic()
        s.sendall(request(f"/rtc?protocol=16&auto_subscribe=0&access_token={tok}", headers=UPGRADE))
        status, headers = read_head(s)
        print(f"upgrade as the 10th request on the connection: {status} accept={headers.get('sec-websocket-accept')}")
        assert status == 101 and headers.get("sec-websocket-accept") == WS_ACCEPT
        check_signalling(s, "kim")
        print(f"JoinResponse and pong on the reused connection {(time.monotonic() - t0) * 1000:.0f} ms after the upgrade")
    # A refused late upgrade (bad token) gets LiveKit's status and reason, then the connection closes.
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(request(f"/rtc/validate?access_token={tok}"))
        assert read_response(s)[0] == 200
        s.sendall(request("/rtc?access_token=not-a-token", headers=UPGRADE))
        status, headers, body = read_response(s)
        print(f"late upgrade with a bad token: {status} {body!r}")
        assert status == 401 and "invalid token" in body
        assert closed_by_peer(s)
    # The same upgrade as a connection's first request is accepted too.
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(request(f"/rtc?protocol=16&auto_subscribe=0&access_token={token('lee', 'hall')}", headers=UPGRADE))
        status, headers = read_head(s)
        assert status == 101 and headers.get("sec-websocket-accept") == WS_ACCEPT
        check_signalling(s, "lee")


# RFC 6455's example key and the answer it gives: base64(SHA-1(key + GUID)).
WS_ACCEPT = base64.b64encode(hashlib.sha1(
    UPGRADE["Sec-WebSocket-Key"].encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()


def ws_send(sock, payload, opcode=0x2):
    """One masked client frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_recv(sock, timeout=10):
    """One unmasked server frame: (opcode, payload); control frames are returned like the others."""
    sock.settimeout(timeout)

    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed mid-frame")
            data += chunk
        return data

    b0, b1 = exactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", exactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", exactly(8))[0]
    return b0 & 0x0F, exactly(n)


def check_signalling(sock, identity):
    """The first message is the JoinResponse naming this participant; a Ping is answered."""
    opcode, data = ws_recv(sock)
    assert opcode == 0x2, f"first frame opcode {opcode}: {data!r}"
    first = lk_proto_rtc.SignalResponse()
    first.ParseFromString(data)
    assert first.WhichOneof("message") == "join", first
    assert first.join.participant.identity == identity and first.join.room.name == "hall"
    sent_at = int(time.time() * 1000)
    ws_send(sock, lk_proto_rtc.SignalRequest(ping_req=lk_proto_rtc.Ping(timestamp=sent_at)).SerializeToString())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        opcode, data = ws_recv(sock)
        if opcode != 0x2:
            continue
        answer = lk_proto_rtc.SignalResponse()
        answer.ParseFromString(data)
        if answer.WhichOneof("message") == "pong_resp":
            assert answer.pong_resp.last_ping_timestamp == sent_at
            break
    else:
        raise AssertionError("no pong_resp to the Ping")
    ws_send(sock, struct.pack(">H", 1000), opcode=0x8)  # close


def test_oversized_headers_and_stalled_clients_do_not_stop_the_server(server):
    # 300 connections that never finish (or never start) a request...
    idle = []
    for i in range(300):
        s = socket.create_connection(("127.0.0.1", server.port))
        if i % 3 == 1:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # stalls mid-header
        elif i % 3 == 2:
            s.sendall(request("/twirp/livekit.RoomService/ListRooms", "POST", b"")[:-4] +
                      b"\r\nContent-Length: 1000\r\n\r\n{")  # promises a body it never sends
        idle.append(s)
    try:
        # ...a request with 200 KB of headers is refused, not buffered without bound...
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(request("/", headers={f"X-Big-{i}": "x" * 1000 for i in range(200)}))
            try:
                status, _, _ = read_response(s)
            except (EOFError, ConnectionResetError):
                status = None  # closed without an answer is also a refusal
            print(f"\n200 KB of headers: {status or 'connection closed'}")
            assert status is None or 400 <= status < 500
        # The same as a keep-alive connection's second request: one refusal, then closed.
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(request("/"))
            assert read_response(s)[0] == 200
            s.sendall(request("/", headers={f"X-Big-{i}": "x" * 1000 for i in range(200)}))
            status, headers, _ = read_response(s)
            print(f"200 KB of headers on a reused connection: {status}, connection {headers.get('connection')}")
            assert 400 <= status < 500 and closed_by_peer(s)
        # ...and everyone else is still answered at once.
        took = []
        for _ in range(20):
            t0 = time.monotonic()
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(request("/"))
                assert read_response(s)[0] == 200
            took.append(time.monotonic() - t0)
        print(f"20 requests beside 300 stalled connections: slowest {max(took) * 1000:.0f} ms")
        assert max(took) < 1.0
    finally:
        for s in idle:
            s.close()


def test_slowloris_and_silent_connections_are_closed(server):
    """One client trickles its request head a byte a second (never idle, never done), another
    opens a socket and sends nothing: both are closed by the first-request deadline (10 s)."""
    import threading
    drip = socket.create_connection(("127.0.0.1", server.port))
    silent = socket.create_connection(("127.0.0.1", server.port))
    closed_at = {}
    start = time.monotonic()

    def trickle():
        drip.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        try:
            for _ in range(30):
                time.sleep(1)
                drip.sendall(b"x")
        except OSError:
            closed_at["drip"] = time.monotonic() - start

    t = threading.Thread(target=trickle)
    t.start()
    assert closed_by_peer(silent, timeout=20)
    closed_at["silent"] = time.monotonic() - start
    t.join(30)
    print(f"\nclosed after: {closed_at}")
    assert 9 <= closed_at["silent"] <= 15
    assert "drip" in closed_at and 9 <= closed_at["drip"] <= 16
    drip.close()
    silent.close()


def test_oversized_body_is_refused(server):
    """A Twirp body over the 4 MiB limit is refused with a Twirp error, not buffered whole."""
    admin = api.AccessToken(API_KEY, API_SECRET).with_grants(api.VideoGrants(room_list=True)).to_jwt()
    body = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(request("/twirp/livekit.RoomService/ListRooms", "POST", b"",
                          {"Content-Type": "application/json", "Authorization": f"Bearer {admin}"})[:-len(b"Content-Length: 0\r\n\r\n")]
                  + f"Content-Length: {len(body)}\r\n\r\n".encode())
        try:
            s.sendall(body)
        except OSError:
            pass  # the server may stop reading once it has refused
        status, _, text = read_response(s)
        print(f"\n5 MiB Twirp body: {status} {text}")
        assert status == 400 and "too large" in text
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(request("/"))
        assert read_response(s)[0] == 200
