"""Issue 14.1: nothing from a spec or bundle reaches the Dockerfile or a shell
unvalidated. Every field is tried with newlines, quotes, ``$()``, backslashes and ``#``:
each value is refused (naming the field) or rendered inert (it comes back exactly,
inside one quoted word, and the Dockerfile keeps its instructions)."""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Dict, List, Optional, Tuple

import pytest

from nbdocker.engine.fake import dockerfile_instructions
from nbdocker.exceptions import InputError
from nbdocker.frontends.cli import main
from nbdocker.spec import EnvironmentSpec
from nbdocker.stages.image import render

BASE = "python:3.11-slim"
HOSTILE = ["x\nCOPY --from=builder /tmp/nbdocker-build /home/nbdocker/leak",
           'x"; touch /pwned; "', "$(touch /pwned)", "x\\", "x\\\nRUN touch /pwned",
           "# x", "x #y", "`id`", "${HOME}", "x\rRUN id", "x\u2028y", "x\x1b[2Jy"]

GOOD: Dict[str, Any] = {
    "schema_version": 1, "notebook": "analysis.ipynb",
    "python": {"version": "3.11.7", "implementation": "CPython"},
    "platform": {"system": "linux", "machine": "x86_64", "kernel_name": "python3"},
    "requirements": [{"name": "six", "version": "1.16.0", "direct": True,
                      "reasons": ["import six (cell 1)"], "specifier": ">=1.0",
                      "required_by": []},
                     {"name": "attrs", "version": "23.2.0", "direct": False,
                      "required_by": ["six"]}],
    "unresolved": [{"module": "foo", "reasons": ["import foo"], "pypi_name": "foo-bar"}],
    "files": [{"path": "analysis.ipynb", "kind": "notebook", "size": 1, "sha256": "a" * 64},
              {"path": "data/x.csv", "kind": "data", "size": 1, "sha256": "b" * 64}],
    "apt_packages": [{"name": "graphviz", "version": "2.42.2-7+b3", "reasons": []}],
    "env": [["MPLBACKEND", "Agg"]],
    "warnings": ["a warning"],
}
# (path into the document, the field name the error must give)
FIELDS: List[Tuple[Tuple[Any, ...], str]] = [
    (("notebook",), "notebook"),
    (("python", "version"), "python.version"),
    (("python", "implementation"), "python.implementation"),
    (("platform", "system"), "platform.system"),
    (("platform", "kernel_name"), "platform.kernel_name"),
    (("requirements", 0, "name"), "requirements[0].name"),
    (("requirements", 0, "version"), "requirements[0].version"),
    (("requirements", 0, "specifier"), "requirements[0].specifier"),
    (("requirements", 0, "reasons", 0), "requirements[0].reasons[0]"),
    (("requirements", 1, "required_by", 0), "requirements[1].required_by[0]"),
    (("unresolved", 0, "module"), "unresolved[0].module"),
    (("unresolved", 0, "pypi_name"), "unresolved[0].pypi_name"),
    (("files", 1, "path"), "files[1].path"),
    (("files", 1, "sha256"), "files[1].sha256"),
    (("files", 1, "kind"), "files[1].kind"),
    (("apt_packages", 0, "name"), "apt_packages[0].name"),
    (("apt_packages", 0, "version"), "apt_packages[0].version"),
    (("env", 0, 0), "env[0].name"),
    (("env", 0, 1), "env[0].value"),
    (("warnings", 0), "warnings[0]"),
]


def _with(path: Tuple[Any, ...], value: str) -> Dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    if path == ("notebook",):   # the notebook's own file entry follows its name
        doc["files"][0]["path"] = value
    return doc


