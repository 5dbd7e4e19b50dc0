"""Numbers in text outputs compare within --rtol/--atol: 'close' with the largest
deviation; everything around the numbers must still match."""
from __future__ import annotations

from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.exceptions import InputError
from nbdocker.options import Options
from nbdocker.stages.verify import compare_notebooks
from nbdocker.stages.verify.numbers import close


def _report(a: str, b: str, kind: str = "execute_result", **kwargs: Any) -> Any:
    def nb(text: str) -> Any:
        out = (new_output("execute_result", data={"text/plain": text}, execution_count=1)
               if kind == "execute_result" else new_output("stream", name="stdout", text=text))
        return new_notebook(cells=[new_code_cell("x", outputs=[out], execution_count=1)])
    return compare_notebooks(nb(a), nb(b), **kwargs)


# The held-out notebook: np.linalg.eigvals of a singular matrix on two machines' BLAS.
EIG_A = "array([ 1.61168440e+01, -1.11684397e+00, -1.30367773e-15])"
EIG_B = "array([ 1.61168440e+01, -1.11684397e+00, -9.75918483e-16])"


def test_blas_noise_is_close_with_its_largest_deviation() -> None:
    report = _report(EIG_A, EIG_B)
    cell = report.cells[0]
    assert cell.status == "close" and report.reproduced
    assert cell.deviation is not None
    assert cell.deviation.original == "-1.30367773e-15" and cell.deviation.rerun == "-9.75918483e-16"
    assert cell.deviation.absolute == pytest.approx(3.2776e-16, rel=1e-3)
    assert "largest deviation 3.3e-16" in cell.explanation()
    assert report.verdict.startswith("REPRODUCED: 0 same, 1 close")
    assert report.to_dict()["cells"][0]["deviation"]["rerun"] == "-9.75918483e-16"


def test_a_changed_second_digit_differs() -> None:
    assert _report(EIG_A, EIG_A.replace("1.61168440e+01", "1.71168440e+01")).cells[0].status \
        == "differs"


@pytest.mark.parametrize("a, b", [
    # numpy pads columns to the widest value: one value printed differently moves others
    ("[5.00000000e+00 0.00000000e+00]", "[ 5.00000000e+00 -1.30367773e-15]"),
    ("x = 0.30000000000000004", "x = 0.3"),
    ("       a         b\n0  1.000000  0.333333\n1  2.000000  0.666667",
     "       a         b\n0  1.000000  0.333333\n1  2.000000  0.666667000001"),
    ("mean 10.54000001, std 2.213", "mean 10.54, std 2.213"),
])
def test_float_noise_in_reprs_and_prints_is_close(a: str, b: str) -> None:
    assert _report(a, b, kind="stream").cells[0].status == "close"


@pytest.mark.parametrize("a, b", [
    ("count 12 mean 1.5", "count 13 mean 1.5"),          # integers are exact
    ("x = 1.0", "x = 1"),                                 # a float is not an integer
    ("mean 1.5 (n=3)", "median 1.5 (n=3)"),               # text around numbers is exact
    ("version 1.2.3", "version 1.2.4"),                   # a version holds no number
    ("float64 0.5", "float32 0.5"),
    ("x 1.0", "x 1.0 "),                                  # whitespace alone is not noise
    ("x nan", "x 0.0"),
])
def test_everything_but_floats_must_match(a: str, b: str) -> None:
    assert _report(a, b, kind="stream").cells[0].status == "differs"


def test_tolerances_are_options_and_are_shown() -> None:
    a, b = "loss 0.123456", "loss 0.123470"      # relative 1.1e-4
    assert _report(a, b, kind="stream").cells[0].status == "differs"
    wide = _report(a, b, kind="stream", rtol=1e-3)
    assert wide.cells[0].status == "close"
    assert wide.settings.rtol == 1e-3 and "rtol 0.001, atol 1e-12" in wide.settings.describe()
    assert _report("x 1e-9", "x 2e-9", kind="stream", atol=1e-8).cells[0].status == "close"


def test_close_needs_a_numeric_difference() -> None:
    assert close("a 1.5", "a 1.5", rtol=1, atol=1) is None
    assert close("a 1.5", "b 1.5", rtol=1, atol=1) is None
    assert close("a 1.50", "a 1.5", rtol=0, atol=0) is not None   # same value, other spelling


@pytest.mark.parametrize("field, value, message", [
    ("rtol", -1, "--rtol must be a finite number of 0 or more"),
    ("atol", float("nan"), "--atol must be a finite number"),
    ("image_tolerance", 2, "--image-tolerance must be a finite number from 0 to 1"),
    ("runs", 0, "--runs must be a whole number from 1 to 20"),
    ("runs", 2.5, "--runs must be a whole number"),
    ("runs", "many", "--runs must be a whole number, not"),
])
def test_bad_compare_options_are_usage_errors(field: str, value: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Options(**{field: value})
