"""A backend for any OpenAI-compatible server: vLLM, llama.cpp, llama-cpp-python, Ollama.

Prompts are completion-style (a base model continues "...Choice:"), so every
request goes to `POST {base}/completions`, one HTTP request per agent, up to
`max_concurrency` in flight. Only the standard library is used (urllib and a
thread pool), so this backend needs no extra.

    backend = OpenAIBackend(["http://127.0.0.1:8080/v1"], "gemma-3-270m")
    answers = backend.decide(requests)  # one Answer per Request, in order

`OpenAIServer` talks to one server; `OpenAIBackend` is one `OpenAIServer` per
endpoint behind `Failover` (`tokenworld.inference.failover`), which shares the
load round-robin, leaves a failing endpoint alone for a growing backoff, and
retries a request on another one.

Servers keep the KV cache of prompt prefixes: every prompt starts with the part all
agents share, so a server that reuses prefixes evaluates it once, not per agent.
Bodies carry `"cache_prompt": true` (see `OpenAIServer`), and each answer's
`prefill_saved` is what the server reported as taken from its cache
(`cached_prompt_tokens`); `OpenAIBackend.prefix_cache` says whether it reported at all.
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
from dataclasses import dataclass

from tokenworld.inference.answers import parsed
from tokenworld.inference.base import BackendError, Unavailable, approx_tokens
from tokenworld.inference.failover import Failover
from tokenworld.inference.sampling import GREEDY, Sampling
from tokenworld.mind.grammar import ParseError
from tokenworld.mind.protocol import Answer, Request, failed

STRUCTURED = ("auto", "gbnf", "json", "none")
PROBE_TIMEOUT_S = 5.0  # for the structured-output probe
PROBE_WORD = "qzx"  # what the probe's grammar forces; a server that ignores `grammar` writes something else


@dataclass
class PrefixCache:
    """What servers said about their prompt cache, summed over completions: `reported` 0 means "unknown", not 0%."""

    completions: int = 0  # completions answered
    reported: int = 0  # of which said how many prompt tokens came from the server's cache
    prompt_tokens: int = 0  # prompt tokens of all completions
    cached_tokens: int = 0  # prompt tokens the server said it took from its cache (in the reported ones)

    @property
    def cached_reported(self) -> bool | None:
        """True when the server reports cached tokens, False when it answered without saying, None before any answer."""
        return None if not self.completions else self.reported > 0

    def __add__(self, other: PrefixCache) -> PrefixCache:
        return PrefixCache(*(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True)))


def cached_prompt_tokens(data: dict) -> int | None:
    """Prompt tokens a completion response says the server took from its cache, or None when it does not say.

    Read, first found: `usage.prompt_tokens_details.cached_tokens` (OpenAI; vLLM with
    `--enable-prompt-tokens-details`; recent llama.cpp `llama-server`), `timings.cache_n`
    (llama-server), `tokens_cached` (older llama-server). llama-cpp-python's server says nothing.
    """
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    details = usage.get("prompt_tokens_details")
    timings = data.get("timings")
    for where, name in ((details, "cached_tokens"), (timings, "cache_n"), (data, "tokens_cached")):
        value = where.get(name) if isinstance(where, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return int(value)
    return None


class _Refused(Exception):
    """The server refused one call (HTTP 4xx other than 429): another try would not help. Never holds the key."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


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