def _unquote(word: str) -> str:
    """The Dockerfile builder's reading of one double-quoted word (ENV, LABEL)."""
    assert word.startswith('"') and word.endswith('"'), word
    out, i, body = [], 0, word[1:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '"$\\':
            out.append(body[i + 1])
            i += 2
            continue
        assert body[i] not in '"', f"unescaped quote in {word!r}"
        assert body[i] != "$" or (i and body[i - 1] == "\\"), f"expandable $ in {word!r}"
        out.append(body[i])
        i += 1
    return "".join(out)


def _words(instruction: str, key: str) -> Optional[str]:
    """The quoted value of ``key=`` in an ENV/LABEL instruction (continuations joined)."""
    m = re.search(rf'(?:^|\s){re.escape(key)}=("(?:[^"\\]|\\.)*")', instruction)
    return m.group(1) if m else None


# Free text for people, never rendered into a Dockerfile (still without control characters).
TEXT_ONLY = {"platform.system", "requirements[0].reasons[0]", "warnings[0]",
             "files[1].path"}   # a tar member name, never Dockerfile text
BENIGN = [i.split()[0] for i in dockerfile_instructions(
    render(EnvironmentSpec.from_dict(GOOD), base_image=BASE))]


@pytest.mark.parametrize("path,field", FIELDS, ids=[f for _, f in FIELDS])
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_every_field_refuses_or_neutralises_hostile_text(path: Tuple[Any, ...], field: str,
                                                          value: str) -> None:
    doc = _with(path, value)
    try:
        spec = EnvironmentSpec.from_dict(doc)
    except InputError as exc:
        # The field is named (list positions are those of the sorted spec).
        assert re.search("spec field " + re.escape(field).replace(r"\[0\]", r"\[\d\]")
                         .replace(r"\[1\]", r"\[\d\]"), str(exc)), str(exc)
        assert "\n" not in str(exc) and "\x1b" not in str(exc)  # one line, no escapes
        return
    # Accepted: the value must be inert where it is rendered.
    text = render(spec, base_image=BASE)
    instructions = dockerfile_instructions(text)
    assert [i.split()[0] for i in instructions] == BENIGN   # no instruction added
    assert "pwned" not in "".join(line for line in text.splitlines()
                                  if not line.startswith(("#", "ENV", "LABEL", "CMD", " ")))
    final_env = [i for i in instructions if i.startswith("ENV ")][-1]
    labels = next(i for i in instructions if i.startswith("LABEL "))
    cmd = json.loads(next(i for i in instructions if i.startswith("CMD "))[4:])
    if field == "notebook":
        assert _unquote(_words(labels, "io.nbdocker.notebook") or "") == value
        assert cmd[-2] == value and cmd[-3] == "--"
    elif field == "env[0].value":
        assert _unquote(_words(final_env, "MPLBACKEND") or "") == value
    else:   # a field that never reaches the Dockerfile text
        assert field in TEXT_ONLY
        assert value not in text
    assert sum(line.startswith("# Generated") for line in text.splitlines()) == 1


def test_the_accepted_values_are_the_ones_a_file_name_or_a_value_may_hold() -> None:
    accepted = {(f, v) for (p, f) in FIELDS for v in HOSTILE
                if _accepts(_with(p, v))}
    fields = {f for f, _ in accepted}
    assert fields == {"notebook", "env[0].value", *TEXT_ONLY}
    assert not any("\n" in v or "\r" in v or "\u2028" in v or "\x1b" in v
                   for _, v in accepted)


def _accepts(doc: Dict[str, Any]) -> bool:
    try:
        EnvironmentSpec.from_dict(doc)
    except InputError:
        return False
    return True


def test_specs_made_in_code_are_checked_too() -> None:
    spec = EnvironmentSpec.from_dict(GOOD)
    with pytest.raises(InputError, match=r"spec field env\[0\].name"):
        spec.with_changes(env=(("A\nRUN id", "x"),))
    with pytest.raises(InputError, match=r"spec field apt_packages\[0\].name"):
        from nbdocker.spec import SystemPackage
        spec.with_changes(apt_packages=(SystemPackage("curl; rm -rf /"),))


def test_apt_words_are_shell_quoted_by_construction() -> None:
    from nbdocker.grammar import shell_words
    assert shell_words(["graphviz=2.42", "a b", "$(id)"]) == "graphviz=2.42 'a b' '$(id)'"
    text = render(EnvironmentSpec.from_dict(GOOD), base_image=BASE)
    assert "apt-get install -y --no-install-recommends graphviz=2.42.2-7+b3 " in text


def test_env_values_that_hide_a_secret_never_reach_the_dockerfile() -> None:
    doc = copy.deepcopy(GOOD)
    doc["env"] = [["DATABASE_URL", "postgres://u:canary-pw@db/x"], ["MPLBACKEND", "Agg"]]
    text = render(EnvironmentSpec.from_dict(doc), base_image=BASE)
    assert "canary-pw" not in text and 'MPLBACKEND="Agg"' in text


def test_a_base_image_is_one_valid_reference() -> None:
    with pytest.raises(InputError, match="base image"):
        render(EnvironmentSpec.from_dict(GOOD), base_image="python:3.11\nRUN id")


@pytest.mark.parametrize("doc,needle", [
    ({**GOOD, "files": "x"}, "files"), ({**GOOD, "python": []}, "python"),
    ({**GOOD, "extra": 1}, "unknown key"), ({**GOOD, "env": [["A"]]}, "env[0]"),
    ({k: v for k, v in GOOD.items() if k != "python"}, "required"),
])
def test_malformed_spec_documents_are_one_line_errors(doc: Dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError) as err:
        EnvironmentSpec.from_dict(doc)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_hostile_bundle_spec_is_refused_by_the_cli_with_exit_2(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _with(("env", 0, 0), "A\nCOPY --from=builder /tmp/nbdocker-build /leak")
    (tmp_path / "nbdocker-spec.json").write_text(json.dumps(doc))
    assert main(["verify", "--bundle", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "env[0].name" in err and len(err.strip().splitlines()) == 1
