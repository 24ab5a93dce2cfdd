"""Where output starts: prompt prefilled the start marker, thinking switched off, no markers..."""

from __future__ import annotations

from reasoning_plugins import Capability, Mode, ReasoningFormat

from ._drive import Split, per_char, per_token
from ._drivers import Driver, failed
from ._oracle import expected_split
from ._registry import MARKERS, check
from ._results import CheckFailed, CheckSkipped, short
from ._samples import PROMPT, _request, _switch_request
from ._subject import Context, Subject

__all__ = [
    "mode_empty_block",
    "mode_end_without_start",
    "mode_no_markers",
    "mode_start_in_prompt",
    "mode_thinking_disabled",
    "mode_truncated",
]

REASONING = "Let me add 6 seven times: 42."
ANSWER = "The answer is 42."


class _Cases:
    """Runs a mode check's cases under one driver, skipping the contexts its engine cannot express."""

    def __init__(self, subject: Subject, driver: Driver) -> None:
        self.subject = subject
        self.driver = driver
        self.ran = 0

    def both(self, ctx: Context, text: str) -> Split | None:
        """The driver's expected split of ``text``, after checking its streams (per character
        and per token) agree with it; None when the driver cannot express ``ctx``."""
        subject, driver = self.subject, self.driver
        if not driver.supports(subject, ctx):
            return None
        self.ran += 1
        want = driver.expected(subject, ctx, text)
        runs = [("per character", per_char(text))]
        if subject.tokenizer is not None:
            decoded, deltas = per_token(subject.tokenizer, text)
            if decoded == text:
                runs.append(("per token", deltas))
        for how, deltas in runs:
            for sent in driver.runs(subject, ctx, deltas):
                if sent.streamed.split != want:
                    raise failed(
                        sent.label,
                        f"[{ctx.label}] {short(text)} streamed {how} gave {sent.streamed.split}, {driver.reference} gave {want}",
                    )
        return want

    def expect(self, ctx: Context, text: str, mode: Mode, what: str) -> None:
        """The parser's split of ``text`` equals what its format documents for ``mode`` (for a
        'pass-through' parser: what it promises in every context, its prefix and the output)."""
        fmt = _format(self.subject)
        assert fmt is not None
        got = self.both(ctx, text)
        if got is None:
            return
        prefix = self.subject.pass_through
        if prefix is not None:
            what, want = "pass-through", Split.of("", prefix + text)
        else:
            want = expected_split(fmt, mode, text)
        if got != want:
            raise CheckFailed(f"[{ctx.label}] {what}: {short(text)} gave {got}; the format documents {want}")

    def done(self) -> None:
        if not self.ran:
            raise CheckSkipped(
                f"engine:{self.driver.name}", f"{self.driver.name} cannot express the request contexts this check needs"
            )


def _format(subject: Subject) -> ReasoningFormat | None:
    """The format the checks compare against. A 'pass-through' parser is held to its own promise
    (see :meth:`_Cases.expect`) whatever it declares; one with no format gets its markers' plain
    one, which only decides which outputs and contexts to try."""
    fmt = subject.format
    if fmt is None and subject.pass_through is not None and subject.markers is not None:
        markers = subject.markers
        return ReasoningFormat(start=markers.start, end=markers.end, start_in_output=markers.start is not None)
    return fmt


def _markers(subject: Subject):  # noqa: ANN202 - Markers, asserted present by needs=MARKERS
    markers = subject.markers
    assert markers is not None
    return markers


