#!/usr/bin/env bash
# Installs Debian's gRPC for Python when it is missing: the reference Python
# plugin (plugins/keybox/python) runs under /usr/bin/python3 with
# python3-grpcio and python3-protobuf, and `make proto-python` needs
# python3-grpc-tools. `make test` calls this, so its test runs in CI.
set -euo pipefail
py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import grpc, google.protobuf, grpc_tools, cryptography' 2>/dev/null; then
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "gRPC for Python is missing: installing Debian's python3-grpcio, python3-protobuf, python3-grpc-tools, python3-cryptography"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-grpcio python3-protobuf python3-grpc-tools python3-cryptography >/dev/null
	exit 0
fi
echo "gRPC for Python is missing: install Debian's packages (sudo apt-get install python3-grpcio python3-protobuf python3-grpc-tools python3-cryptography)" >&2
exit 1
