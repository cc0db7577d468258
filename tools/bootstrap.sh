#!/usr/bin/env bash
# Sets up everything Token World needs, in ./.venv. Safe to run again: it only
# installs what is missing. Works on a bare Debian/Ubuntu machine with Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {
  # System packages, only where apt exists and something is missing.
  command -v apt-get >/dev/null 2>&1 || return 0
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! command -v "$PY" >/dev/null 2>&1; then
  apt_install python3 python3-venv python3-dev
fi
if ! "$PY" -c "import venv, ensurepip" >/dev/null 2>&1; then
  apt_install python3-venv
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
echo "bootstrap: ready ($(.venv/bin/tokenworld --version))"