@check(
    requires=(Capability.START_IN_PROMPT,), excluded_by=(Capability.NO_START_MARKER,), needs=("parser", MARKERS), driven=True
)
def mode_start_in_prompt(subject: Subject, driver: Driver) -> None:
    """When the chat template already wrote the start marker (the prompt ends with it, in text
    or as a token), the output starts in reasoning; when the template closed the block, in content.

    DeepSeek-R1 and QwQ templates prefill ``<think>``; the output then holds only ``</think>``.
    """
    markers = _markers(subject)
    if not markers.start:
        raise CheckSkipped(Capability.NO_START_MARKER, "the format has no start marker")
    run = _Cases(subject, driver)
    text = f"{REASONING}\n{markers.end}\n\n{ANSWER}"
    opened = PROMPT + markers.start + "\n"
    closed = PROMPT + markers.start + "\n\n" + markers.end + "\n\n"
    cases = [
        (Context("prompt opened (text)", request=_request(), prompt_text=opened), Mode.REASONING, text),
        (Context("prompt closed (text)", request=_request(), prompt_text=closed), Mode.CONTENT, ANSWER),
    ]
    tokenizer = subject.tokenizer
    if tokenizer is not None and markers.start in subject.single_token_ids():
        cases += [
            (Context("prompt opened (ids)", request=_request(), prompt_token_ids=tuple(tokenizer.encode(opened, add_special_tokens=False))), Mode.REASONING, text),
            (Context("prompt closed (ids)", request=_request(), prompt_token_ids=tuple(tokenizer.encode(closed, add_special_tokens=False))), Mode.CONTENT, ANSWER),
        ]
    if subject.has(Capability.THINKING_SWITCH):
        # the prompt's tail is what the model saw: it outranks the request's switch
        cases.append((Context("prompt opened, switch off", request=_switch_request(False), prompt_text=opened), Mode.REASONING, text))
    for ctx, mode, output in cases:
        if _format(subject) is not None:
            run.expect(ctx, output, mode, f"the prompt puts output in {mode.value}")
            continue
        got = run.both(ctx, output)
        if got is None:
            continue
        if mode is Mode.REASONING and (got.reasoning or "").strip() != REASONING:
            raise CheckFailed(f"[{ctx.label}] {short(output)} gave {got}; reasoning should be {REASONING!r}")
        if mode is Mode.CONTENT and got != Split(None, ANSWER):
            raise CheckFailed(f"[{ctx.label}] {short(output)} gave {got}; all of it is content")
    run.done()


@check(requires=(Capability.THINKING_SWITCH,), needs=("parser", MARKERS), driven=True)
def mode_thinking_disabled(subject: Subject, driver: Driver) -> None:
    """A request that switches thinking off gets all output as content; switching it on
    restores reasoning. Each switch the format honours is tried on its own.

    Hybrid models answer directly when ``enable_thinking`` (or ``thinking``,
    ``options.thinking_mode``) is off; nothing of the answer may land in reasoning.
    """
    markers = _markers(subject)
    fmt = _format(subject)
    run = _Cases(subject, driver)
    switches = fmt.switches if fmt is not None else ("enable_thinking", "thinking", "thinking_mode")
    for switch in switches:
        for on in (False, True):
            if switch == "thinking_mode":
                kwargs = {"options": {"thinking_mode": "open" if on else "close"}}
            elif switch == "reasoning_effort":
                kwargs = {"reasoning_effort": "high" if on else "none"}
            else:
                kwargs = {switch: on}
            ctx = Context(f"{switch}={on}", request=_request(chat_template_kwargs=kwargs))
            if not on:
                if fmt is not None:
                    run.expect(ctx, ANSWER, Mode.CONTENT, "thinking is off")
                    if fmt.leading_end_is_markup:
                        run.expect(ctx, f"{markers.end}{ANSWER}", Mode.CONTENT, "a stray end marker opens the reply")
                elif run.both(ctx, ANSWER) not in (None, Split(None, ANSWER)):
                    raise CheckFailed(f"[{ctx.label}] {ANSWER!r} did not come back as content only")
                continue
            start = (markers.start or "") if fmt is None or fmt.start_in_output else ""
            output = f"{start}{REASONING}\n{markers.end}\n\n{ANSWER}"
            if fmt is not None:
                run.expect(ctx, output, fmt.thinking_on_mode(), "thinking is on")
                continue
            got = run.both(ctx, output)
            if got is not None and (got.reasoning or "").strip() != REASONING:
                raise CheckFailed(f"[{ctx.label}] {short(output)}: reasoning is not {REASONING!r}")
    for field, value in fmt.thinking_off_values if fmt is not None else ():
        # as the engines read it: in chat_template_kwargs, or the request's own field
        for ctx in (
            Context(f"chat_template_kwargs.{field}={value}", request=_request(chat_template_kwargs={field: value})),
            Context(f"{field}={value}", request=_request(**{field: value})),
            Context(f"{field}={value}, {switches[0]}=True", request=_request(
                chat_template_kwargs={field: value, switches[0]: True})) if switches else None,
        ):
            if ctx is not None:
                run.expect(ctx, ANSWER, Mode.CONTENT, f"{field}={value!r} turns thinking off")
    if subject.has(Capability.MODES):
        ctx = Context("mode=content", request=_switch_request(True), mode="content")
        if fmt is not None:
            run.expect(ctx, ANSWER, Mode.CONTENT, "an explicit mode outranks the request")
        elif run.both(ctx, ANSWER) not in (None, Split(None, ANSWER)):
            raise CheckFailed(f"[{ctx.label}] {ANSWER!r} did not come back as content only")
    run.done()


def _default_ctx() -> Context:
    return Context("default", request=_request())


