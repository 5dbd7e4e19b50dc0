"""Papermill-compatible notebook parameters: ``-p NAME VALUE`` and ``-y YAML``.

``-p`` values are typed like papermill's CLI does it: ``True``/``False``/``None`` become
those constants, then ``int(...)``, then ``float(...)`` are tried, and anything else
stays a string (so ``-p n 3`` is ``3``, ``-p ratio 0.5`` is ``0.5`` and ``-p name 007x``
is ``"007x"``). ``-y`` takes a YAML mapping; PyYAML is optional — without it the text
must be JSON (a subset of YAML), and the error says how to get PyYAML.

Parameters travel to the container as JSON and are written into the notebook as
``name = <python literal>`` lines, so values must be JSON-like: str, int, float, bool,
None, lists and string-keyed dicts of those. YAML dates become ISO-8601 strings.
"""
from __future__ import annotations

import datetime
import json
import keyword
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

from ..._json import MAX_DEPTH, check_depth, loads
from ...exceptions import InputError

__all__ = [
    "parse_value",
    "parse_parameter_pairs",
    "parse_yaml_parameters",
    "parse_parameters",
    "check_parameters",
    "parameters_to_json",
]


def parse_value(text: str) -> Any:
    """Type a ``-p`` value the way papermill's CLI does (bool, None, int, float, str)."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _check_name(name: Any) -> str:
    # The name is written into the notebook as code: only plain identifiers are safe.
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise InputError(f"parameter name {name!r} is not a valid Python identifier")
    return name


def _check_value(value: Any, where: str) -> Any:
    """Return ``value`` as JSON-like data, or raise InputError naming ``where``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):  # YAML timestamps
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_check_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"parameter {where}: dict keys must be strings, got {k!r}")
            out[k] = _check_value(v, f"{where}[{k!r}]")
        return out
    raise InputError(f"parameter {where}: unsupported value type {type(value).__name__}")


def check_parameters(parameters: Mapping[str, Any]) -> Dict[str, Any]:
    """Validate names (identifiers) and values (JSON-like, nested at most
    :data:`~nbdocker._json.MAX_DEPTH` levels); return a plain dict."""
    check_depth(dict(parameters), "parameters")
    return {_check_name(name): _check_value(value, name) for name, value in parameters.items()}


def parse_parameter_pairs(pairs: Iterable[Sequence[str]]) -> Dict[str, Any]:
    """``[("alpha", "0.5"), ("name", "x")]`` (argparse ``-p NAME VALUE``) → dict.

    A later pair wins over an earlier one with the same name, as in papermill.
    """
    result: Dict[str, Any] = {}
    for pair in pairs:
        if len(pair) != 2:
            raise InputError(f"-p expects NAME VALUE, got {list(pair)!r}")
        name, text = pair
        result[_check_name(name)] = parse_value(text)
    return result


def _yaml_load(text: str) -> Any:
    """Parse ``text`` with PyYAML when installed, else as JSON; nesting is bounded
    (:mod:`nbdocker._json`): a deep document is one clear error, not a RecursionError."""
    try:
        import yaml
    except ImportError:
        pass
    else:
        try:
            return check_depth(yaml.safe_load(text), "-y parameters")
        except yaml.YAMLError as exc:
            raise InputError(f"-y: not valid YAML: {exc}") from None
        except RecursionError:
            raise InputError(f"-y parameters are nested more than {MAX_DEPTH} levels "
                             "deep") from None
    try:
        return loads(text, "-y parameters")
    except ValueError as exc:
        raise InputError(
            f"-y: PyYAML is not installed, so the parameters must be JSON ({exc}); "
            "for YAML syntax: pip install pyyaml"
        ) from None


def parse_yaml_parameters(text: str) -> Dict[str, Any]:
    """Parameters from a YAML (or, without PyYAML, JSON) mapping given as text."""
    if not text.strip():
        return {}
    value = _yaml_load(text)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"-y: expected a mapping of NAME: VALUE, got {type(value).__name__}")
    return check_parameters(value)


def parse_parameters(pairs: Iterable[Sequence[str]] = (),
                     yaml_text: Optional[str] = None) -> Dict[str, Any]:
    """The CLI's parameters: ``-y`` first, then each ``-p`` (``-p`` wins on clashes)."""
    merged = parse_yaml_parameters(yaml_text) if yaml_text else {}
    merged.update(parse_parameter_pairs(pairs))
    return merged


def parameters_to_json(parameters: Mapping[str, Any]) -> str:
    """Deterministic JSON for the runner (NaN/inf kept: the runner writes ``float('nan')``)."""
    # Order is kept (papermill writes parameters in the order given).
    return json.dumps(check_parameters(parameters), allow_nan=True)
