"""Engine drivers: each replays one serving engine's way of calling a parser.

Engines call the same parser in different ways (a fresh instance per request or one shared by
all, previous/current text or deltas only, ids or none, text lagging the ids, ``model_status``
appended), and a parser is only portable if it is right under all of them. Every streaming
check runs under every driver; a failure names the driver (``[vllm lag=3] ...``).

A driver also gives the expected answer: what the parser's own non-streaming method returns for
the information that engine gives it. It only runs a request context its engine can express
(:meth:`Driver.supports`): vLLM conveys ``chat_template_kwargs`` and ids, FastDeploy a
``model_status``, LMDeploy's streaming calls nothing but the text and ids.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from reasoning_plugins._modes import request_field

from ._drive import SEED_CALL, Delta, SeedCaller, Split, Streamed, feed_all, read_message, read_pair, regroup, run_parse
from ._results import CheckFailed, raised, short
from ._samples import Started
from ._samples import _request as default_request
from ._subject import Context, Subject

__all__ = ["DRIVERS", "Driver", "Sent", "companion", "failed", "interleave", "lag_text", "model_status"]


@dataclass(frozen=True, slots=True)
class Sent:
    """One replay: the label a failure names, the deltas the parser got, and what came back."""

    label: str
    deltas: list[Delta]
    streamed: Streamed


class Driver:
    """One engine's calling pattern. Subclasses set ``name`` and ``summary``."""

    name: ClassVar[str]
    summary: ClassVar[str]
    passes_ids: ClassVar[bool] = True  # the engine hands the parser token ids
    forwards_none_ids: ClassVar[bool] = False  # None and [] reach the parser as they are given
    reference: ClassVar[str] = "extract_reasoning_content()"  # the method behind expected()

    def unavailable(self, subject: Subject) -> str | None:
        """Why this driver cannot run ``subject``'s parser at all (None when it can)."""
        return None

    def supports(self, subject: Subject, ctx: Context) -> bool:
        """Whether this engine can tell the parser what ``ctx`` says."""
        return _is_default(ctx)

    def extra_contexts(self, subject: Subject, known: Sequence[Started]) -> list[Started]:
        """Request contexts only this engine conveys, for parsers that declare no capability
        for them (besides the ``known`` ones)."""
        return []

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        """Replay ``deltas`` as this engine would (one or more variants, each a :class:`Sent`)."""
        raise NotImplementedError

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        """The parser's own non-streaming answer, given what this engine gives it."""
        return _whole(subject.new_parser(), ctx.request, text, problems)


# -- what a parser accepts ------------------------------------------------------------------


# Top-level request fields a parser may read as a thinking switch; engines that hand the parser
# no request cannot convey them. vLLM copies ``reasoning_effort`` into the chat template's kwargs.
_TOP_LEVEL_SWITCHES = ("enable_thinking", "thinking", "reasoning_effort")
_VLLM_COPIES = ("reasoning_effort",)


def _chat_template_kwargs(request: Any) -> dict[str, Any] | None:
    value = request_field(request, "chat_template_kwargs")
    return dict(value) if value else None


def _top_level_switches(request: Any) -> dict[str, Any]:
    found = {}
    for name in _TOP_LEVEL_SWITCHES:
        value = request_field(request, name)
        if value is not None:
            found[name] = value
    return found


def _is_default(ctx: Context) -> bool:
    return _request_only(ctx) and not _chat_template_kwargs(ctx.request) and not _top_level_switches(ctx.request)


def _vllm_kwargs(request: Any) -> dict[str, Any] | None:
    """The chat_template_kwargs vLLM builds a parser with: the request's, plus the top-level
    fields vLLM copies into them (``reasoning_effort``) where the request did not set them."""
    kwargs = _chat_template_kwargs(request) or {}
    for name, value in _top_level_switches(request).items():
        if name in _VLLM_COPIES:
            kwargs.setdefault(name, value)
    return kwargs or None


def _request_only(ctx: Context) -> bool:
    return ctx.prompt_text is None and ctx.prompt_token_ids is None and ctx.mode is None


def _accepts_chat_template_kwargs(parser_cls: Any) -> bool:
    try:
        parameters = inspect.signature(parser_cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or p.name == "chat_template_kwargs" for p in parameters)


def _accepts_trailing(method: Any, count: int) -> bool:
    """Whether ``method`` can be called with ``count`` positional arguments."""
    try:
        inspect.signature(method).bind(*([None] * count))
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): assume it accepts what it is given
        return True
    return True


def _native(parser: Any) -> bool:
    return callable(getattr(parser, "start_stream", None))


def _whole(parser: Any, request: Any, text: str, problems: list[str] | None, *extra: Any) -> Split:
    result = parser.extract_reasoning_content(text, request, *extra)
    return read_pair(result, "extract_reasoning_content()", problems)