@check(needs=("parser", MARKERS), driven=True, core=True)
def mode_no_markers(subject: Subject, driver: Driver) -> None:
    """An output with no markers at all lands whole in one section: the one the format's default
    mode names (reasoning for R1 and ERNIE, content for hybrids that write their own start marker).

    Users never see an answer cut in two when the model skipped its markers.
    """
    text = f"{REASONING} {ANSWER}"
    ctx = _default_ctx()
    fmt = _format(subject)
    run = _Cases(subject, driver)
    if fmt is not None:
        run.expect(ctx, text, fmt.default_mode, f"default mode {fmt.default_mode.value}")
    else:
        got = run.both(ctx, text)
        if got is not None and got not in (Split(text, None), Split(None, text)):
            raise CheckFailed(f"{short(text)} gave {got}; it must land whole in one section")
    run.done()


@check(needs=("parser", MARKERS), driven=True, core=True)
def mode_truncated(subject: Subject, driver: Driver) -> None:
    """Output cut off inside reasoning (start marker, no end marker: a max_tokens stop) is all
    reasoning, content None.

    A user whose request hit max_tokens while the model thought sees the thinking, not a
    half-thought presented as the answer.
    """
    markers = _markers(subject)
    fmt = _format(subject)
    run = _Cases(subject, driver)
    cases = []
    if markers.start:
        cases.append((_default_ctx(), f"{markers.start}\n{REASONING} And then", Mode.AWAIT_START))
    if fmt is None or fmt.default_mode is Mode.REASONING:
        cases.append((_default_ctx(), f"{REASONING} And then", Mode.REASONING))
    if subject.has(Capability.MODES):
        cases.append((Context("mode=reasoning", request=_request(), mode="reasoning"), f"{REASONING} And then", Mode.REASONING))
    for ctx, text, mode in cases:
        if fmt is not None:
            if mode is Mode.AWAIT_START and fmt.default_mode is not Mode.AWAIT_START:
                mode = fmt.default_mode
            run.expect(ctx, text, mode, "truncated reasoning")
            continue
        got = run.both(ctx, text)
        if got is not None and (got.content is not None or REASONING not in (got.reasoning or "")):
            raise CheckFailed(f"[{ctx.label}] truncated {short(text)} gave {got}; it is all reasoning")
    run.done()


@check(needs=("parser", MARKERS), driven=True, core=True)
def mode_end_without_start(subject: Subject, driver: Driver) -> None:
    """An end marker with no start marker before it (the template prefilled the start, or the
    format has none) splits the output there: reasoning before, content after.

    This is the everyday DeepSeek-R1 and ERNIE output.
    """
    markers = _markers(subject)
    fmt = _format(subject)
    run = _Cases(subject, driver)
    text = f"{REASONING}\n{markers.end}\n\n{ANSWER}"
    ctx = _default_ctx()
    if fmt is not None:
        run.expect(ctx, text, fmt.default_mode, f"default mode {fmt.default_mode.value}")
    else:
        got = run.both(ctx, text)
        if got is not None and (
            (got.content or "").strip() != ANSWER or markers.end in (got.reasoning or "") + (got.content or "")
        ):
            raise CheckFailed(f"{short(text)} gave {got}; the content is {ANSWER!r} and the marker is gone")
    run.done()


@check(needs=("parser", MARKERS), driven=True, core=True)
def mode_empty_block(subject: Subject, driver: Driver) -> None:
    """An empty reasoning block (``</think>`` first, or ``<think></think>``) gives reasoning
    None, not "", and the content after it.

    Thinking-off templates and budget-0 requests produce exactly this.
    """
    markers = _markers(subject)
    fmt = _format(subject)
    run = _Cases(subject, driver)
    outputs = [f"{markers.end}{ANSWER}"]
    if markers.start:
        outputs.append(f"{markers.start}{markers.end}{ANSWER}")
    ctx = _default_ctx()
    for text in outputs:
        got = run.both(ctx, text)
        if got is None:
            continue
        if got.reasoning is not None:
            raise CheckFailed(f"{short(text)} gave reasoning {got.reasoning!r}; an empty block has reasoning None")
        if fmt is not None:
            mode = fmt.default_mode
            if mode is Mode.AWAIT_START and not text.startswith(markers.start or "\0") and not fmt.leading_end_is_markup:
                continue  # a hybrid's output without its start marker is content by definition
            run.expect(ctx, text, mode, "empty block")
        elif got.content != ANSWER:
            raise CheckFailed(f"{short(text)} gave {got}; the content is {ANSWER!r}")
    run.done()
