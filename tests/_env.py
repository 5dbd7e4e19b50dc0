"""When a missing engine, base image or tool must fail a test rather than skip it."""
import os


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def must_not_skip() -> bool:
    """True under ``./scripts/test`` (``NBDOCKER_REQUIRE_ENGINE=1``) and under CI."""
    return _flag("CI") or _flag("NBDOCKER_REQUIRE_ENGINE")
