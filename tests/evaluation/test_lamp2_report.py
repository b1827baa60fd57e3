from langchain_premium.evaluation.lamp2_report import PAPER_LAMP2, lamp2_table


def test_table_lists_every_method_with_ours_and_the_papers_figures():
    scores = {m: {"accuracy": 0.5, "f1": 0.25} for m in PAPER_LAMP2}
    markdown, data = lamp2_table(scores)
    for method, (accuracy, f1) in PAPER_LAMP2.items():
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {method} |"))
        assert "| 50.0 | 25.0 |" in row and f"{accuracy:.2f}" in row and f"{f1:.2f}" in row
    assert data == scores
