"""Results of a preset: aggregation over seeds and users, Markdown tables and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np

from langchain_premium.evaluation.experiment import Setup, UserRun, run_experiment
from langchain_premium.evaluation.metrics import Curve, MeanStd, mean_std, random_accuracy
from langchain_premium.evaluation.presets import Column, Preset, paper_reference, target_of

__all__ = ["SEED_STRIDE", "Cell", "Report"]

#: The users of seed index ``s`` have run seeds ``base + SEED_STRIDE * s + u``.
SEED_STRIDE = 1000

_METRIC_NAMES = {
    "accuracy": "Accuracy",
    "accuracy_at_1": "Acc@1",
    "win_rate": "Win rate",
    "style_accuracy": "Binary acc.",
    "accuracy_before": "Accuracy before",
    "style_accuracy_before": "Binary acc. before",
}


@dataclass
class Cell:
    """The runs of one method in one column; ``groups`` maps a run's seed to its seed index
    (several simulated users of one seed are averaged before the spread over seeds)."""

    column: Column
    row: str
    runs: list[UserRun]
    groups: Mapping[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> list[UserRun]:
        return [r for r in self.runs if r.error is None]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error is not None]

    def _by_seed(self) -> list[list[UserRun]]:
        seeds: dict[int, list[UserRun]] = {}
        for run in self.ok:
            seeds.setdefault(self.groups.get(run.seed, run.seed), []).append(run)
        return list(seeds.values())

    def metric(self, name: str, step: Optional[int] = None) -> Optional[MeanStd]:
        """Mean ± std over seeds of ``name`` after ``step`` interactions (default: the end)."""
        per_seed = []
        for runs in self._by_seed():
            values = [r.value(name, step) for r in runs if step is None or step in r.steps]
            values = [v for v in values if v is not None]
            per_seed.append(float(np.mean(values)) if values else None)
        return mean_std(per_seed)

    def curve(self, name: str) -> Optional[Curve]:
        """``name`` over interactions, one row per seed (users averaged)."""
        rows = []
        for runs in self._by_seed():
            points: dict[int, list[float]] = {}
            for run in runs:
                for step, value in zip(run.steps, getattr(run, name)):
                    if value is not None:
                        points.setdefault(step, []).append(value)
            if points:
                rows.append({s: float(np.mean(v)) for s, v in points.items()})
        return Curve.from_runs(rows) if rows else None

    def tag_curves(self, field_name: str = "tag_probability") -> dict[str, Curve]:
        """Per user-tag role ("user tag 1", ..., "new tag 1"), the mean of ``field_name`` over
        users and seeds; tags are matched by role because every user has their own tags."""
        by_role: dict[str, list[dict[int, float]]] = {}
        for run in self.ok:
            for role, tag in _roles(run).items():
                values = getattr(run, field_name).get(tag, [])
                points = {s: v for s, v in zip(run.steps, values) if v is not None}
                if points:
                    by_role.setdefault(role, []).append(points)
        curves = {}
        for role, rows in by_role.items():
            steps = sorted(set().union(*rows))
            # Average what was measured at each step (a new tag has no value before it exists).
            mean = [float(np.mean([r[s] for r in rows if s in r])) for s in steps]
            curves[role] = Curve(tuple(steps), (tuple(mean),))
        return curves

    def mean_of(self, attribute: str) -> Optional[float]:
        values = [getattr(r, attribute) for r in self.ok if getattr(r, attribute) is not None]
        return float(np.mean(values)) if values else None


def _roles(run: UserRun) -> dict[str, str]:
    """Name each tag the user ever liked by its role: kept, changed away, or new."""
    roles = {}
    k = len(run.user_tags)
    final = set(run.final_tags)
    new = 0
    for i, tag in enumerate(run.ever_liked):
        if i < k:
            roles[f"user tag {i + 1}" + ("" if tag in final else " (dropped)")] = tag
        else:
            new += 1
            roles[f"new tag {new}"] = tag
    return roles


def _recovery(curve: Optional[Curve], change: int) -> tuple[str, str]:
    """Acc@1 just before a preference change, and how many interactions after the change the
    mean curve first reaches it again ("not within the run" when it never does)."""
    if curve is None:
        return "–", "–"
    means = dict(zip(curve.steps, curve.mean()))
    before = [s for s in curve.steps if s < change]
    if not before:
        return "–", "–"
    level = means[before[-1]]
    back = next((s for s in curve.steps if s > change and means[s] >= level), None)
    return (f"{100 * level:.1f} (step {before[-1]})",
            "not within the run" if back is None else f"{back - change} interactions")


def _fmt(value: Optional[MeanStd]) -> str:
    return "–" if value is None else value.format()


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


@dataclass
class Report:
    """Everything a preset measured, ready to print and save.

    Example:
        >>> report = Report(preset, cells, elapsed=95.2)  # doctest: +SKIP
        >>> print(report.markdown())  # doctest: +SKIP
    """

    preset: Preset
    cells: list[Cell]
    elapsed: float = 0.0
    annotator: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_preset(
        cls,
        preset: Preset,
        *,
        annotator: Any = None,
        seed: int = 0,
        n_jobs: int = 1,
        torch_threads: Optional[int] = 1,
        progress: bool = True,
        **run_options: Any,
    ) -> "Report":
        """Run every column of ``preset`` (its rows, seeds and users) and collect the report.

        ``run_options`` go to every run (e.g. ``eval_queries``, ``task``); a failing run is
        recorded in its cell, not raised.

        Example:
            >>> report = Report.from_preset(get_preset("quick").with_overrides(seeds=2))  # doctest: +SKIP
            >>> print(report.markdown())  # doctest: +SKIP
        """
        import time

        if not preset.rows:
            raise ValueError(f"preset {preset.name!r} has no methods: pass methods to with_overrides")
        start = time.perf_counter()
        groups = {seed + SEED_STRIDE * s + u: s for s in range(preset.seeds) for u in range(preset.users)}
        cells = []
        for column in preset.columns:
            runs = run_experiment(
                preset.rows, column.setup, seeds=list(groups), annotator=annotator,
                win_rates=preset.win_rates, on_error="record", n_jobs=n_jobs,
                torch_threads=torch_threads, progress=progress, **{**run_options, **column.options},
            )
            cells += [Cell(column, v.name, [r for r in runs if r.method == v.name], groups)
                      for v in preset.rows]
        return cls(preset, cells, elapsed=time.perf_counter() - start, annotator=repr(annotator))

    def columns(self) -> list[Column]:
        return list({c.column.label: c.column for c in self.cells}.values())

    def column_cells(self, column: Column) -> list[Cell]:
        return [c for c in self.cells if c.column.label == column.label]

    def agreement(self) -> Optional[float]:
        values = [r.annotator_agreement for c in self.cells for r in c.ok if r.annotator_agreement is not None]
        return float(np.mean(values)) if values else None

    # -- tables ------------------------------------------------------------------------------

    def markdown(self) -> str:
        """Every table of the report, in Markdown."""
        parts = [f"## premium bench --preset {self.preset.name}", "", self.preset.description, ""]
        for column in self.columns():
            parts += self._column_table(column) + [""]
        paper = self._paper_table()
        if paper:
            parts += ["### The paper's numbers beside ours", ""] + paper + [""]
        agreement = self.agreement()
        if agreement is not None:
            parts.append(
                f"Annotator: {self.annotator}. Its noisy best pick agrees with the noiseless best "
                f"pick in {100 * agreement:.1f}% of the rankings (expected value, mean over runs)."
            )
        errors = [(c.row, c.column.label, e) for c in self.cells for e in c.errors]
        for row, label, error in errors[:10]:
            parts.append(f"- {row} on {label} failed: {error}")
        parts.append(f"Wall time: {self.elapsed:.1f} s.")
        return "\n".join(parts)

    def _column_table(self, column: Column) -> list[str]:
        cells = self.column_cells(column)
        seeds = max((len(c._by_seed()) for c in cells), default=0)
        options = dict(column.options)
        title = (f"### {column.label}: {options['n_interactions']} interactions, m = "
                 f"{options.get('m', 3)}, mean ± std over {seeds} seed(s), in %")
        view = self.preset.view
        if view == "before_after":
            return [title, ""] + self._before_after(column, cells)
        if view == "change":
            return [title, ""] + self._change(column, cells)
        if view == "expand":
            return [title, ""] + self._expand(column, cells)
        if view == "win_rate":
            return [title, ""] + self._win_rate(column, cells)
        return [title, ""] + self._final(column, cells)

    def _cost(self, cell: Cell) -> list[str]:
        cpu, memory = cell.mean_of("cpu_seconds"), cell.mean_of("peak_memory_mb")
        return ["–" if cpu is None else f"{cpu:.1f}", "–" if memory is None else f"{memory:.0f}"]

    def _final(self, column: Column, cells: list[Cell]) -> list[str]:
        setup = column.final_setup
        lines = ["| Method | Accuracy | Acc@1 | Win rate | Paper accuracy | Paper win rate | CPU s/run | Peak MB |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for cell in cells:
            paper = paper_reference(self.preset, cell.row, column)
            lines.append(
                f"| {cell.row} | {_fmt(cell.metric('accuracy'))} | {_fmt(cell.metric('accuracy_at_1'))} | "
                f"{_fmt(cell.metric('win_rate'))} | {_pct(paper.get('accuracy'))} | "
                f"{_pct(paper.get('win_rate'))} | " + " | ".join(self._cost(cell)) + " |"
            )
        chance = random_accuracy(setup.k, setup.n)
        lines.append(f"| random (k/n = {setup}) | {100 * chance:.1f} | {100 * chance:.1f} | – | "
                     f"{100 * chance:.2f} | – | – | – |")
        return lines + self._targets(column, cells)

    def _targets(self, column: Column, cells: list[Cell]) -> list[str]:
        """One line per goal of the preset: the goal, the measured mean, met or MISSED."""
        lines = []
        for cell in cells:
            for name, goal in target_of(self.preset, cell.row, column).items():
                got = cell.metric(name)
                verdict = "not measured" if got is None else ("met" if got.mean >= goal else "MISSED")
                measured = "–" if got is None else f"{100 * got.mean:.1f}"
                lines.append(f"\nTarget: {cell.row} {_METRIC_NAMES.get(name, name)} >= {100 * goal:.0f}% "
                             f"on {column.label}: {measured} ({verdict}).")
        return lines

    def _before_after(self, column: Column, cells: list[Cell]) -> list[str]:
        binary = bool(column.options.get("binary"))
        head = "| Method | Accuracy before | Accuracy after | × | Acc@1 after |"
        if binary:
            head += " Binary before | Binary after |"
        head += " Paper before → after |"
        if binary:
            head += " Paper binary before → after |"
        lines = [head, "|" + " --- |" * (head.count("|") - 1)]
        for cell in cells:
            before, after = cell.metric("accuracy", 0), cell.metric("accuracy")
            ratio = f"{after.mean / before.mean:.2f}" if before and after and before.mean else "–"
            paper = paper_reference(self.preset, cell.row, column)
            row = f"| {cell.row} | {_fmt(before)} | {_fmt(after)} | {ratio} | {_fmt(cell.metric('accuracy_at_1'))} |"
            if binary:
                row += f" {_fmt(cell.metric('style_accuracy', 0))} | {_fmt(cell.metric('style_accuracy'))} |"
            row += f" {_pct(paper.get('accuracy_before'))} → {_pct(paper.get('accuracy'))} |"
            if binary:
                row += f" {_pct(paper.get('style_accuracy_before'))} → {_pct(paper.get('style_accuracy'))} |"
            lines.append(row)
        setup = column.final_setup
        chance = f"{100 * random_accuracy(setup.k, setup.n):.1f}"
        row = f"| random (k/n) | {chance} | {chance} | 1.00 | {chance} |"
        if binary:
            row += " 50.0 | 50.0 |"
        lines.append(row + " – |" + (" – |" if binary else ""))
        return lines

    def _change(self, column: Column, cells: list[Cell]) -> list[str]:
        change = int(column.options["change_at"])
        lines = ["| Method | Before the change | Right after (new tags) | End | Acc@1 end | Best after change "
                 "| Acc@1 before | Acc@1 back above it after |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for cell in cells:
            curve = cell.curve("accuracy")
            if curve is None:
                lines.append(f"| {cell.row} | – | – | – | – | – | – | – |")
                continue
            before = [s for s in curve.steps if s < change]
            before_text = f"{_fmt(curve.at(before[-1]))} (step {before[-1]})" if before else "–"
            right_after = _fmt(curve.at(change)) if change in curve.steps else "–"
            best_after = max((curve.mean()[i] for i, s in enumerate(curve.steps) if s >= change), default=None)
            lines.append(
                f"| {cell.row} | {before_text} | {right_after} | {_fmt(curve.final())} | "
                f"{_fmt(cell.metric('accuracy_at_1'))} | {_pct(best_after)} | "
                + " | ".join(_recovery(cell.curve("accuracy_at_1"), change)) + " |"
            )
        setup = column.final_setup
        lines.append(f"| random (k/n) | {100 * random_accuracy(setup.k, setup.n):.1f} | | | | | | |")
        return lines

    def _expand(self, column: Column, cells: list[Cell]) -> list[str]:
        expand = int(column.options["expand_at"])
        start, end = Setup.parse(column.setup), column.final_setup
        lines = [
            f"| Method | Before ({start}) | End ({end}) | × random before / after | New user tag in "
            "candidates (end) | New tag's profile rank (end) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for cell in cells:
            curve = cell.curve("accuracy")
            if curve is None:
                lines.append(f"| {cell.row} | – | – | – | – | – |")
                continue
            before = [s for s in curve.steps if s < expand]
            b = curve.at(before[-1]) if before else None
            e = curve.final()
            times = (f"{b.mean / random_accuracy(start.k, start.n):.1f} / "
                     f"{e.mean / random_accuracy(end.k, end.n):.1f}") if b else "–"
            selected = cell.tag_curves("tag_selected").get("new tag 1")
            ranks = [r.tag_rank[r.ever_liked[-1]][-1] for r in cell.ok if r.tag_rank.get(r.ever_liked[-1])]
            ranks = [x for x in ranks if x is not None]
            # "Found": in the profile's top 3 at the end (the README's Figure 4 count).
            rank = (f"median {int(np.median(ranks))} of {end.n}; ≤ 3 for {sum(x <= 3 for x in ranks)} of {len(ranks)}"
                    if ranks else "–")
            lines.append(
                f"| {cell.row} | {_fmt(b)} | {_fmt(e)} | {times} | "
                f"{_pct(selected.mean()[-1]) if selected else '–'} | "
                f"{rank} |"
            )
        lines.append(f"| random (k/n) | {100 * random_accuracy(start.k, start.n):.1f} | "
                     f"{100 * random_accuracy(end.k, end.n):.1f} | 1.0 / 1.0 | | |")
        lines.append("")
        lines.append("The paper's dashed line is 6 × random: the expanded library keeps accuracy above "
                     "it when the ratio after stays above 6.")
        return lines

    def _win_rate(self, column: Column, cells: list[Cell]) -> list[str]:
        lines = ["| Method | Win rate vs premium-embed | Accuracy | Paper win rate | CPU s/run | Peak MB |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for cell in cells:
            paper = paper_reference(self.preset, cell.row, column)
            lines.append(f"| {cell.row} | {_fmt(cell.metric('win_rate'))} | {_fmt(cell.metric('accuracy'))} | "
                         f"{_pct(paper.get('win_rate'))} | " + " | ".join(self._cost(cell)) + " |")
        return lines

    def _paper_table(self) -> list[str]:
        lines = []
        for cell in self.cells:
            paper = paper_reference(self.preset, cell.row, cell.column)
            for metric, value in paper.items():
                step = 0 if metric.endswith("_before") else None
                ours = cell.metric(metric.removesuffix("_before"), step)
                setup = cell.column.final_setup
                chance = ("50.00" if metric.startswith("style") else
                          f"{100 * random_accuracy(setup.k, setup.n):.2f}" if metric.startswith("accuracy") else "–")
                lines.append(f"| {cell.column.label} | {cell.row} | {_METRIC_NAMES.get(metric, metric)} | "
                             f"{100 * value:.2f} | {_fmt(ours)} | {chance} |")
        if not lines:
            return []
        return ["| Setting | Method | Metric | Paper | Ours | Random |",
                "| --- | --- | --- | --- | --- | --- |"] + lines

    # -- JSON --------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Everything measured, JSON-serialisable (fractions, not percent)."""
        columns = []
        for column in self.columns():
            setup = column.final_setup
            rows = []
            for cell in self.column_cells(column):
                metrics = {}
                for name in ("accuracy", "accuracy_at_1", "style_accuracy", "win_rate"):
                    value = cell.metric(name)
                    metrics[name] = value.to_dict() if value else None
                before = cell.metric("accuracy", 0)
                metrics["accuracy_before"] = before.to_dict() if before else None
                curves = {name: curve.to_dict() for name in ("accuracy", "accuracy_at_1", "style_accuracy")
                          if (curve := cell.curve(name)) is not None}
                rows.append({
                    "method": cell.row,
                    "metrics": metrics,
                    "paper": dict(paper_reference(self.preset, cell.row, column)),
                    "curves": curves,
                    "user_tag_probability": {role: c.to_dict() for role, c in cell.tag_curves().items()},
                    "cpu_seconds_per_run": cell.mean_of("cpu_seconds"),
                    "peak_memory_mb": cell.mean_of("peak_memory_mb"),
                    "annotator_agreement": cell.mean_of("annotator_agreement"),
                    "errors": cell.errors,
                    "runs": [r.to_dict() for r in cell.runs],
                })
            columns.append({
                "label": column.label, "setup": column.setup, "options": dict(column.options),
                "random_accuracy": random_accuracy(setup.k, setup.n), "rows": rows,
            })
        return {
            "preset": self.preset.name,
            "description": self.preset.description,
            "config": dict(self.config),
            "annotator": self.annotator,
            "annotator_agreement": self.agreement(),
            "elapsed_seconds": self.elapsed,
            "columns": columns,
        }
