"""One sequence's per-token rules (``_sequence.Seq.take``), as ``Llama.create_completion`` applies them: no model."""

from __future__ import annotations

from bench_runner_core.plugins.llama._sequence import Seq
from bench_runner_core.records import GenerationParams


def _seq(stops: list[str], max_tokens: int = 100, prompt: list[int] | None = None) -> Seq:
    return Seq(prompt or [1, 2, 3], stops, GenerationParams(max_tokens=max_tokens), max_tokens)


def test_a_stop_sequence_ends_the_text_before_it() -> None:
    seq = _seq(["\ndef "])
    assert seq.take(10, b"return 1", cells=100) is None
    assert seq.next_row == 10
    assert seq.take(11, b"\ndef g", cells=100) == "stop"
    assert seq.decoded("stop", None).text == "return 1"
    assert seq.decoded("stop", None).completion_tokens == 2


def test_no_stop_while_a_character_is_unfinished() -> None:
    seq = _seq(["\n"])
    # "€" is three bytes; the stop comes in the token that ends it
    assert seq.take(10, b"a\n\xe2", cells=100) is None  # a stop, but a character is unfinished
    assert seq.take(11, b"\x82", cells=100) is None
    assert seq.take(12, b"\xac", cells=100) == "stop"
    assert seq.decoded("stop", None).text == "a"


def test_the_budget_and_a_full_stream_end_the_sequence() -> None:
    seq = _seq([], max_tokens=2)
    assert seq.take(10, b"x", cells=100) is None
    assert seq.take(11, b"y", cells=100) == "length"
    full = _seq([], max_tokens=100, prompt=[1, 2, 3])
    assert full.take(10, b"x", cells=4) is None
    assert full.take(11, b"y", cells=4) == "length"  # 3 prompt + 2 generated tokens > 4 cells
    assert full.decoded("length", None).text == "xy"
