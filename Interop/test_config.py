"""The `sluice` command line refuses bad configuration with a clear message and a non-zero exit."""
import os
import subprocess

from conftest import sluice_binary


def serve(workdir, yaml_text, *extra):
    path = os.path.join(workdir, "bad.yaml")
    with open(path, "w") as f:
        f.write(yaml_text)
    return subprocess.run([sluice_binary(), "serve", "--config", path, *extra], capture_output=True, text=True,
                          timeout=30, cwd=workdir)


def test_unknown_key_names_key_and_line(workdir):
    r = serve(workdir, "port: 7999\nkeys:\n  a: b\nroom:\n  empty_timout: 5\n")
    assert r.returncode != 0
    assert "room.empty_timout" in r.stderr and "line 5" in r.stderr, r.stderr


def test_bad_value_names_key(workdir):
    r = serve(workdir, "port: not-a-port\nkeys:\n  a: b\n")
    assert r.returncode != 0 and "'port'" in r.stderr and "line 1" in r.stderr, r.stderr


def test_no_keys_without_dev_is_refused(workdir):
    env = {k: v for k, v in os.environ.items() if k != "LIVEKIT_KEYS"}
    empty = os.path.join(workdir, "empty.yaml")
    open(empty, "w").close()
    r = subprocess.run([sluice_binary(), "serve", "--config", empty], capture_output=True, text=True,
                       timeout=30, cwd=workdir, env=env)
    assert r.returncode != 0 and "no API keys" in r.stderr, r.stderr
