"""OpenAIBackend against a real llama-cpp-python server running the packaged Gemma 3 270M.

The server is started with an API key, so every test that gets an answer also
shows that the key was sent.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tokenworld.inference.base import Backend, BackendError
from tokenworld.inference.models import resolve_model
from tokenworld.inference.openai_http import OpenAIBackend, PrefixCache
from tokenworld.inference.sampling import Sampling
from tokenworld.mind.protocol import Request

pytestmark = pytest.mark.slow

KEY_ENV = "TW_TEST_OPENAI_KEY"
MODEL = "gemma-3-270m"
OPTIONS = ["eat", "rest", "talk Ben", "move_to farm"]
TALK = [False, False, True, False]
SHARED = "Each turn, pick one option. To talk, write the option, a colon and what you say.\n"
MENU = "Options: eat | rest | talk Ben | move_to farm\n"
TALKY = (
    MENU + "Choice: talk Ben: Good morning, Ben!\n" + MENU + "Choice: talk Ben: How is the farm?\n" + MENU + "Choice:"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """llama-cpp-python's OpenAI-compatible server as a subprocess, requiring `key`."""

    def __init__(self, port: int, key: str, log: Path):
        self.port, self.key, self.log = port, key, log
        self.url = f"http://127.0.0.1:{port}/v1"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(resolve_model("gemma3-270m")),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            "--api_key",
            self.key,
        ]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        ask = urllib.request.Request(self.url + "/models", headers={"Authorization": f"Bearer {self.key}"})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(ask, timeout=2) as r:
                    json.loads(r.read())
                return
            except (OSError, ValueError):
                time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not come up on port {self.port}:\n{tail}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module; the API key lives in $TW_TEST_OPENAI_KEY while it runs."""
    srv = Server(free_port(), "sk-test-" + secrets.token_hex(12), tmp_path_factory.mktemp("server") / "server.log")
    os.environ[KEY_ENV] = srv.key
    srv.start()
    yield srv
    srv.stop()
    os.environ.pop(KEY_ENV, None)


@pytest.fixture
def make():
    """Build backends that are closed after the test."""
    made = []

    def _make(endpoints, **kw) -> OpenAIBackend:
        kw = {"api_key_env": KEY_ENV, "timeout_s": 60.0, **kw}  # generous: the CI machine may be busy
        backend = OpenAIBackend(endpoints, MODEL, **kw)
        made.append(backend)
        return backend

    yield _make
    for backend in made:
        backend.close()


def req(agent: int, personal: str, *, kind: str = "decide", options=OPTIONS, talk=TALK) -> Request:
    return Request(
        agent=agent, tick=1, kind=kind, shared=SHARED, personal=personal, options=list(options), talk=list(talk)
    )


def batch() -> list[Request]:
    return [
        req(0, MENU + "Ada is hungry.\nChoice:"),
        req(1, TALKY),
        req(2, MENU + "Ada is tired.\nChoice:", kind="reflect"),
        req(3, "Options: talk Ben | talk Cy\nChoice:", options=["talk Ben", "talk Cy"], talk=[True, True]),
    ]


def test_gbnf_batch_gives_valid_choices_with_token_counts(server, make):
    """Grammar mode: every answer is one of the options, in order, with tokens counted and talk lines said."""
    backend = make([server.url], structured="gbnf")
    assert isinstance(backend, Backend)
    requests = batch()
    answers = backend.decide(requests)
    assert len(answers) == len(requests)
    for r, a in zip(requests, answers, strict=True):
        assert a.ok, a.error
        assert (a.agent, a.tick, a.kind) == (r.agent, r.tick, r.kind)
        assert 0 <= a.choice < len(r.options)
        assert a.valid_first and a.error == ""
        assert a.raw.strip().startswith(r.options[a.choice])
        assert a.tokens_in > 0 and a.tokens_out > 0 and a.latency_ms > 0
        if r.talk[a.choice]:
            assert a.say.strip(), f"talk answer without a line: {a.raw!r}"
        else:
            assert a.say == ""
    assert r.talk[answers[3].choice]  # the talk-only menu forces a spoken line
    assert sum(r.talk[a.choice] for r, a in zip(requests, answers, strict=True)) >= 2


def test_auto_detects_llama_cpp_grammar_support(server, make):
    """Auto mode probes the server and picks GBNF for llama-cpp-python (which reports owned_by 'me')."""
    backend = make([server.url], structured="auto")
    assert backend.structured_mode == "auto"
    answers = backend.decide([req(0, MENU + "Ada is hungry.\nChoice:")])
    assert backend.structured_mode == "gbnf"
    assert answers[0].ok and answers[0].valid_first, answers[0].error
    assert "structured=auto" in backend.settings  # the cache key does not change when the probe resolves


def test_plain_mode_parses_or_repairs_never_raises(server, make):
    """Without a grammar, wrong answers get one repair attempt; what still fails is a failed answer with a reason."""
    backend = make([server.url], structured="none")
    requests = batch()
    answers = backend.decide(requests)
    assert len(answers) == len(requests)
    for r, a in zip(requests, answers, strict=True):
        if a.ok:
            assert 0 <= a.choice < len(r.options)
            assert a.error == ""
        else:
            assert a.choice == -1 and not a.valid_first
            assert a.error.startswith("unparseable:"), a.error
    # the bare menu prompt makes Gemma repeat the menu ("eat | rest | talk"), which only a repair can fix
    assert any(not a.valid_first for a in answers)
    repaired = [a for a in answers if not a.valid_first]
    assert all(a.tokens_in > 0 and a.tokens_out > 0 for a in repaired)

    # one token is too few for any option here, so the repair fails too
    tiny = make([server.url], structured="none", sampling=Sampling(max_tokens=1))
    [a] = tiny.decide(
        [req(5, "Options: move_to farm | talk Ben\nChoice:", options=["move_to farm", "talk Ben"], talk=[False, True])]
    )
    assert not a.ok and a.error.startswith("unparseable:") and "before repair" in a.error


def test_server_killed_then_restarted(tmp_path, make, monkeypatch):
    """A dead server gives failed answers quickly (then at once while backing off); once back, it is used again."""
    srv = Server(free_port(), "sk-test-" + secrets.token_hex(12), tmp_path / "server.log")
    monkeypatch.setenv("TW_TEST_OTHER_KEY", srv.key)
    srv.start()
    try:
        backend = make([srv.url], structured="gbnf", api_key_env="TW_TEST_OTHER_KEY", retries=2)
        assert backend.decide([req(0, MENU + "Choice:")])[0].ok

        srv.stop()
        t0 = time.monotonic()
        answers = backend.decide(batch())
        first_s = time.monotonic() - t0
        assert len(answers) == 4 and all(not a.ok and a.error for a in answers)
        assert all(srv.url in a.error for a in answers), answers[0].error
        assert first_s < 10.0, f"took {first_s:.1f} s"  # retries wait for the backoff, not the timeout

        t0 = time.monotonic()
        answers = backend.decide(batch())  # still backing off: no connection is even tried
        assert time.monotonic() - t0 < 0.5
        assert all(not a.ok and "down" in a.error for a in answers), answers[0].error

        srv.start()
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            answers = backend.decide([req(0, MENU + "Choice:")])
            if answers[0].ok:
                break
            time.sleep(0.25)
        assert answers[0].ok, answers[0].error
    finally:
        srv.stop()


def test_dead_endpoint_is_skipped(server, make):
    """With one endpoint dead, every request is still answered by the live one (given without '/v1')."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    live = server.url.removesuffix("/v1") + "/"
    backend = make([dead, live], structured="auto")
    assert backend.endpoints == [dead, server.url]
    for _ in range(2):  # the second batch finds the dead one backing off
        answers = backend.decide(batch())
        assert all(a.ok for a in answers), [a.error for a in answers]
    assert backend.structured_mode == "gbnf"


