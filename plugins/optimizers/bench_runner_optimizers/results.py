"""The run summary: optimizers ranked by test-score gain per 1,000 rollouts, and how it is shown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench_runner_optimizers.stats import bootstrap


def summarize(files: Any, manifest: Mapping[str, Any], tasks: Sequence[Any]) -> dict[str, Any]:
    """The summary of a run from its task files: per (dataset, model, optimizer) over seeds, ranked."""
    from bench_runner_optimizers.files import SCHEMA_VERSION, now_iso

    checkpoint = files.checkpoint()
    results = files.results()
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for result in results:
        task = result["task"]
        groups.setdefault((task["dataset"], task["model"] or "default", task["optimizer"]), []).append(result)
    rows = []
    for (dataset, model, optimizer), members in groups.items():
        per_seed = [list(r["test_scores"].values()) for r in members]
        baseline = bootstrap([[b for b, _ in seed] for seed in per_seed])
        optimized = bootstrap([[o for _, o in seed] for seed in per_seed])
        gain = bootstrap([[o - b for b, o in seed] for seed in per_seed])
        rollouts = sum(r["rollouts"] for r in members) / len(members)
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "optimizer": optimizer,
                "seeds": sorted(r["task"]["seed"] for r in members),
                "baseline_test": _interval(baseline),
                "optimized_test": _interval(optimized),
                "gain": _interval(gain),
                "gain_includes_zero": gain.includes_zero,
                "rollouts": rollouts,
                "gain_per_1k_rollouts": round(1000 * gain.mean / rollouts, 6) if rollouts else 0.0,
                "trials": sum(r["trials"] for r in members) / len(members),
                "proposer_tokens": sum(r["proposer_tokens"] for r in members) / len(members),
                "cost": round(sum(r["cost"] for r in members), 6),
                "duration_s": round(sum(r["duration_s"] for r in members), 3),
                "stop_reasons": sorted({r["stop_reason"] for r in members}),
            }
        )
    rows.sort(key=lambda r: (r["dataset"], r["model"], -r["gain_per_1k_rollouts"], r["optimizer"]))
    for rank_group in {(r["dataset"], r["model"]) for r in rows}:
        ranked = [r for r in rows if (r["dataset"], r["model"]) == rank_group]
        for i, row in enumerate(ranked, 1):
            row["rank"] = i
    statuses = {t.id: checkpoint.get(t.id, {}).get("status", "pending") for t in tasks}
    records = {r["task"]["id"]: task_record(r) for r in results}
    for task in tasks:
        state = checkpoint.get(task.id, {})
        if task.id not in records and state.get("status") == "failed":
            records[task.id] = failed_record(task, state)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": files.run_id,
        "mode": "optimize",
        "start_time": files.start_time(),
        "end_time": now_iso(),
        "complete": all(s == "done" for s in statuses.values()),
        "tasks": statuses,
        "seed": manifest.get("seed"),
        "seeds": manifest.get("seeds"),
        "test_mode": bool(manifest.get("test_mode")),
        "engine": manifest.get("engine") or "local",
        "table": rows,
        "results": [records[t.id] for t in tasks if t.id in records],
    }


def task_record(result: Mapping[str, Any]) -> dict[str, Any]:
    """A finished task as the summary's ``results``, the history and the results database have it.

    Everything of ``tasks/<task_id>.json`` but the per-item test scores, flat where a table wants it.
    """
    task = result["task"]
    return {
        **_identity(task),
        "status": result["status"],
        "stop_reason": result["stop_reason"],
        "metric": result["metric"],
        "splits": result["splits"],
        "baseline_test": result["baseline_test"],
        "optimized_test": result["optimized_test"],
        "gain": result["gain"],
        "baseline_validation": result["baseline_validation"],
        "best_validation": result["best_validation"],
        "best_prompt": result["best"],
        "budget": task["budget"],
        "trials": result["trials"],
        "rollouts": result["rollouts"],
        "proposer_tokens": result["proposer_tokens"],
        "usage": {**result["usage"], "test": result["test_usage"]},
        "cost": result["cost"],
        "duration_s": result["duration_s"],
        "history": result["history"],
        "error": result.get("error", ""),
        "schema_version": result.get("schema_version", 1),
    }


def failed_record(task: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    """A failed task: who it was, and why it failed (retry it with ``--retry-failed``)."""
    from bench_runner_core.convert import unstructure

    spec = unstructure(task)
    return {**_identity(spec), "status": "failed", "budget": spec["budget"], "error": state.get("error", "")}


def _identity(task: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "task_id": task["id"],
        "dataset": task["dataset"],
        "optimizer": task["optimizer"],
        "model": task["model"] or "default",
        "proposer_model": task["proposer_model"] or task["model"] or "default",
        "seed": task["seed"],
    }


def _interval(interval: Any) -> dict[str, float]:
    return {"mean": interval.mean, "low": interval.low, "high": interval.high, "n": interval.n}


def _ci(value: Mapping[str, float]) -> str:
    return f"{value['mean']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"


def format_table(summary: Mapping[str, Any]) -> str:
    """The ranking as text: one block per (dataset, model), best gain per 1,000 rollouts first."""
    lines = [f"run {summary['run_id']}" + ("" if summary.get("complete") else "  (incomplete)")]
    current = None
    for row in summary["table"]:
        if (row["dataset"], row["model"]) != current:
            current = (row["dataset"], row["model"])
            lines.append(f"\n{row['dataset']}  model={row['model']}")
            lines.append(
                f"  {'#':>2} {'optimizer':<24} {'baseline [95% CI]':<24} {'optimized [95% CI]':<24} "
                f"{'gain [95% CI]':<26} {'rollouts':>8} {'gain/1k':>8}  stop"
            )
        flag = " (CI includes 0)" if row["gain_includes_zero"] else ""
        lines.append(
            f"  {row['rank']:>2} {row['optimizer']:<24} {_ci(row['baseline_test']):<24} "
            f"{_ci(row['optimized_test']):<24} {_ci(row['gain']):<26} {row['rollouts']:>8.0f} "
            f"{row['gain_per_1k_rollouts']:>8.3f}  {','.join(row['stop_reasons'])}{flag}"
        )
    failed = [task for task, status in summary["tasks"].items() if status != "done"]
    if failed:
        lines.append("\nnot done: " + ", ".join(f"{t} ({summary['tasks'][t]})" for t in failed))
    return "\n".join(lines)


def format_detailed(files: Any) -> str:
    """Every task: its budget use, stop reason, scores, history and best prompt."""
    blocks = []
    for result in files.results():
        task = result["task"]
        usage = result["usage"]
        history = ", ".join(f"{h['rollouts']}:{h['best']:.3f}" for h in result["history"])
        blocks.append(
            "\n".join(
                [
                    f"[{task['id']}] {task['dataset']} / {task['optimizer']} / {task['model'] or 'default'} "
                    f"seed={task['seed']}  stop={result['stop_reason']}",
                    f"  splits: {result['splits']}  metric: {result['metric']}",
                    f"  test: baseline {_ci(result['baseline_test'])}  optimized {_ci(result['optimized_test'])}"
                    f"  gain {_ci(result['gain'])}",
                    f"  validation: baseline {result['baseline_validation']}  best {result['best_validation']}",
                    f"  budget: trials {result['trials']}/{task['budget']['max_trials']}  "
                    f"rollouts {result['rollouts']}/{task['budget']['max_rollouts']}  "
                    f"proposer tokens {result['proposer_tokens']}/{task['budget']['max_proposer_tokens']}",
                    f"  task model: {usage['task']['calls']} calls, {usage['task']['prompt_tokens']}+"
                    f"{usage['task']['completion_tokens']} tokens; proposer: {usage['proposer']['calls']} calls; "
                    f"cost {result['cost']}; {result['duration_s']}s",
                    f"  best validation score by rollouts: {history}",
                    "  best prompt: " + result["best"]["instruction"].replace("\n", "\n    "),
                    f"  demos: {[d[0] for d in result['best']['demos']]}",
                ]
            )
        )
    return "\n\n".join(blocks)


def list_runs(results_dir: str | Path) -> list[dict[str, Any]]:
    """Every optimization run's summary (or checkpoint, while it runs), newest first."""
    root = Path(results_dir)
    runs = []
    for folder in sorted(root.glob("opt_*"), key=lambda p: p.name.split("_", 2)[-1], reverse=True):
        if not folder.is_dir():
            continue
        try:
            statuses = json.loads((folder / "checkpoint.json").read_text(encoding="utf-8"))["tasks"]
        except (OSError, ValueError, KeyError):
            continue
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status["status"]] = counts.get(status["status"], 0) + 1
        runs.append({"run_id": folder.name, "tasks": len(statuses), "statuses": counts})
    return runs


def history_entry(summary: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The run as one entry of the history file (``benchmark_results.json``), next to benchmark runs."""
    table = summary["table"]
    best = max(table, key=lambda r: r["gain_per_1k_rollouts"], default=None)
    return {
        "run_id": summary["run_id"],
        "timestamp": summary["end_time"],
        "benchmark": "optimize",
        "model": ",".join(sorted({r["model"] for r in table})),
        "mode": "optimize",
        "config": {
            "engine": summary.get("engine", "local"),
            "datasets": sorted({r["dataset"] for r in table}),
            "optimizers": sorted({r["optimizer"] for r in table}),
            "seed": manifest.get("seed"),
            "seeds": manifest.get("seeds"),
            "test_mode": bool(manifest.get("test_mode")),
        },
        "results": {
            "score": best["optimized_test"]["mean"] if best else 0.0,
            "best_optimizer": best["optimizer"] if best else None,
            "time_taken": round(sum(r["duration_s"] for r in table), 3),
            "total_cost": round(sum(r["cost"] for r in table), 6),
            "table": table,
            # per task: scores with intervals, best prompt, budget use per role, stop reason, history
            "tasks": summary.get("results", []),
        },
    }
