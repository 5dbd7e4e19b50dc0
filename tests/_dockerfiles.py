"""Reading rendered Dockerfiles in tests, whatever shape this host's build takes."""
import re


def builds_from(ref: str, dockerfile: str) -> bool:
    """The Dockerfile starts its build ``FROM ref``: one stage, or the ``system`` stage
    when this host forwards a CA bundle or index (then the install runs in a container)."""
    return re.search(rf"^FROM {re.escape(ref)}( AS system)?$", dockerfile, re.M) is not None
