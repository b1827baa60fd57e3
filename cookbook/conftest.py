"""Notebook runs (nbmake): each kernel starts with network sockets blocked, like the unit tests.

pytest-socket only guards the pytest process, and nbmake runs every notebook in its own kernel
process. When pytest runs with ``--disable-socket``, an IPython startup file (in a temporary
``IPYTHONDIR`` that kernels inherit) blocks sockets in each kernel before the first cell:
only Unix sockets stay usable, which the kernel's own event loop needs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_STARTUP = '''\
import warnings

# urllib3 probes IPv6 support with a local socket when imported: let it, before the block.
try:
    import urllib3

    del urllib3
except ImportError:
    pass
import pytest_socket

pytest_socket.disable_socket(allow_unix_socket=True)
# tqdm.auto asks for ipywidgets in notebooks; plain progress output is fine here.
warnings.filterwarnings("ignore", message="IProgress not found")
del pytest_socket, warnings
'''

_created: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Kernels inherit the environment: no download progress bars in the executed notebooks.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not config.getoption("--disable-socket") or config.getoption("--force-enable-socket"):
        return
    ipython_dir = tempfile.mkdtemp(prefix="premium-cookbook-ipython-")
    startup = Path(ipython_dir, "profile_default", "startup")
    startup.mkdir(parents=True)
    (startup / "00-block-network.py").write_text(_STARTUP, encoding="utf-8")
    os.environ["IPYTHONDIR"] = ipython_dir
    _created.append(ipython_dir)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _created:
        shutil.rmtree(_created.pop(), ignore_errors=True)
