"""Which runs a sweep makes: the notebook's parameter names, the values to try, the product.

* :func:`parameter_names` reads the names the notebook's ``parameters`` cell assigns
  (papermill's convention: the first cell tagged ``parameters`` holds the defaults; its
  top-level assignments, read with :mod:`ast` after IPython syntax is turned into
  Python). A sweep may set only those names.
* :func:`parse_values` types one ``-p NAME V1,V2,...`` list: split at commas (``\\,`` is a
  literal comma, ``\\\\`` a backslash), each piece typed like ``-p`` of ``run``
  (papermill's rules: ``True``/``False``/``None``, int, float, else a string).
* :func:`load_grid` reads ``--grid FILE.yaml|.json``: a list of parameter dicts (run as
  given) or a dict of lists (every combination).
* :func:`expand` multiplies the grid, the ``-p`` lists and ``--seeds N`` (a ``seed``
  parameter taking 0..N-1) into the parameter sets, in a stable order (the last axis
  varies fastest), and :func:`check_sets` refuses unknown names and values that cannot
  be injected, before anything runs.
* :func:`run_file_name` names each executed notebook by its index and its parameters.
"""
from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ...exceptions import InputError
from ... import contract
from .parameters import _yaml_load, check_parameters, parse_value

__all__ = ["parameter_names", "parse_values", "parse_values_pair", "values_of_parameters",
           "load_grid", "expand", "check_sets", "run_file_name"]

Grid = Union[str, Path, Mapping[str, Any], Sequence[Mapping[str, Any]]]

_UNSAFE = re.compile(r"[^\w.=+-]|\.{2,}")   # letters and digits of any script; ".." never
_NAME_LIMIT = 80   # characters of parameters in a file name (the index keeps names unique)


def _tags(cell: Any) -> List[str]:
    return list(cell.get("metadata", {}).get("tags") or [])


