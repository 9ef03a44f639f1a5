"""The text datasets: standard files in, train / validation / test examples out, each with its template and metric.

A data dir is laid out like the project's shared data (``DIR/gsm8k/train.jsonl``,
``DIR/arc/ARC-Challenge-Test.jsonl``...). The package ships small subsets in the
same layout (``demo_data/``), the default. Splits are fixed by the files and by
row position, never by a seed, so every optimizer and run sees the same splits.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from bench_runner import BadInput, Message
from bench_runner_optimizers import metrics

SPLITS = ("train", "validation", "test")
DEMO_DIR = Path(__file__).resolve().parent / "demo_data"


@attrs.frozen(kw_only=True)
class Example:
    """One item of a split: the messages that ask it, the gold answer, and (for few-shot) a worked reply."""

    id: str
    split: str
    messages: tuple[Message, ...]
    answer: str
    demo: str | None = None


@attrs.frozen(kw_only=True)
class Scored:
    """How one reply scored: a number in [0, 1] and feedback an optimizer may read."""

    score: float
    feedback: str


class TextDataset:
    """A dataset graded in-process by its metric."""

    def __init__(
        self,
        *,
        name: str,
        metric: str,
        instruction: str,
        splits: Mapping[str, Sequence[Example]],
        parse: Callable[[str], str | None],
        compare: Callable[[str, str], float],
        source: str,
    ) -> None:
        self.name = name
        self.metric = metric
        self.instruction = instruction
        self.splits = {split: tuple(splits.get(split, ())) for split in SPLITS}
        self._parse = parse
        self._compare = compare
        self.source = source

    def score(self, example: Example, output: str) -> Scored:
        parsed = self._parse(output)
        if parsed is None:
            return Scored(score=0.0, feedback=f"no answer found in the reply; expected {example.answer!r}")
        value = self._compare(parsed, example.answer)
        if value >= 1.0:
            return Scored(score=1.0, feedback="correct")
        return Scored(score=value, feedback=f"answered {parsed!r}, expected {example.answer!r}")

    def close(self) -> None:
        pass


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    gz = path.with_name(path.name + ".gz")
    opener: Any = gzip.open if not path.exists() and gz.exists() else open
    target = gz if opener is gzip.open else path
    try:
        with opener(target, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError:
                        raise BadInput(f"{target} line {number} is not JSON", "restore the file") from None
    except FileNotFoundError:
        raise BadInput(
            f"dataset file {path} does not exist",
            "pass --data-dir with a folder laid out like the shared data (DIR/gsm8k/train.jsonl, ...)",
        ) from None


def _user(text: str) -> tuple[Message, ...]:
    return (Message(role="user", content=text),)


def _by_position(rows: Sequence[Any], train: set[int], validation: set[int], period: int = 10) -> dict[str, list]:
    split: dict[str, list] = {"train": [], "validation": [], "test": []}
    for i, row in enumerate(rows):
        name = "train" if i % period in train else "validation" if i % period in validation else "test"
        split[name].append((i, row))
    return split


# --- GSM8K -------------------------------------------------------------------

_CALC = re.compile(r"<<[^>]*>>")


def _gsm8k(root: Path) -> TextDataset:
    def example(split: str, i: int, row: dict[str, Any]) -> Example:
        rationale, _, final = row["answer"].rpartition("####")
        answer = final.strip().replace(",", "")
        steps = _CALC.sub("", rationale).strip()
        return Example(
            id=f"gsm8k/{split}/{i}",
            split=split,
            messages=_user(f"Question: {row['question']}"),
            answer=answer,
            demo=f"{steps}\nThe answer is {answer}.",
        )

    # GSM8K has no validation file: every tenth training row is held out for it.
    train_rows = list(_rows(root / "gsm8k" / "train.jsonl"))
    splits: dict[str, list[Example]] = {"train": [], "validation": []}
    for i, row in enumerate(train_rows):
        split = "validation" if i % 10 == 9 else "train"
        splits[split].append(example(split, i, row))
    splits["test"] = [example("test", i, row) for i, row in enumerate(_rows(root / "gsm8k" / "test.jsonl"))]
    return TextDataset(
        name="gsm8k",
        metric="exact_match (number)",
        instruction=(
            "Solve the math word problem. Think step by step, then write the final answer on the last line "
            "as 'The answer is N'."
        ),
        splits=splits,
        parse=metrics.parse_number,
        compare=lambda parsed, gold: float(parsed == metrics.canonical_number(gold)),
        source="gsm8k/{train,test}.jsonl (validation: every 10th training row)",
    )


# --- HotpotQA (distractor setting, 300 training questions) -------------------


def _hotpot(root: Path) -> TextDataset:
    def example(split: str, row: dict[str, Any]) -> Example:
        context = "\n".join(
            f"{title}: {''.join(sentences)}"
            for title, sentences in zip(row["context"]["title"], row["context"]["sentences"], strict=False)
        )
        return Example(
            id=f"hotpot/{row['id']}",
            split=split,
            messages=_user(f"Context:\n{context}\n\nQuestion: {row['question']}"),
            answer=row["answer"],
            demo=f"Answer: {row['answer']}",
        )

    files = {"train": "rpt_distractor_train", "validation": "rpt_distractor_dev", "test": "rpt_distractor_test"}
    splits = {
        split: [example(split, row) for row in _rows(root / "hotpotqa" / f"{name}.jsonl")]
        for split, name in files.items()
    }
    return TextDataset(
        name="hotpot_300",
        metric="f1",
        instruction=(
            "Answer the question using the context. Write a short answer (a few words) on the last line "
            "as 'Answer: ...'."
        ),
        splits=splits,
        parse=metrics.answer_span,
        compare=metrics.token_f1,
        source="hotpotqa/rpt_distractor_{train,dev,test}.jsonl",
    )


# --- ARC (AI2 Reasoning Challenge) ------------------------------------------


def _arc(root: Path) -> TextDataset:
    def example(split: str, row: dict[str, Any]) -> Example:
        choices = "\n".join(f"({c['label']}) {c['text']}" for c in row["question"]["choices"])
        return Example(
            id=f"arc/{row['id']}",
            split=split,
            messages=_user(f"Question: {row['question']['stem']}\n{choices}"),
            answer=row["answerKey"],
            demo=f"The answer is ({row['answerKey']}).",
        )

    # ARC's dev set is split in two: even rows train, odd rows validation.
    dev = list(_rows(root / "arc" / "ARC-Challenge-Dev.jsonl"))
    splits = {
        "train": [example("train", row) for row in dev[0::2]],
        "validation": [example("validation", row) for row in dev[1::2]],
        "test": [example("test", row) for row in _rows(root / "arc" / "ARC-Challenge-Test.jsonl")],
    }
    return TextDataset(
        name="ai2_arc",
        metric="exact_match (choice)",
        instruction=(
            "Answer the multiple-choice science question. End your reply with 'The answer is (X)', "
            "where X is the letter of the correct choice."
        ),
        splits=splits,
        parse=metrics.parse_choice,
        compare=lambda parsed, gold: float(parsed == gold),
        source="arc/ARC-Challenge-{Dev,Test}.jsonl (Dev: even rows train, odd rows validation)",
    )


# --- BIG-Bench Hard ----------------------------------------------------------

_MC = re.compile(r"^\(([A-R])\)$")


def _bbh_parse(output: str) -> str | None:
    span = metrics.answer_span(output)
    return span or None


def _bbh_compare(parsed: str, gold: str) -> float:
    letter = _MC.match(gold.strip())
    if letter:
        return float(metrics.parse_choice(f"The answer is {parsed}", labels="A-R") == letter.group(1))
    return metrics.exact_match(parsed, gold)


def _bbh(root: Path) -> TextDataset:
    folder = root / "bbh"
    tasks = sorted(p for p in folder.glob("*.json"))
    if not tasks:
        raise BadInput(f"no BBH task files in {folder}", "pass --data-dir with a bbh/ folder of <task>.json files")
    per_task: list[dict[str, list[Example]]] = []
    for path in tasks:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))["examples"]
        except (ValueError, KeyError):
            raise BadInput(f"{path} is not a BBH task file", "restore it from BIG-Bench-Hard") from None
        # In each task, rows 0-1 of every ten train, row 2 validates, the rest test.
        split = _by_position(rows, train={0, 1}, validation={2})
        per_task.append(
            {
                name: [
                    Example(
                        id=f"bbh/{path.stem}/{i}",
                        split=name,
                        messages=_user(row["input"]),
                        answer=row["target"],
                        demo=f"The answer is {row['target']}.",
                    )
                    for i, row in pairs
                ]
                for name, pairs in split.items()
            }
        )
    # Round-robin over tasks, so the first N of a split cover many tasks.
    splits = {name: _interleave([task[name] for task in per_task]) for name in SPLITS}
    return TextDataset(
        name="bbh",
        metric="exact_match",
        instruction="Answer the question. End your reply with 'The answer is X'.",
        splits=splits,
        parse=_bbh_parse,
        compare=_bbh_compare,
        source="bbh/<task>.json (per task, rows i%10 in {0,1} train, 2 validation, else test)",
    )


def _interleave(lists: Sequence[Sequence[Example]]) -> list[Example]:
    out: list[Example] = []
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


# --- MATH-500 ----------------------------------------------------------------


def _math(root: Path) -> TextDataset:
    rows = list(_rows(root / "math_small" / "math500_test.jsonl"))
    split = _by_position(rows, train={0, 1}, validation={2})
    splits = {
        name: [
            Example(
                id=f"math/{row['unique_id']}",
                split=name,
                messages=_user(f"Problem: {row['problem']}"),
                answer=row["answer"],
                demo=row["solution"],
            )
            for _, row in pairs
        ]
        for name, pairs in split.items()
    }
    return TextDataset(
        name="math",
        metric="exact_match (normalised LaTeX)",
        instruction="Solve the problem step by step. Put the final answer in \\boxed{}.",
        splits=splits,
        parse=lambda output: metrics.last_boxed(output) or metrics.answer_span(output) or None,
        compare=lambda parsed, gold: float(metrics.normalize_latex(parsed) == metrics.normalize_latex(gold)),
        source="math_small/math500_test.jsonl (rows i%10 in {0,1} train, 2 validation, else test)",
    )


LOADERS: dict[str, Callable[[Path], TextDataset]] = {
    "gsm8k": _gsm8k,
    "hotpot_300": _hotpot,
    "ai2_arc": _arc,
    "bbh": _bbh,
    "math": _math,
}
ALIASES = {"hotpotqa": "hotpot_300", "arc": "ai2_arc", "math500": "math"}


def load_text_dataset(name: str, data_dir: str | Path | None) -> TextDataset:
    """A text dataset from ``data_dir`` (default: the shipped demo subsets)."""
    root = Path(data_dir) if data_dir else DEMO_DIR
    return LOADERS[ALIASES.get(name, name)](root)
