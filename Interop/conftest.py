"""Shared fixtures for the Interop tests: each test gets its own `sluice serve` on a free port.

The tests drive Sluice only through outside clients (livekit-api, livekit, aiortc, ffprobe) or
plain HTTP, never through our own code.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_KEY = "devkey"
API_SECRET = "secret"


def sluice_binary():
    path = os.environ.get("SLUICE_BIN") or os.path.join(REPO, ".build", "debug", "sluice")
    if not os.path.exists(path):
        pytest.fail(f"sluice binary not found at {path}: run `swift build` first")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SluiceServer:
    """One `sluice serve` process with its own data directory and config."""

    def __init__(self, workdir, extra_config="", port=None, recordings_config="", args=()):
        self.workdir = workdir
        self.args = list(args)  # more `sluice serve` flags, e.g. --dev
        self.port = port or free_port()
        self.config_path = os.path.join(workdir, "sluice.yaml")
        self.log_path = os.path.join(workdir, "sluice.log")
        with open(self.config_path, "w") as f:
            f.write(
                f"port: {self.port}\n"
                f"bind_addresses: [127.0.0.1]\n"
                f"keys:\n  {API_KEY}: {API_SECRET}\n"
                f"storage:\n  path: {workdir}/sluice.sqlite\n"
                f"recordings:\n  path: {workdir}/recordings\n"
                # More keys under `recordings:` (indented by the caller), e.g. an `s3:` default.
                + recordings_config
                + "logging:\n  level: debug\n"
                + extra_config
            )
        self.proc = None

    @property
    def http_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sluice_binary(), "serve", "--config", self.config_path, *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.workdir,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                with urllib.request.urlopen(self.http_url + "/", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"sluice did not answer on {self.http_url} within {timeout}s:\n{self.read_log()}")

    def kill(self):
        """SIGKILL: no graceful shutdown, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        """The log's last 4000 characters: for failure messages."""
        return self.full_log()[-4000:]

    def full_log(self):
        """The whole log: for tests that look for a line in it (the tail alone loses lines as
        the server logs more, e.g. the stats each participant logs when it leaves)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="sluice-interop-")
    yield d
    # KEEP_WORKDIR=1 keeps each test's directory (config, server log, recordings) for a look.
    if not os.environ.get("KEEP_WORKDIR"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(workdir):
    s = SluiceServer(workdir).start()
    yield s
    alive = s.alive()
    s.stop()
    assert alive, "sluice died during the test:\n" + s.read_log()
