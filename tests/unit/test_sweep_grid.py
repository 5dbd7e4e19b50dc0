"""Which runs a sweep makes: parameter names, value lists, grids, the product, file names."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbdocker.exceptions import InputError
from nbdocker.options import Options
from nbdocker.stages.run.sweep_grid import (check_sets, expand, load_grid, parameter_names,
                                            parse_values, run_file_name,
                                            values_of_parameters)


def _nb(*sources: str, tagged: int = 0) -> Any:
    cells: List[Any] = [new_markdown_cell("# title")]
    for i, source in enumerate(sources):
        cells.append(new_code_cell(source, metadata={"tags": ["parameters"]} if i == tagged
                                   else {}))
    return new_notebook(cells=cells)


def test_names_are_the_top_level_assignments_of_the_first_parameters_cell() -> None:
    nb = _nb("alpha = 0.1\nn: int = 3\na, (b, *rest) = 1, (2, 3)\nif True:\n    hidden = 1\n"
             "def f():\n    inner = 2\nalpha += 1\n%matplotlib inline\nlabel = 'x'",
             "later = 1")
    assert parameter_names(nb) == ("alpha", "n", "a", "b", "rest", "label")


def test_a_notebook_without_parameters_cell_is_a_usage_error() -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    with pytest.raises(InputError, match="has no cell tagged 'parameters'"):
        parameter_names(nb, "a.ipynb")


def test_a_parameters_cell_that_is_not_python_is_named() -> None:
    with pytest.raises(InputError, match=r"parameters cell \(cell 1\) is not valid Python"):
        parameter_names(_nb("x = = 1"))


@pytest.mark.parametrize("text, values", [
    ("0.1,0.2,3", (0.1, 0.2, 3)),
    ("True,None,x", (True, None, "x")),
    (r"a\,b,c", ("a,b", "c")),
    (r"C:\data,x\\,y", ("C:\\data", "x\\", "y")),
    ("", ("",)),
    ("007x", ("007x",)),
])
def test_value_lists_split_at_commas_and_type_like_run(text: str, values: tuple) -> None:
    assert parse_values(text) == values


def test_the_magic_reads_runs_single_values_as_lists() -> None:
    assert values_of_parameters({"a": "1,2", "b": 3, "c": r"x\,y"}) == {
        "a": (1, 2), "b": (3,), "c": ("x,y",)}


def test_cli_p_is_a_list_for_sweep_and_one_value_for_run() -> None:
    from nbdocker.frontends.cli import build_parser
    from nbdocker.options import from_namespace

    sweep = from_namespace(build_parser().parse_args(["sweep", "nb.ipynb", "-p", "a", "1,2"]))
    run = from_namespace(build_parser().parse_args(["run", "nb.ipynb", "-p", "a", "1,2"]))
    assert sweep.sweep_parameters == {"a": (1, 2)} and sweep.parameters == {}
    assert run.parameters == {"a": "1,2"} and run.sweep_parameters == {}


def test_product_order_seeds_and_grid_sets() -> None:
    sets = expand(None, {"a": (1, 2), "b": ("x", "y")}, seeds=2)
    assert sets[:3] == [{"a": 1, "b": "x", "seed": 0}, {"a": 1, "b": "x", "seed": 1},
                        {"a": 1, "b": "y", "seed": 0}]
    assert len(sets) == 8 and sets[-1] == {"a": 2, "b": "y", "seed": 1}
    listed = expand([{"a": 1}, {"a": 5, "b": "z"}], {"c": (True,)})
    assert listed == [{"a": 1, "c": True}, {"a": 5, "b": "z", "c": True}]


def test_grid_files(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "g.yaml").write_text("alpha: [0.1, 0.2]\nmodel: lasso\n")
    assert load_grid(tmp_path / "g.yaml") == [{"alpha": 0.1, "model": "lasso"},
                                             {"alpha": 0.2, "model": "lasso"}]
    (tmp_path / "g.json").write_text(json.dumps([{"alpha": 1}, {"alpha": 2, "n": [1, 2]}]))
    assert load_grid(str(tmp_path / "g.json")) == [{"alpha": 1}, {"alpha": 2, "n": [1, 2]}]


@pytest.mark.parametrize("content, suffix, message", [
    ("[1, 2]", ".json", "list of parameter mappings or a mapping"),
    ("{bad", ".json", "not valid JSON"),
    ("a: [1", ".yaml", "not valid YAML"),
    ("a: 1", ".txt", "must be a .yaml, .yml or .json file"),
])
def test_bad_grid_files_are_usage_errors(tmp_path: Path, content: str, suffix: str,
                                         message: str) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / f"grid{suffix}"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_grid(path)


def test_missing_grid_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--grid .*missing.json"):
        load_grid(tmp_path / "missing.json")


@pytest.mark.parametrize("grid, values, seeds, message", [
    (None, {}, None, "the sweep has no parameter sets"),
    ([], {}, None, "the sweep has no parameter sets"),
    ({"a": [1]}, {"a": (2,)}, None, "'a' is set by --grid and by -p"),
    (None, {"seed": (1,)}, 3, "either --seeds N or -p seed"),
    ({"seed": [1]}, {}, 2, "'seed' is set by --grid and by --seeds"),
])
def test_clashes_and_empty_sweeps(grid: Any, values: Any, seeds: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        expand(grid, values, seeds)


def test_unknown_names_and_uninjectable_values_are_refused() -> None:
    with pytest.raises(InputError, match=r"'beta' is not set in the parameters cell of "
                                         r"nb.ipynb \(it sets: alpha, seed\)"):
        check_sets([{"alpha": 1}, {"beta": 2}], ("alpha", "seed"), "nb.ipynb")
    with pytest.raises(InputError, match="parameter set 1: .*unsupported value type set"):
        check_sets([{"alpha": 1}, {"alpha": {1, 2}}], ("alpha",))
    assert check_sets([{"alpha": (1, 2)}], ("alpha",)) == [{"alpha": [1, 2]}]


def test_file_names_are_safe_and_unique_by_index() -> None:
    assert run_file_name(3, {"alpha": 0.5, "seed": 2}, 4) == "0003-alpha=0.5-seed=2.ipynb"
    odd = run_file_name(12, {"path": "../../etc/passwd", "s": "a b/c\\d:e*?"}, 4)
    assert odd == "0012-path=_etc_passwd-s=a_b_c_d_e.ipynb"
    assert "/" not in odd and ".." not in odd
    long = run_file_name(1, {"x": "y" * 500}, 4)
    assert len(long) <= 4 + 1 + 80 + len(".ipynb")
    assert run_file_name(7, {"d": {"k": [1, None]}}, 4) == '0007-d=_k_1_null.ipynb'


@pytest.mark.parametrize("changes, message", [
    ({"jobs": 0}, "--jobs must be a whole number of at least 1"),
    ({"jobs": "many"}, "--jobs must be a whole number"),
    ({"seeds": -1}, "--seeds must be a whole number of at least 1"),
    ({"collect": ["not a name"]}, "not a valid Python identifier"),
    ({"backend": "slurm"}, "--backend must be one of local, swarm, kubernetes"),
    ({"registry": "Bad Host/x"}, "--registry: not a valid image reference"),
    ({"emit": "out", "backend": "swarm", "registry": "127.0.0.1:5000/x"},
     "does not go with --backend swarm"),
    ({"backend": "kubernetes"}, "--backend kubernetes needs --registry HOST/REPO"),
    ({"sweep_parameters": {"1x": [1]}}, "not a valid Python identifier"),
    ({"sweep_parameters": {"x": [object()]}}, "unsupported value type"),
])
def test_sweep_options_are_checked(changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Options(**changes)


def test_sweep_options_are_normalised() -> None:
    options = Options(sweep_parameters={"a": [1, 2], "b": "x"}, jobs="4", seeds=3,
                      collect=["acc"])
    assert options.sweep_parameters == {"a": (1, 2), "b": ("x",)}
    assert options.jobs == 4 and options.collect == ("acc",)
