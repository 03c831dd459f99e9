"""notebooks/quasar_host_multiwavelength.ipynb runs top to bottom (its cells assert that
the truth lies inside the joint posterior and that the joint posterior is the narrowest)."""

from __future__ import annotations

from test_notebooks import FOLDER, execute_notebook


def test_quasar_host_notebook_executes(tmp_path):
    execute_notebook(FOLDER / "quasar_host_multiwavelength.ipynb", tmp_path)
