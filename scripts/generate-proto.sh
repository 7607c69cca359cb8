#!/usr/bin/env bash
# Regenerates Sources/LiveKitProto/Generated/*.pb.swift from Sources/LiveKitProto/protos/*.proto.
# The generated Swift is committed; CI never runs this. Run it after editing a .proto, then run
# Interop/test_proto_schema.py (names and numbers must stay LiveKit's) and commit both.
#
# Needs:
#   protoc            Debian: apt-get install protobuf-compiler
#   protoc-gen-swift  from swift-protobuf 1.39.0 (the version Package.swift pins), taken from
#                     $PROTOC_GEN_SWIFT or else from PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_VERSION=1.39.0
PROTO_DIR=Sources/LiveKitProto/protos
OUT_DIR=Sources/LiveKitProto/Generated

die() { echo "generate-proto: $*" >&2; exit 1; }

command -v protoc >/dev/null 2>&1 || die "protoc not found (Debian: apt-get install protobuf-compiler)"

plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
    plugin="$(command -v protoc-gen-swift 2>/dev/null || true)"
fi
if [ -z "$plugin" ] || [ ! -x "$plugin" ]; then
    cat >&2 <<MSG
generate-proto: protoc-gen-swift not found.
Set PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift or put it on PATH. To build it (swift-protobuf $WANT_VERSION,
the version Package.swift pins, so the generated code matches the SwiftProtobuf runtime):

    git clone --depth 1 --branch $WANT_VERSION https://github.com/apple/swift-protobuf.git /tmp/swift-protobuf
    (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)
    PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift $0
MSG
    exit 1
fi

version="$("$plugin" --version 2>/dev/null | awk '{print $NF}')"
[ "$version" = "$WANT_VERSION" ] ||
    die "$plugin is version '${version:-unknown}', want $WANT_VERSION (must match the SwiftProtobuf runtime)"

protos=("$PROTO_DIR"/*.proto)
[ -e "${protos[0]}" ] || die "no .proto files in $PROTO_DIR"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
protoc --plugin=protoc-gen-swift="$plugin" \
    -I "$PROTO_DIR" \
    --swift_out="$tmp" \
    --swift_opt=Visibility=Public \
    "${protos[@]}"

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.pb.swift
cp "$tmp"/*.pb.swift "$OUT_DIR"/
echo "generate-proto: wrote $(ls "$OUT_DIR"/*.pb.swift | wc -l) files to $OUT_DIR (protoc $(protoc --version | awk '{print $NF}'), protoc-gen-swift $version)"