class OpenAIServer:
    """Decisions from one OpenAI-compatible completions server, with structured outputs where it has them.

    Args:
        endpoint: base URL such as 'http://127.0.0.1:8080/v1' (the '/v1' may be left out).
        model: the model name the server expects in requests.
        sampling: temperature, top_p (sent when below 1), max_tokens, seed and stop (plain answers only).
        structured: how answers are constrained to the agent's options (`Request.constraint`):
            "gbnf" sends `grammar` (GBNF), which llama.cpp's server and llama-cpp-python's
            server honour; "json" sends vLLM's `guided_json` and a `response_format` JSON
            schema; "none" sends plain completions and relies on parsing plus one repair
            attempt. "auto" decides on the first batch: GET {base}/models; `owned_by` naming
            vLLM -> "json", naming llamacpp -> "gbnf"; otherwise one tiny completion with a
            grammar that forces a fixed word: written back -> "gbnf", else "none". The probe is
            repeated on the next batch when the server refused it (the key).
        timeout_s: how long one HTTP request may take.
        api_key_env: environment variable holding the API key (sent as a Bearer token if set;
            read at each request, never stored, logged or put in errors).

    `decide` raises `Unavailable` when the server cannot be reached (refused connection, timeout, HTTP 5xx or
    429), for `Failover` to retry elsewhere; answers it got but could not use are failed answers with the reason.

    Prefix caching: completion bodies carry `"cache_prompt": true`, which llama.cpp's `llama-server` reads
    (keep the KV cache of the common prefix; its default in recent versions, which may make answers differ
    slightly from a fresh evaluation) and vLLM, Ollama and llama-cpp-python's server ignore. The official
    OpenAI API refuses unknown fields (HTTP 400), so when a body carrying it is refused (HTTP 400 or 422)
    and the refusal names the field, or no body carrying it has been accepted yet, the request is sent
    again without it; if that one is accepted, this server is never sent it again. Each answer's
    `prefill_saved` is the cached prompt tokens the server reported (`cached_prompt_tokens`) and its
    `tokens_in` the prompt tokens less those; a server that reports none keeps `tokens_in` = prompt tokens
    and `prefill_saved` 0, and `prefix_cache.cached_reported` is then False: "unknown", not "no reuse".
    """

    name = "openai"
    answer_style = "label"  # the model writes the option (completion-style prompts)

    def __init__(
        self,
        endpoint: str,
        model: str,
        *,
        sampling: Sampling = GREEDY,
        structured: str = "auto",
        timeout_s: float = 30.0,
        api_key_env: str = "OPENAI_API_KEY",
    ):
        if structured not in STRUCTURED:
            raise BackendError(f"structured={structured!r} is not one of {', '.join(STRUCTURED)}.")
        if not timeout_s > 0:
            raise BackendError(f"timeout_s={timeout_s!r} must be a positive number of seconds.")
        if not model:
            raise BackendError("model is empty; give the model name the server serves (GET /v1/models lists it).")
        self.base = normalize_endpoint(endpoint)
        self.model, self.sampling, self.structured = model, sampling, structured
        self.timeout_s = float(timeout_s)
        self.api_key_env = api_key_env
        self._mode = None if structured == "auto" else structured
        self._mode_lock = threading.Lock()
        self._closed = False
        self.cache_prompt = True  # send "cache_prompt": true, until the server refuses it (see above)
        self._cache_prompt_accepted = False  # a body carrying it was answered
        self._prefix_cache = PrefixCache()
        self._prefix_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIServer({self.base!r}, model={self.model!r}, structured={self.structured!r})"

    @property
    def settings(self) -> str:
        """Model and sampling settings for the response cache key (the configured structured mode, no key)."""
        s = self.sampling
        top_p = f" top_p={s.top_p:g}" if s.top_p < 1 else ""
        return (
            f"openai model={self.model} temperature={s.temperature:g} max_tokens={s.max_tokens} "
            f"structured={self.structured} seed={s.seed}{top_p}"
        )

    @property
    def structured_mode(self) -> str:
        """The mode in use: "gbnf", "json" or "none"; "auto" until a batch has probed the server."""
        return self._mode or "auto"

    @property
    def prefix_cache(self) -> PrefixCache:
        """What this server reported about cached prompt tokens so far (a copy)."""
        with self._prefix_lock:
            return PrefixCache(**vars(self._prefix_cache))

    def count_tokens(self, text: str) -> int:
        """An estimate: the server's tokenizer is not reachable through the OpenAI API."""
        return approx_tokens(text)

    def decide(self, batch: list[Request]) -> list[Answer]:
        """One answer per request, in order (one after the other: `Failover` sends them concurrently)."""
        if self._closed:
            raise BackendError("this OpenAIServer is closed; make a new one.")
        if not batch:
            return []
        mode = self.detect_structured()
        if mode == "auto":  # the server refused the probe; its requests fail or go plain
            mode = "none"
        return [self._serve(r, mode) for r in batch]

    def detect_structured(self) -> str:
        """Probe the server once for structured outputs (see `structured`); returns `structured_mode`."""
        with self._mode_lock:
            if self._mode is None:
                self._mode = self._probe()
            return self.structured_mode

    def prepare(self, shared: str, calibrations: list[tuple[str, int]]) -> None:
        """Nothing to prepare here (see `Backend.prepare`)."""

    def close(self) -> None:
        self._closed = True

    # -- one request -------------------------------------------------------------------------------------

    def _serve(self, request: Request, mode: str) -> Answer:
        t0 = time.perf_counter()
        if not request.options:
            return failed(request, "the request has no options to choose from")
        text, tokens_in, tokens_out, saved = "", 0, 0, 0
        try:
            # 1. ask; 2. parse; 3. on a wrong answer, ask once more with the mistake pointed out
            text, tokens_in, tokens_out, saved = self._complete(self._body(request.prompt, request, mode))
            try:
                request.constraint.parse(text)
                note, valid_first = "", True
            except ParseError as first:
                note, valid_first = f" (before repair: {first})", False
                text, more_in, more_out, more_saved = self._complete(
                    self._body(request.prompt + _repair(text, request), request, mode)
                )
                tokens_in, tokens_out, saved = tokens_in + more_in, tokens_out + more_out, saved + more_saved
        except _Refused as e:
            answer = failed(request, self._scrub(str(e)), (time.perf_counter() - t0) * 1000.0)
            answer.raw, answer.tokens_in, answer.tokens_out, answer.prefill_saved = text, tokens_in, tokens_out, saved
            return answer
        return parsed(
            request,
            text,
            note=note,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            prefill_saved=saved,
            latency_ms=(time.perf_counter() - t0) * 1000.0,
            valid_first=valid_first,
        )

    def _body(self, prompt: str, request: Request, mode: str) -> dict:
        s = self.sampling
        body = {
            "model": request.adapter or self.model,  # a server serves each adapter under its own model name
            "prompt": prompt,
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "seed": s.seed,
            "stop": list(s.stop),
        }
        if s.top_p < 1:
            body["top_p"] = s.top_p
        if self.cache_prompt:
            body["cache_prompt"] = True
        if mode == "gbnf":
            lead = " " if prompt.endswith(":") else ""  # the space a model writes after "Choice:"
            body["grammar"] = request.constraint.gbnf(lead)
        elif mode == "json":
            schema = request.constraint.json_schema
            body["guided_json"] = schema
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema}}
            del body["stop"]  # the schema ends the answer; a newline inside pretty JSON must not cut it
        return body

    def _complete(self, body: dict) -> tuple[str, int, int, int]:
        """(text, prompt tokens evaluated, completion tokens, prompt tokens the server took from its cache)."""
        data = self._ask(body)
        try:
            text = data["choices"][0]["text"]
            if not isinstance(text, str):
                raise TypeError
        except (KeyError, IndexError, TypeError):
            raise _Refused(f"the server's answer has no choices[0].text: {json.dumps(data)[:200]}") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        prompt_tokens = int(usage.get("prompt_tokens") or approx_tokens(body["prompt"]))
        tokens_out = int(usage.get("completion_tokens") or approx_tokens(text))
        cached = cached_prompt_tokens(data)
        saved = min(cached or 0, prompt_tokens)
        with self._prefix_lock:
            c = self._prefix_cache
            c.completions, c.prompt_tokens = c.completions + 1, c.prompt_tokens + prompt_tokens
            if cached is not None:
                c.reported, c.cached_tokens = c.reported + 1, c.cached_tokens + saved
        return text, prompt_tokens - saved, tokens_out, saved

    def _ask(self, body: dict) -> dict:
        """POST a completion; a refused `cache_prompt` is dropped as the class docstring says."""
        try:
            data = self._call("/completions", body)
        except _Refused as e:
            suspect = "cache_prompt" in str(e) or not self._cache_prompt_accepted
            if "cache_prompt" not in body or e.status not in (400, 422) or not suspect:
                raise
            data = self._call("/completions", {k: v for k, v in body.items() if k != "cache_prompt"})
            self.cache_prompt = False  # refused with it, answered without it: leave it out from now on
            return data
        if "cache_prompt" in body:
            self._cache_prompt_accepted = True
        return data

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _call(self, path: str, body: dict | None, *, timeout_s: float | None = None) -> dict:
        """POST `body` (GET when None) to `path`. Raises `Unavailable` (try again, maybe elsewhere) or `_Refused`."""
        timeout_s = timeout_s or self.timeout_s
        url = self.base + path
        try:
            return self._http(url, body, timeout_s)
        except urllib.error.HTTPError as e:
            detail = _server_message(e)
            if e.code != 429 and e.code < 500:  # the request itself is wrong: another try would not help
                hint = f"; check the API key in ${self.api_key_env}" if e.code in (401, 403) else ""
                raise _Refused(f"{url} refused the request (HTTP {e.code}: {detail}){hint}", e.code) from None
            raise Unavailable(self._scrub(f"{url} answered HTTP {e.code}: {detail}"), busy=e.code == 429) from None
        except TimeoutError:
            raise Unavailable(f"no answer from {url} within {timeout_s:g} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise Unavailable(self._scrub(f"cannot reach {url}: {getattr(e, 'reason', None) or e}")) from None
        except ValueError as e:  # a 200 that is not JSON: not an OpenAI-compatible server at this URL
            raise _Refused(f"{url} did not answer JSON ({e}); is it an OpenAI-compatible API?") from None

    def _http(self, url: str, body: dict | None, timeout_s: float) -> dict:
        headers = {"Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method="GET" if data is None else "POST")
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            out = json.loads(resp.read())
        if not isinstance(out, dict):
            raise _Refused(f"{url} answered JSON that is not an object; is it an OpenAI-compatible API?")
        return out

    def _probe(self) -> str | None:
        """The structured mode the server supports, or None when it refused to say (see `structured`); raises
        `Unavailable` when it cannot be reached."""
        timeout_s = min(self.timeout_s, PROBE_TIMEOUT_S)
        try:
            models = self._call("/models", None, timeout_s=timeout_s)
        except _Refused as e:
            if e.status not in (404, 405):  # the key refused: ask again next batch
                return None
            models = {}
        entries = models.get("data") if isinstance(models.get("data"), list) else []
        owners = " ".join(str(m.get("owned_by", "")) for m in entries if isinstance(m, dict)).lower()
        if "vllm" in owners:
            return "json"
        if "llamacpp" in owners or "llama.cpp" in owners or "llama_cpp" in owners:
            return "gbnf"
        body = {
            "model": self.model,
            "prompt": "Say a word:",
            "max_tokens": 8,
            "temperature": 0.0,
            "seed": self.sampling.seed,
            "grammar": f'root ::= "{PROBE_WORD}"\n',
        }
        try:
            data = self._call("/completions", body, timeout_s=timeout_s)
        except _Refused as e:
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


class OpenAIBackend(Failover):
    """One `OpenAIServer` per endpoint behind `Failover`: the `openai` backend of a scene.

    Args:
        endpoints: base URLs such as 'http://127.0.0.1:8080/v1' (the '/v1' may be left out).
        model, sampling, structured, timeout_s, api_key_env: as for `OpenAIServer`.
        max_concurrency: requests in flight at once.
        retries: further attempts per request after a refused connection, a timeout, HTTP 5xx
            or 429 (on another endpoint when one is healthy).
    """

    def __init__(
        self,
        endpoints: list[str],
        model: str,
        *,
        sampling: Sampling = GREEDY,
        structured: str = "auto",
        max_concurrency: int = 8,
        timeout_s: float = 30.0,
        retries: int = 2,
        api_key_env: str = "OPENAI_API_KEY",
    ):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise BackendError("no endpoint given; pass at least one URL such as 'http://127.0.0.1:8080/v1'.")
        servers = [
            OpenAIServer(
                u, model, sampling=sampling, structured=structured, timeout_s=timeout_s, api_key_env=api_key_env
            )
            for u in endpoints
        ]
        super().__init__(servers, retries=retries, max_concurrency=max_concurrency, what="endpoint")
        self.endpoints = [s.base for s in servers]
        self.model, self.structured = model, structured

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(endpoints={self.endpoints!r}, model={self.model!r}, "
            f"structured={self.structured!r}, max_concurrency={self.max_concurrency})"
        )

    @property
    def prefix_cache(self) -> PrefixCache:
        """What the endpoints reported about cached prompt tokens, summed (see `PrefixCache`)."""
        return sum((s.prefix_cache for s in self.replicas), PrefixCache())

    @property
    def structured_mode(self) -> str:
        """The mode the first endpoint that was probed uses; "auto" until one was."""
        return next((s.structured_mode for s in self.replicas if s.structured_mode != "auto"), "auto")

    def detect_structured(self) -> str:
        """Probe the endpoints, in order, until one answers (see `OpenAIServer.detect_structured`)."""
        for server in self.replicas:
            try:
                if server.detect_structured() != "auto":
                    break
            except Unavailable:
                continue
        return self.structured_mode


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
