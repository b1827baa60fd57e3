"""``premium judge``: a table row per simulated user and a summary (on a hash encoder, offline)."""

from __future__ import annotations

import pytest

from langchain_premium.cli import main
from langchain_premium.evaluation import embedding_cache
from langchain_premium.hash_embeddings import HashEmbeddings

HEADER = "| Seed | User tags | Hardest swap | P(exact wins) | Swaps with P < 0.6 | P < 0.7 |"


@pytest.fixture(autouse=True)
def hash_encoder(monkeypatch):
    monkeypatch.setattr(embedding_cache, "shared_embeddings", lambda: HashEmbeddings())


def rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_prints_the_table_and_the_summary(capsys):
    assert main(["judge", "--setup", "2/6", "--seeds", "2", "--seed", "3", "--queries", "1"]) == 0
    out = capsys.readouterr().out
    assert HEADER in out
    table = rows(out)
    assert [row[0] for row in table] == ["3", "1003"]  # premium bench --seed 3's users
    for _, tags, swap, p, below_6, below_7 in table:
        new, old = swap.split(" → ")
        assert old in tags.split(", ") and new not in tags.split(", ")
        assert 0 <= float(p) <= 1
        assert below_6.endswith("/8") and below_7.endswith("/8")
        assert int(below_6.split("/")[0]) <= int(below_7.split("/")[0])
    assert "The exact set beats every swap for" in out and "however many rankings" in out


def test_temperature_option_reaches_the_judge(capsys):
    assert main(["judge", "--setup", "2/6", "--seeds", "1", "--queries", "1", "--temperature", "0"]) == 0
    out = capsys.readouterr().out
    assert "judge temperature 0.0" in out
    assert float(rows(out)[0][3]) in (0.0, 0.5, 1.0)


def test_expand_to_judges_the_grown_set_in_the_grown_library(capsys):
    assert main(["judge", "--setup", "2/6", "--expand-to", "3/8", "--seeds", "1", "--queries", "1"]) == 0
    out = capsys.readouterr().out
    assert "grown to 3/8" in out
    ((_, tags, _, _, below_6, _),) = rows(out)
    assert len(tags.split(", ")) == 3 and below_6.endswith("/15")  # 3 tags * 5 outside


def test_an_expansion_that_shrinks_is_refused_by_name():
    with pytest.raises(SystemExit, match="--expand-to: cannot expand 2/6 to 2/4"):
        main(["judge", "--setup", "2/6", "--expand-to", "2/4", "--seeds", "1"])
