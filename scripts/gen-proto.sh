#!/usr/bin/env bash
# Regenerates the protobuf-c code for the wire protocol from Sources/WireProtocol/scalellm.proto.
# Output (committed to git, since a SwiftPM build plugin cannot generate C sources here):
#   Sources/CWireMessages/scalellm.pb-c.c
#   Sources/CWireMessages/include/scalellm.pb-c.h
# Requires protoc-c (Debian: protobuf-c-compiler). Run from anywhere: scripts/gen-proto.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
proto_dir="$root/Sources/WireProtocol"
out_dir="$root/Sources/CWireMessages"

command -v protoc-c >/dev/null || { echo "protoc-c not found (apt-get install protobuf-c-compiler)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

protoc-c --proto_path="$proto_dir" --c_out="$tmp" "$proto_dir/scalellm.proto"

mkdir -p "$out_dir/include"
mv "$tmp/scalellm.pb-c.c" "$out_dir/scalellm.pb-c.c"
mv "$tmp/scalellm.pb-c.h" "$out_dir/include/scalellm.pb-c.h"
echo "generated: Sources/CWireMessages/scalellm.pb-c.c, Sources/CWireMessages/include/scalellm.pb-c.h ($(protoc-c --version | head -1))"