def test_api_key_never_shown(server, make, monkeypatch):
    """The key is sent (the server requires it) but is in no settings, repr or error; a wrong key fails clearly."""
    good = make([server.url], structured="gbnf")
    assert server.key not in good.settings and server.key not in repr(good) and server.key not in repr(vars(good))
    assert good.decide([req(0, MENU + "Choice:")])[0].ok

    wrong = "sk-wrong-" + secrets.token_hex(12)
    monkeypatch.setenv("TW_TEST_WRONG_KEY", wrong)
    bad = make([server.url], structured="auto", api_key_env="TW_TEST_WRONG_KEY")
    answers = bad.decide(batch())
    assert all(not a.ok for a in answers)
    for a in answers:
        assert "401" in a.error and "TW_TEST_WRONG_KEY" in a.error, a.error
        assert wrong not in a.error and server.key not in a.error
    assert wrong not in bad.settings and wrong not in repr(bad) and wrong not in repr(vars(bad))
    assert bad.structured_mode == "auto"  # a refused probe is asked again later, not settled


def test_llama_cpp_python_takes_cache_prompt_and_reports_no_cached_tokens(server, make):
    """The real server accepts `cache_prompt`; it reports no cached tokens, which reads as unknown, not as 0%."""
    backend = make([server.url], structured="gbnf")
    assert backend.prefix_cache.cached_reported is None  # nothing asked yet
    answers = backend.decide([req(0, MENU + "Ada is hungry.\nChoice:"), req(1, MENU + "Ada is tired.\nChoice:")])
    assert all(a.ok for a in answers), [a.error for a in answers]
    assert all(s.cache_prompt for s in backend.replicas)  # accepted, so still sent
    assert all(a.prefill_saved == 0 and a.tokens_in > 0 for a in answers)
    report = backend.prefix_cache
    assert report.completions == 2 and report.reported == 0 and report.cached_reported is False
    assert report.prompt_tokens == sum(a.tokens_in for a in answers)


