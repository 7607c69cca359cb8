"""HTTP hygiene under hostile or careless clients (issue #20): keep-alive connections carry
request after request; an upgrade that cannot be served on a reused connection is refused with a
reason and the connection closed; oversized headers and silent or stalled connections do not stop
the server from answering everyone else."""
import json
import socket
import time

from conftest import API_KEY, API_SECRET
from lk_rtc import token
from livekit import api


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
        # An upgrade after other requests cannot be served on this connection: told why, closed.
        s.sendall(request(f"/rtc?access_token={tok}", headers=UPGRADE))
        status, headers, body = read_response(s)
        print(f"upgrade on the reused connection: {status} {body!r}")
        assert status == 400 and "new connection" in body and headers.get("connection") == "close"
        assert closed_by_peer(s)
    # The same upgrade as a connection's first request is accepted.
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(request(f"/rtc?access_token={tok}", headers=UPGRADE))
        s.settimeout(5)
        assert s.recv(12) == b"HTTP/1.1 101"


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
