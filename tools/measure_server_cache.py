"""How much of the village's prompts llama-cpp-python's OpenAI-compatible server reuses, by its own log and clock.

    .venv/bin/python tools/measure_server_cache.py [--agents 4] [--rounds 4] [--threads 2] [--ram-cache]

Starts `python -m llama_cpp.server` with the packaged Gemma 3 270M on 127.0.0.1 as the tests
start it (with `--ram-cache`: also `--cache true`, its RAM prompt cache). It sends, one at a
time through `OpenAIBackend` (our bodies, `"cache_prompt": true` included, GBNF answers),
the village's requests of a few agents for several rounds (round k: each agent's k-th request,
at a later tick), then the same requests with a unique first line, so that no prefix can be
reused (the fresh-prompt control). Per request it reads:

- what the response reported (`OpenAIBackend.prefix_cache`; this server reports nothing);
- the server's log, which is verbose by default: "Llama.generate: N prefix-match hit,
  remaining M prompt tokens to eval" says N prompt tokens were reused; no line means none;
- the latency of the request (prompt evaluation plus a few answer tokens);
- the server's resident memory: with `--cache true` and this model (262k-token vocabulary),
  llama-cpp-python 0.3.36 grew by about 0.7 GB a request, so a run stops past `--max-rss-gb`.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tokenworld.bench.inference import village_requests
from tokenworld.inference.models import resolve_model
from tokenworld.inference.openai_http import OpenAIBackend

HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")


def start_server(log: Path, *, threads: int, ram_cache: bool) -> tuple[subprocess.Popen, str]:
    """llama_cpp.server on a free port of 127.0.0.1, its output in `log`; returns (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = str(resolve_model("gemma3-270m"))
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "2048", "--n_threads", str(threads)] + (["--cache", "true"] if ram_cache else [])
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/models", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"llama_cpp.server did not start:\n{log.read_text(errors='replace')[-2000:]}")


def rss_gb(pid: int) -> float:
    """Resident memory of process `pid` in GB (Linux; 0 elsewhere)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(m.group(1)) / 1e6 if m else 0.0


def run(requests, log: Path, *, threads: int, ram_cache: bool, max_rss_gb: float) -> list[dict]:
    """One row per request (label, prompt tokens, tokens the log says were reused, latency, ok, server memory),
    then the responses' `prefix_cache` report."""
    proc, url = start_server(log, threads=threads, ram_cache=ram_cache)
    backend = OpenAIBackend([url], "gemma-3-270m", structured="gbnf", max_concurrency=1, timeout_s=300)
    rows = []
    try:
        for label, req in requests:
            seen = log.stat().st_size
            [answer] = backend.decide([req])
            with open(log, "rb") as f:
                f.seek(seen)
                new = f.read().decode(errors="replace")
            hits = [int(m.group(1)) for m in HIT.finditer(new)]
            prompt = answer.tokens_in + answer.prefill_saved
            rss = rss_gb(proc.pid)
            rows.append(
                {"label": label, "prompt": prompt, "reused": sum(hits), "ms": answer.latency_ms, "ok": answer.ok}
            )
            rows[-1]["rss"] = rss
            if rss > max_rss_gb:
                print(
                    f"stopped after {len(rows)} requests: the server holds {rss:.1f} GB (--max-rss-gb {max_rss_gb:g})"
                )
                break
        rows.append({"report": backend.prefix_cache})
    finally:
        backend.close()
        proc.kill()
        proc.wait(timeout=10)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=4, help="agents whose requests are sent")
    ap.add_argument("--rounds", type=int, default=4, help="requests per agent (successive ticks)")
    ap.add_argument("--threads", type=int, default=2, help="the server's --n_threads")
    ap.add_argument("--ram-cache", action="store_true", help="start the server with --cache true (RAM prompt cache)")
    ap.add_argument("--max-rss-gb", type=float, default=6.0, help="stop when the server holds more memory")
    args = ap.parse_args()

    pool, _, sim = village_requests("label", OpenAIBackend(["http://127.0.0.1:1"], "m").count_tokens, limit=40)
    sim.close()
    by_agent: dict[int, list] = {}
    for r in pool:
        by_agent.setdefault(r.agent, []).append(r)
    agents = [a for a, rs in by_agent.items() if len(rs) >= args.rounds][: args.agents]
    plan = [(f"round {k + 1}", by_agent[a][k]) for k in range(args.rounds) for a in agents]
    fresh = []
    for i, (_, r) in enumerate(plan):
        copy = type(r)(**{**vars(r), "shared": f"[fresh {i} {time.time_ns()}]\n" + r.shared})
        fresh.append(("fresh", copy))
    print(f"agents {agents}, {len(plan)} requests, then {len(fresh)} fresh ones; server threads {args.threads}")

    with tempfile.TemporaryDirectory() as tmp:
        rows = run(
            plan + fresh,
            Path(tmp) / "server.log",
            threads=args.threads,
            ram_cache=args.ram_cache,
            max_rss_gb=args.max_rss_gb,
        )
        report = rows.pop()["report"]
    print(f"\nllama_cpp.server {'--cache true (RAM cache)' if args.ram_cache else '(default settings)'}")
    said = f"{report.cached_reported} ({report.reported} of {report.completions} responses)"
    print(f"  the responses reported cached tokens: {said}")
    labels = [f"round {k + 1}" for k in range(args.rounds)] + ["fresh"]
    for label in labels:
        sel = [r for r in rows if r["label"] == label]
        if not sel:
            continue
        prompt, reused = sum(r["prompt"] for r in sel), sum(r["reused"] for r in sel)
        ms = sorted(r["ms"] for r in sel)
        print(
            f"  {label:8} {len(sel)} requests, {prompt / len(sel):.0f} prompt tokens, "
            f"{reused / len(sel):.0f} reused ({reused / max(prompt, 1):.0%}), "
            f"latency mean {sum(ms) / len(ms):.0f} ms, median {ms[len(ms) // 2]:.0f} ms, "
            f"{sum(not r['ok'] for r in sel)} failed"
        )
    first = rows[0]
    print(f"  very first request (empty server): {first['reused']} reused, {first['ms']:.0f} ms")
    print(f"  server memory after the last request: {rows[-1]['rss']:.1f} GB")


if __name__ == "__main__":
    main()