def _parse(parser: Any, ctx: Context, text: str, ids: Sequence[int] | None, problems: list[str] | None) -> Split:
    if callable(getattr(parser, "parse", None)):
        return run_parse(parser, ctx, text, ids, problems)
    return _whole(parser, ctx.request, text, problems)


def _vllm_parser(subject: Subject, ctx: Context) -> Any:
    """A fresh instance, built as vLLM builds one for a request."""
    kwargs = _vllm_kwargs(ctx.request)
    if kwargs and _accepts_chat_template_kwargs(subject.parser_cls):
        return subject.parser_cls(subject.tokenizer, chat_template_kwargs=kwargs)
    return subject.parser_cls(subject.tokenizer)


def _vllm_can_express(subject: Subject, ctx: Context) -> bool:
    if not _request_only(ctx) or set(_top_level_switches(ctx.request)) - set(_VLLM_COPIES):
        return False
    return not _vllm_kwargs(ctx.request) or _accepts_chat_template_kwargs(subject.parser_cls)


def lag_text(deltas: Sequence[Delta], lag: int) -> list[Delta]:
    """The deltas as vLLM sends them with stop strings set: the ids on time, the text held back
    so that after each delta the released text is all of it minus its last ``lag`` characters;
    the last delta releases the rest."""
    full = "".join(text for text, _ in deltas)
    out: list[Delta] = []
    released = seen = 0
    for index, (text, ids) in enumerate(deltas):
        seen += len(text)
        upto = seen if index == len(deltas) - 1 else max(released, seen - lag)
        out.append((full[released:upto], ids))
        released = upto
    return out


def replay(label: str, deltas: list[Delta], run: Callable[[], Streamed]) -> Sent:
    """Run one replay; whatever the parser raises becomes a failure naming ``label``."""
    try:
        return Sent(label, deltas, run())
    except CheckFailed:
        raise
    except Exception as exc:
        raise failed(label, raised(exc)) from exc


def _text_only(deltas: Sequence[Delta]) -> list[Delta]:
    return [(text, None) for text, _ in deltas]


def _text_stream(parser: Any, ctx: Context, pieces: Sequence[Delta]) -> Streamed:
    """Text-only deltas through the native stream (started with the request), or the seed
    interface with empty id lists for a parser that has no native stream."""
    if _native(parser):
        return feed_all(parser.start_stream(request=ctx.request), pieces)
    return feed_all(SeedCaller(parser), pieces, SEED_CALL)


# -- the drivers ----------------------------------------------------------------------------


class Ours(Driver):
    name = "ours"
    summary = "native stream: start_stream(request, prompt_token_ids=, prompt_text=, mode=), feed(delta_text, delta_ids), finish()"
    forwards_none_ids = True
    reference = "parse()"

    def unavailable(self, subject: Subject) -> str | None:
        if not _native(subject.parser_cls):
            return "the parser has no start_stream() (native stream)"
        return None

    def supports(self, subject: Subject, ctx: Context) -> bool:
        return True

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        yield replay(self.name, list(deltas), lambda: feed_all(subject.new_parser().start_stream(**ctx.kwargs()), deltas))

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        return _parse(subject.new_parser(), ctx, text, ids, problems)


class Vllm(Driver):
    name = "vllm"
    summary = (
        "legacy path: a fresh instance per request (chat_template_kwargs to the constructor), "
        "previous/current text and ids every token; text lagging the ids by 1, 3, 8 characters"
    )
    lags = (1, 3, 8)

    def supports(self, subject: Subject, ctx: Context) -> bool:
        return _vllm_can_express(subject, ctx)

    def parser(self, subject: Subject, ctx: Context) -> Any:
        return _vllm_parser(subject, ctx)

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        variants = [(self.name, list(deltas))]
        if any(ids for _, ids in deltas):
            variants += [(f"{self.name} lag={lag}", lag_text(deltas, lag)) for lag in self.lags]
        for label, sent in variants:
            yield replay(label, sent, lambda: feed_all(SeedCaller(self.parser(subject, ctx)), sent, SEED_CALL))

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        return _whole(self.parser(subject, ctx), ctx.request, text, problems)


