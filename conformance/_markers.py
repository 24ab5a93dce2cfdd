"""A parser's markers for the suite: found by :mod:`reasoning_plugins._markers`, given on the command line.

Checks that exercise markers (lossless, no leak, bounded holdback, modes, split markers) need
the marker texts. They are found, in this order:

1. the author, at run time: ``--markers START,END`` (CLI) or ``--conformance-markers`` (pytest);
2. a ``conformance_markers`` class attribute: ``(start, end)`` or a mapping;
3. our ``format`` (a :class:`~reasoning_plugins.ReasoningFormat`);
4. the attributes engines' parsers already carry, on the class or on an instance built with the
   tokenizer: ``start_token``/``end_token``, ``think_start_token``/``think_end_token``,
   ``reasoning_start_str``/``reasoning_end_str``.
"""

from __future__ import annotations

from reasoning_plugins._markers import ATTRIBUTE_PAIRS, Markers, discover_markers

__all__ = ["ATTRIBUTE_PAIRS", "CANNOT_CERTIFY", "Markers", "discover_markers", "parse_markers_option"]

CANNOT_CERTIFY = (
    "cannot certify: the suite cannot find this parser's markers, so no marker check can run; "
    "declare its markers with `conformance_markers = (start, end)` on the class (start None when "
    "the model never writes one), --markers START,END (reasoning-plugins check) or "
    "--conformance-markers START,END (pytest), or give it `start_token`/`end_token` attributes"
)


def parse_markers_option(value: str, flag: str) -> tuple[str, str]:
    """``START,END`` from a command-line option; ValueError naming ``flag`` when it is unusable."""
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError(
            f"{flag} expects START,END (two markers separated by one comma, e.g. {flag} '<think>,</think>'); "
            f"got {value!r}"
        )
    start, end = parts
    if not start or not end:
        raise ValueError(
            f"{flag}: the start and the end marker must both be non-empty, got {value!r}; for a format "
            "without a start marker declare `conformance_markers = (None, END)` on the class"
        )
    if start == end:
        raise ValueError(f"{flag}: the start and end markers must differ, both are {start!r}")
    return start, end
