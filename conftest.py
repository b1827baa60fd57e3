"""Setup for the package's docstring examples, which ``python -m pytest`` runs as doctests.

This file sits at the repository root, not in the package, so the wheel does not ship it.

Optional dependencies: ``--doctest-modules`` imports every module of ``langchain_premium``.
None of them imports an optional dependency at import time (``langchain_premium.ui.app``
imports gradio, the ``ui`` extra, only when it builds a page), so ``collect_ignore`` is empty.
If a module ever imports one at the top, skip it here when that dependency is missing::

    if importlib.util.find_spec("gradio") is None:
        collect_ignore.append("langchain_premium/ui/that_module.py")
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path
from typing import Any, Iterator

import pytest

collect_ignore: list[str] = []

_PACKAGE = Path(__file__).resolve().parent / "langchain_premium"


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    """Collect doctests from the package only, not from ``tests/`` or ``cookbook/``.

    They hold no docstring examples, and ``--doctest-modules`` would import their rootless
    ``conftest.py`` files as modules all named ``conftest``, which clash ("import file mismatch").
    """
    collected = yield
    if _PACKAGE in file_path.resolve().parents:
        return collected
    return [node for node in collected if type(node).__name__ != "DoctestModule"]


#: Classes whose method examples continue from the class example, and what to close afterwards:
#: a name bound by the class example, ``name.attribute``, or ``None``. Each method example gets
#: the names of its own run of the class example: for SQLiteMemory, a fresh in-memory database.
CONTINUED_CLASS_EXAMPLES: dict[str, str | None] = {
    "langchain_premium.memory.SQLiteMemory": "memory",
    "langchain_premium.runnable.PremiumRunnable": "premium.memory",
    "langchain_premium.baselines.tidybot.TidyBotRunnable": "tidybot.memory",
    "langchain_premium.selectors.population.PopulationSelector": "memory",
    "langchain_premium.selectors.prompt.PromptSelector": "memory",
    "langchain_premium.simulation.annotators.EmbeddingAnnotator": None,
}

#: Other docstrings whose examples (and their methods' examples) continue from the example of
#: a class in ``CONTINUED_CLASS_EXAMPLES`` (their text says so).
CONTINUED_ELSEWHERE = {
    "langchain_premium.result.PremiumResult": "langchain_premium.runnable.PremiumRunnable",
    "langchain_premium.baselines.profile.ProfileRunnable":
        "langchain_premium.baselines.tidybot.TidyBotRunnable",
}


def _continued_from(name: str) -> str | None:
    """The class whose example the doctest ``name`` continues from, if any."""
    for qualname in CONTINUED_CLASS_EXAMPLES:
        if name.startswith(qualname + "."):
            return qualname
    for prefix, qualname in CONTINUED_ELSEWHERE.items():
        if name == prefix or name.startswith(prefix + "."):
            return qualname
    return None


def _run_class_example(qualname: str) -> dict[str, Any]:
    """Run the docstring example of class ``qualname``; return the names it bound."""
    module_name, _, class_name = qualname.rpartition(".")
    module = importlib.import_module(module_name)
    module_globals = vars(module)
    test = doctest.DocTestParser().get_doctest(
        getattr(module, class_name).__doc__, dict(module_globals), qualname, module.__file__, 0
    )
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    if runner.run(test, out=report.append, clear_globs=False).failed:
        pytest.fail(
            f"the class example of {qualname} fails, so its method examples cannot run:\n"
            + "".join(report),
            pytrace=False,
        )
    return {
        name: value
        for name, value in test.globs.items()
        if name not in module_globals or module_globals[name] is not value
    }


@pytest.fixture(autouse=True)
def _continue_class_example(
    request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]
) -> Iterator[None]:
    """For a method's doctest, first run its class example (see ``CONTINUED_CLASS_EXAMPLES``)."""
    dtest = getattr(request.node, "dtest", None)  # only doctest items have one
    qualname = _continued_from(dtest.name) if dtest else None
    if qualname is None:
        yield
        return
    names = _run_class_example(qualname)
    doctest_namespace.update(names)  # read by the doctest item right after its fixtures
    try:
        yield
    finally:
        for name in names:
            doctest_namespace.pop(name, None)
        to_close = CONTINUED_CLASS_EXAMPLES[qualname]
        if to_close is not None:
            first, *attributes = to_close.split(".")
            target = names[first]
            for attribute in attributes:
                target = getattr(target, attribute)
            target.close()
