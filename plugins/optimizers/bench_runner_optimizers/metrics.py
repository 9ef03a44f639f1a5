"""Answer parsers and metrics: exact match after normalisation, token F1 (HotpotQA), numbers, letters, LaTeX."""

from __future__ import annotations

import collections
import re
import string

_ANSWER_IS = re.compile(r"(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*:?\s*(.+)", re.I)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def strip_thinking(text: str) -> str:
    return re.sub(r"<think>.*?</think>", "", text, flags=re.S).strip()


def answer_span(text: str) -> str:
    """What follows the last "answer is" / "Answer:", else the last non-empty line."""
    text = strip_thinking(text)
    found = _ANSWER_IS.findall(text)
    if found:
        return found[-1].strip().splitlines()[0].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def normalize_text(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_text(prediction) == normalize_text(gold))


def token_f1(prediction: str, gold: str) -> float:
    """HotpotQA's answer F1 over normalised tokens (yes/no/noanswer must match exactly)."""
    pred, ref = normalize_text(prediction), normalize_text(gold)
    if pred in ("yes", "no", "noanswer") or ref in ("yes", "no", "noanswer"):
        return float(pred == ref)
    pred_tokens, ref_tokens = pred.split(), ref.split()
    common = collections.Counter(pred_tokens) & collections.Counter(ref_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def parse_number(text: str) -> str | None:
    """The first number after the last "####", ``\\boxed{`` or "answer is", else the last number of the text."""
    text = strip_thinking(text)
    marked = None
    for marker in ("####", "\\boxed{"):
        if marker in text:
            marked = text.rsplit(marker, 1)[1]
            break
    else:
        found = _ANSWER_IS.findall(text)
        if found:
            marked = found[-1]
    numbers = _NUMBER.findall(marked) if marked is not None else []
    if not numbers:
        numbers = _NUMBER.findall(text)[-1:]
    return canonical_number(numbers[0]) if numbers else None


def canonical_number(raw: str) -> str | None:
    cleaned = raw.replace(",", "").replace("$", "").strip().rstrip(".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if value == int(value):
        return str(int(value))
    return f"{value:.6g}"


def number_match(prediction: str, gold: str) -> float:
    parsed = parse_number(prediction)
    return float(parsed is not None and parsed == canonical_number(gold))


def parse_choice(text: str, labels: str = "ABCDE") -> str | None:
    """A multiple-choice letter: "answer is (B)", "Answer: B", "(B)", or a reply that is just the letter."""
    text = strip_thinking(text)
    pattern = rf"\(?\b([{labels}])\b\)?"
    found = _ANSWER_IS.findall(text)
    for span in (found[-1] if found else "", text.strip()[:3]):
        hit = re.match(rf"\s*{pattern}", span)
        if hit:
            return hit.group(1)
    hits = re.findall(rf"\(([{labels}])\)", text)
    return hits[-1] if hits else None


def choice_match(prediction: str, gold: str) -> float:
    return float(parse_choice(prediction) == gold.strip("() "))


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (balanced braces), as MATH graders read it."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def normalize_latex(answer: str) -> str:
    """MATH answer normalisation: no spaces, ``\\left``/``\\right``, units of text, ``dfrac``; numbers canonical."""
    text = answer.strip().strip("$").strip()
    for old, new in (
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", ""),
        ("dfrac", "frac"),
        ("tfrac", "frac"),
        ("^\\circ", ""),
        ("^{\\circ}", ""),
        ("\\%", ""),
        ("\\$", ""),
    ):
        text = text.replace(old, new)
    text = re.sub(r"\\text\{\s*([^}]*)\}", r"\1", text)
    text = re.sub(r"\s+", "", text).rstrip(".")
    number = canonical_number(text) if _NUMBER.fullmatch(text) else None
    return number if number is not None else text


def math_match(prediction: str, gold: str) -> float:
    boxed = last_boxed(strip_thinking(prediction))
    if boxed is None:
        boxed = answer_span(prediction)
    return float(normalize_latex(boxed) == normalize_latex(gold))
