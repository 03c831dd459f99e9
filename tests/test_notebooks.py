"""Every notebook in notebooks/ runs top to bottom (its cells assert their results)."""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
# notebooks run by a test module of their own, so that pytest-xdist's loadfile gives
# the longest a worker beside the others
OWN_MODULE = {"quasar_host_multiwavelength": "tests/test_notebook_quasar.py"}
NOTEBOOKS = sorted(p for p in FOLDER.glob("*.ipynb") if p.stem not in OWN_MODULE)


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ should hold the tutorials"


def test_notebooks_run_by_their_own_module_exist():
    for stem, module in OWN_MODULE.items():
        assert (FOLDER / f"{stem}.ipynb").is_file() and (FOLDER.parent / module).is_file(), stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    execute_notebook(path, tmp_path)


def execute_notebook(path: pathlib.Path, folder: pathlib.Path) -> None:
    """Run the notebook top to bottom in ``folder``; no cell may raise (its cells
    assert their results)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
