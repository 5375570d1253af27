"""Sphinx configuration: the documentation site (``sphinx-build -W docs docs/_build``; CI builds it in
``tests/integration/test_docs.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import spikefa  # noqa: E402

project = "spikefa"
author = "spikefa contributors"
copyright = "2026, spikefa contributors"
release = version = spikefa.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx.ext.viewcode", "circuit_reference"]
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
html_theme = "furo"
html_title = f"spikefa {release}"
html_last_updated_fmt = None  # no build date in the pages: the same sources give the same site

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # lab-notebook pages keep a few bold lead-ins under deeper headings

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}

nb_execution_mode = "force"  # the tutorial runs on every build: a broken example fails the build
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True
