"""Dependencies that are loaded, never imported: the table, and how calls match it.

``pd.read_parquet("x.parquet")`` imports pyarrow (or fastparquet) inside pandas;
``df.plot.kde()`` imports scipy; ``anim.save("a.mp4")`` runs ffmpeg; ``import graphviz``
renders with Graphviz's ``dot``. The notebook never says so. Each :class:`Need` names
what such a use requires: Python distributions (groups of alternatives, in the order
the library itself tries them) and/or programs and Debian packages. The AST walker
turns calls into ``hidden`` records with :func:`match_call`; imports of the modules in
:data:`IMPORT_NEEDS` count the same way. A need applies only when its ``library`` is
one the notebook uses (``pandas`` for ``read_parquet``); resolution then pins the first
alternative installed in the target interpreter, or warns that none is.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

__all__ = ["Need", "NEEDS", "IMPORT_NEEDS", "IMPORT_ROOTS", "DIST_NEEDS", "TRIGGER_WORDS", "match_call",
           "match_keywords", "rc_setting", "sql_need", "engine_need", "need_for", "import_need"]


@dataclass(frozen=True)
class Need:
    """What one kind of use requires.

    ``library`` is the top-level module whose use makes the need real (empty: any
    use). ``python`` are groups of distributions; one of each group must be installed
    (the first one installed in the target is pinned). ``executables`` are programs run
    (mapped to Debian packages like shell commands); ``apt`` names Debian packages
    directly (LaTeX's styles and fonts have no program to find). ``unless`` are
    distributions that ship the program themselves (no apt package then).
    ``quiet`` needs only improve the output, so a missing backend is no warning.
    """

    what: str
    library: str = ""
    python: Tuple[Tuple[str, ...], ...] = ()
    executables: Tuple[str, ...] = ()
    apt: Tuple[str, ...] = ()
    unless: Tuple[str, ...] = ()
    quiet: bool = False


_SCIPY = (("scipy",),)
_MPL = (("matplotlib",),)
_LATEX = ("dvipng", "texlive-latex-extra", "texlive-fonts-recommended", "cm-super")

NEEDS: Mapping[str, Need] = {
    # pandas I/O
    "pandas-parquet": Need("a parquet engine", "pandas", (("pyarrow", "fastparquet"),)),
    "pandas-feather": Need("pyarrow", "pandas", (("pyarrow",),)),
    "pandas-orc": Need("pyarrow", "pandas", (("pyarrow",),)),
    "pandas-excel-xlsx": Need("an Excel reader", "pandas", (("openpyxl",),)),
    "pandas-excel-xls": Need("an .xls reader", "pandas", (("xlrd",),)),
    "pandas-excel-ods": Need("an OpenDocument reader", "pandas", (("odfpy",),)),
    "pandas-excel-xlsb": Need("an .xlsb reader", "pandas", (("pyxlsb",),)),
    "pandas-excel-write": Need("an Excel writer", "pandas", (("xlsxwriter", "openpyxl"),)),
    "pandas-hdf": Need("PyTables", "pandas", (("tables",),)),
    "pandas-html": Need("an HTML parser", "pandas", (("lxml", "beautifulsoup4"),)),
    "pandas-html-bs4": Need("BeautifulSoup and html5lib", "pandas",
                            (("beautifulsoup4",), ("html5lib",))),
    "pandas-xml": Need("lxml", "pandas", (("lxml",),)),
    "pandas-markdown": Need("tabulate", "pandas", (("tabulate",),)),
    "pandas-style": Need("jinja2 (Styler)", "pandas", (("jinja2",),)),
    "pandas-spss": Need("pyreadstat", "pandas", (("pyreadstat",),)),
    "pandas-gbq": Need("pandas-gbq", "pandas", (("pandas-gbq",),)),
    "pandas-zstd": Need("zstandard", "", (("zstandard",),)),
    "pyarrow-dtype": Need("pyarrow", "pandas", (("pyarrow",),)),
    # pandas computing and plotting through optional libraries
    "pandas-scipy": Need("scipy", "pandas", _SCIPY),
    "pandas-matplotlib": Need("matplotlib", "pandas", _MPL),
    # file systems named by URL (fsspec)
    "fsspec-s3": Need("s3fs", "", (("s3fs",),)),
    "fsspec-gcs": Need("gcsfs", "", (("gcsfs",),)),
    "fsspec-azure": Need("adlfs", "", (("adlfs",),)),
    "fsspec-hf": Need("huggingface_hub", "", (("huggingface-hub",),)),
    # seaborn, scikit-learn, scikit-image, networkx, xarray, plotly
    "seaborn-scipy": Need("scipy", "seaborn", _SCIPY),
    "seaborn-statsmodels": Need("statsmodels", "seaborn", (("statsmodels",),)),
    "sklearn-pillow": Need("Pillow", "sklearn", (("pillow",),)),
    "sklearn-pandas": Need("pandas", "sklearn", (("pandas",),)),
    "sklearn-matplotlib": Need("matplotlib", "sklearn", _MPL),
    "skimage-pooch": Need("pooch (downloads the data set)", "skimage", (("pooch",),)),
    "networkx-scipy": Need("scipy", "networkx", _SCIPY),
    "networkx-matplotlib": Need("matplotlib", "networkx", _MPL),
    "networkx-pydot": Need("pydot and Graphviz", "networkx", (("pydot",),), ("dot",)),
    "networkx-agraph": Need("pygraphviz and Graphviz", "networkx", (("pygraphviz",),), ("dot",)),
    "xarray-netcdf": Need("a netCDF engine", "xarray", (("netcdf4", "h5netcdf", "scipy"),)),
    "xarray-zarr": Need("zarr", "xarray", (("zarr",),)),
    "xarray-dask": Need("dask", "xarray", (("dask",),)),
    "xarray-tutorial": Need("pooch and a netCDF engine", "xarray",
                            (("pooch",), ("netcdf4", "h5netcdf", "scipy"))),
    "plotly-image": Need("kaleido (static image export)", "plotly", (("kaleido",),)),
    # matplotlib writers and text rendering: programs
    "mpl-ffmpeg": Need("ffmpeg", "matplotlib", executables=("ffmpeg",)),
    "mpl-imagemagick": Need("ImageMagick", "matplotlib", executables=("convert",)),
    "mpl-usetex": Need("LaTeX and dvipng", "matplotlib", executables=("latex", "dvipng"),
                       apt=_LATEX),
    "mpl-pgf": Need("XeLaTeX", "matplotlib", executables=("xelatex",)),
    "sympy-latex": Need("LaTeX and dvipng", "sympy", executables=("latex", "dvipng"),
                        apt=_LATEX),
    # imports of libraries that drive a program (IMPORT_NEEDS below)
    "graphviz": Need("Graphviz's dot", "", executables=("dot",)),
    "tesseract": Need("tesseract", "", executables=("tesseract",)),
    "poppler": Need("poppler's pdftoppm", "", executables=("pdftoppm",)),
    "ffmpeg": Need("ffmpeg", "", executables=("ffmpeg",)),
    "pandoc": Need("pandoc", "", executables=("pandoc",), unless=("pypandoc-binary",)),
    "wkhtmltopdf": Need("wkhtmltopdf", "", executables=("wkhtmltopdf",)),
    "ghostscript": Need("Ghostscript", "", executables=("gs",)),
    "r": Need("R", "", executables=("R",)),
    "ipywidgets": Need("ipywidgets (notebook progress bars)", "", (("ipywidgets",),)),
    "ipywidgets-auto": Need("ipywidgets (notebook progress bars)", "", (("ipywidgets",),),
                            quiet=True),
    "opencv-gui": Need("libGL and GLib (opencv-python loads them)", "",
                       apt=("libgl1", "libglib2.0-0")),
}

# Modules whose import means a need (the longest dotted prefix wins).
IMPORT_NEEDS: Mapping[str, str] = {
    "graphviz": "graphviz", "pydot": "graphviz", "pygraphviz": "graphviz",
    "pytesseract": "tesseract", "pdf2image": "poppler", "pydub": "ffmpeg",
    "ffmpeg": "ffmpeg", "whisper": "ffmpeg", "pypandoc": "pandoc",
    "pdfkit": "wkhtmltopdf", "imgkit": "wkhtmltopdf", "camelot": "ghostscript",
    "rpy2": "r", "tqdm.notebook": "ipywidgets", "tqdm.auto": "ipywidgets-auto",
    "tqdm.autonotebook": "ipywidgets-auto",
}
IMPORT_ROOTS = frozenset(module.split(".", 1)[0] for module in IMPORT_NEEDS)
# Installed distributions that mean a need whatever the code calls.
DIST_NEEDS: Mapping[str, str] = {"opencv-python": "opencv-gui",
                                 "opencv-contrib-python": "opencv-gui"}

# engine="…" / dtype_backend="…" values and the distribution they load.
_ENGINES: Mapping[str, str] = {
    "pyarrow": "pyarrow", "fastparquet": "fastparquet", "openpyxl": "openpyxl",
    "xlsxwriter": "xlsxwriter", "odf": "odfpy", "xlrd": "xlrd", "pyxlsb": "pyxlsb",
    "calamine": "python-calamine", "numba": "numba", "netcdf4": "netcdf4",
    "h5netcdf": "h5netcdf", "zarr": "zarr", "cfgrib": "cfgrib", "rasterio": "rasterio",
    "pydap": "pydap", "bottleneck": "bottleneck",
}
_FSSPEC: Mapping[str, str] = {"s3": "fsspec-s3", "s3a": "fsspec-s3", "gs": "fsspec-gcs",
                              "gcs": "fsspec-gcs", "az": "fsspec-azure",
                              "abfs": "fsspec-azure", "abfss": "fsspec-azure",
                              "hf": "fsspec-hf"}
# sqlalchemy URL scheme (dialect[+driver]) → driver distributions (alternatives).
_SQL_DRIVERS: Mapping[str, Tuple[str, ...]] = {
    "postgresql": ("psycopg2", "psycopg2-binary"), "postgres": ("psycopg2", "psycopg2-binary"),
    "postgresql+psycopg2": ("psycopg2", "psycopg2-binary"), "postgresql+psycopg": ("psycopg",),
    "postgresql+pg8000": ("pg8000",), "postgresql+asyncpg": ("asyncpg",),
    "mysql": ("mysqlclient",), "mysql+mysqldb": ("mysqlclient",), "mysql+pymysql": ("pymysql",),
    "mysql+mysqlconnector": ("mysql-connector-python",), "mariadb": ("mariadb",),
    "mssql+pyodbc": ("pyodbc",), "mssql": ("pyodbc",), "mssql+pymssql": ("pymssql",),
    "oracle": ("cx-oracle", "oracledb"), "oracle+oracledb": ("oracledb",),
    "duckdb": ("duckdb-engine",), "snowflake": ("snowflake-sqlalchemy",),
    "bigquery": ("sqlalchemy-bigquery",), "redshift+psycopg2": ("sqlalchemy-redshift",),
    "sqlite": (),
}
_VIDEO = re.compile(r"\.(mp4|m4v|mkv|avi|mov|webm|mpg|mpeg|flv|wmv)$", re.IGNORECASE)
_SCIPY_INTERPOLATION = frozenset({"krogh", "piecewise_polynomial", "spline", "pchip",
                                  "akima", "cubicspline", "barycentric", "polynomial",
                                  "from_derivatives", "quadratic", "cubic", "slinear",
                                  "zero", "nearest"})
# scikit-image data sets fetched on first use (pooch); the others ship in the wheel.
_SKIMAGE_REMOTE = frozenset({"brain", "cells3d", "eagle", "human_mitosis", "kidney", "lily",
                             "nickel_solidification", "protein_transport", "skin", "vortex",
                             "lfw_subset", "stereo_motorcycle", "mitosis",
                             "palisades_of_vogt", "download_all"})
_PANDAS_PLOTS = frozenset({"plot", "hist", "boxplot", "scatter_matrix", "andrews_curves",
                           "parallel_coordinates", "lag_plot", "autocorrelation_plot",
                           "bootstrap_plot", "radviz"})
_NX_SCIPY = frozenset({"pagerank", "hits", "kamada_kawai_layout", "spectral_layout",
                       "to_scipy_sparse_array", "to_scipy_sparse_matrix", "adjacency_matrix",
                       "laplacian_matrix", "incidence_matrix", "eigenvector_centrality_numpy",
                       "algebraic_connectivity", "normalized_laplacian_matrix",
                       "fiedler_vector", "spectral_ordering"})
_SKLEARN_PLOTS = frozenset({"plot_tree", "from_estimator", "from_predictions"})

# Words whose presence in a cell means it may match something here: a cell without
# any of them (and without an import, a magic or a string) cannot, so it is not parsed.
TRIGGER_WORDS: Tuple[str, ...] = (
    "read_", "to_", "plot", "kde", "density", "hist", "interpolate", "corr", "rolling",
    "clustermap", "style", "Excel", "HDFStore", "load_sample", "fetch_", "data.",
    "pagerank", "hits", "layout", "matrix", "centrality", "connectivity", "draw",
    "nx_", "open_", "tutorial", "write_image", "to_image", "save", "html5", "Writer",
    "usetex", "rc", "engine", "dtype_backend", "ArrowDtype", "init_printing", "curves",
    "coordinates", "radviz", "create_engine", "vector", "ordering", "set_output",
    "set_config", "lmplot", "regplot", "residplot",
)


def _const(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(call: ast.Call, name: str) -> Optional[ast.AST]:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _kw_str(call: ast.Call, name: str) -> Optional[str]:
    return _const(_kw(call, name))


def _kw_true(call: ast.Call, name: str) -> bool:
    value = _kw(call, name)
    return isinstance(value, ast.Constant) and value.value is True


def _path_arg(call: ast.Call, *names: str) -> Optional[str]:
    """The first positional argument (or one of the keyword ``names``) when literal."""
    if call.args:
        return _const(call.args[0])
    return next((v for v in (_kw_str(call, n) for n in names) if v), None)


def engine_need(value: str) -> Optional[str]:
    """The need key for ``engine="value"`` (``engine:pyarrow``), when it loads one."""
    return f"engine:{value.lower()}" if value.lower() in _ENGINES else None


def need_for(key: str) -> Optional[Need]:
    """The :class:`Need` of ``key``, including the generated ``engine:``/``sql:`` ones."""
    if key in NEEDS:
        return NEEDS[key]
    kind, _, value = key.partition(":")
    if kind == "engine" and value in _ENGINES:
        return Need(f"the {value} engine", "", ((_ENGINES[value],),))
    if kind == "sql" and value in _SQL_DRIVERS:
        drivers = _SQL_DRIVERS[value]
        groups: Tuple[Tuple[str, ...], ...] = (("sqlalchemy",),) + ((drivers,) if drivers else ())
        return Need(f"SQLAlchemy{' and a ' + value.split('+')[0] + ' driver' if drivers else ''}",
                    "", groups)
    return None


def sql_need(url: Optional[str]) -> Optional[str]:
    """The need key of a SQLAlchemy URL (``postgresql://…`` → ``sql:postgresql``)."""
    if not url or "://" not in url:
        return None
    scheme = url.split("://", 1)[0].lower()
    if scheme in _SQL_DRIVERS:
        return f"sql:{scheme}"
    dialect = scheme.split("+", 1)[0]
    return f"sql:{dialect}" if dialect in _SQL_DRIVERS else None


def _excel_read(call: ast.Call) -> str:
    path = (_path_arg(call, "io", "path_or_buffer") or "").lower()
    for ext, key in ((".xls", "pandas-excel-xls"), (".ods", "pandas-excel-ods"),
                     (".xlsb", "pandas-excel-xlsb")):
        if path.endswith(ext):
            return key
    return "pandas-excel-xlsx"


def _excel_write(call: ast.Call) -> str:
    path = (_path_arg(call, "excel_writer", "path") or "").lower()
    return "pandas-excel-ods" if path.endswith(".ods") else "pandas-excel-write"


def _read_html(call: ast.Call) -> str:
    flavor = _kw_str(call, "flavor")
    return "pandas-html-bs4" if flavor in ("bs4", "html5lib") else "pandas-html"


def _io_keys(name: str, call: ast.Call) -> List[str]:
    """Needs of pandas' read_*/to_* functions."""
    keys: List[str] = []
    table = {"parquet": "pandas-parquet", "feather": "pandas-feather", "orc": "pandas-orc",
             "hdf": "pandas-hdf", "xml": "pandas-xml", "markdown": "pandas-markdown",
             "spss": "pandas-spss", "gbq": "pandas-gbq"}
    fmt = name.split("_", 1)[1]
    if _kw_str(call, "engine") and fmt in ("parquet", "excel"):
        pass  # the engine keyword decides (match_keywords)
    elif fmt in table:
        if not (fmt == "xml" and _kw_str(call, "parser") == "etree"):
            keys.append(table[fmt])
    elif fmt == "excel":
        keys.append(_excel_read(call) if name.startswith("read_") else _excel_write(call))
    elif fmt == "html" and name.startswith("read_"):
        keys.append(_read_html(call))
    elif fmt.startswith("sql"):
        con = _kw(call, "con")
        url = _const(con) if con is not None else (_const(call.args[1]) if len(call.args) > 1 else None)
        sql = sql_need(url)
        if sql:
            keys.append(sql)
    elif fmt == "latex":
        keys.append("pandas-style")
    path = _path_arg(call, "path", "path_or_buf", "filepath_or_buffer", "io")
    if path:
        scheme = path.split("://", 1)[0].lower() if "://" in path else ""
        if scheme in _FSSPEC:
            keys.append(_FSSPEC[scheme])
        if path.lower().endswith(".zst"):
            keys.append("pandas-zstd")
    if _kw_str(call, "compression") == "zstd":
        keys.append("pandas-zstd")
    return keys


def _receiver(func: ast.AST) -> List[str]:
    """The names of the call's receiver, innermost last (``df.plot.kde`` → [df, plot])."""
    names: List[str] = []
    node = func.value if isinstance(func, ast.Attribute) else None
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return list(reversed(names))


def match_keywords(call: ast.Call) -> List[str]:
    """Needs any call may name by keyword: ``engine="pyarrow"``, ``dtype_backend=…``."""
    keys: List[str] = []
    for kw in ("engine", "dtype_backend"):
        value = _kw_str(call, kw)
        key = engine_need(value) if value else None
        if key:
            keys.append(key)
    return keys


def match_call(call: ast.Call) -> List[str]:
    """Need keys for one call (see the module docstring); ``[]`` for most calls."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if not name:
        return []
    keys = match_keywords(call)
    receiver = _receiver(func)
    last = receiver[-1] if receiver else ""
    if name.startswith(("read_", "to_")) and name not in ("to_html5_video", "to_image"):
        keys += _io_keys(name, call)
    elif name in ("ExcelWriter", "ExcelFile"):
        keys.append(_excel_write(call) if name == "ExcelWriter" else _excel_read(call))
    elif name == "HDFStore":
        keys.append("pandas-hdf")
    elif name == "ArrowDtype":
        keys.append("pyarrow-dtype")
    elif name == "create_engine":
        sql = sql_need(_path_arg(call, "url"))
        if sql:
            keys.append(sql)
    # plotting through pandas, and what it needs beyond matplotlib
    if name in ("kde", "density") and last == "plot":
        keys += ["pandas-scipy", "pandas-matplotlib"]
    elif name in _PANDAS_PLOTS or last == "plot":
        keys.append("pandas-matplotlib")
        kind = _kw_str(call, "kind")
        diagonal = _kw_str(call, "diagonal")
        if kind in ("kde", "density") or diagonal in ("kde", "density"):
            keys.append("pandas-scipy")
        backend = _kw_str(call, "backend")
        if backend:
            keys.append(f"module:{backend}")
    if name == "interpolate" and (_kw_str(call, "method") or "") in _SCIPY_INTERPOLATION:
        keys.append("pandas-scipy")
    elif name == "corr" and (_kw_str(call, "method") or _const(call.args[0] if call.args else None)) == "kendall":
        keys.append("pandas-scipy")
    elif name in ("rolling",) and _kw(call, "win_type") is not None and \
            _kw_str(call, "win_type") not in (None, "boxcar"):
        keys.append("pandas-scipy")
    elif last == "style" or name in ("to_latex",):
        keys.append("pandas-style")
    # seaborn
    if name == "clustermap":
        keys.append("seaborn-scipy")
    elif name in ("regplot", "lmplot", "residplot") and any(
            _kw_true(call, k) for k in ("lowess", "robust", "logistic")):
        keys.append("seaborn-statsmodels")
    # scikit-learn
    if name in ("load_sample_image", "load_sample_images", "fetch_lfw_people", "fetch_lfw_pairs"):
        keys.append("sklearn-pillow")
    elif name == "fetch_openml" or (name in ("set_output", "set_config") and "pandas" in (
            _kw_str(call, "transform") or "", _kw_str(call, "transform_output") or "")):
        keys.append("sklearn-pandas")
    elif name in _SKLEARN_PLOTS and (name == "plot_tree" or last.endswith("Display")):
        keys.append("sklearn-matplotlib")
    # scikit-image
    if name in _SKIMAGE_REMOTE and last == "data":
        keys.append("skimage-pooch")
    # networkx
    if name in _NX_SCIPY:
        keys.append("networkx-scipy")
    elif name.startswith("draw") and name != "drawing":
        keys.append("networkx-matplotlib")
    if name in ("to_pydot", "from_pydot", "pydot_layout") or last == "nx_pydot":
        keys.append("networkx-pydot")
    elif name in ("graphviz_layout", "to_agraph", "from_agraph", "pygraphviz_layout") \
            or last == "nx_agraph":
        keys.append("networkx-agraph")
    # xarray
    if name in ("open_dataset", "open_mfdataset", "load_dataset", "to_netcdf", "open_dataarray"):
        if last == "tutorial":
            keys.append("xarray-tutorial")
        elif not _kw_str(call, "engine"):
            keys.append("xarray-netcdf")
        if name == "open_mfdataset":
            keys.append("xarray-dask")
    elif name in ("open_zarr", "to_zarr"):
        keys.append("xarray-zarr")
    # plotly static export
    if name in ("write_image", "to_image"):
        keys.append("plotly-image")
    # matplotlib animation writers, usetex, pgf; sympy's LaTeX printing
    keys += _matplotlib(name, call, receiver)
    if name == "init_printing" and (_kw_str(call, "use_latex") or "") in ("png", "dvipng"):
        keys.append("sympy-latex")
    return list(dict.fromkeys(keys))


def _matplotlib(name: str, call: ast.Call, receiver: List[str]) -> List[str]:
    keys: List[str] = []
    writer = _kw_str(call, "writer") or ""
    if name in ("to_html5_video", "FFMpegWriter", "FFMpegFileWriter"):
        keys.append("mpl-ffmpeg")
    elif name in ("ImageMagickWriter", "ImageMagickFileWriter"):
        keys.append("mpl-imagemagick")
    elif name == "save" and (writer or _VIDEO.search(_path_arg(call, "filename") or "")):
        if writer.startswith("ffmpeg") or (not writer and _VIDEO.search(_path_arg(call) or "")):
            keys.append("mpl-ffmpeg")
        elif writer.startswith("imagemagick"):
            keys.append("mpl-imagemagick")
    elif name == "savefig" and ((_path_arg(call, "fname") or "").lower().endswith(".pgf")
                                or _kw_str(call, "backend") == "pgf"):
        keys.append("mpl-pgf")
    if name == "rc" and call.args:
        group = _const(call.args[0])
        if group == "text" and _kw_true(call, "usetex"):
            keys.append("mpl-usetex")
        elif group == "animation" and _kw_str(call, "html") == "html5":
            keys.append("mpl-ffmpeg")
    elif _kw_true(call, "usetex"):
        keys.append("mpl-usetex")
    if name == "update" and receiver[-1:] == ["rcParams"] and call.args and \
            isinstance(call.args[0], ast.Dict):
        for key, value in zip(call.args[0].keys, call.args[0].values):
            keys += rc_setting(_const(key), value)
    return keys


def rc_setting(key: Optional[str], value: ast.AST) -> List[str]:
    """Needs of ``rcParams[key] = value`` (``text.usetex`` → LaTeX)."""
    if key == "text.usetex" and isinstance(value, ast.Constant) and value.value is True:
        return ["mpl-usetex"]
    if key == "animation.html" and _const(value) == "html5":
        return ["mpl-ffmpeg"]
    if key == "animation.writer" and (_const(value) or "").startswith("ffmpeg"):
        return ["mpl-ffmpeg"]
    return []


def import_need(module: str) -> Optional[str]:
    """The need key of importing ``module`` (its longest listed dotted prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = IMPORT_NEEDS.get(".".join(parts[:n]))
        if key:
            return key
    return None
