"""EnvironmentSpec: deterministic JSON, round trip, hashing, schema guard."""
import json

import pytest

from nbdocker.spec import (EnvironmentSpec, FileEntry, PlatformInfo, PythonInfo, Requirement,
                           Unresolved)


def make_spec(**overrides):
    base = dict(
        notebook="analysis.ipynb",
        python=PythonInfo("3.11.7"),
        platform=PlatformInfo("linux", "x86_64", "python3"),
        requirements=(
            Requirement("pandas", "2.2.0", True, ("import pandas (cell 2)",)),
            Requirement("numpy", "1.26.4", False, required_by=("pandas",)),
        ),
        unresolved=(Unresolved("foo", ("import foo (cell 7)",), "foo"),),
        files=(FileEntry("data/x.csv", "data", 12, "ab" * 32),
               FileEntry("analysis.ipynb", "notebook", 100, "cd" * 32)),
        env=(("B", "2"), ("A", "1")),
    )
    base.update(overrides)
    return EnvironmentSpec(**base)


def test_json_is_sorted_and_stable():
    a = make_spec()
    b = make_spec(requirements=tuple(reversed(make_spec().requirements)),
                  files=tuple(reversed(make_spec().files)))
    assert a.to_json() == b.to_json()
    doc = json.loads(a.to_json())
    assert [r["name"] for r in doc["requirements"]] == ["numpy", "pandas"]
    assert doc["schema_version"] == 1
    assert doc["python"] == {"version": "3.11.7", "implementation": "CPython"}
    assert doc["requirements"][1] == {"name": "pandas", "version": "2.2.0", "direct": True,
                                      "reasons": ["import pandas (cell 2)"],
                                      "specifier": None, "optional": False,
                                      "required_by": [], "kernel": False, "local": None}
    assert doc["unresolved"] == [{"module": "foo", "reasons": ["import foo (cell 7)"],
                                  "pypi_name": "foo"}]


def test_round_trip_and_hash():
    spec = make_spec()
    again = EnvironmentSpec.from_json(spec.to_json())
    assert again == spec
    assert again.content_hash() == spec.content_hash()
    assert make_spec(notebook="other.ipynb").content_hash() != spec.content_hash()


def test_unknown_schema_version_is_refused():
    doc = json.loads(make_spec().to_json())
    doc["schema_version"] = 99
    with pytest.raises(ValueError, match="schema_version 99"):
        EnvironmentSpec.from_dict(doc)


def test_views():
    spec = make_spec()
    assert [r.name for r in spec.direct_requirements] == ["pandas"]
    assert spec.notebook_stem == "analysis"
    assert spec.requirement("numpy").pin == "numpy==1.26.4"
    assert Requirement("x", None, specifier=">=2").pin == "x>=2"
    assert spec.python.major_minor == "3.11"


def test_schema_1_bare_apt_names_still_load() -> None:
    from nbdocker.spec import SystemPackage

    data = EnvironmentSpec("x.ipynb", PythonInfo("3.11.7")).to_dict()
    data["apt_packages"] = ["graphviz", "curl"]
    spec = EnvironmentSpec.from_dict(data)
    assert spec.apt_packages == (SystemPackage("curl"), SystemPackage("graphviz"))
    assert EnvironmentSpec.from_json(spec.to_json()) == spec
