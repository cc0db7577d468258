"""The live terminal view: in a pseudo-terminal, with --no-color, to a pipe, and fed real ticks in-process."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest
from rich.console import Console

from tests.sim.runs_lab import VILLAGE, tw
from tokenworld.scene.schema import Scene
from tokenworld.sim.live_view import LiveView, pick_notable
from tokenworld.sim.simulation import Simulation
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import Events

SGR = re.compile(r"\x1b\[([0-9;]*)m")
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR_CODES = set(range(30, 39)) | set(range(40, 49)) | set(range(90, 98)) | set(range(100, 108))


def colour_codes(text: str) -> list[str]:
    """The SGR escape sequences in `text` that set a colour (foreground or background, 16, 256 or true colour)."""
    return [m.group(0) for m in SGR.finditer(text) if {int(p) for p in m.group(1).split(";") if p} & COLOUR_CODES]


def strip_escapes(text: str) -> str:
    """`text` without terminal escape sequences (styles, cursor moves), as a person would read it."""
    return CSI.sub("", text)


def in_pty(*args: str, columns: int = 120, lines: int = 40, timeout: float = 120) -> tuple[int, str]:
    """Run `python -m tokenworld ARGS` with stdin, stdout and stderr on a pseudo-terminal; exit code and all output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    unset = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")  # rich reads these
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(COLUMNS=str(columns), LINES=str(lines), TERM="xterm-256color")
    cmd = [sys.executable, "-m", "tokenworld", *args]
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                so_far = out.decode(errors="replace")
                raise AssertionError(f"tokenworld {' '.join(args)} took over {timeout} s; output so far:\n{so_far}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal (it exited)
                break
            if not data:
                break
            out += data
    finally:
        os.close(master)
    return proc.wait(timeout=30), out.decode(errors="replace")


def run_args(tmp_path, name: str, *extra: str) -> list[str]:
    return ["run", str(VILLAGE), "--ticks", "60", "--live", "--runs-dir", str(tmp_path), "--name", name, *extra]


def test_live_view_in_a_pseudo_terminal(tmp_path):
    """--live on a terminal draws the header figures and feed lines in colour, and exits cleanly."""
    code, raw = in_pty(*run_args(tmp_path, "tty"))
    out = strip_escapes(raw)
    assert code == 0, out
    assert "Traceback" not in out
    for figure in ("tick", "60 / 60", "clock", "0:00:30", "ticks/s", "25 agents", "decisions", "rules brain"):
        assert figure in out, (figure, out)
    assert "events and conversations" in out and "said to" in out, out
    assert "Run folder:" in out  # the summary lines still follow
    assert colour_codes(raw), "a colour terminal should get colours"
    assert (tmp_path / "tty" / "manifest.json").is_file()


def test_live_view_without_colour(tmp_path):
    """--live --no-color on a terminal still draws the view, with no colour escape codes at all."""
    code, raw = in_pty(*run_args(tmp_path, "plain", "--no-color"))
    out = strip_escapes(raw)
    assert code == 0, out
    assert "Traceback" not in out
    assert "ticks/s" in out and "25 agents" in out and "said to" in out, out
    assert colour_codes(raw) == []


def test_live_view_to_a_pipe_prints_plain_lines(tmp_path):
    """--live with output to a pipe says so, then prints a plain final summary and feed lines, no escape codes."""
    r = tw(*run_args(tmp_path, "pipe"))
    assert r.returncode == 0, r.stderr
    err = r.stderr
    assert "Traceback" not in err and "\x1b" not in err
    assert "live view: the output is not a terminal" in err
    final = next(line for line in err.splitlines() if line.startswith("final: "))
    assert "tick 60 / 60" in final and "clock 0:00:30" in final and "ticks/s" in final and "25 agents" in final
    assert re.search(r'^  tick \d+  \w+ \([a-z ]+\) said to \w+: ".+"', err, re.MULTILINE), err
    assert "Run folder:" in err


@pytest.fixture
def village():
    sim = Simulation(Scene.load(VILLAGE), seed=1).build()
    yield sim
    sim.close()


def test_live_view_renders_real_ticks(village):
    """Fed a real simulation's ticks, the view renders the tick, the figures and the feed to a console."""
    console = Console(file=io.StringIO(), width=100)
    view = LiveView(village, total=240, console=console)
    view.start()  # not a terminal: one plain line saying so
    village.run(240, on_tick=view.update)
    assert view.tick == 240 and view.lines
    console.print(view.render())
    view.stop()
    out = console.file.getvalue()
    assert "tick 240 / 240" in out and "clock 0:02:00" in out and "25 agents" in out
    assert "live view: the output is not a terminal" in out and "final: village_rules: tick 240 / 240" in out
    figures = view.figures()
    assert figures["ticks_per_s"] > 0 and figures["decisions_per_s"] > 0 and figures["model_decisions_per_s"] is None
    line = view.lines[-1]
    assert 0 <= line.agent < 25 and line.zone and line.text


def test_feed_takes_at_most_a_few_notable_events_per_tick():
    """From thousands of events a tick, at most `k` are taken: notable ones that went ahead, talks at most half."""
    n = 5000
    rng = np.random.default_rng(0)
    acts = np.array([ACTION_INDEX[a] for a in ("talk", "gather", "move_to", "trade", "rest")], np.int16)
    action = acts[rng.integers(0, len(acts), n)]
    reason = np.where(rng.random(n) < 0.2, 1, 0).astype(np.int8)
    e = Events(
        7,
        np.arange(n, dtype=np.int32),
        action,
        reason,
        np.zeros(n, np.int32),
        np.full(n, -1, np.int32),
        np.zeros(n, np.int16),
        np.ones(n, np.float32),
        np.full(n, "hi", object),
    )
    picked = pick_notable(e, 4, tick=7)
    assert len(picked) == 4 and (reason[picked] == 0).all()
    names = {int(a) for a in action[picked]}
    assert names <= {ACTION_INDEX["talk"], ACTION_INDEX["trade"], ACTION_INDEX["gather"]}
    assert (action[picked] == ACTION_INDEX["talk"]).sum() <= 2
    assert len(pick_notable(e, 4, tick=8)) == 4 and set(pick_notable(e, 4, tick=8)) != set(picked)
    kinds = (np.int32, np.int16, np.int8, np.int32, np.int32, np.int16, np.float32, object)
    assert len(pick_notable(Events(1, *(np.zeros(0, t) for t in kinds)), 4, tick=1)) == 0