def parameter_names(nb: Any, notebook: str = "the notebook") -> Tuple[str, ...]:
    """The names the first cell tagged ``parameters`` assigns at top level, in order.

    :class:`InputError` when there is no such cell or it is not Python."""
    from ..capture.ipython_syntax import parse_cell

    for position, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or contract.PARAMETERS_TAG not in _tags(cell):
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        try:
            tree = parse_cell(source)
        except SyntaxError as exc:
            raise InputError(f"{notebook}: its parameters cell (cell {position}) is not "
                             f"valid Python ({exc.msg}, line {exc.lineno})") from None
        names: Dict[str, None] = {}
        for node in tree.body:
            targets: List[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            while targets:
                target = targets.pop(0)
                if isinstance(target, ast.Name):
                    names[target.id] = None
                elif isinstance(target, (ast.Tuple, ast.List)):
                    targets[:0] = list(target.elts)
                elif isinstance(target, ast.Starred):
                    targets.insert(0, target.value)
        return tuple(names)
    raise InputError(f"{notebook} has no cell tagged 'parameters': tag the cell that sets "
                     "the defaults (papermill's convention), so a sweep knows which names "
                     "it may set")


def parse_values(text: str) -> Tuple[Any, ...]:
    """``"0.1,0.2,x"`` → ``(0.1, 0.2, "x")``; ``\\,`` is a literal comma."""
    pieces: List[str] = []
    current: List[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            if following in (",", "\\"):
                current.append(following)
            else:   # a backslash before anything else stays (Windows paths)
                current.append(char + following)
        elif char == ",":
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return tuple(parse_value(piece) for piece in pieces)


def values_of_parameters(parameters: Mapping[str, Any]) -> Dict[str, Tuple[Any, ...]]:
    """``-p NAME V1,V2`` read as ``run`` reads it (one value each) → the values to try:
    a string is split like :func:`parse_values` (``run``'s typing leaves such text a
    string), any other value is the only one (``%dockerize --sweep`` shares run's -p)."""
    return {name: parse_values(value) if isinstance(value, str) else (value,)
            for name, value in parameters.items()}


def parse_values_pair(pair: Sequence[str]) -> Tuple[str, Tuple[Any, ...]]:
    """argparse's ``-p NAME V1,V2,...`` → ``(name, values)``."""
    if len(pair) != 2:
        raise InputError(f"-p expects NAME V1,V2,..., got {list(pair)!r}")
    name, text = pair
    check_parameters({name: None})
    return name, parse_values(text)


def load_grid(grid: Grid) -> List[Dict[str, Any]]:
    """The parameter sets of ``--grid``: a file (``.yaml``/``.yml``/``.json``) or the
    data itself, either a list of dicts or a dict of lists (every combination)."""
    if isinstance(grid, (str, Path)):
        path = Path(grid)
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise InputError(f"--grid must be a .yaml, .yml or .json file: {path}")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--grid {path}: {exc.strerror or exc}") from None
        try:
            data: Any = json.loads(text) if path.suffix.lower() == ".json" else _yaml_load(text)
        except ValueError as exc:
            raise InputError(f"--grid {path}: not valid JSON ({exc})") from None
        except InputError as exc:
            raise InputError(f"--grid {path}: {str(exc).split(': ', 1)[-1]}") from None
    else:
        data = grid
    if isinstance(data, Mapping):
        axes = {str(k): tuple(v) if isinstance(v, (list, tuple)) else (v,)
                for k, v in data.items()}
        return _product([{}], axes)
    if isinstance(data, (list, tuple)) and all(isinstance(s, Mapping) for s in data):
        return [dict(s) for s in data]
    raise InputError("--grid must hold a list of parameter mappings or a mapping of "
                     f"NAME: [values], not {type(data).__name__}")


def _product(sets: Sequence[Mapping[str, Any]], axes: Mapping[str, Sequence[Any]]
             ) -> List[Dict[str, Any]]:
    names = list(axes)
    combos = list(itertools.product(*(axes[n] for n in names)))
    return [{**s, **dict(zip(names, combo))} for s in sets for combo in combos]


def expand(grid: Optional[Grid] = None, values: Mapping[str, Sequence[Any]] = {},
           seeds: Optional[int] = None) -> List[Dict[str, Any]]:
    """Every parameter set: each grid set × every combination of the ``-p`` lists ×
    ``seed`` in 0..seeds-1. A name given twice (grid and ``-p``, or ``-p seed`` and
    ``--seeds``) is a usage error."""
    axes: Dict[str, Tuple[Any, ...]] = {name: tuple(v) for name, v in values.items()}
    if seeds:
        if "seed" in axes:
            raise InputError("give either --seeds N or -p seed ..., not both")
        axes["seed"] = tuple(range(seeds))
    sets = load_grid(grid) if grid is not None else [{}]
    for s in sets:
        both = sorted(set(s) & set(axes))
        if both:
            raise InputError(f"parameter {both[0]!r} is set by --grid and by "
                             f"{'--seeds' if both[0] == 'seed' and seeds else '-p'}: "
                             "give it once")
    expanded = _product(sets, axes)
    if not expanded or expanded == [{}]:
        raise InputError("the sweep has no parameter sets: give -p NAME V1,V2,..., "
                         "--grid FILE or --seeds N")
    return expanded


def check_sets(sets: Sequence[Mapping[str, Any]], names: Sequence[str],
               notebook: str = "the notebook") -> List[Dict[str, Any]]:
    """The sets, checked: every name is one of the parameters cell's ``names`` and
    every value can be injected (JSON-like; see :mod:`.parameters`)."""
    known = set(names)
    checked = []
    for index, s in enumerate(sets):
        unknown = [name for name in s if name not in known]
        if unknown:
            listed = ", ".join(names) if names else "none"
            raise InputError(f"parameter {unknown[0]!r} is not set in the parameters cell of "
                             f"{notebook} (it sets: {listed})")
        try:
            checked.append(check_parameters(s))
        except InputError as exc:
            raise InputError(f"parameter set {index}: {exc}") from None
    return checked


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                           ensure_ascii=False)


def run_file_name(index: int, parameters: Mapping[str, Any], width: int) -> str:
    """``0003-alpha=0.5-seed=2.ipynb``: the index (zero-padded to ``width``), then the
    parameters, reduced to characters safe in any file system."""
    text = "-".join(f"{name}={_text(value)}" for name, value in parameters.items())
    text = re.sub("_+", "_", _UNSAFE.sub("_", text)).strip("._-")[:_NAME_LIMIT].rstrip("._-")
    stem = f"{index:0{width}d}" + (f"-{text}" if text else "")
    return stem + ".ipynb"
