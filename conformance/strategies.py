"""Hypothesis strategies for reasoning outputs, exported for plugin authors' own tests.

Example::

    from hypothesis import given
    from conformance import Markers, strategies as cs

    THINK = Markers(start="<think>", end="</think>")

    @given(cs.marker_soup(THINK), cs.cut_points())
    def test_my_parser_streams_like_it_parses(text, cuts):
        ...
"""

from __future__ import annotations

from hypothesis import strategies as st

from ._samples import _TOOL_JSON, _UNICODE_WORDS, _WORDS
from ._subject import Markers

__all__ = [
    "any_text",
    "body_text",
    "cut_points",
    "group_sizes",
    "marker_pieces",
    "marker_soup",
    "well_formed",
]


def any_text(max_size: int = 80) -> st.SearchStrategy[str]:
    """Arbitrary unicode (control characters, combining marks, astral planes; no lone surrogates)."""
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=max_size)


def body_text(markers: Markers | None = None, max_words: int = 12) -> st.SearchStrategy[str]:
    """Realistic words and unicode, free of the markers' first and last characters."""
    avoid = markers.edge_chars if markers else frozenset()
    pool = [w for w in (*_WORDS, *_UNICODE_WORDS) if not set(w) & avoid]
    separators = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  "])
    return st.lists(st.tuples(st.sampled_from(pool), separators), max_size=max_words).map(
        lambda pairs: "".join(w + s for w, s in pairs)
    )


def marker_pieces(markers: Markers) -> st.SearchStrategy[str]:
    """Whole markers and their fragments (prefixes, suffixes, upper-cased near misses)."""
    every = markers.every
    fragments = sorted({m[:k] for m in every for k in range(1, len(m))} | {m[k:] for m in every for k in range(1, len(m))})
    return st.one_of(
        st.sampled_from(every),
        st.sampled_from(fragments),
        st.sampled_from(every).map(str.upper),
    )


def marker_soup(markers: Markers, max_pieces: int = 14) -> st.SearchStrategy[str]:
    """Text mixing markers, marker fragments, whitespace, words and arbitrary unicode."""
    piece = st.one_of(
        marker_pieces(markers),
        body_text(markers, max_words=4),
        st.sampled_from(["\n", "\n\n", " ", "\r\n", "\t"]),
        any_text(max_size=6),
    )
    return st.lists(piece, max_size=max_pieces).map("".join)


@st.composite
def well_formed(draw: st.DrawFn, markers: Markers) -> str:
    """An output with markers only where they act as markers (start optional, wrapper, tool call)."""
    text = body_text(markers)
    out = []
    if markers.start and draw(st.booleans()):
        out.append(markers.start + draw(st.sampled_from(["", "\n"])))
    out.append(draw(text))
    ending = draw(st.sampled_from(["end", "end", "truncated", "implicit"]))
    if ending == "implicit" and markers.implicit_ends:
        out.append(draw(st.sampled_from(markers.implicit_ends)) + _TOOL_JSON)
        return "".join(out)
    if ending == "truncated":
        return "".join(out)
    out.append(draw(st.sampled_from(["", "\n"])) + markers.end + draw(st.sampled_from(["", "\n", "\n\n"])))
    if markers.content_wrapper and draw(st.booleans()):
        opener, closer = markers.content_wrapper
        out.append(opener + draw(st.sampled_from(["", "\n"])) + draw(text))
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(["", "\n"])) + closer + draw(st.sampled_from(["", "\n"])))
    else:
        out.append(draw(text))
    return "".join(out)


def cut_points(max_cuts: int = 24, max_offset: int = 400) -> st.SearchStrategy[list[int]]:
    """Character offsets to split an output at (out-of-range offsets are ignored)."""
    return st.lists(st.integers(min_value=1, max_value=max_offset), max_size=max_cuts)


def group_sizes() -> st.SearchStrategy[list[int]]:
    """How many tokens each delta carries, cycled (engines batch tokens under load)."""
    return st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=8)
