"""A backend for any OpenAI-compatible server: vLLM, llama.cpp, llama-cpp-python, Ollama.

Prompts are completion-style (a base model continues "...Choice:"), so every
request goes to `POST {base}/completions`, one HTTP request per agent, up to
`max_concurrency` in flight. Only the standard library is used (urllib and a
thread pool), so this backend needs no extra.

    backend = OpenAIBackend(["http://127.0.0.1:8080/v1"], "gemma-3-270m")
    answers = backend.decide(requests)  # one Answer per Request, in order

Several endpoints share the load round-robin. An endpoint that fails (refused,
timed out, HTTP 5xx) is left alone for a backoff that doubles from 0.5 s to
30 s and is tried again when it expires, so a server that comes back is used
again. When every endpoint is down, requests get failed answers at once (the
simulation then uses the rules brain for those agents) instead of waiting.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tokenworld.inference.base import BackendError, approx_tokens
from tokenworld.mind.grammar import ParseError, menu_gbnf, menu_json_schema, parse_answer
from tokenworld.mind.protocol import Answer, Request, failed

STRUCTURED = ("auto", "gbnf", "json", "none")
BACKOFF_MIN_S = 0.5  # an endpoint's first time out after a failure
BACKOFF_MAX_S = 30.0  # the longest it is left alone
RETRY_WAIT_MAX_S = 2.0  # a retry waits at most this long for an endpoint to come back, else the request fails
PROBE_TIMEOUT_S = 5.0  # for the structured-output probe
PROBE_WORD = "qzx"  # what the probe's grammar forces; a server that ignores `grammar` writes something else


class _CallFailed(Exception):
    """No attempt of one HTTP call got an answer; the message says why (never the API key)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status when the server refused the request


@dataclass
class _Endpoint:
    base: str  # normalised, ending in /v1
    down_until: float = 0.0  # time.monotonic() before which it is left alone
    backoff_s: float = 0.0  # the current backoff; 0 while healthy
    last_error: str = ""


class _Endpoints:
    """The endpoints with their health: round-robin over the healthy ones, exponential backoff for the others."""

    def __init__(self, bases: list[str]):
        self.all = [_Endpoint(b) for b in bases]
        self._lock = threading.Lock()
        self._next = 0

    def pick(self, avoid: _Endpoint | None = None) -> _Endpoint | None:
        """The next healthy endpoint (another than `avoid` when there is one), or None when all are down."""
        with self._lock:
            now = time.monotonic()
            n = len(self.all)
            fallback = None
            for k in range(n):
                i = (self._next + k) % n
                ep = self.all[i]
                if ep.down_until > now:
                    continue
                if ep is avoid and n > 1:
                    fallback = fallback or (i, ep)
                    continue
                self._next = i + 1
                return ep
            if fallback is not None:
                self._next = fallback[0] + 1
                return fallback[1]
            return None

    def mark_down(self, ep: _Endpoint, error: str) -> None:
        """Leave `ep` alone for a while; the backoff doubles each time it fails again after its pause."""
        with self._lock:
            now = time.monotonic()
            ep.last_error = error
            if ep.down_until > now:  # already down (a concurrent request failed first)
                return
            ep.backoff_s = min(BACKOFF_MAX_S, ep.backoff_s * 2 if ep.backoff_s else BACKOFF_MIN_S)
            ep.down_until = now + ep.backoff_s

    def mark_up(self, ep: _Endpoint) -> None:
        with self._lock:
            ep.backoff_s = 0.0
            ep.down_until = 0.0

    def other_healthy(self, ep: _Endpoint) -> bool:
        """Whether an endpoint other than `ep` may be tried now."""
        with self._lock:
            now = time.monotonic()
            return any(o is not ep and o.down_until <= now for o in self.all)

    def wait_s(self) -> float:
        """Seconds until some endpoint may be tried (0 when one is healthy)."""
        with self._lock:
            now = time.monotonic()
            return max(0.0, min(ep.down_until - now for ep in self.all))

    def describe_down(self) -> str:
        with self._lock:
            now = time.monotonic()
            wait = max(0.0, min(ep.down_until - now for ep in self.all))
            last = max(self.all, key=lambda ep: ep.down_until).last_error
        what = "the endpoint is" if len(self.all) == 1 else f"all {len(self.all)} endpoints are"
        return f"{what} down (next try in {wait:.1f} s); last error: {last}"


