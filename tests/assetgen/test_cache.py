"""The GLB cache: content-addressed files inside its folder, hits, a byte budget; the command line."""

from __future__ import annotations

import os

import numpy as np
import pytest
import trimesh

from tokenworld.assetgen import AssetCache, Generator, Procedural, generate
from tokenworld.assetgen.cache import ENV_VAR, default_root
from tokenworld.cli import main


def test_hits_after_the_first_request(tmp_path):
    """The first request writes the file; later ones (this object or a new one) find it and do not rewrite it."""
    cache = AssetCache(tmp_path)
    path = cache.glb("a stone well", seed=2)
    assert path.is_file() and path.parent == tmp_path and (cache.misses, cache.hits) == (1, 0)
    mtime = path.stat().st_mtime_ns
    assert cache.glb("a stone well", seed=2) == path and cache.hits == 1
    fresh = AssetCache(tmp_path)
    assert fresh.glb("a stone well", seed=2) == path and (fresh.misses, fresh.hits) == (0, 1)
    assert path.stat().st_mtime_ns == mtime
    assert path.read_bytes() == generate("a stone well", seed=2).glb()
    assert cache.glb("A   stone WELL", seed=2) == path  # the same reading, the same file
    assert cache.glb("a stone well", seed=3) != path
    assert cache.glb("a stone well", seed=2, lod=1) != path


@pytest.mark.parametrize("text", ["../../escape", "/etc/passwd", "a\x00b", "..\\..\\x", "x" * 100_000, ""])
def test_texts_never_name_a_file_outside_the_cache(tmp_path, text):
    """Whatever the text, the file is `<category>-<hash>.glb` directly inside the cache folder."""
    root = tmp_path / "cache"
    path = AssetCache(root).glb(text)
    assert path.parent == root and path.suffix == ".glb"
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["cache", path.name])
    assert len(path.name) < 64


def test_the_folder_stays_within_its_budget(tmp_path):
    """Writing past the byte budget drops the oldest files, never the one just written."""
    cache = AssetCache(tmp_path, budget=60_000)
    paths = []
    for seed in range(8):
        paths.append(cache.glb("a market stall", seed=seed))
        os.utime(paths[-1], (seed, seed))  # distinct ages, oldest first
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total <= 60_000 and paths[-1].is_file() and not paths[0].exists()


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "mine"))
    assert default_root() == tmp_path / "mine"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "tokenworld" / "assets"


def test_command_writes_a_glb(tmp_path, capsys):
    """`tokenworld assets gen TEXT --out F.glb` writes the same bytes as the API and says what it made."""
    out = tmp_path / "bridge.glb"
    assert main(["assets", "gen", "a small wooden footbridge with rails", "--out", str(out), "--seed", "4"]) == 0
    assert out.read_bytes() == generate("a small wooden footbridge with rails", seed=4).glb()
    assert "bridge (wood, small; rails)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.txt"], "must name a .glb file"),
        (["--out", "missing/x.glb"], "does not exist"),
        (["--out", "x.glb", "--lod", "3"], "does not exist: use 0"),
    ],
)
def test_command_mistakes_are_one_line_errors(tmp_path, monkeypatch, capsys, args, message):
    """Bad output paths and options end with exit code 2 and a message, no traceback, no file."""
    monkeypatch.chdir(tmp_path)
    assert main(["assets", "gen", "a hut", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


class Upright(Procedural):
    """Another generator: the procedural mesh stood on its end (a stand-in for a model-backed one)."""

    name = "upright"

    def make(self, spec, *, seed, detail):
        asset = super().make(spec, seed=seed, detail=detail)
        asset.mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (1, 0, 0)))
        return asset


def test_another_generator_plugs_in_with_files_of_its_own(tmp_path):
    """A `Generator` given to the cache makes the meshes; its name keys the files, so they never mix."""
    assert isinstance(Upright(), Generator)
    ours, theirs = AssetCache(tmp_path), AssetCache(tmp_path, generator=Upright())
    a, b = ours.glb("a bench"), theirs.glb("a bench")
    assert a != b and a.read_bytes() != b.read_bytes()
    assert theirs.glb("a bench") == b and theirs.hits == 1
