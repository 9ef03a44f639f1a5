from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from bench_runner import BadInput
from bench_runner_lcb import data, releases


@pytest.fixture(scope="module")
def lite(shared_data: Path) -> Path:
    return shared_data / "lcb" / "code_generation_lite"


def _load(lite: Path, **kw: object) -> list:
    return data.load(data.Selection(problems_file=str(lite), **kw))[0]  # type: ignore[arg-type]


def _all_rows(lite: Path) -> list[dict]:
    return [json.loads(line) for name in releases.FILES for line in (lite / name).open()]


@pytest.mark.parametrize(("release", "count"), [("release_v1", 400), ("release_v5", 880), ("release_v6", 1055)])
def test_release_versions_select_the_official_counts(lite: Path, release: str, count: int) -> None:
    problems = _load(lite, release=release)
    assert len(problems) == count
    assert len({p.id for p in problems}) == count


def test_release_latest_is_v6_and_the_default_for_a_folder(lite: Path) -> None:
    assert [p.id for p in _load(lite)] == [p.id for p in _load(lite, release="release_latest")]
    assert len(_load(lite)) == 1055


def test_single_file_tags_and_spans(lite: Path) -> None:
    assert len(_load(lite, release="v2")) == 111
    assert len(_load(lite, release="v6")) == 175
    assert len(_load(lite, release="v1_v3")) == 400 + 111 + 101


def test_problems_come_sorted_by_question_id_like_lcb_runner(lite: Path) -> None:
    ids = [p.id for p in _load(lite, release="release_v2")]
    assert ids == sorted(ids)


def test_one_file_loads_alone(lite: Path) -> None:
    problems, facts = data.load(data.Selection(problems_file=str(lite / "test3.jsonl")))
    assert len(problems) == 101
    assert facts["release_version"] == "v3"


def test_one_file_with_a_release_that_needs_more_is_refused(lite: Path) -> None:
    with pytest.raises(BadInput, match=r"needs test\.jsonl, test2\.jsonl"):
        data.load(data.Selection(problems_file=str(lite / "test2.jsonl"), release="release_v2"))


def test_folder_missing_a_release_file_is_refused(lite: Path, tmp_path: Path) -> None:
    shutil.copy(lite / "test.jsonl", tmp_path / "test.jsonl")
    assert len(_load(tmp_path, release="release_v1")) == 400
    with pytest.raises(BadInput, match=r"lacks test2\.jsonl"):
        _load(tmp_path, release="release_v2")


def test_unknown_release_and_bad_dates_are_user_errors(lite: Path) -> None:
    with pytest.raises(BadInput, match="unknown release version"):
        _load(lite, release="release_v9")
    with pytest.raises(BadInput, match="not a date"):
        _load(lite, start_date="2024/01/01")


def _lcb_runner_rule(rows: list[dict], start: str | None, end: str | None) -> set[str]:
    # lcb_runner: start <= contest_date and contest_date <= end, both dates parsed at midnight.
    keep = []
    for row in rows:
        when = datetime.fromisoformat(row["contest_date"])
        if start is not None and not datetime.strptime(start, "%Y-%m-%d") <= when:
            continue
        if end is not None and not when <= datetime.strptime(end, "%Y-%m-%d"):
            continue
        keep.append(row["question_id"])
    return set(keep)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-08-01", None),
        (None, "2024-01-31"),
        ("2024-08-01", "2025-02-01"),
        ("2023-09-30", "2023-09-30"),  # a day whose contests start at 18:30 (hidden from an end on that day)
        ("2025-04-06", None),
        ("2030-01-01", None),
    ],
)
def test_date_windows_follow_lcb_runner_rule(lite: Path, start: str | None, end: str | None) -> None:
    got = {p.id for p in _load(lite, start_date=start, end_date=end)}
    assert got == _lcb_runner_rule(_all_rows(lite), start, end)


def test_end_date_excludes_a_contest_later_that_same_day(lite: Path) -> None:
    evening = next(r for r in _all_rows(lite) if r["contest_date"].endswith("T18:30:00"))
    day = evening["contest_date"][:10]
    assert evening["question_id"] in {p.id for p in _load(lite, start_date=day)}
    assert evening["question_id"] not in {p.id for p in _load(lite, end_date=day)}


def test_platform_and_difficulty_filters_match_the_source_counts(lite: Path) -> None:
    assert len(_load(lite, platforms=("atcoder",))) == 602
    assert len(_load(lite, platforms=("leetcode", "codeforces"))) == 444 + 9
    assert len(_load(lite, difficulties=("easy",))) == 322
    hard_lc = _load(lite, platforms=("leetcode",), difficulties=("hard",))
    assert hard_lc and all(p.attributes == {"difficulty": "hard", "platform": "leetcode"} for p in hard_lc)


def test_problem_records_tests_and_function_names(lite: Path) -> None:
    problems = {p.id: p for p in _load(lite, release="release_v1")}
    short_sort = problems["1873_A"]
    assert short_sort.data["func_name"] is None
    assert short_sort.data["public_tests"] == 1
    assert len(short_sort.data["tests"]) == 5  # the one row carrying its real private tests
    functional = [p for p in problems.values() if p.data["func_name"]]
    assert len(functional) == 181
    assert all(f"def {p.data['func_name']}(" in p.data["starter_code"] for p in functional)


def test_as_tuple_accepts_one_many_or_commas() -> None:
    assert data.as_tuple(None) == ()
    assert data.as_tuple("easy") == ("easy",)
    assert data.as_tuple(("easy", "hard")) == ("easy", "hard")
    assert data.as_tuple("easy, hard") == ("easy", "hard")
