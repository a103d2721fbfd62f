#!/usr/bin/env bash
# Installs every build and test dependency of sks5 that is missing.
# Debian/Ubuntu: uses apt-get (as root, or through sudo). Elsewhere: prints
# the list of packages to install and exits non-zero.
set -euo pipefail

# Build: compiler, pkg-config, the libraries of DESIGN.md.
# Test: cmocka under ctest, Debian's pytest, real clients (ssh, curl,
# microsocks as an upstream proxy, python3-cryptography for test certs),
# oathtool as the TOTP oracle, iproute2 for network-namespace tests, zsh and
# fish for the completion tests, clang + libFuzzer runtime for `make fuzz`,
# chromium (headless, driven over its DevTools protocol) for the dashboard
# test; chromium-driver is there for WebDriver-based checks.
PKGS=(
	build-essential pkg-config cmake
	libssl-dev libsodium-dev libjansson-dev libssh-dev libmicrohttpd-dev
	libmaxminddb-dev libcurl4-openssl-dev
	libcmocka-dev python3 python3-pytest
	openssh-client curl oathtool iproute2 zsh fish ssh-audit
	libmaxmind-db-writer-perl
	python3-cryptography microsocks
	clang libclang-rt-14-dev
	chromium chromium-driver
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*"install ok installed"*) ;;
		*) missing+=("$p") ;;
		esac
	done
else
	missing=("${PKGS[@]}")
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: no apt-get here; please install the equivalents of:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
