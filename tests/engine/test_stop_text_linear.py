"""Stop-string matching keeps only the text it holds back, so each token costs the same at any length."""

from __future__ import annotations

import random

from core_engine.stop_text import StopTextBuffer


def test_held_text_stays_shorter_than_the_longest_stop_string() -> None:
    """Over 50,000 small deltas the buffer never keeps more than ``longest - 1`` characters, and emits the text unchanged."""
    stops = ["</answer>", "STOP"]
    rng = random.Random(0)
    alphabet = "<>/answerSTO \n"     # starts of stop strings come often and are then broken off
    buffer = StopTextBuffer(stops)
    sent, emitted = [], []
    held = 0
    for _ in range(50_000):
        delta = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        text, stopped = buffer.push(delta)
        assert not stopped
        sent.append(delta)
        emitted.append(text)
        assert len(buffer.held) <= max(map(len, stops)) - 1
        held = max(held, len(buffer.held))
    assert held >= 3    # starts of the stop strings did come and were held back
    emitted.append(buffer.flush())
    assert "".join(emitted) == "".join(sent)


def test_a_stop_string_split_across_many_deltas_after_a_long_text() -> None:
    """A stop string arriving one character at a time after 40,000 characters is found and cut."""
    buffer = StopTextBuffer(["<|end|>"])
    out = [buffer.push("x" * 40_000)[0]]
    for char in "ab<|end|>tail":
        text, stopped = buffer.push(char)
        out.append(text)
        if stopped:
            break
    assert stopped and "".join(out) == "x" * 40_000 + "ab"
    assert buffer.held == ""