class VllmMulti(Driver):
    name = "vllm-multi"
    summary = (
        "speculative decoding / stream_interval > 1: deltas of 2-8 tokens (text and ids), "
        "delta-only through the native stream (the seed interface for seed-only parsers), then finish()"
    )
    sizes = (2, 5, 3, 8, 4, 7, 6)

    def supports(self, subject: Subject, ctx: Context) -> bool:
        if subject.native:
            return ctx.prompt_text is None and ctx.mode is None
        return _vllm_can_express(subject, ctx)

    def _context(self, ctx: Context) -> dict[str, Any]:
        found: dict[str, Any] = {"request": ctx.request}
        if ctx.prompt_token_ids is not None:
            found["prompt_token_ids"] = list(ctx.prompt_token_ids)
        return found

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        grouped = [(text, list(ids or ())) for text, ids in regroup(deltas, self.sizes)]

        def run() -> Streamed:
            parser = _vllm_parser(subject, ctx)
            if subject.native:
                return feed_all(parser.start_stream(**self._context(ctx)), grouped)
            return feed_all(SeedCaller(parser), grouped, SEED_CALL)

        yield replay(self.name, grouped, run)

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        parser = _vllm_parser(subject, ctx)
        if subject.native:
            return _parse(parser, Context(ctx.label, **self._context(ctx)), text, ids, problems)
        return _whole(parser, ctx.request, text, problems)


def _parse_text_with_request(subject: Subject, ctx: Context, text: str, problems: list[str] | None) -> Split:
    """What a text-only engine expects: the parser's split of the text, with only the request."""
    return _parse(subject.new_parser(), Context(ctx.label, request=ctx.request), text, None, problems)


class Sglang(Driver):
    name = "sglang"
    summary = "text only, in increments of 1-6 deltas of varying size, then a final flush (finish())"
    passes_ids = False
    sizes = (1, 3, 2, 6, 1, 4)

    def supports(self, subject: Subject, ctx: Context) -> bool:
        # the request reaches a native stream (its top-level fields too), not the seed method
        if not _request_only(ctx) or _chat_template_kwargs(ctx.request):
            return False
        return subject.native or not _top_level_switches(ctx.request)

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        pieces = regroup(_text_only(deltas), self.sizes)
        yield replay(self.name, pieces, lambda: _text_stream(subject.new_parser(), ctx, pieces))

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        return _parse_text_with_request(subject, ctx, text, problems)


class Trtllm(Driver):
    name = "trtllm"
    summary = "parse(text) for the whole output; parse_delta(delta) per delta, text only, then finish()"
    passes_ids = False
    reference = "parse()"

    def supports(self, subject: Subject, ctx: Context) -> bool:
        return _request_only(ctx) if subject.native else _is_default(ctx)

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        pieces = _text_only(deltas)
        yield replay(self.name, pieces, lambda: _text_stream(subject.new_parser(), ctx, pieces))

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        return _parse_text_with_request(subject, ctx, text, problems)


# FastDeploy derives model_status from the prompt; a context maps to one when it says where the
# output starts.
_MODEL_STATUS = {
    "reasoning": "think_start",
    "think_start": "think_start",
    "content": "think_end",
    "think_end": "think_end",
    "response": "response_start",
    "response_start": "response_start",
    "tool_call": "tool_call_start",
    "tool_call_start": "tool_call_start",
}


def model_status(ctx: Context, start: str | None, end: str | None) -> str | None:
    """The ``model_status`` FastDeploy would pass for ``ctx`` (None when it has no equivalent)."""
    if ctx.mode is not None:
        return _MODEL_STATUS.get(str(getattr(ctx.mode, "value", ctx.mode)))
    prompt = ctx.prompt_text
    if prompt is None or start is None:
        return None
    tail = prompt.rstrip()
    if end is not None and tail.endswith(end):
        return "think_end"
    if tail.endswith(start):
        return "think_start"
    return None


class Fastdeploy(Driver):
    name = "fastdeploy"
    summary = (
        "model_status (think_start / think_end / response_start, derived from the prompt) as a trailing "
        "positional argument of both extraction methods"
    )

    def unavailable(self, subject: Subject) -> str | None:
        parser_cls = subject.parser_cls
        refused = [
            f"{name}()"
            for name, count in (("extract_reasoning_content", 4), ("extract_reasoning_content_streaming", 8))
            if not _accepts_trailing(getattr(parser_cls, name, None), count)
        ]
        if refused:
            verb = "does" if len(refused) == 1 else "do"
            return f"{' and '.join(refused)} {verb} not accept model_status as a trailing argument"
        return None

    def extra_contexts(self, subject: Subject, known: Sequence[Started]) -> list[Started]:
        if self.unavailable(subject) is not None:
            return []
        covered = {self._status(subject, started.ctx) for started in known}
        statuses = [("think_start", "reasoning"), ("think_end", "content")]
        if subject.markers is not None and subject.markers.content_wrapper:
            statuses.append(("response_start", "response"))
        return [
            Started(Context(f"model_status={status}", request=default_request(), mode=status), starts)
            for status, starts in statuses
            if status not in covered
        ]

    def _status(self, subject: Subject, ctx: Context) -> str | None:
        markers = subject.markers
        status = model_status(ctx, markers.start if markers else None, markers.end if markers else None)
        if ctx.prompt_token_ids is not None and status is None and markers is not None and markers.start:
            ids = subject.single_token_ids()
            tail = list(ctx.prompt_token_ids)[-4:]
            if markers.end in ids and ids[markers.end] in tail:
                status = "think_end"
            elif markers.start in ids and ids[markers.start] in tail:
                status = "think_start"
        return status

    def supports(self, subject: Subject, ctx: Context) -> bool:
        return self._status(subject, ctx) is not None and not _chat_template_kwargs(ctx.request)

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        status = self._status(subject, ctx)
        yield replay(
            f"{self.name} {status}", list(deltas),
            lambda: feed_all(SeedCaller(subject.new_parser(), extra=(status,)), deltas, SEED_CALL),
        )

    def expected(
        self, subject: Subject, ctx: Context, text: str, ids: Sequence[int] | None = None,
        problems: list[str] | None = None,
    ) -> Split:
        return _whole(subject.new_parser(), ctx.request, text, problems, self._status(subject, ctx))


