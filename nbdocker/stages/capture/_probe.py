"""Runs INSIDE the target interpreter (``python -c <this source>``): stdlib only.

Prints one JSON document describing the interpreter: version, implementation,
platform, standard-library module names, installed distributions (name, version,
Requires-Dist, top-level modules, the programs they install, where a local install came
from), the PEP 508 marker environment, ``sys.path`` and the site directories (for the
cache key). Must keep working on Python 3.8+.
"""
import sys

# '' / the cwd first on sys.path could shadow the stdlib (e.g. a platform.py there).
sys.path[:] = [p for p in sys.path if p not in ("", ".")]

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import site  # noqa: E402
import sysconfig  # noqa: E402
from typing import Any  # noqa: E402


def _stdlib_names() -> "list[str]":
    names = getattr(sys, "stdlib_module_names", None)
    if names:
        return sorted(names)
    # Python < 3.10: the builtin modules plus what lives in the stdlib directories.
    found = set(sys.builtin_module_names)
    for key in ("stdlib", "platstdlib"):
        root = sysconfig.get_paths().get(key)
        if not root or not os.path.isdir(root):
            continue
        for entry in os.listdir(root):
            if entry == "site-packages":
                continue
            stem = entry.split(".", 1)[0]
            if stem.isidentifier():
                found.add(stem)
        dyn = os.path.join(root, "lib-dynload")
        if os.path.isdir(dyn):
            for entry in os.listdir(dyn):
                found.add(entry.split(".", 1)[0])
    return sorted(found)


def _top_levels(dist: Any) -> "list[str]":
    text = dist.read_text("top_level.txt")
    if text:
        return sorted({line.strip().split("/")[0] for line in text.splitlines() if line.strip()})
    names = set()
    for f in dist.files or ():
        parts = f.parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")) or parts[0] in ("..", "__pycache__"):
            continue
        if len(parts) == 1:
            if parts[0].endswith(".py"):
                names.add(parts[0][:-3])
            elif parts[0].endswith((".so", ".pyd")):
                names.add(parts[0].split(".", 1)[0])
            elif parts[0].endswith(".pth"):
                continue
        else:
            names.add(parts[0])
    return sorted(n for n in names if n.isidentifier())


def _scripts(dist: Any) -> "list[str]":
    """Names of the programs ``dist`` installs (console and GUI entry points)."""
    text = dist.read_text("entry_points.txt") or ""
    names = []
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif section in ("console_scripts", "gui_scripts") and "=" in line:
            names.append(line.split("=", 1)[0].strip())
    return sorted(names)


def _origin(dist: Any, site_dirs: "set[str]") -> "dict[str, Any]":
    """Where a distribution installed from local source lives: PEP 610's
    ``direct_url.json`` (file:// URLs only), or its metadata folder when that is
    outside the site directories (``setup.py develop``, a folder on a ``.pth``)."""
    found: "dict[str, Any]" = {}
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        direct = None
    if isinstance(direct, dict) and str(direct.get("url", "")).startswith("file://"):
        dir_info = direct.get("dir_info") or {}
        found["direct_url"] = {"url": direct["url"], "editable": bool(dir_info.get("editable")),
                               "archive": "archive_info" in direct}
    try:
        base = os.path.abspath(str(dist.locate_file("")))
    except Exception:
        base = ""
    if base and base not in site_dirs:
        found["location"] = base
    return found


def _distributions(site_dirs: "set[str]") -> "list[dict[str, Any]]":
    from importlib import metadata

    seen = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:
            continue
        if not name:
            continue
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in seen:  # first on sys.path wins, like import does
            continue
        seen[key] = {
            "name": name,
            "version": dist.version,
            "requires": list(dist.requires or ()),
        }
        scripts = _scripts(dist)
        if scripts:
            seen[key]["scripts"] = scripts
        seen[key].update(_origin(dist, site_dirs))
        if not hasattr(metadata, "packages_distributions"):
            seen[key]["top_level"] = _top_levels(dist)
    return sorted(seen.values(), key=lambda d: d["name"].lower())


def _packages(dists: "list[dict[str, Any]]") -> "dict[str, list[str]]":
    """Top-level module -> distribution names, like packages_distributions() (3.10+)."""
    from importlib import metadata

    if hasattr(metadata, "packages_distributions"):
        mapping = metadata.packages_distributions()
        return {k: sorted(set(v)) for k, v in mapping.items()}
    mapping = {}
    for dist in dists:
        for module in dist.pop("top_level", ()):
            mapping.setdefault(module, []).append(dist["name"])
    return {k: sorted(set(v)) for k, v in mapping.items()}


def _marker_env() -> "dict[str, str]":
    impl = sys.implementation
    iver = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
    if impl.version.releaselevel != "final":
        iver += impl.version.releaselevel[0] + str(impl.version.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": iver,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _site_dirs() -> "list[str]":
    dirs = []
    try:
        dirs.extend(site.getsitepackages())
    except Exception:
        pass
    try:
        dirs.append(site.getusersitepackages())
    except Exception:
        pass
    dirs.extend(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    return sorted({os.path.abspath(d) for d in dirs})


def main() -> None:
    site_dirs = _site_dirs()
    dists = _distributions(set(site_dirs))
    info = {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.system().lower(),
        "machine": platform.machine(),
        "stdlib": _stdlib_names(),
        "packages": _packages(dists),
        "distributions": dists,
        "marker_env": _marker_env(),
        "site_dirs": site_dirs,
        "sys_path": [os.path.abspath(p) for p in sys.path if p],
    }
    sys.stdout.write(json.dumps(info, sort_keys=True))


main()
