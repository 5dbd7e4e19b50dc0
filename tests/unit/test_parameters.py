"""Papermill-compatible parameter parsing (-p NAME VALUE, -y YAML)."""
from __future__ import annotations

import builtins
import json
import math
from typing import Any

import pytest

from nbdocker.exceptions import InputError
from nbdocker.stages.run.parameters import (check_parameters, parameters_to_json, parse_parameter_pairs,
                                 parse_parameters, parse_value, parse_yaml_parameters)


@pytest.mark.parametrize("text, expected", [
    ("True", True), ("False", False), ("None", None),
    ("3", 3), ("-7", -7), ("0.5", 0.5), ("1e3", 1000.0),
    ("hello", "hello"), ("true", "true"), ("007x", "007x"), ("", ""), ("3.1.4", "3.1.4"),
])
def test_parse_value_follows_papermill(text: str, expected: Any) -> None:
    value = parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_parse_value_nan_is_a_float_like_papermill() -> None:
    assert math.isnan(parse_value("nan"))


def test_pairs_later_wins_and_names_are_checked() -> None:
    assert parse_parameter_pairs([("a", "1"), ("b", "x"), ("a", "2")]) == {"a": 2, "b": "x"}
    for bad in ("1abc", "a-b", "class", "x; import os"):
        with pytest.raises(InputError, match="identifier"):
            parse_parameter_pairs([(bad, "1")])


def test_yaml_or_json_mapping() -> None:
    assert parse_yaml_parameters('{"alpha": 0.1, "names": ["a", "b"], "cfg": {"k": null}}') == {
        "alpha": 0.1, "names": ["a", "b"], "cfg": {"k": None}}
    assert parse_yaml_parameters("") == {}
    with pytest.raises(InputError, match="mapping"):
        parse_yaml_parameters("[1, 2]")


def test_without_pyyaml_json_is_accepted_and_yaml_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_yaml(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "yaml":
            raise ImportError("no yaml")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    assert parse_yaml_parameters('{"n": 3}') == {"n": 3}
    with pytest.raises(InputError, match="pip install pyyaml"):
        parse_yaml_parameters("n: 3")


def test_yaml_syntax_when_pyyaml_is_installed() -> None:
    pytest.importorskip("yaml")
    assert parse_yaml_parameters("n: 3\nname: x\nday: 2024-01-02") == {
        "n": 3, "name": "x", "day": "2024-01-02"}


def test_cli_merge_p_wins_over_y() -> None:
    assert parse_parameters([("n", "5")], '{"n": 1, "m": 2}') == {"n": 5, "m": 2}
    assert parse_parameters() == {}


def test_values_must_be_json_like() -> None:
    with pytest.raises(InputError, match="unsupported value type"):
        check_parameters({"x": object()})
    with pytest.raises(InputError, match="keys must be strings"):
        check_parameters({"x": {1: 2}})


def test_json_keeps_order_and_nan() -> None:
    text = parameters_to_json({"b": 1, "a": float("nan")})
    assert list(json.loads(text)) == ["b", "a"]
    assert math.isnan(json.loads(text)["a"])
