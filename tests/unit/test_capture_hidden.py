"""Dependencies loaded, never imported (issues 12.3 and 17.4): the calls, the pins, the
warnings, and agreement with what a live kernel loaded."""
from __future__ import annotations

import ast
import types
from typing import Any, Dict, List

import pytest

from nbdocker.stages.capture.distributions import resolve
from nbdocker.stages.capture.hidden import match_call
from nbdocker.stages.capture.imports import scan_cells
from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.live import capture_live
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement

ENV = {"python_full_version": "3.11.7", "python_version": "3.11", "sys_platform": "linux",
       "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython"}


def _info(**dists: str) -> InterpreterInfo:
    names = {"pandas": "pandas", "numpy": "numpy", "sklearn": "scikit-learn",
             "skimage": "scikit-image", "networkx": "networkx", "seaborn": "seaborn",
             "matplotlib": "matplotlib", "pyarrow": "pyarrow", "scipy": "scipy",
             "fastparquet": "fastparquet", "openpyxl": "openpyxl", "xlrd": "xlrd",
             "sqlalchemy": "SQLAlchemy", "psycopg2": "psycopg2-binary", "PIL": "Pillow",
             "pooch": "pooch", "tables": "tables", "polars": "polars"}
    return InterpreterInfo.from_probe({
        "executable": "/x/python", "version": "3.11.7", "implementation": "CPython",
        "system": "linux", "machine": "x86_64", "stdlib": ["os", "sys", "io"],
        "packages": {m: [d] for m, d in names.items() if d.lower() in {k.lower() for k in dists}},
        "distributions": [{"name": n, "version": v, "requires": []} for n, v in dists.items()],
        "marker_env": ENV})


def _keys(call: str) -> List[str]:
    return match_call(ast.parse(call, mode="eval").body)  # type: ignore[arg-type]


def test_calls_that_load_optional_backends() -> None:
    assert _keys("pd.read_parquet('x.parquet')") == ["pandas-parquet"]
    assert _keys("df.to_parquet('x.parquet', engine='fastparquet')") == ["engine:fastparquet"]
    assert _keys("pd.read_excel('a.xls')") == ["pandas-excel-xls"]
    assert _keys("pd.read_excel('a.xlsx')") == ["pandas-excel-xlsx"]
    assert _keys("df.to_excel('out.xlsx')") == ["pandas-excel-write"]
    assert _keys("pd.read_hdf('s.h5', 'k')") == ["pandas-hdf"]
    assert _keys("pd.read_html(url, flavor='bs4')") == ["pandas-html-bs4"]
    assert _keys("pd.read_sql('select 1', 'postgresql://u@h/db')") == ["sql:postgresql"]
    assert _keys("pd.read_csv('s3://bucket/x.csv.zst')") == ["fsspec-s3", "pandas-zstd"]
    assert _keys("df.plot.density()") == ["pandas-scipy", "pandas-matplotlib"]
    assert _keys("df['x'].plot.kde(bw_method=0.3)") == ["pandas-scipy", "pandas-matplotlib"]
    assert _keys("df.plot(kind='kde')") == ["pandas-matplotlib", "pandas-scipy"]
    assert _keys("pd.plotting.scatter_matrix(df, diagonal='kde')") == \
        ["pandas-matplotlib", "pandas-scipy"]
    assert _keys("s.interpolate(method='spline', order=3)") == ["pandas-scipy"]
    assert _keys("df.corr(method='kendall')") == ["pandas-scipy"]
    assert _keys("sns.clustermap(df)") == ["seaborn-scipy"]
    assert _keys("sns.regplot(x='a', y='b', data=df, lowess=True)") == ["seaborn-statsmodels"]
    assert _keys("load_sample_image('china.jpg')") == ["sklearn-pillow"]
    assert _keys("data.cells3d()") == ["skimage-pooch"]
    assert _keys("data.camera()") == []  # ships in scikit-image's wheel
    assert _keys("nx.pagerank(G)") == ["networkx-scipy"]
    assert _keys("anim.save('a.mp4')") == ["mpl-ffmpeg"]
    assert _keys("anim.save('a.gif', writer='imagemagick')") == ["mpl-imagemagick"]
    assert _keys("anim.save('a.gif', writer='pillow')") == []
    assert _keys("model.save('weights.h5')") == []
    assert _keys("plt.rc('text', usetex=True)") == ["mpl-usetex"]
    assert _keys("fig.write_image('f.png')") == ["plotly-image"]
    assert _keys("print(len(df))") == []