class FakeServer:
    """A tiny OpenAI-style completions server on 127.0.0.1 that records request bodies and answers `reply(body)`,
    a (status, JSON) pair: for response shapes the llama-cpp-python server does not produce."""

    def __init__(self, reply):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                status, out = reply(body)
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    """Start `FakeServer`s, shut down after the test."""
    made = []

    def _fake(reply) -> FakeServer:
        made.append(FakeServer(reply))
        return made[-1]

    yield _fake
    for srv in made:
        srv.close()


def completion(**extra) -> dict:
    return {"choices": [{"text": " eat"}], "usage": {"prompt_tokens": 100, "completion_tokens": 2}, **extra}


@pytest.mark.parametrize(
    "extra",
    [
        {"usage": {"prompt_tokens": 100, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 90}}},
        {"timings": {"cache_n": 90, "prompt_n": 10}},
        {"tokens_cached": 90},
    ],
    ids=["openai-vllm-usage", "llama-server-timings", "old-llama-server"],
)
def test_reported_cached_tokens_become_prefill_saved(fake, make, extra):
    """Cached prompt tokens a server reports are prefill saved, and only the rest count as tokens in."""
    srv = fake(lambda body: (200, completion(**extra)))
    backend = make([srv.url], structured="none")
    [a] = backend.decide([req(0, MENU + "Choice:")])
    assert a.ok, a.error
    assert (a.tokens_in, a.prefill_saved, a.tokens_out) == (10, 90, 2)
    assert srv.bodies[0]["cache_prompt"] is True
    assert backend.prefix_cache == PrefixCache(completions=1, reported=1, prompt_tokens=100, cached_tokens=90)
    assert backend.prefix_cache.cached_reported is True


