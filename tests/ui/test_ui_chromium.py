"""``premium ui`` in a real headless Chromium: ask, rank, and see the ranking stored and the profile move."""

from __future__ import annotations

import argparse
import shutil
import socket
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytest.importorskip("gradio", reason="the ui extra is not installed: pip install 'langchain-premium[ui]'")
pytest.importorskip("selenium", reason="the browser driver package is not installed: pip install selenium")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"),
    pytest.mark.skipif(
        CHROMEDRIVER is None, reason="chromedriver is not installed (Debian: apt-get install chromium-driver)"
    ),
    # Sockets stay usable, but only towards loopback: the page, the browser and its driver.
    pytest.mark.allow_hosts(["127.0.0.1", "::1"]),
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),  # gradio vs pandas 3
]

USER = "carol"
WAIT = 120  # seconds; the first question also loads the MiniLM encoder


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def page(tmp_path: Path):
    """The ``premium ui`` page on 127.0.0.1 with the offline defaults, and its runnable."""
    from langchain_premium.cli.ui import build
    from langchain_premium.ui.app import serve

    args = argparse.Namespace(model=None, tags=None, user="you", k=3, m=3, seed=0)
    premium, app = build(args, str(tmp_path / "ui.db"))
    url = serve(app, port=_free_port(), block=False)
    assert url.startswith("http://127.0.0.1:")
    try:
        yield url, premium
    finally:
        app.close()
        premium.memory.close()


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _text_input(driver, elem_id: str):
    return driver.find_element(By.CSS_SELECTOR, f"#{elem_id} textarea, #{elem_id} input")


def _status(driver) -> str:
    return driver.find_element(By.ID, "premium-status").text


def _profile(driver) -> tuple[int, list[tuple[str, float]]]:
    """(pairs shown, [(tag, probability)] of the bars, top first) of the profile on the page."""
    box = driver.find_element(By.CSS_SELECTOR, "#premium-profile .premium-profile")
    bars = [
        (bar.get_attribute("data-tag"), float(bar.get_attribute("data-p")))
        for bar in box.find_elements(By.CSS_SELECTOR, ".premium-bar")
    ]
    return int(box.get_attribute("data-pairs")), bars


def _ask(driver, query: str) -> None:
    box = _text_input(driver, "premium-query")
    box.clear()
    box.send_keys(query)
    before = driver.find_element(By.ID, "premium-answer-0").text
    driver.find_element(By.ID, "premium-ask").click()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.find_element(By.ID, "premium-answer-0").text not in ("", before)
        and "answers" in _status(d)
    )


def _click_rank(driver, candidate: int, rank: int) -> None:
    radio = driver.find_element(By.ID, f"premium-rank-{candidate}")
    for label in radio.find_elements(By.CSS_SELECTOR, "label"):
        if label.text.strip() == str(rank):
            label.click()
            return
    raise AssertionError(f"no rank {rank} option under answer {candidate + 1}")


def test_rank_in_the_browser_reaches_memory_and_profile(page, browser):
    url, premium = page
    browser.get(url)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.ID, "premium-ask"))

    user_box = _text_input(browser, "premium-user")
    user_box.clear()
    user_box.send_keys(USER)
    _ask(browser, "How do I make handmade desserts?")
    assert _profile(browser) == (0, []), "a new user has no learned profile yet"
    run = premium.memory.interactions(USER)[-1]
    assert run.ranking is None

    # Answer 2 best, then answer 3, then answer 1: candidates [1, 2, 0].
    for candidate, rank in ((0, 3), (1, 1), (2, 2)):
        _click_rank(browser, candidate, rank)
    browser.find_element(By.ID, "premium-submit").click()
    WebDriverWait(browser, WAIT).until(lambda d: "Stored" in _status(d))

    ranked = premium.memory.get_interaction(run.run_id)
    assert ranked.user_id == USER and ranked.ranking == [1, 2, 0]
    assert premium.memory.count_pairs(USER) == 3
    WebDriverWait(browser, WAIT).until(lambda d: _profile(d)[0] == 3)
    _, first_profile = _profile(browser)
    tags = [tag for tag, _ in first_profile]
    assert len(tags) == 8
    winner = set(ranked.candidates[1].tags)
    assert winner & set(tags[:3]), f"the winner's tags {winner} should lead the profile {tags}"

    # A second question: an incomplete ranking is refused, a best-of-m click is stored.
    _ask(browser, "Plan a relaxing weekend for me.")
    second = premium.memory.interactions(USER)[-1]
    browser.find_element(By.ID, "premium-submit").click()
    WebDriverWait(browser, WAIT).until(lambda d: "rank first" in _status(d))
    assert premium.memory.get_interaction(second.run_id).ranking is None
    browser.find_element(By.ID, "premium-best-2").click()
    WebDriverWait(browser, WAIT).until(lambda d: "Stored" in _status(d))
    assert premium.memory.get_interaction(second.run_id).ranking == [2]
    assert premium.memory.count_pairs(USER) == 5
    WebDriverWait(browser, WAIT).until(lambda d: _profile(d)[0] == 5)
    assert _profile(browser)[1] != first_profile, "the bars are redrawn from the updated model"
