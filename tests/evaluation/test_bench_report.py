"""The bench's report: the Figure 4 table counts the users whose new tag was found."""

from __future__ import annotations

from langchain_premium.evaluation.experiment import UserRun
from langchain_premium.evaluation.presets import get_preset
from langchain_premium.evaluation.report import Cell, Report


def grown_run(seed: int, new_tag_rank: int) -> UserRun:
    run = UserRun(method="premium-embed", setup="2/100", seed=seed, m=3, n_interactions=10,
                  user_tags=["Jazz", "Chess"], final_tags=["Jazz", "Chess", "Opera"], final_styles=[],
                  ever_liked=["Jazz", "Chess", "Opera"], steps=[0, 5, 10], accuracy=[0.02, 0.3, 0.4],
                  accuracy_at_1=[0.0, 0.5, 0.67])
    run.tag_rank = {"Jazz": [50, 1, 1], "Chess": [50, 2, 2], "Opera": [None, 90, new_tag_rank]}
    run.tag_selected = {"Opera": [None, 0.0, 1.0 if new_tag_rank <= 3 else 0.0]}
    return run


def test_the_figure4_table_counts_the_users_whose_new_tag_is_in_the_profiles_top_3():
    preset = get_preset("figure4").with_overrides(interactions=10, methods=["premium-embed"])
    column = preset.columns[0]
    runs = [grown_run(seed, rank) for seed, rank in enumerate([1, 3, 4, 40])]
    table = Report(preset, [Cell(column, "premium-embed", runs)]).markdown()
    row = next(line for line in table.splitlines() if line.startswith("| premium-embed"))
    assert "median 3 of 200; ≤ 3 for 2 of 4" in row
    assert "| 50.00 |" in row  # the new tag is among the candidates (end) of half the users
