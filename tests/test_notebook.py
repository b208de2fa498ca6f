"""notebooks/error_analysis.ipynb runs headless, without a cell error, on an evaluation of the tiny checkpoint."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO

NOTEBOOK = REPO / "notebooks" / "error_analysis.ipynb"


def test_notebook_is_committed_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert 'EVAL_DIR = "../models/offline/eval/test"' in code[0].source


def test_notebook_runs_on_an_evaluation_folder(tiny_checkpoint: Path, monkeypatch):
    import nbformat
    from jupyter_client.kernelspec import find_kernel_specs
    from nbclient import NotebookClient

    from antq_ner.evaluation import evaluate_run

    # jupyter_client starts the spec's `python` as this interpreter (sys.executable), so the
    # kernel sees the venv's antq_ner whichever way pytest was launched.
    assert "python3" in find_kernel_specs(), "no python3 kernel spec: install ipykernel in this environment"
    out = evaluate_run(tiny_checkpoint, "test", baselines=True, examples=2).out_dir
    monkeypatch.setenv("EVAL_DIR", str(out))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # the kernel inherits os.environ (EVAL_DIR); raises CellExecutionError on the first failing cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # per_type_f1.png and confusion.png
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for c in code for o in c.outputs)
    assert "wrong_boundary" in text and str(out) in text
