"""What counts as a secret: file names, environment variable names, URL credentials.

One place for the rules so the build context, the Dockerfile and bundles agree. The
rules are deliberately broad: a false positive costs the user one explicit step, a false
negative leaks a credential into an image that may be pushed.
"""
from __future__ import annotations

import fnmatch
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_secret_path", "is_secret_env_name", "url_has_credentials", "redact_url",
           "redact_text"]

# Matched against every path component (lower-cased), so ".ssh/config" is caught too.
_SECRET_FILE_PATTERNS = (
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "credentials*", ".netrc", "_netrc",
    ".pypirc", ".npmrc", ".git-credentials", ".ssh", ".aws", ".gnupg", ".docker",
    ".git",  # .git/config may hold a remote URL with a token
    "*.kdbx", "secrets.*", "secret.*", "*.secret", "*.secrets", "service-account*.json",
    ".htpasswd",
)

_SECRET_ENV_RE = re.compile(
    r"(SECRET|TOKEN|PASSW|PASSWD|PWD|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH|"
    r"SESSION|COOKIE|_KEY$|^KEY$|SIGNATURE|CERT_?PASS|DSN$)",
    re.IGNORECASE,
)

_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def is_secret_path(path: str) -> bool:
    """True when any component of the relative POSIX ``path`` looks like a secret file
    (``.env``, ``*.pem``, ``id_rsa*``, ``credentials*``, ``.netrc``, ``.pypirc``,
    ``.ssh/...``, ``.git/...`` and the like)."""
    for part in PurePosixPath(path).parts:
        name = part.lower()
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in _SECRET_FILE_PATTERNS):
            return True
    return False


def is_secret_env_name(name: str) -> bool:
    """True for variable names that usually hold secrets (``AWS_SECRET_ACCESS_KEY``,
    ``GITHUB_TOKEN``, ``DB_PASSWORD``, ``OPENAI_API_KEY``, ...)."""
    return bool(_SECRET_ENV_RE.search(name))


def url_has_credentials(url: str) -> bool:
    """True when ``url`` carries a user name or password (``https://u:p@host/``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True  # unparsable: treat as unsafe
    return bool(parts.username or parts.password)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """Every ``scheme://userinfo@`` in free text replaced by ``scheme://***@``."""
    return _URL_USERINFO_RE.sub(lambda m: m.group("scheme") + "***@", text)
