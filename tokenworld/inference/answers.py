"""Answers from text: the one place a backend's written answer becomes an `Answer`, or a failed one.

Every backend that reads text (llama.cpp's generate mode, OpenAI-compatible
servers, vLLM) calls `parsed`; a failure's reason starts with `UNPARSEABLE`, so
the worker's books (`InferenceStats`) count parse failures the same way for each.
"""

from __future__ import annotations

from tokenworld.mind.grammar import ParseError
from tokenworld.mind.protocol import Answer, Request, failed

UNPARSEABLE = "unparseable: "  # how the reason of an answer that is not one of the options starts


def parsed(request: Request, text: str, *, raw: str | None = None, note: str = "", **counts) -> Answer:
    """The answer `text` gives `request` (read by its constraint), or a failed answer saying why.

    Args:
        request: what was asked (its options and talk flags, through `request.constraint`).
        text: what the backend wrote.
        raw: what to record as written when it parses (default `text`); a failed answer keeps `text`.
        note: added to a failure's reason (for example what an earlier attempt got wrong).
        counts: the `Answer` fields the backend measured (tokens_in, tokens_out, prefill_saved, latency_ms,
            valid_first), kept on either outcome.
    """
    try:
        choice, say = request.constraint.parse(text)
    except ParseError as e:
        return unparseable(request, f"{e}{note}", text, **counts)
    raw = text if raw is None else raw
    return Answer(request.agent, request.tick, request.kind, choice, say=say, raw=raw, **counts)


def unparseable(request: Request, why: str, text: str, **counts) -> Answer:
    """A failed answer for `text`, which is not one of the request's options (`why`)."""
    latency_ms = counts.pop("latency_ms", 0.0)
    counts.pop("valid_first", None)  # a failed answer is never valid
    answer = failed(request, UNPARSEABLE + why, latency_ms)
    answer.raw = text
    for name, value in counts.items():
        setattr(answer, name, value)
    return answer


def is_unparseable(answer: Answer) -> bool:
    """Whether `answer` failed because the backend's text was not one of the options."""
    return not answer.ok and answer.error.startswith(UNPARSEABLE)
