"""Sweep files: a base scene, the variants to try (a grid, a list, or both) and the seeds, expanded into runs.

A sweep file is TOML (the format is documented in docs/sweeps.md)::

    [sweep]
    scene = "village_rules"          # a shipped scene's name, or a scene file (relative to this file)
    ticks = 200
    seeds = [1, 2]

    [grid]                           # every combination of these values
    agents = [10, 25]
    "mind.decide_every" = [5, 20]

    [[variants]]                     # named variants (the grid, if any, crosses each)
    name = "hungry"
    "economy.hunger_rate" = 0.004

A key of `[grid]` or `[[variants]]` is a path into the scene: `mind.llm_fraction`, `economy.hunger_rate`,
`groups.farmers.count`, `groups.*.traits.openness.mean` (a list of tables is entered by an entry's name, or
`*` for every entry). `agents` resizes the population keeping the groups' proportions. Every variant's scene
is built and validated when the file is read, so a mistake fails before any run starts.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tokenworld.engine.arch import ARCHS
from tokenworld.errors import SceneError, SweepError, TokenWorldError
from tokenworld.scene.load import read_toml_file
from tokenworld.scene.population import with_agents
from tokenworld.scene.schema import Scene
from tokenworld.scene.shipped import SWEEP_PREFIX, find_scene, shipped_dir

MAX_RUNS = 10_000
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
AGENTS = "agents"  # the one variant key that is not a scene path
TABLES = ("sweep", "grid", "variants")


@dataclass(frozen=True)
class SweepOptions:
    """The `[sweep]` table.

    Attributes:
        name: the sweep's folder under `<runs-dir>/sweeps/` (default: the file's name).
        scene: the base scene: a shipped scene's name, or a scene file (a relative path is read from the sweep
            file's folder first, then from the working folder).
        ticks: ticks each run lasts (None: the scene's `sim.ticks`).
        seeds: each variant runs once per seed (`seeds = 3` means 1, 2, 3; default: the scene's seed).
        parallel: runs at once (0: as many as Ray's CPUs allow at `cpus_per_run` each).
        cpus_per_run: CPUs Ray reserves for each run; a model in the run computes on that many threads.
        gpus_per_run: GPUs Ray reserves for each run (fractions share one).
        ray_address: a running Ray cluster (`ray start --head`); empty: a local Ray on this machine's cores.
        arch: the engine's arch in every run (empty: $TOKENWORLD_ARCH or auto).
        reports: also write each run's full analysis report (`tokenworld analyze`, a few seconds a run).
    """

    name: str
    scene: str
    ticks: int | None = None
    seeds: tuple[int, ...] = ()
    parallel: int = 0
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    ray_address: str = ""
    arch: str = ""
    reports: bool = False


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep.

    Attributes:
        name: its run folder's name: the varied values, the seed and a digest of everything that makes the run,
            so that a changed sweep file makes new runs instead of reusing old ones.
        values: the variant's name (key `variant`, when it has one) and the keys it varies, with their values.
        seed: the run's seed.
        scene: the scene the run simulates (base scene with the variant applied).
    """

    name: str
    values: dict[str, object]
    seed: int
    scene: Scene


@dataclass(frozen=True)
class Sweep:
    """A sweep file read and expanded: its options, the file it came from and every run in order."""

    options: SweepOptions
    path: Path
    runs: list[PlannedRun]

    @property
    def columns(self) -> list[str]:
        """The varied keys over all runs, in order of first appearance (the summary table's first columns)."""
        return list(dict.fromkeys(k for r in self.runs for k in r.values))


def load_sweep(path: str | Path) -> Sweep:
    """Read, check and expand the sweep file at `path`; every problem is a `SweepError` naming the key."""
    path = find_sweep(path)
    data = read_toml_file(
        path,
        SweepError,
        missing=f"{path}: no such sweep file. Give the path of a sweep TOML (see docs/sweeps.md).",
        too_deep=f"{path}: nests arrays or tables too deeply to read; a sweep file nests two levels.",
    )
    where = str(path)
    _unknown(data, TABLES, where, "top-level table")
    if not isinstance(data.get("sweep"), dict):
        raise SweepError(f'{where}: needs a [sweep] table naming at least the base scene (scene = "village_rules").')
    options = _options(data["sweep"], path)
    base = _base_scene(options.scene, path)
    variants = _variants(data, where)
    seeds = options.seeds or (base.sim.seed if base.sim.seed is not None else 0,)
    n = len(variants) * len(seeds)
    if n > MAX_RUNS:
        raise SweepError(f"{where}: the sweep makes {n:,} runs, more than {MAX_RUNS:,}; make the grid smaller.")
    runs = [_planned(base, v, seed, options, where) for v in variants for seed in seeds]
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        raise SweepError(f"{where}: two runs would be the same run ({dup}); give each variant different values.")
    return Sweep(options, path, runs)


def find_sweep(arg: str | Path) -> Path:
    """A sweep file by path, or a shipped sweep by name (`sweep_village`, beside the shipped scenes)."""
    path = Path(arg)
    if not path.exists() and path.parent == Path(".") and path.stem.startswith(SWEEP_PREFIX):
        shipped = shipped_dir() / f"{path.stem}.toml"
        if shipped.is_file():
            return shipped
    return path


def _unknown(table: dict, known, where: str, what: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
            raise SweepError(f"{where}: unknown {what} {key!r}{hint}.")


def _options(table: dict, path: Path) -> SweepOptions:
    where = f"{path}: [sweep]"
    fields = {f.name: f for f in dataclasses.fields(SweepOptions)}
    _unknown(table, fields, where, "key")
    if not isinstance(table.get("scene"), str) or not table["scene"].strip():
        raise SweepError(f'{where}: scene = "..." is required: a shipped scene\'s name or a scene file.')
    name = table.get("name", path.stem)
    if not isinstance(name, str) or not NAME.match(name):
        raise SweepError(
            f"{where}: name = {name!r} must be a folder name: letters, digits, '_', '.', '-' (at most 80)."
        )
    seeds = table.get("seeds", ())
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= MAX_RUNS:
            raise SweepError(f"{where}: seeds = {seeds} must be between 1 and {MAX_RUNS:,} (or a list of seeds).")
        seeds = range(1, seeds + 1)
    if not isinstance(seeds, (list, tuple, range)) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise SweepError(f"{where}: seeds must be a list of seeds (whole numbers >= 0) or how many, found {seeds!r}.")
    if len(set(seeds)) != len(seeds):
        raise SweepError(f"{where}: seeds lists a seed twice: {list(seeds)}.")
    out = dict(name=name, scene=table["scene"], seeds=tuple(seeds))
    checks = {
        "ticks": (int, lambda v: v >= 0, "a whole number >= 0"),
        "parallel": (int, lambda v: v >= 0, "a whole number >= 0 (0: as many as the CPUs allow)"),
        "cpus_per_run": ((int, float), lambda v: v > 0, "a number > 0"),
        "gpus_per_run": ((int, float), lambda v: v >= 0, "a number >= 0"),
        "ray_address": (str, lambda v: True, 'an address such as "auto" or "10.0.0.1:6379", or ""'),
        "arch": (str, lambda v: v in ("", *ARCHS), f"one of {', '.join(ARCHS)} (or empty)"),
        "reports": (bool, lambda v: True, "true or false"),
    }
    for key, (types, ok, wanted) in checks.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) and types is not bool or not isinstance(value, types) or not ok(value):
            raise SweepError(f"{where}: {key} = {value!r} must be {wanted}.")
        out[key] = value
    return SweepOptions(**out)


def _base_scene(scene: str, path: Path) -> Scene:
    beside = path.parent / scene
    try:
        return Scene.load(beside if beside.is_file() else find_scene(scene))
    except TokenWorldError as exc:
        raise SweepError(f"{path}: [sweep] scene = {scene!r}: {exc}") from None


def _variants(data: dict, where: str) -> list[dict[str, object]]:
    """Every variant's keys and values: each listed variant (or one empty one) crossed with the grid."""
    listed = data.get("variants", [{}])
    if not isinstance(listed, list) or not listed or not all(isinstance(v, dict) for v in listed):
        raise SweepError(f"{where}: variants must be tables ([[variants]] with a name and keys to set).")
    for i, v in enumerate(listed):
        if "name" in v and (not isinstance(v["name"], str) or not NAME.match(v["name"])):
            raise SweepError(f"{where}: variants[{i}].name = {v['name']!r} must be a short name (letters, digits, _.-)")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise SweepError(f"{where}: [grid] must be a table of keys, each with a list of values to try.")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}: grid key {key!r} needs a non-empty list of values to try, e.g. [5, 20].")
    combos = [dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())]
    out = []
    for v in listed:
        for combo in combos:
            values = {"variant": v["name"]} if "name" in v else {}
            values.update((k, x) for k, x in v.items() if k != "name")
            values.update(combo)
            out.append(values)
    return out


def _planned(base: Scene, values: dict[str, object], seed: int, options: SweepOptions, where: str) -> PlannedRun:
    label = ", ".join(f"{k} = {v!r}" for k, v in values.items()) or "the base scene"
    data = base.to_dict()
    for key, value in values.items():
        if key not in ("variant", AGENTS):
            set_path(data, key, value, f"{where}: {label}")
    try:
        scene = Scene.from_dict(data, source=str(base.source))
        if AGENTS in values:
            n = values[AGENTS]
            if not isinstance(n, int) or isinstance(n, bool):
                raise SweepError(f"{where}: {label}: agents must be a whole number, found {n!r}.")
            scene = with_agents(scene, n)
    except SceneError as exc:
        problems = "\n".join(f"  - {p}" for p in exc.problems)
        raise SweepError(f"{where}: {label} makes the scene invalid:\n{problems}") from None
    except SweepError:
        raise
    except TokenWorldError as exc:
        raise SweepError(f"{where}: {label}: {exc}") from None
    if scene.mind.threads == 0:  # a model inside the run computes on the CPUs Ray gives the run
        scene.mind.threads = max(1, int(options.cpus_per_run))
    digest = hashlib.sha256(
        json.dumps([scene.to_dict(), seed, options.ticks], sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    parts = [str(v) if k == "variant" else f"{short_key(k)}{v}" for k, v in values.items()] + [f"seed{seed}"]
    slug = "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", part).strip("_") for part in parts)[:60]
    return PlannedRun(f"{slug}-{digest}", dict(values), seed, scene)


def short_key(key: str) -> str:
    """A key as run names show it: its last part (`decide_every`), the last two under lists (`extraversion.mean`)."""
    parts = key.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else parts[-1]


def set_path(data: dict, key: str, value: object, where: str) -> None:
    """Set `key` (a dotted path, `*` or a name entering a list of tables) to `value` in scene data `data`."""
    parts = key.split(".")
    if not all(parts):
        raise SweepError(f"{where}: {key!r} is not a key path (names joined by dots, e.g. mind.decide_every).")
    fields = [f.name for f in dataclasses.fields(Scene)]
    if parts[0] not in fields or parts[0] in ("name", "extends"):
        close = difflib.get_close_matches(parts[0], fields, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SweepError(
            f"{where}: {key!r} is not a scene key ({hint}a path such as mind.llm_fraction, "
            "groups.farmers.count or groups.*.traits.openness.mean; or agents)."
        )
    targets: list = [data]
    for i, part in enumerate(parts[:-1]):
        entered = []
        for t in targets:
            if isinstance(t, list):  # a list of tables: entered by an entry's name, or * for all
                found = [x for x in t if isinstance(x, dict) and (part == "*" or x.get("name") == part)]
                if not found:
                    names = ", ".join(repr(x.get("name")) for x in t if isinstance(x, dict)) or "none"
                    raise SweepError(f"{where}: {key}: no entry of {parts[i - 1]} is named {part!r} (names: {names}).")
                entered += found
            elif isinstance(t, dict):
                entered.append(t.setdefault(part, [] if part in ("zones", "entities", "groups", "tell") else {}))
            else:
                raise SweepError(f"{where}: {key}: {'.'.join(parts[:i])} is a value, not a table.")
        targets = entered
    for t in targets:
        if not isinstance(t, dict):
            raise SweepError(f"{where}: {key}: name an entry of the list, e.g. {key}.<name>.<option>, or use *.")
        t[parts[-1]] = copy.deepcopy(value)