def test_no_cached_tokens_reported_keeps_prompt_tokens(fake, make):
    """A server that says nothing about its cache: all prompt tokens count as evaluated, and the report says unknown
    (a reported 0, as vLLM sends with no hit, is a real 0)."""
    srv = fake(lambda body: (200, completion(usage={"prompt_tokens": 100, "prompt_tokens_details": None})))
    backend = make([srv.url], structured="none")
    [a] = backend.decide([req(0, MENU + "Choice:")])
    assert (a.tokens_in, a.prefill_saved) == (100, 0)
    assert backend.prefix_cache.cached_reported is False

    srv = fake(
        lambda body: (200, completion(usage={"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 0}}))
    )
    backend = make([srv.url], structured="none")
    [a] = backend.decide([req(0, MENU + "Choice:")])
    assert (a.tokens_in, a.prefill_saved) == (100, 0)
    assert backend.prefix_cache.cached_reported is True


def test_refused_cache_prompt_is_dropped_for_good(fake, make):
    """A server that refuses the unknown field (as the official OpenAI API does) gets the request again without it,
    and never again with it; other refusals are not retried."""

    def strict(body):
        if "cache_prompt" in body:
            return 400, {"error": {"message": "Unrecognized request argument supplied: cache_prompt"}}
        if body["prompt"].endswith("bad\nChoice:"):
            return 400, {"error": {"message": "something else is wrong"}}
        return 200, completion()

    srv = fake(strict)
    backend = make([srv.url], structured="none", max_concurrency=1)
    answers = backend.decide([req(0, MENU + "Choice:"), req(1, MENU + "Choice:")])
    assert all(a.ok for a in answers), [a.error for a in answers]
    assert ["cache_prompt" in b for b in srv.bodies] == [True, False, False]
    [bad] = backend.decide([req(2, MENU + "bad\nChoice:")])
    assert not bad.ok and "something else is wrong" in bad.error
    assert len(srv.bodies) == 4  # refused once, not retried

    # a server that took it once and then refuses something else: the refusal stands, the field stays
    srv = fake(lambda body: (400, {"error": {"message": "no"}}) if "bad" in body["prompt"] else (200, completion()))
    backend = make([srv.url], structured="none", max_concurrency=1)
    assert backend.decide([req(0, MENU + "Choice:")])[0].ok
    assert not backend.decide([req(2, MENU + "bad\nChoice:")])[0].ok
    assert ["cache_prompt" in b for b in srv.bodies] == [True, True]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8080/v1", "127.0.0.1:8080", "http://", "http://host:port/v1"])
def test_bad_endpoint_url(url):
    """A URL that is not http(s) is refused at construction, naming it and the form to write."""
    with pytest.raises(BackendError, match="http://HOST:PORT/v1") as e:
        OpenAIBackend(["http://127.0.0.1:1/v1", url], MODEL)
    assert repr(url) in str(e.value)


def test_bad_settings_are_refused():
    """Settings errors name the parameter and the value."""
    with pytest.raises(BackendError, match="structured='grammar'"):
        OpenAIBackend(["http://127.0.0.1:1"], MODEL, structured="grammar")
    with pytest.raises(BackendError, match="max_concurrency=0"):
        OpenAIBackend(["http://127.0.0.1:1"], MODEL, max_concurrency=0)
    with pytest.raises(BackendError, match="no endpoint"):
        OpenAIBackend([], MODEL)


def test_an_adapter_goes_as_the_model_name(fake, make):
    """A group's adapter is sent as the request's model (servers serve adapters under their names); the rest ask
    for the backend's model."""
    from dataclasses import replace

    srv = fake(lambda body: (200, completion()))
    backend = make([srv.url], structured="none")
    answers = backend.decide([replace(req(0, MENU + "Choice:"), adapter="merchant"), req(1, MENU + "Choice:")])
    assert all(a.ok for a in answers)
    assert sorted(b["model"] for b in srv.bodies) == sorted(["merchant", MODEL])
