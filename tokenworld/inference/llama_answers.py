"""How `LlamaCppBackend` reads an answer from the logits after a prompt (a mixin of it).

- score mode: the answer digits' log-probabilities (less a content-free page's bias, plus the rules brain's
  utilities times `prior_weight`), then the spoken line of agents that chose to talk;
- options written token by token under their token trie (numbers of the guessing game);
- generate mode: the option's label written under a grammar.

Each takes the batch's requests, their sequences, the logits of each prompt's last token and where each
prompt ends, and continues decoding through the backend's `_decode` / `_steps`.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np

from tokenworld.inference.answers import parsed
from tokenworld.inference.base import BackendError
from tokenworld.mind.protocol import Answer
from tokenworld.mind.protocol import failed as failed_answer

MAX_OPTIONS = 9  # score mode answers with one digit (decisions: their action's number, 0-9; reflections: 1-9)
SAY_TOKENS = 14  # most tokens of a spoken line (it also ends at the first full stop)
_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


class AnswerReading:
    """Score, written and generate modes of `LlamaCppBackend` (which provides `_decode`, `_steps`, `_pick`,
    `_fresh`, `_prefix_seq`, `tokenize`, `piece` and the model's handles)."""

    # ------------------------------------------------------------ score mode

    def _digit_logp(self, logits: np.ndarray, keys: tuple[int, ...]) -> np.ndarray:
        """Log-probabilities of the answer digits `keys`, renormalised over them."""
        return _normalised(logits[self._digits[list(keys)]].astype(np.float64))

    def _bias(self, batch) -> list[np.ndarray | None]:
        """Per request, the answer bias of its content-free page (evaluated once per prompt shape and steering
        profile and adapter, then cached): under a control vector or an adapter, as the agent's own tokens are, so
        that calibration takes out the answer-position bias they bring along with the bias of the page."""
        todo = {}
        for req in batch:
            key = self._calibration_key(req)
            if req.calibration and key not in self._calibrated:
                todo[key] = req
        if todo:
            seq = self._seq_base + self.batch_size  # the sequence kept for this
            for key in todo:
                shared, text, steer, adapter = key
                self._steer(())  # the shared prefix is evaluated unsteered and unadapted
                self._adapt("")
                if self.batch_invariant:
                    self._fresh(shared)
                pseq, plen, _ = self._prefix_seq(shared)
                self._L.llama_memory_seq_rm(self._mem, seq, -1, -1)
                self._L.llama_memory_seq_cp(self._mem, pseq, seq, -1, -1)
                toks = self.tokenize(text)
                self._steer(steer)
                self._adapt(adapter)
                (logits,) = self._decode([(seq, toks, plen, True)])
                self._calibrated[key] = logits[self._digits].astype(np.float64)  # every digit
                self._L.llama_memory_seq_rm(self._mem, seq, -1, -1)
                if self.batch_invariant:
                    self._clean = shared
            self._steer(())
            self._adapt("")
        return [self._calibrated.get(self._calibration_key(r)) if r.calibration else None for r in batch]

    def _calibration_key(self, req) -> tuple:
        """What a content-free page's bias depends on: prefix, page, profile (where steering) and adapter."""
        return (req.shared, req.calibration, req.steer if self.vectors else (), req.adapter)

    def _model_logp(self, logits: np.ndarray, keys: tuple[int, ...], bias: np.ndarray | None) -> np.ndarray:
        """The model's part of a score: the log-probabilities of the answer digits `keys` less the content-free
        bias (`bias`: the content-free page's logits of every digit)."""
        logp = self._digit_logp(logits, keys)
        if bias is not None:
            logp = logp - self.calibration * _normalised(bias[list(keys)])
        return logp

    def _score(self, batch, seqs, logits, starts, biases) -> list[Answer]:
        answers = []
        talkers = []
        for i, (req, lg, bias) in enumerate(zip(batch, logits, biases, strict=False)):
            keys = req.answer_keys[:MAX_OPTIONS]
            logp = self._model_logp(lg, keys, bias)
            if self.prior_weight and len(req.prior) == len(keys):
                logp = logp + self.prior_weight * prior_term(req.prior)
            choice = self.sampling.draw(logp, self.rng)
            a = Answer(req.agent, req.tick, req.kind, choice, raw=str(keys[choice]), tokens_out=1)
            a.logp = tuple((logp - np.logaddexp.reduce(logp)).tolist())
            answers.append(a)
            if req.talk[choice]:
                talkers.append(i)
        if talkers:
            self._say(batch, seqs, starts, answers, talkers)
        return answers

    def _say(self, batch, seqs, starts, answers, talkers) -> None:
        """The spoken lines of agents that chose to talk: '<n>\\nYou tell <Name> the news: "' (news it heard, to pass
        on) or '<n>\\nYou say to <Name>: "', then a sentence (SAY_TOKENS at most), as in the prompt's worked
        examples."""
        runs, pos = {}, {}
        for i in talkers:
            req, a = batch[i], answers[i]
            target = req.options[a.choice].split(" ", 1)[1] if " " in req.options[a.choice] else "them"
            lead = f"You tell {target} the news" if req.news_heard else f"You say to {target}"
            toks = self.tokenize(f'{req.answer_keys[a.choice]}\n{lead}: "')
            runs[i] = toks
            pos[i] = starts[i]
        text = {i: [] for i in talkers}
        active = dict(zip(talkers, self._decode([(seqs[i], runs[i], pos[i], True) for i in talkers]), strict=False))
        cur = {i: pos[i] + len(runs[i]) for i in talkers}

        def take(i: int, logits: np.ndarray) -> int | None:
            tok = self._pick(logits)
            piece = self.piece(tok)
            answers[i].tokens_out += 1
            if self._L.llama_vocab_is_eog(self._vocab, tok) or '"' in piece or "\n" in piece:
                text[i].append(piece.split('"')[0].split("\n")[0])
                return None
            text[i].append(piece)
            if piece.rstrip().endswith((".", "!", "?")) and len(text[i]) >= 3:  # one sentence is enough
                return None
            return tok

        self._steps(seqs, active, cur, SAY_TOKENS, take)
        for i in talkers:
            line = "".join(text[i]).strip()
            answers[i].say = line or "Hello."
            answers[i].raw += f": {answers[i].say}"

    # ------------------------------------------------------------ options written token by token

    def _trie(self, options: list[str]) -> dict:
        """The options' tokens as a trie: node -> {token: child}, a node holding the key `None` -> option index
        where an option ends (cached per option list)."""
        key = tuple(options)
        trie = self._tries.get(key)
        if trie is None:
            trie = {}
            for k, text in enumerate(options):
                node = trie
                for tok in self.tokenize(text):
                    node = node.setdefault(tok, {})
                node[None] = k
            self._tries[key] = trie
        return trie

    def _written(self, batch, seqs, logits, starts) -> list[Answer]:
        """Each request's option written greedily (or drawn at the temperature) token by token, only tokens that
        continue an option allowed, ending where an option is complete and the model's best token is not a
        continuation (a newline or end of text scores for stopping). Used for numbers (the guessing game):
        '37' is 2 tokens with Gemma's digit-by-digit vocabulary, so a guess costs its personal prefill and 2
        or 3 one-token steps."""
        stops = [t for t in (self._newline, self._L.llama_vocab_eos(self._vocab)) if t >= 0]
        nodes = [self._trie(req.options) for req in batch]
        steps = [0] * len(batch)
        chosen = [-1] * len(batch)

        def take(i: int, logits: np.ndarray) -> int | None:
            node = nodes[i]
            toks = [t for t in node if t is not None]
            cands = np.array(toks + ([-1] if None in node else []), np.int64)
            scores = np.array([logits[t] for t in toks] + ([max(logits[t] for t in stops)] if None in node else []))
            k = self.sampling.draw(scores, self.rng) if len(cands) > 1 else 0
            steps[i] += 1
            if cands[k] < 0 or not toks:
                chosen[i] = node[None]
                return None
            nodes[i] = node[int(cands[k])]
            if len(nodes[i]) == 1 and None in nodes[i]:  # nothing can follow: done without another step
                chosen[i] = nodes[i][None]
                return None
            return int(cands[k])

        self._steps(seqs, dict(enumerate(logits)), dict(enumerate(starts)), 8, take)
        return [
            Answer(req.agent, req.tick, req.kind, c, raw=req.options[c] if c >= 0 else "", tokens_out=n)
            if c >= 0
            else failed_answer(req, "the option was not finished within 8 tokens")
            for req, c, n in zip(batch, chosen, steps, strict=True)
        ]

    # ------------------------------------------------------------ generate mode

    def _generate(self, batch, seqs, logits, starts) -> list[Answer]:
        L = self._L
        samplers = []
        for req in batch:
            gbnf = req.constraint.gbnf(lead=" ")
            smpl = L.llama_sampler_init_grammar(self._vocab, gbnf.encode(), b"root")
            if not smpl:
                raise BackendError(f"llama.cpp rejected the grammar for agent {req.agent}")
            samplers.append(smpl)
        out = [[] for _ in batch]
        n_out = [0] * len(batch)

        def take(i: int, logits: np.ndarray) -> int | None:
            tok = self._constrained(samplers[i], logits)
            n_out[i] += 1
            if tok < 0 or L.llama_vocab_is_eog(self._vocab, tok):
                return None
            L.llama_sampler_accept(samplers[i], tok)
            piece = self.piece(tok)
            out[i].append(piece)
            return None if "\n" in piece else tok

        try:
            self._steps(seqs, dict(enumerate(logits)), dict(enumerate(starts)), self.max_tokens, take)
        finally:
            for smpl in samplers:
                L.llama_sampler_free(smpl)
        # an answer fails to parse only when max_tokens cut it off
        return [
            parsed(req, "".join(pieces), raw="".join(pieces).strip(), tokens_out=n)
            for req, pieces, n in zip(batch, out, n_out, strict=True)
        ]

    def _constrained(self, sampler, logits: np.ndarray) -> int:
        """The best token the grammar allows: check the model's pick alone first, mask everything only if refused."""
        tok = self._pick(logits)
        one = np.zeros(1, _TOKEN_DATA)
        one["id"], one["logit"] = tok, logits[tok]
        if self._apply(sampler, one)[0]["logit"] != -math.inf:
            return tok
        full = np.zeros(self.n_vocab, _TOKEN_DATA)
        full["id"] = np.arange(self.n_vocab, dtype=np.int32)
        full["logit"] = logits
        self._apply(sampler, full)
        allowed = full["logit"]
        if not np.isfinite(allowed).any():
            return -1
        return self._pick(allowed)

    def _apply(self, sampler, data: np.ndarray) -> np.ndarray:
        L = self._L
        arr = L.llama_token_data_array(
            data=data.ctypes.data_as(ctypes.POINTER(L.llama_token_data)), size=len(data), selected=-1, sorted=False
        )
        L.llama_sampler_apply(sampler, ctypes.byref(arr))
        return data


def prior_term(prior: np.ndarray) -> np.ndarray:
    """What score mode adds, times `prior_weight`, to the calibrated log-likelihoods: the rules brain's
    utilities as they are (nats per unit of utility).

    Raw rather than standardised per request: the utilities' spread follows urgency (by the rules brain's
    formulas a starving agent's `eat` stands 2 to 3 above the rest, a content agent's options lie within a
    few tenths), so the prior outweighs the model when needs press and leaves it the choice when they do not.
    Measured against standardising (`tools/compare_prior_transforms.py`, BENCHMARKS.md, section Right
    choices): at the same share of right choices, raw utilities feed the starving and rest the exhausted more
    often and leave more of the village's decisions to the model.
    """
    return np.asarray(prior, np.float64)


def _normalised(x: np.ndarray) -> np.ndarray:
    """Log-probabilities `x` renormalised over themselves (less their log-sum-exp)."""
    m = x.max()
    return x - float(m + np.log(np.exp(x - m).sum()))