def normalize_endpoint(url: str) -> str:
    """'http://host:8080', 'http://host:8080/', 'http://host:8080/v1/' -> 'http://host:8080/v1'.

    Raises `BackendError` naming the URL and the expected form when it is not an http(s) URL.
    """
    fix = "write it as 'http://HOST:PORT/v1', for example 'http://127.0.0.1:8080/v1'"
    if not isinstance(url, str):
        raise BackendError(f"endpoint {url!r} is not a string; {fix}.")
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        raise BackendError(f"endpoint {url!r} is not a valid URL ({e}); {fix}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        guess = f" (did you mean 'http://{url.strip()}'?)" if url.strip() and "://" not in url else ""
        raise BackendError(f"endpoint {url!r} is not an http:// or https:// URL with a host{guess}; {fix}.")
    if parts.query or parts.fragment:
        raise BackendError(f"endpoint {url!r} has a query or fragment; {fix}.")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class OpenAIBackend:
    """Decisions from an OpenAI-compatible completions server, with structured outputs where it has them.

    Args:
        endpoints: base URLs such as 'http://127.0.0.1:8080/v1' (the '/v1' may be left out).
        model: the model name the server expects in requests.
        temperature: sampling temperature (0 is greedy).
        max_tokens: longest answer, in tokens.
        structured: how answers are constrained to the agent's options:
            "gbnf" sends `grammar` (GBNF, from `menu_gbnf`), which llama.cpp's server and
            llama-cpp-python's server honour; "json" sends vLLM's `guided_json` and a
            `response_format` JSON schema (from `menu_json_schema`); "none" sends plain
            completions and relies on parsing plus one repair attempt. "auto" decides on the
            first batch: GET {base}/models; `owned_by` naming vLLM -> "json", naming llamacpp ->
            "gbnf"; otherwise one tiny completion with a grammar that forces a fixed word:
            written back -> "gbnf", else "none". The probe is repeated on the next batch when
            the server could not be asked (down, or the key refused).
        max_concurrency: requests in flight at once.
        timeout_s: how long one HTTP request may take.
        retries: further attempts per request after a refused connection, a timeout, HTTP 5xx
            or 429 (on another endpoint when one is healthy).
        api_key_env: environment variable holding the API key (sent as a Bearer token if set;
            read at each request, never stored, logged or put in errors).
        seed: sampling seed sent with every request.
    """

    name = "openai"
    answer_style = "label"  # the model writes the option (completion-style prompts)

    def __init__(
        self,
        endpoints: list[str],
        model: str,
        *,
        temperature: float = 0.0,
        max_tokens: int = 24,
        structured: str = "auto",
        max_concurrency: int = 8,
        timeout_s: float = 30.0,
        retries: int = 2,
        api_key_env: str = "OPENAI_API_KEY",
        seed: int = 0,
    ):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise BackendError("no endpoint given; pass at least one URL such as 'http://127.0.0.1:8080/v1'.")
        if structured not in STRUCTURED:
            raise BackendError(f"structured={structured!r} is not one of {', '.join(STRUCTURED)}.")
        for pname, value, low in (("max_tokens", max_tokens, 1), ("max_concurrency", max_concurrency, 1),
                                  ("retries", retries, 0)):  # fmt: skip
            if not isinstance(value, int) or value < low:
                raise BackendError(f"{pname}={value!r} must be an integer of at least {low}.")
        if not timeout_s > 0:
            raise BackendError(f"timeout_s={timeout_s!r} must be a positive number of seconds.")
        if not model:
            raise BackendError("model is empty; give the model name the server serves (GET /v1/models lists it).")
        self.endpoints = [normalize_endpoint(u) for u in endpoints]
        self.model = model
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.structured = structured
        self.max_concurrency = max_concurrency
        self.timeout_s = float(timeout_s)
        self.retries = retries
        self.api_key_env = api_key_env
        self.seed = seed
        self._pool = _Endpoints(self.endpoints)
        self._mode = None if structured == "auto" else structured
        self._mode_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="tw-openai")
        self._closed = False

    def __repr__(self) -> str:
        return (f"OpenAIBackend(endpoints={self.endpoints!r}, model={self.model!r}, "
                f"structured={self.structured!r}, max_concurrency={self.max_concurrency})")  # fmt: skip

    @property
    def settings(self) -> str:
        """Model and sampling settings for the response cache key (the configured structured mode, no key)."""
        return (f"openai model={self.model} temperature={self.temperature:g} max_tokens={self.max_tokens} "
                f"structured={self.structured} seed={self.seed}")  # fmt: skip

    @property
    def structured_mode(self) -> str:
        """The mode in use: "gbnf", "json" or "none"; "auto" until the first batch has probed the server."""
        return self._mode or "auto"

    def count_tokens(self, text: str) -> int:
        """An estimate: the server's tokenizer is not reachable through the OpenAI API."""
        return approx_tokens(text)

    def decide(self, batch: list[Request]) -> list[Answer]:
        """One answer per request, in order; requests the servers could not serve get failed answers."""
        if self._closed:
            raise BackendError("this OpenAIBackend is closed; make a new one.")
        if not batch:
            return []
        mode = self.detect_structured()
        if mode == "auto":  # the server could not be asked; its requests fail or go plain
            mode = "none"
        return list(self._executor.map(lambda r: self._serve(r, mode), batch))

    def detect_structured(self) -> str:
        """Probe the server once for structured outputs (see `structured`); returns `structured_mode`."""
        with self._mode_lock:
            if self._mode is None:
                self._mode = self._probe()
            return self.structured_mode

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Nothing to prepare here (see `Backend.prepare`)."""

    def close(self) -> None:
        """Stop the request threads (waits for requests in flight)."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)

    # -- one request -------------------------------------------------------------------------------------

    def _serve(self, request: Request, mode: str) -> Answer:
        t0 = time.perf_counter()
        if not request.options:
            return failed(request, "the request has no options to choose from")
        text, tokens_in, tokens_out = "", 0, 0
        try:
            # 1. ask; 2. parse; 3. on a wrong answer, ask once more with the mistake pointed out
            text, tokens_in, tokens_out = self._complete(self._body(request.prompt, request, mode))
            valid_first = True
            try:
                choice, say = parse_answer(text, request.options, request.talk)
            except ParseError as first:
                valid_first = False
                text, more_in, more_out = self._complete(
                    self._body(request.prompt + _repair(text, request), request, mode)
                )
                tokens_in, tokens_out = tokens_in + more_in, tokens_out + more_out
                try:
                    choice, say = parse_answer(text, request.options, request.talk)
                except ParseError as second:
                    return self._failed(request, f"unparseable: {second} (before repair: {first})", t0,
                                        text, tokens_in, tokens_out)  # fmt: skip
        except _CallFailed as e:
            return self._failed(request, str(e), t0, text, tokens_in, tokens_out)
        latency_ms = (time.perf_counter() - t0) * 1000.0
        return Answer(request.agent, request.tick, request.kind, choice, say=say, raw=text, tokens_in=tokens_in,
                      tokens_out=tokens_out, latency_ms=latency_ms, valid_first=valid_first)  # fmt: skip

    def _failed(self, request: Request, error: str, t0: float, raw: str, tokens_in: int, tokens_out: int) -> Answer:
        answer = failed(request, self._scrub(error), (time.perf_counter() - t0) * 1000.0)
        answer.raw, answer.tokens_in, answer.tokens_out = raw, tokens_in, tokens_out
        return answer

    def _body(self, prompt: str, request: Request, mode: str) -> dict:
        body = {"model": self.model, "prompt": prompt, "max_tokens": self.max_tokens,
                "temperature": self.temperature, "seed": self.seed, "stop": ["\n"]}  # fmt: skip
        if mode == "gbnf":
            lead = " " if prompt.endswith(":") else ""  # the space a model writes after "Choice:"
            body["grammar"] = menu_gbnf(request.options, request.talk, lead=lead)
        elif mode == "json":
            schema = menu_json_schema(request.options, request.talk)
            body["guided_json"] = schema
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema}}
            del body["stop"]  # the schema ends the answer; a newline inside pretty JSON must not cut it
        return body

    def _complete(self, body: dict) -> tuple[str, int, int]:
        """(text, prompt tokens, completion tokens) of one completion, with retries across endpoints."""
        data = self._call("/completions", body)
        try:
            text = data["choices"][0]["text"]
            if not isinstance(text, str):
                raise TypeError
        except (KeyError, IndexError, TypeError):
            raise _CallFailed(f"the server's answer has no choices[0].text: {json.dumps(data)[:200]}") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tokens_in = usage.get("prompt_tokens") or approx_tokens(body["prompt"])
        tokens_out = usage.get("completion_tokens") or approx_tokens(text)
        return text, int(tokens_in), int(tokens_out)

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _call(self, path: str, body: dict | None, *, timeout_s: float | None = None) -> dict:
        """POST `body` (GET when None) to `path` on a healthy endpoint; retry per `retries`. Raises `_CallFailed`."""
        timeout_s = timeout_s or self.timeout_s
        last: _Endpoint | None = None
        for attempt in range(self.retries + 1):
            ep = self._pool.pick(avoid=last)
            if ep is None:
                raise _CallFailed(self._pool.describe_down())
            busy = False
            try:
                return self._http(ep, path, body, timeout_s)
            except urllib.error.HTTPError as e:
                detail = _server_message(e)
                if e.code != 429 and e.code < 500:  # the request itself is wrong: another try would not help
                    hint = f"; check the API key in ${self.api_key_env}" if e.code in (401, 403) else ""
                    raise _CallFailed(f"{ep.base}{path} refused the request (HTTP {e.code}: {detail}){hint}",
                                      e.code) from None  # fmt: skip
                error = f"{ep.base}{path} answered HTTP {e.code}: {detail}"
                busy = e.code == 429
                if not busy:
                    self._pool.mark_down(ep, error)
            except TimeoutError:
                error = f"no answer from {ep.base}{path} within {timeout_s:g} s"
                self._pool.mark_down(ep, error)
            except (OSError, http.client.HTTPException) as e:
                error = f"cannot reach {ep.base}{path}: {getattr(e, 'reason', None) or e}"
                self._pool.mark_down(ep, error)
            except ValueError as e:  # a 200 that is not JSON: not an OpenAI-compatible server at this URL
                raise _CallFailed(
                    f"{ep.base}{path} did not answer JSON ({e}); is it an OpenAI-compatible API?"
                ) from None
            last = ep
            if attempt == self.retries:
                break
            # before the next try: none if another endpoint is healthy; else a little on 429, or until
            # the failed endpoint's backoff expires if that is soon (if not, give up now rather than hang)
            if self._pool.other_healthy(ep):
                continue
            wait = min(RETRY_WAIT_MAX_S, BACKOFF_MIN_S * 2**attempt) if busy else self._pool.wait_s()
            if wait > RETRY_WAIT_MAX_S:
                break
            time.sleep(wait)
        raise _CallFailed(error)

    def _http(self, ep: _Endpoint, path: str, body: dict | None, timeout_s: float) -> dict:
        headers = {"Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            ep.base + path, data=data, headers=headers, method="GET" if data is None else "POST"
        )
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            out = json.loads(resp.read())
        self._pool.mark_up(ep)
        if not isinstance(out, dict):
            raise _CallFailed(f"{ep.base}{path} answered JSON that is not an object; is it an OpenAI-compatible API?")
        return out

    def _probe(self) -> str | None:
        """The structured mode the server supports, or None when it could not be asked (see `structured`)."""
        try:
            models = self._call("/models", None, timeout_s=min(self.timeout_s, PROBE_TIMEOUT_S))
        except _CallFailed as e:
            if e.status not in (404, 405):  # down or the key refused: ask again next batch
                return None
            models = {}
        entries = models.get("data") if isinstance(models.get("data"), list) else []
        owners = " ".join(str(m.get("owned_by", "")) for m in entries if isinstance(m, dict)).lower()
        if "vllm" in owners:
            return "json"
        if "llamacpp" in owners or "llama.cpp" in owners or "llama_cpp" in owners:
            return "gbnf"
        body = {"model": self.model, "prompt": "Say a word:", "max_tokens": 8, "temperature": 0.0,
                "seed": self.seed, "grammar": f'root ::= "{PROBE_WORD}"\n'}  # fmt: skip
        try:
            data = self._call("/completions", body, timeout_s=min(self.timeout_s, PROBE_TIMEOUT_S))
        except _CallFailed as e:
            return "none" if e.status in (400, 404, 422) else None  # `grammar` rejected, or ask again next batch
        try:
            text = data["choices"][0]["text"]
        except (KeyError, IndexError, TypeError):
            return "none"
        return "gbnf" if isinstance(text, str) and text.strip() == PROBE_WORD else "none"

    def _scrub(self, text: str) -> str:
        """`text` without the API key, should a server echo it."""
        key = os.environ.get(self.api_key_env, "")
        return text.replace(key, "***") if len(key) >= 8 else text


def _repair(text: str, request: Request) -> str:
    """What to append to the prompt after a wrong answer: the answer, the correction and the options again.

    Talk options are listed bare: a placeholder such as 'talk Ben: ...' gets copied by small models.
    """
    wrong = text.split("\n", 1)[0]
    return f"{wrong}\nThat is not one of the options. Options: {' | '.join(request.options)}\nChoice:"


def _server_message(e: urllib.error.HTTPError) -> str:
    """The short reason a server gave with an HTTP error (OpenAI-style `error.message`, FastAPI `detail`)."""
    try:
        raw = e.read().decode("utf-8", "replace")
    except OSError:
        raw = ""
    try:
        obj = json.loads(raw)
        if isinstance(obj, dict):
            err = obj.get("error")
            msg = err.get("message") if isinstance(err, dict) else err or obj.get("detail") or obj.get("message")
            if msg:
                raw = str(msg)
    except ValueError:
        pass
    return " ".join(raw.split())[:200] or (e.reason if isinstance(e.reason, str) else "no message")
