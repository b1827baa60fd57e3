"""``premium ui``: its options, model loading and the page's building blocks, without a browser."""

from __future__ import annotations

import argparse
import sys
import types

import pytest

from langchain_premium.cli import build_parser
from langchain_premium.cli import ui as ui_command
from langchain_premium.result import Candidate
from langchain_premium.selectors.base import UserProfile
from langchain_premium.ui.app import candidate_markdown, profile_html


def test_ui_is_a_premium_command_with_loopback_only():
    args = build_parser().parse_args(["ui", "--port", "8123", "--model", "pkg:Model", "-m", "4"])
    assert (args.port, args.model, args.m, args.k, args.user) == (8123, "pkg:Model", 4, 3, "you")
    with pytest.raises(SystemExit):  # there is no way to bind to another interface
        build_parser().parse_args(["ui", "--host", "0.0.0.0"])


def test_load_model_accepts_instances_classes_and_factories(monkeypatch):
    from langchain_premium.offline import OfflineChatModel

    assert isinstance(ui_command.load_model("langchain_premium.offline:OfflineChatModel"), OfflineChatModel)
    module = types.ModuleType("fake_models")
    module.instance = OfflineChatModel()
    module.factory = lambda: OfflineChatModel()
    module.number = 3
    monkeypatch.setitem(sys.modules, "fake_models", module)
    assert ui_command.load_model("fake_models:instance") is module.instance
    assert isinstance(ui_command.load_model("fake_models:factory"), OfflineChatModel)
    with pytest.raises(SystemExit, match="not a chat model"):
        ui_command.load_model("fake_models:number")
    with pytest.raises(SystemExit, match="no attribute 'missing'"):
        ui_command.load_model("fake_models:missing")
    with pytest.raises(SystemExit, match="cannot import"):
        ui_command.load_model("no_such_module_xyz:Model")
    with pytest.raises(SystemExit, match="module:attr"):
        ui_command.load_model("OfflineChatModel")


def test_without_gradio_the_command_explains_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)  # makes `import gradio` fail
    args = argparse.Namespace(db=None, model=None, tags=None, user="you", k=3, m=3, seed=0, port=0)
    with pytest.raises(SystemExit, match=r"pip install 'langchain-premium\[ui\]'"):
        ui_command.run(args)


def test_profile_html_escapes_and_orders():
    profile = UserProfile("<eve>", {"A & B": 0.5, "C": 0.25, "D": 0.25}, styles={"Brief": 0.8, "Thorough": 0.2})
    page = profile_html(profile, pairs=3, top=2)
    assert "&lt;eve&gt;" in page and "<eve>" not in page
    assert page.index('data-tag="A &amp; B"') < page.index('data-tag="C"')
    assert 'data-tag="D"' not in page  # top=2
    assert 'data-tag="Brief"' in page and 'data-tag="Thorough"' not in page
    assert 'data-pairs="0"' in profile_html(profile, pairs=0) and "premium-bar" not in profile_html(profile, pairs=0)


def test_candidate_markdown_shows_tags_and_styles():
    text = candidate_markdown(Candidate(1, ["Baking"], "Knead.", styles=["Brief"]))
    assert text.startswith("**Baking · Brief**") and text.endswith("Knead.")
    assert candidate_markdown(None) == "*No answer.*"
