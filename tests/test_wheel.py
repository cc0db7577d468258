"""The wheel runs from any directory: built from the checkout, installed in a fresh venv, scenes and shaders found.

The new venv borrows this test environment's installed dependencies through a `.pth` file that lists their
site-packages folders as plain paths (so nothing is compiled or downloaded), and the checkout's editable install
is left out: its own `.pth` hook only runs for a site folder, and a plain path is not one.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.slow
BUILD_LEFTOVERS = (".git", ".venv", "build", "dist", "runs", "*.egg-info", "__pycache__", ".*_cache")


def run(cmd: list[str], *, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `cmd`, failing the test with its output when it does not exit 0."""
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert r.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    )
    return r


def site_dirs() -> list[str]:
    """This environment's site-packages folders (the dependencies the wheel is tested against)."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """A venv outside the checkout with the freshly built wheel installed; its bin folder and environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY", "WAYLAND_DISPLAY")}
    dist = tmp / "dist"
    # 1. The wheel, as `pip wheel` builds it (setuptools comes from the build-isolation index), from a copy of the
    #    sources: an in-place build would reuse the checkout's build/ folder, where modules since moved remain.
    src = tmp / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(*BUILD_LEFTOVERS))
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", str(dist), str(src)],
        cwd=tmp,
        env=env,
    )
    (wheel,) = dist.glob("tokenworld-*.whl")
    # 2. A bare venv that sees this environment's packages, not the checkout.
    target = tmp / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(target)
    py = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp, env=env)
    (Path(purelib.stdout.strip()) / "borrowed_test_env.pth").write_text("\n".join(site_dirs()) + "\n")
    # 3. The wheel alone, with this environment's pip.
    run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        cwd=tmp,
        env=env,
    )
    where = run([str(py), "-c", "import tokenworld; print(tokenworld.__file__)"], cwd=tmp, env=env).stdout.strip()
    assert Path(where).resolve().is_relative_to(target.resolve()), f"tokenworld imported from {where}, not the venv"
    assert not Path(where).resolve().is_relative_to(ROOT), where
    return py.parent, env


def test_wheel_view_renders_offscreen_from_anywhere(installed, tmp_path):
    """`tokenworld view --frames 10 --screenshot x.png` from a folder outside the checkout finds the shipped
    village and the shaders, and saves the picture."""
    bin_dir, env = installed
    run(
        [str(bin_dir / "tokenworld"), "view", "--frames", "10", "--screenshot", "x.png", "--size", "320x240"],
        cwd=tmp_path,
        env=env,
    )
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wheel_runs_a_shipped_scene_by_name(installed, tmp_path):
    """`tokenworld run village_rules --ticks 20` from a folder outside the checkout writes a finished run folder.

    The rules-brain village: the model-driven one takes minutes for 20 ticks on 2 cores, and the view test
    already loads the model from the installed package."""
    bin_dir, env = installed
    run(
        [str(bin_dir / "tokenworld"), "run", "village_rules", "--ticks", "20", "--name", "w", "--no-progress"],
        cwd=tmp_path,
        env=env,
    )
    folder = tmp_path / "runs" / "w"
    assert (folder / "scene.toml").is_file() and (folder / "run.sqlite").is_file()
    assert '"status": "finished"' in (folder / "manifest.json").read_text()


def test_wheel_ships_the_trait_vectors_and_pairs(installed, tmp_path):
    """The packaged model's trait vectors and the persona pairs they come from are inside the installed package."""
    bin_dir, env = installed
    code = (
        "from tokenworld.inference.steering import PACKAGED_DIR, load_vectors, trait_pairs; "
        "v = load_vectors('packaged'); print(v.directions.shape, len(trait_pairs()['extraversion']), PACKAGED_DIR)"
    )
    out = run([str(bin_dir / "python"), "-c", code], cwd=tmp_path, env=env).stdout
    assert out.startswith("(5, 18, 640) 36") and not out.strip().split()[-1].startswith(str(ROOT)), out
