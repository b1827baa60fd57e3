"""The LaMP-2 half of the paper's Table 3, as a Markdown table beside the paper's numbers."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

#: Table 3, LaMP-2 column of the paper: accuracy and F1 (in %).
PAPER_LAMP2 = {
    "tidybot": (20.00, 23.82),
    "oppu-k1": (30.00, 29.39),
    "oppu-k2": (23.34, 24.60),
    "oppu-k4": (25.00, 26.20),
    "premium-embed": (33.33, 31.46),
}


def lamp2_table(
    scores: Optional[Mapping[str, Mapping[str, float]]] = None,
    *,
    methods: Sequence[str] = tuple(PAPER_LAMP2),
    seed: int = 0,
) -> tuple[str, dict]:
    """Run every LaMP-2 method on the shipped synthetic fixture (unless ``scores`` are given)
    and return ``(markdown, scores)``.

    The fixture is synthetic and small, and the chat model is the offline stand-in, so the figures
    show that the pipeline runs end to end, not the paper's effect sizes.

    Example:
        >>> markdown, scores = lamp2_table()  # doctest: +SKIP
    """
    if scores is None:
        from langchain_premium.evaluation.lamp2 import load_lamp2_fixture
        from langchain_premium.evaluation.lamp2_premium import run_lamp2_table

        scores = run_lamp2_table(load_lamp2_fixture(), methods=list(methods), seed=seed)
    lines = [
        "### LaMP-2 (synthetic fixture, offline stand-in model), in %",
        "",
        "| Method | Accuracy | F1 | Paper accuracy | Paper F1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for method in methods:
        ours = scores[method]
        paper = PAPER_LAMP2.get(method)
        paper_cells = f"{paper[0]:.2f} | {paper[1]:.2f}" if paper else "– | –"
        lines.append(f"| {method} | {100 * ours['accuracy']:.1f} | {100 * ours['f1']:.1f} | {paper_cells} |")
    return "\n".join(lines), {m: dict(scores[m]) for m in methods}
