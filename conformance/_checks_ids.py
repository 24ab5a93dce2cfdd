"""Token ids: the id path agrees with the text path, and the reasoner agrees with the parser."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from reasoning_plugins import Capability, ReasoningParser

from ._checks_stream import driver_contexts
from ._drive import Delta, blank_tokens, per_token, read_message, regroup, run_parse
from ._drivers import Driver, failed
from ._registry import MARKERS, REASONER, TOKENIZER, check
from ._relations import content_ids_problem
from ._results import CheckFailed, CheckSkipped, short
from ._samples import Sample, Started, adversarial, contexts, samples_for
from ._subject import Subject

__all__ = ["marker_id_without_text", "reasoner_agrees", "reasoner_consistency", "reasoning_end_ids", "token_ids_agree"]


def _ids(deltas: Sequence[Delta]) -> list[int]:
    return [i for _, d in deltas for i in d or ()]


def _id_driver(driver: Driver) -> None:
    if not driver.passes_ids:
        raise CheckSkipped(f"engine:{driver.name}", f"{driver.name} passes the parser no token ids")


@check(requires=(Capability.TOKEN_IDS,), needs=("parser", TOKENIZER), driven=True)
def token_ids_agree(subject: Subject, driver: Driver) -> None:
    """Given token ids or not, streamed or not, in deltas of 1, 3 or 17-40 tokens, the parser
    splits an output the same way.

    Engines differ in whether they pass ids and how many tokens a delta holds; a parser that
    matches markers by id must reach the answer it reaches from the text.
    """
    _id_driver(driver)
    kinds: set[str | None] = set()
    extra = adversarial(subject.markers)
    for started in driver_contexts(subject, driver):
        ctx = started.ctx
        first_of_kind = started.starts not in kinds
        kinds.add(started.starts)
        for sample in samples_for(subject, started) + (extra if first_of_kind else []):
            text, deltas = per_token(subject.tokenizer, sample.text)
            ids = _ids(deltas)
            want = driver.expected(subject, ctx, text)
            with_ids = driver.expected(subject, ctx, text, ids)
            if with_ids != want:
                raise CheckFailed(f"[{ctx.label}] {driver.reference} with ids of {short(text)} gave {with_ids}; without ids {want}")
            runs = {
                "stream per token with ids": deltas,
                "stream per token without ids": [(t, None) for t, _ in deltas],
                "stream in 3-token deltas with ids": regroup(deltas, [3]),
            }
            if len(deltas) > 16:
                runs["stream in 17-40-token deltas with ids"] = regroup(deltas, [17, 40, 23, 31])
            for how, chunks in runs.items():
                for sent in driver.runs(subject, ctx, chunks):
                    if sent.streamed.split != want:
                        raise failed(
                            sent.label,
                            f"[{ctx.label}] {how} of {short(text)} gave {sent.streamed.split}; "
                            f"{driver.reference} without ids gave {want}",
                        )


@check(requires=(Capability.TOKEN_IDS,), excluded_by=(Capability.PASS_THROUGH,), needs=("parser", MARKERS, TOKENIZER), driven=True)
def marker_id_without_text(subject: Subject, driver: Driver) -> None:
    """A start or end marker that arrives as its token id with empty text (an engine decoding
    with skip_special_tokens=True) still opens or closes reasoning.

    Users of engines that hide special tokens get the same split as everyone else.
    """
    _id_driver(driver)
    markers = subject.markers
    assert markers is not None
    single = subject.single_token_ids()
    blanked = frozenset(single[m] for m in (markers.start, markers.end) if m and m in single)
    if not blanked:
        raise CheckSkipped("tokenizer", f"no start or end marker is a single token of the {subject.tokenizer_name} tokenizer")
    for started in driver_contexts(subject, driver):
        ctx = started.ctx
        for sample in samples_for(subject, started):
            text, deltas = per_token(subject.tokenizer, sample.text)
            quiet = blank_tokens(deltas, blanked)
            if quiet == deltas:
                continue
            want = driver.expected(subject, ctx, text, _ids(deltas))
            for how, chunks in (("per token", quiet), ("in 4-token deltas", regroup(quiet, [4]))):
                for sent in driver.runs(subject, ctx, chunks):
                    if sent.streamed.split != want:
                        raise failed(
                            sent.label,
                            f"[{ctx.label}] {how} with marker text hidden, {short(text)}: gave "
                            f"{sent.streamed.split}; with the text {want}",
                        )


def _overrides(parser_cls: Any, name: str) -> bool:
    """Whether ``parser_cls`` implements ``name`` itself (not only our base class's default)."""
    method = getattr(parser_cls, name, None)
    return method is not None and method is not getattr(ReasoningParser, name, None)


@check(needs=("parser", MARKERS, TOKENIZER), driven=True, engines=("vllm",))
def reasoning_end_ids(subject: Subject, driver: Driver) -> None:
    """``is_reasoning_end`` and ``extract_content_ids``, called on the output's token ids as
    vLLM's structured output calls them, agree with the split: over growing prefixes
    ``is_reasoning_end`` turns True on the token that ends reasoning and never back, and the
    content ids decode to the content.

    vLLM starts applying a JSON schema or regex when ``is_reasoning_end`` says so; too early
    constrains the thinking, too late (or never) lets the answer escape the grammar. A
    'pass-through' parser splits nothing, so its ``is_reasoning_end`` is held to where the model's
    thinking ends (the end marker, where the context starts in reasoning) and its
    ``extract_content_ids`` to every id.
    """
    pass_through = subject.pass_through is not None
    for name in ("is_reasoning_end", "extract_content_ids"):
        if not _overrides(subject.parser_cls, name):
            raise CheckSkipped(
                "is-reasoning-end", f"the parser does not implement {name}() (vLLM's structured output needs it)"
            )
    markers = subject.markers
    assert markers is not None
    single = subject.single_token_ids()
    if markers.end not in single:
        raise CheckSkipped("tokenizer", f"the end marker {markers.end!r} is not a single token of the {subject.tokenizer_name} tokenizer")
    tokenizer = subject.tokenizer
    enders = (markers.end, *markers.implicit_ends)
    for started in driver_contexts(subject, driver):
        ctx = started.ctx
        for sample in samples_for(subject, started):
            text, deltas = per_token(tokenizer, sample.text)
            ids = _ids(deltas)
            if not ids:
                continue
            want = driver.expected(subject, ctx, text)
            parser = driver.parser(subject, ctx)  # type: ignore[attr-defined]
            where = f"[{ctx.label}] {short(text, 60)}"
            flags = [bool(parser.is_reasoning_end(ids[:k])) for k in range(1, len(ids) + 1)]
            if True in flags and not all(flags[flags.index(True):]):
                back = flags.index(False, flags.index(True)) + 1
                raise CheckFailed(f"{where}: is_reasoning_end turned True, then False again after {back} ids")
            if pass_through:
                ended = started.starts == "content" or any(marker in text for marker in enders)
            else:
                ended = any(marker in text for marker in enders) or (want.content is not None and want.reasoning is None)
            if flags[-1] != ended:
                raise CheckFailed(
                    f"{where}: is_reasoning_end(all ids) is {flags[-1]}, but the split {want} "
                    f"{'ended' if ended else 'never ended'} reasoning"
                )
            if ended and any(marker in text for marker in enders):
                flip = flags.index(True)
                decoded = tokenizer.decode(ids[: flip + 1], skip_special_tokens=False, clean_up_tokenization_spaces=False)
                before = tokenizer.decode(ids[:flip], skip_special_tokens=False, clean_up_tokenization_spaces=False)
                if not any(marker in decoded for marker in enders) or any(marker in before for marker in enders):
                    raise CheckFailed(
                        f"{where}: is_reasoning_end turned True after {short(decoded[-40:], 50)}, "
                        "not on the token that ends reasoning"
                    )
            content_ids = list(parser.extract_content_ids(ids))
            if pass_through:
                if content_ids != ids:
                    raise CheckFailed(f"{where}: extract_content_ids gave {short(content_ids, 40)}; a pass-through parser's content is every id")
                continue
            decoded = tokenizer.decode(content_ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            content = want.content
            blank = content[: len(content) - len(content.lstrip())] if content and started.starts == "await" else ""
            if blank and not decoded.startswith(blank):
                # whitespace before the first word, while the start marker may still come: the
                # id methods keep it from the grammar, as the tracker does (see reasoner_agrees)
                content = content[len(blank):] or None
            problem = content_ids_problem(decoded, content, subject)
            if problem and (decoded or content):
                raise CheckFailed(
                    f"{where}: extract_content_ids gave ids decoding to {short(decoded, 50)}; the content is {short(want.content, 50)}"
                )


def _reasoner(subject: Subject) -> Any:
    try:
        return subject.new_reasoner()
    except Exception as exc:
        raise CheckSkipped(
            "tokenizer",
            f"the reasoner cannot be built from the {subject.tokenizer_name} tokenizer "
            f"({type(exc).__name__}: {exc}); pass --tokenizer with the model family's tokenizer",
        ) from exc


def _id_cases(subject: Subject) -> Iterator[tuple[Started, Sample]]:
    for started in contexts(subject):
        if started.ctx.prompt_text is not None:
            continue  # reasoners see token ids only
        for sample in samples_for(subject, started):
            yield started, sample


@check(needs=("parser", REASONER, TOKENIZER))
def reasoner_agrees(subject: Subject) -> None:
    """The reasoner (guided decoding) and the parser agree, token by token, on where reasoning ends.

    Every token the parser turns into reasoning the reasoner counts as reasoning (no grammar
    applies to it); every token the parser turns into content the reasoner counts as content;
    ``is_reasoning_end`` over growing prefixes flips exactly there, and ``extract_content_ids``
    returns the tokens the parser made content. Structured output would otherwise constrain the
    model's thinking, or miss the start of its answer.

    A 'pass-through' parser has no reasoning section to agree with: its content is checked to be
    its prefix and the output, token by token, while the reasoner, its whole-sequence methods and
    the parser's ``is_reasoning_end`` agree on where the thinking ends (the token completing the
    end marker), and ``extract_content_ids`` of the parser returns every id.
    """
    reasoner = _reasoner(subject)
    if subject.pass_through is not None:
        _pass_through_agrees(subject, reasoner)
        return
    tokenizer = subject.tokenizer
    for started, sample in _id_cases(subject):
        ctx = started.ctx
        text, deltas = per_token(tokenizer, sample.text)
        ids = _ids(deltas)
        tracker = reasoner.start(list(ctx.prompt_token_ids or ()), request=ctx.request, mode=ctx.mode)
        initially_ended = not tracker.in_reasoning
        stream = subject.new_parser().start_stream(**ctx.kwargs())
        problems: list[str] = []
        in_reasoning: list[bool] = []  # per token: the tracker counts it as reasoning
        ended_after: list[bool] = []  # per token: reasoning has ended once it is fed
        where = f"[{ctx.label}] {short(text, 60)}"
        for index, (piece, token) in enumerate(deltas):
            is_reasoning = bool(tracker.feed(token[0]))  # type: ignore[index]
            in_reasoning.append(is_reasoning)
            ended_after.append(not tracker.in_reasoning)
            r, c = read_message(stream.feed(piece, token), "feed()", problems)
            # Reasoning may be text held back from earlier tokens, so it only needs reasoning to
            # have been open before this token; content needs reasoning ended by this token.
            was_reasoning = not ended_after[index - 1] if index else not initially_ended
            if r and not was_reasoning:
                raise CheckFailed(f"{where}: the parser made {short(r, 30)} reasoning at token {index} ({short(piece, 20)}), after the reasoner saw reasoning end")
            if c and not ended_after[index]:
                raise CheckFailed(f"{where}: the parser made {short(c, 30)} content at token {index} ({short(piece, 20)}), the reasoner still counts that token as reasoning")
        r, c = read_message(stream.finish(), "finish()", problems)
        if c and tracker.in_reasoning:
            raise CheckFailed(f"{where}: finish() released content {short(c, 30)} though the reasoner never saw reasoning end")
        content_ids = [t for t, reasoning in zip(ids, in_reasoning) if not reasoning]
        parsed = run_parse(subject.new_parser(), ctx, text, ids)
        decoded = tokenizer.decode(content_ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        content = parsed.content
        blank = _withheld_blank(ids, in_reasoning, tokenizer)
        if blank and content and content.startswith(blank) and not decoded.startswith(blank):
            # Whitespace before the model's first word, while it may still open reasoning
            # (await_start): withheld from the grammar, yet content in the text if no start
            # marker follows.
            content = content[len(blank):] or None
        problem = content_ids_problem(decoded, content, subject)
        if problem:
            raise CheckFailed(f"{where}: the tokens the reasoner counts as content decode to {short(decoded, 50)}, the parser's content is {short(parsed.content, 50)}")
        # Whole-sequence methods know no request or prompt unless told (``bind``, as vLLM builds
        # one per request with its chat_template_kwargs): other contexts only where both can be.
        parser = subject.new_parser()
        if ctx.label != "default":
            if not (hasattr(parser, "bind") and hasattr(reasoner, "bind")):
                continue
            parser.bind(**ctx.kwargs())
            whole = subject.new_reasoner().bind(ctx.request, prompt_token_ids=ctx.prompt_token_ids, mode=ctx.mode)
        else:
            whole = reasoner
        flips = [k for k in range(len(ids) + 1) if whole.is_reasoning_end(ids[:k])]
        for k in range(1, len(ids) + 1):
            by_reasoner = whole.is_reasoning_end(ids[:k])
            if by_reasoner != ended_after[k - 1]:
                raise CheckFailed(f"{where}: is_reasoning_end(first {k} ids) is {by_reasoner} but the per-token tracker says {ended_after[k - 1]}")
            by_parser = parser.is_reasoning_end(ids[:k])
            if by_parser != by_reasoner:
                raise CheckFailed(f"{where}: after {k} ids the parser's is_reasoning_end says {by_parser}, the reasoner's {by_reasoner}")
        if flips and flips != list(range(flips[0], len(ids) + 1)):
            raise CheckFailed(f"{where}: is_reasoning_end over growing prefixes flips back to False after turning True")
        extracted = list(whole.extract_content_ids(ids))
        if extracted != content_ids:
            raise CheckFailed(f"{where}: extract_content_ids gave {short(extracted, 40)}, the tracker's content tokens are {short(content_ids, 40)}")
        if list(parser.extract_content_ids(ids)) != extracted:
            raise CheckFailed(f"{where}: the parser's extract_content_ids disagrees with the reasoner's")


def _pass_through_agrees(subject: Subject, reasoner: Any) -> None:
    tokenizer = subject.tokenizer
    markers = subject.markers
    assert markers is not None
    prefix = subject.pass_through or ""
    for started, sample in _id_cases(subject):
        ctx = started.ctx
        text, deltas = per_token(tokenizer, sample.text)
        ids = _ids(deltas)
        where = f"[{ctx.label}] {short(text, 60)}"
        tracker = reasoner.start(list(ctx.prompt_token_ids or ()), request=ctx.request, mode=ctx.mode)
        stream = subject.new_parser().start_stream(**ctx.kwargs())
        problems: list[str] = []
        reasoning, content = "", ""
        in_reasoning, ended_after = [], []
        for piece, token in deltas:
            in_reasoning.append(bool(tracker.feed(token[0])))  # type: ignore[index]
            ended_after.append(not tracker.in_reasoning)
            r, c = read_message(stream.feed(piece, token), "feed()", problems)
            reasoning, content = reasoning + r, content + c
        r, c = read_message(stream.finish(), "finish()", problems)
        reasoning, content = reasoning + r, content + c
        if reasoning or content != prefix + text:
            raise CheckFailed(f"{where}: streamed per token gave reasoning={short(reasoning or None, 30)}, "
                              f"content={short(content, 50)}; a pass-through parser promises {short(prefix + text, 50)}")
        if started.starts == "reasoning":
            want = [False] * len(ids)
            if markers.end in text:
                flip = next(k for k in range(len(ids)) if markers.end in tokenizer.decode(ids[: k + 1], skip_special_tokens=False))
                want[flip:] = [True] * (len(ids) - flip)
            if ended_after != want:
                raise CheckFailed(f"{where}: the tracker sees the thinking end after tokens {ended_after}; the end marker is at {want}")
        parser = subject.new_parser()
        whole = reasoner
        if ctx.label != "default":
            parser.bind(**ctx.kwargs())
            whole = subject.new_reasoner().bind(ctx.request, prompt_token_ids=ctx.prompt_token_ids, mode=ctx.mode)
        for k in range(1, len(ids) + 1):
            by_reasoner, by_parser = whole.is_reasoning_end(ids[:k]), parser.is_reasoning_end(ids[:k])
            if not by_reasoner == by_parser == ended_after[k - 1]:
                raise CheckFailed(f"{where}: after {k} ids is_reasoning_end says {by_parser} (parser), {by_reasoner} "
                                  f"(reasoner); the per-token tracker says {ended_after[k - 1]}")
        grammar_ids = [t for t, thinking in zip(ids, in_reasoning) if not thinking]
        if list(whole.extract_content_ids(ids)) != grammar_ids:
            raise CheckFailed(f"{where}: the reasoner's extract_content_ids disagrees with its tracker's content tokens")
        if list(parser.extract_content_ids(ids)) != ids:
            raise CheckFailed(f"{where}: the parser's extract_content_ids is not every id (all of the output is content)")


def _withheld_blank(ids: list[int], in_reasoning: list[bool], tokenizer: Any) -> str:
    """The text of the leading whitespace-only tokens the tracker kept from the grammar."""
    count = 0
    while count < len(ids) and in_reasoning[count]:
        if tokenizer.decode([ids[count]], skip_special_tokens=False).strip():
            break
        count += 1
    return tokenizer.decode(ids[:count], skip_special_tokens=False, clean_up_tokenization_spaces=False) if count else ""


@check(needs=(REASONER, TOKENIZER))
def reasoner_consistency(subject: Subject) -> None:
    """The reasoner's own answers fit together, and its forced end really ends reasoning.

    ``force_end_token_ids`` fed after any reasoning prefix ends reasoning for the tracker and for
    ``is_reasoning_end``, and contains the end marker. A reasoning budget relies on this to stop
    the model thinking and let the grammar start.
    """
    reasoner = _reasoner(subject)
    if hasattr(reasoner, "bind"):
        # A budget runs out only while the request thinks: the whole-sequence methods are told
        # so (a format whose thinking is off unless asked reads a bare output as content).
        reasoner.bind(mode="reasoning")
    tokenizer = subject.tokenizer
    force = list(reasoner.force_end_token_ids)
    if not force:
        raise CheckFailed("force_end_token_ids is empty: a reasoning budget could never end reasoning")
    prefixes = ["", "Let me think.", "Let me think step by step about 6 * 7\n"]
    for text in prefixes:
        ids = list(tokenizer.encode(text, add_special_tokens=False))
        tracker = reasoner.start([], request=None, mode="reasoning")
        if not tracker.in_reasoning:
            raise CheckFailed("a tracker started with mode='reasoning' is not in reasoning")
        for token in ids:
            if not tracker.feed(token):
                raise CheckFailed(f"plain reasoning text {short(text, 40)} ended reasoning at token {token}")
        for token in force:
            tracker.feed(token)
        if tracker.in_reasoning:
            raise CheckFailed(f"after force_end_token_ids {force} the tracker is still in reasoning")
        if not reasoner.is_reasoning_end(ids + force):
            raise CheckFailed(f"is_reasoning_end(prefix + force_end_token_ids {force}) is False")
        if list(reasoner.extract_content_ids(ids + force)):
            raise CheckFailed("extract_content_ids(prefix + force_end_token_ids) is not empty: the forced end is not all reasoning")
    if subject.parser_cls is not None and subject.markers is not None:
        forced = tokenizer.decode(force, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if subject.markers.end not in forced:
            raise CheckFailed(f"force_end_token_ids decode to {forced!r}, which lacks the end marker {subject.markers.end!r}")
