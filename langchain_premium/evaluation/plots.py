"""PNG plots of a report: metrics over interactions, and each user tag's probability."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np

from langchain_premium.evaluation.experiment import Setup
from langchain_premium.evaluation.metrics import random_accuracy
from langchain_premium.evaluation.presets import Column
from langchain_premium.evaluation.report import Report

__all__ = ["save_plots"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in tests
    import matplotlib.pyplot as plt

    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "column"


def _random_line(column: Column, steps: np.ndarray, per_tag: bool = False) -> np.ndarray:
    """Chance level at each step (it drops when the library expands)."""
    start = Setup.parse(column.setup)
    end = column.final_setup
    expand = column.options.get("expand_at")

    def level(setup: Setup) -> float:
        return 1.0 / setup.n if per_tag else random_accuracy(setup.k, setup.n)

    return np.array([level(end) if expand is not None and s >= expand else level(start) for s in steps])


def save_plots(report: Report, out: Path) -> list[Path]:
    """Write ``curves-<column>.png`` for every column (Accuracy and Acc@1 against interactions,
    one line per method with its spread over seeds, and the random line) and, for presets that
    ask for it, ``user-tags-<column>.png`` (each user tag's probability in the user's profile).

    Returns the written paths.
    """
    plt = _pyplot()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for column in report.columns():
        cells = report.column_cells(column)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        all_steps: set[int] = set()
        for metric, axis in zip(("accuracy", "accuracy_at_1"), axes):
            for cell in cells:
                curve = cell.curve(metric)
                if curve is None:
                    continue
                steps = np.array(curve.steps)
                all_steps.update(curve.steps)
                mean, std = curve.mean(), curve.std()
                axis.plot(steps, mean, marker="o", markersize=3, label=cell.row)
                axis.fill_between(steps, mean - std, mean + std, alpha=0.15)
            if all_steps:
                steps = np.array(sorted(all_steps))
                axis.plot(steps, _random_line(column, steps), "k--", linewidth=1, drawstyle="steps-post",
                          label="random (k/n)")
            for key, name in (("change_at", "preference change"), ("expand_at", "library expansion")):
                if column.options.get(key) is not None:
                    axis.axvline(column.options[key], color="grey", linestyle=":", label=name)
            axis.set_title({"accuracy": "Accuracy (all candidates)", "accuracy_at_1": "Accuracy@1 (best candidate)"}[metric])
            axis.set_xlabel("interactions")
            axis.grid(alpha=0.3)
        axes[0].set_ylabel("share of selected tags in the User Tag Set")
        axes[1].legend(fontsize=8)
        fig.suptitle(f"{report.preset.name}: {column.label}")
        fig.tight_layout()
        path = out / f"curves-{_slug(column.label)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
        if report.preset.user_tag_plot:
            path = _user_tag_plot(plt, report, column, out)
            if path:
                written.append(path)
    return written


def _user_tag_plot(plt, report: Report, column: Column, out: Path) -> Optional[Path]:
    cells = [c for c in report.column_cells(column) if c.tag_curves()]
    if not cells:
        return None
    fig, axes = plt.subplots(1, len(cells), figsize=(5.5 * len(cells), 4), sharey=True, squeeze=False)
    for cell, axis in zip(cells, axes[0]):
        steps: set[int] = set()
        for role, curve in sorted(cell.tag_curves().items()):
            axis.plot(curve.steps, curve.mean(), marker="o", markersize=3, label=role)
            steps.update(curve.steps)
        grid = np.array(sorted(steps))
        chance = _random_line(column, grid, per_tag=True)
        axis.plot(grid, chance, "k--", linewidth=1, drawstyle="steps-post", label="random (1/n)")
        axis.plot(grid, 6 * chance, color="orange", linestyle="--", linewidth=1, drawstyle="steps-post",
                  label="6 × random")
        for key in ("change_at", "expand_at"):
            if column.options.get(key) is not None:
                axis.axvline(column.options[key], color="grey", linestyle=":")
        axis.set_title(cell.row)
        axis.set_xlabel("interactions")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("probability in user_profile")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"{report.preset.name}: probability of each user tag ({column.label})")
    fig.tight_layout()
    path = out / f"user-tags-{_slug(column.label)}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
