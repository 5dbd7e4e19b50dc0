"""Edits of a captured spec: ``--exclude DIST``, ``--add REQ`` (the panel's table too) and
``--apt PKG``.

:func:`apply_changes` is idempotent, so applying the same edits to a spec twice gives the
same spec; the pipeline applies them wherever a spec enters (a capture, a bundle's spec,
the panel's spec).
"""
from __future__ import annotations

from typing import Collection, Dict, Iterable, Optional, Union

from ...exceptions import InputError
from ...spec import EnvironmentSpec, Requirement

__all__ = ["MANUAL_REASON", "parse_extra", "apply_changes"]

MANUAL_REASON = "added by hand"


def parse_extra(text: str) -> Requirement:
    """A requirement added by hand (``requests`` or ``requests==2.31``), pinned to the
    version installed here when it names no version. Raises :class:`InputError`."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Pep508
    from packaging.utils import canonicalize_name

    try:
        req = Pep508(text.strip())
    except InvalidRequirement as exc:
        raise InputError(f"not a requirement: {text.strip()!r} ({exc})") from None
    if req.url or req.marker or req.extras:
        raise InputError(f"only plain requirements can be added (name or name==version): {text!r}")
    name = str(canonicalize_name(req.name))
    pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
    if pins:
        return Requirement(name, pins[0], True, (MANUAL_REASON,))
    if str(req.specifier):
        return Requirement(name, None, True, (MANUAL_REASON,), specifier=str(req.specifier))
    from importlib import metadata

    try:
        version: Optional[str] = metadata.version(name)
    except metadata.PackageNotFoundError:
        version = None
    return Requirement(name, version, True, (MANUAL_REASON,))


def apply_changes(spec: EnvironmentSpec, *, exclude: Collection[str] = (),
                  extra: Iterable[Union[str, Requirement]] = (),
                  apt: Iterable[str] = ()) -> EnvironmentSpec:
    """``spec`` without the ``exclude``d distributions (or unresolved modules), with
    the ``extra`` requirements and the ``apt`` system packages (``PKG`` or
    ``PKG=VERSION``, checked like apt.txt lines). Locked transitive requirements that
    only excluded ones needed (``required_by``) go too."""
    from packaging.utils import canonicalize_name

    from .system import SystemNeeds, apt_option_packages

    added = [e if isinstance(e, Requirement) else parse_extra(e) for e in extra]
    wanted = apt_option_packages(apt)
    if wanted:
        merged = SystemNeeds()
        for package in (*spec.apt_packages, *wanted):
            merged.add(package)
        spec = spec.with_changes(apt_packages=tuple(merged.packages.values()))
    if not exclude and not added:
        return spec
    drop = {str(canonicalize_name(n)) for n in exclude}
    reqs: Dict[str, Requirement] = {r.name: r for r in spec.requirements if r.name not in drop}
    for req in added:
        reqs[req.name] = req
    # Drop locked dependencies whose every parent is gone (to a fixpoint).
    changed = True
    while changed:
        changed = False
        for name, req in list(reqs.items()):
            if not req.direct and req.required_by and not any(p in reqs for p in req.required_by):
                del reqs[name]
                changed = True
    unresolved = tuple(u for u in spec.unresolved
                       if u.module not in exclude
                       and str(canonicalize_name(u.pypi_name or u.module)) not in drop
                       and str(canonicalize_name(u.pypi_name or u.module)) not in reqs)
    changed_spec = spec.with_changes(requirements=tuple(reqs.values()), unresolved=unresolved)
    return spec if changed_spec == spec else changed_spec