class Lmdeploy(Driver):
    name = "lmdeploy"
    summary = (
        "ONE instance shared by 3 concurrent requests, calls interleaved round-robin (by keyword): the "
        "request under test, a twin with the same output in lockstep, and the same deltas rotated by half "
        "(another output, equal lengths per character); finish() right after each request's last delta"
    )

    def runs(self, subject: Subject, ctx: Context, deltas: Sequence[Delta]) -> Iterator[Sent]:
        deltas = [(text, list(ids or ())) for text, ids in deltas]
        other_text, other = companion(subject, deltas)
        results: list[Streamed] = []

        def shared() -> Streamed:
            results.extend(interleave(subject.new_parser(), [deltas, list(deltas), other]))
            return results[0]

        replay(self.name, deltas, shared)
        target, twin, different = results
        if twin.split != target.split:
            raise failed(
                self.name,
                f"[{ctx.label}] two requests with the same output {short(''.join(t for t, _ in deltas), 50)} "
                f"advancing in lockstep through one shared instance got {target.split} and {twin.split}",
            )
        alone = replay(self.name, other, lambda: interleave(subject.new_parser(), [other])[0]).streamed
        if different.split != alone.split:
            raise failed(
                self.name,
                f"[{ctx.label}] a concurrent request {short(other_text, 50)} sharing the instance got "
                f"{different.split}; alone it gets {alone.split}",
            )
        yield Sent(self.name, deltas, target)


def companion(subject: Subject, deltas: Sequence[Delta]) -> tuple[str, list[Delta]]:
    """A different output of the same length: the deltas rotated by half (the same tokens in
    another order), so per-character requests pass equal lengths of previous_text on every call.
    A single delta is rotated by half its text (and re-tokenized when it carries ids)."""
    if len(deltas) > 1:
        half = len(deltas) // 2
        out = [(text, list(ids or ())) for text, ids in (*deltas[half:], *deltas[:half])]
        return "".join(text for text, _ in out), out
    text = "".join(t for t, _ in deltas)
    other = text[len(text) // 2 :] + text[: len(text) // 2]
    tokenizer = subject.tokenizer
    with_ids = any(ids for _, ids in deltas) and tokenizer is not None
    return other, [(other, list(tokenizer.encode(other, add_special_tokens=False)) if with_ids else [])]


def interleave(shared: Any, requests: Sequence[Sequence[Delta]], keywords: bool = True) -> list[Streamed]:
    """Requests through ONE parser instance, one call each in turn (round-robin); each request's
    finish() comes right after its last delta, before any other call."""
    callers = [SeedCaller(shared, keywords=keywords) for _ in requests]
    outs = [Streamed(Split(None, None)) for _ in requests]
    sections = [["", ""] for _ in requests]

    def take(index: int, message: Any, where: str) -> None:
        r, c = read_message(message, where, outs[index].problems)
        outs[index].deltas.append((r, c))
        sections[index][0] += r
        sections[index][1] += c

    longest = max((len(d) for d in requests), default=0)
    for step in range(longest):
        for index, deltas in enumerate(requests):
            if step < len(deltas):
                take(index, callers[index].feed(*deltas[step]), f"{SEED_CALL} of delta {step} (request {index + 1})")
                if step == len(deltas) - 1:
                    take(index, callers[index].finish(), f"finish() (request {index + 1})")
    for index, deltas in enumerate(requests):
        if not deltas:
            take(index, callers[index].finish(), f"finish() (request {index + 1})")
        outs[index].split = Split.of(*sections[index])
    return outs


def failed(label: str, message: str) -> CheckFailed:
    """A failure found under the driver (or driver variant) ``label``."""
    return CheckFailed(message, driver=label)


DRIVERS: dict[str, Driver] = {
    driver.name: driver for driver in (Ours(), Vllm(), VllmMulti(), Sglang(), Lmdeploy(), Fastdeploy(), Trtllm())
}