def test_installed_backends_are_pinned_with_why() -> None:
    info = _info(pandas="2.2.2", numpy="1.26.4", pyarrow="17.0.0", scipy="1.14.0",
                 matplotlib="3.9.0", fastparquet="2024.5.0")
    scan = scan_cells(enumerate([
        "import pandas as pd", "x = 1", "", "",
        "df = pd.read_parquet('t.parquet')\ndf.plot.density()",
        "df.to_parquet('u.parquet', engine='fastparquet')",
    ]))
    out = resolve(scan.records, info, aliases=scan.aliases)
    pins = {r.name: (r.version, r.reasons) for r in out.requirements}
    assert pins["pyarrow"] == ("17.0.0", ("pd.read_parquet in cell 4 needs a parquet engine",))
    assert pins["scipy"] == ("1.14.0", ("df.plot.density in cell 4 needs scipy",))
    assert pins["fastparquet"][0] == "2024.5.0"
    assert pins["matplotlib"][0] == "3.9.0"
    assert not out.warnings


def test_a_missing_backend_is_a_warning_never_a_guess() -> None:
    scan = scan_cells(enumerate(["import pandas as pd\ndf = pd.read_parquet('t.parquet')\n"
                                 "pd.read_excel('a.xls')"]))
    out = resolve(scan.records, _info(pandas="2.2.2"), aliases=scan.aliases)
    assert [r.name for r in out.requirements] == ["pandas"] and out.unresolved == []
    [parquet] = [w for w in out.warnings if "parquet" in w]
    assert parquet == ("pd.read_parquet in cell 0 needs a parquet engine (pyarrow or fastparquet), "
                       "and none is installed in the target interpreter: the notebook fails there "
                       "too, and in the image")
    assert any("pd.read_excel in cell 0 needs an .xls reader (xlrd)" in w for w in out.warnings)


def test_a_need_applies_only_to_its_library() -> None:
    info = _info(pandas="2.2.2", polars="1.0.0", pyarrow="17.0.0", matplotlib="3.9.0")
    # polars reads parquet itself; plt.hist is matplotlib's own
    scan = scan_cells(enumerate(["import polars as pl\nimport matplotlib.pyplot as plt\n"
                                 "pl.read_parquet('x.parquet')\nplt.hist([1, 2])"]))
    out = resolve(scan.records, info, aliases=scan.aliases)
    assert {r.name for r in out.requirements} == {"polars", "matplotlib"}
    # with pandas in use, an unknown receiver counts for pandas
    scan = scan_cells(enumerate(["import pandas as pd", "frame.to_parquet('y.parquet')"]))
    out = resolve(scan.records, info, aliases=scan.aliases)
    assert {r.name for r in out.requirements} == {"pandas", "pyarrow"}


def test_live_and_static_capture_agree_on_a_hidden_backend() -> None:
    info = _info(pandas="2.2.2", pyarrow="17.0.0")
    scan = scan_cells(enumerate(["import pandas as pd\npd.read_parquet('t.parquet')"]))
    static_out = resolve(scan.records, info, aliases=scan.aliases)
    static = EnvironmentSpec("nb.ipynb", PythonInfo("3.11.7"),
                             requirements=tuple(static_out.requirements))
    pd_module = types.ModuleType("pandas")
    live = capture_live(None, {"pd": pd_module}, modules=["pandas", "pyarrow", "pyarrow.lib"],
                        static=static, info=info)
    reqs: Dict[str, Requirement] = {r.name: r for r in live.requirements}
    assert set(reqs) == {"pandas", "pyarrow"}
    assert reqs["pyarrow"].version == "17.0.0" and reqs["pyarrow"].direct
    assert reqs["pyarrow"].reasons[0] == "pd.read_parquet in cell 0 needs a parquet engine"


@pytest.mark.parametrize("source, module", [
    ("%reload_ext version_information", "version_information"),
    ("%load_ext rpy2.ipython", "rpy2.ipython"),
    ("c.InteractiveShellApp.extensions = ['line_profiler', 'autoreload']", "line_profiler"),
    ("%config InteractiveShellApp.extensions = ['memory_profiler']", "memory_profiler"),
    ("get_ipython().extension_manager.load_extension('watermark')", "watermark"),
    ("%matplotlib widget", "ipympl"),
])
def test_extensions_and_magics_name_requirements(source: str, module: str) -> None:
    modules: List[Any] = [r.module for r in scan_cells([(0, source)]).records]
    assert module in modules and "autoreload" not in modules
