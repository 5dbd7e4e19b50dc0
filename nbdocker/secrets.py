"""What counts as a secret, by kind: credential files, credential content, secret
environment variables, URL credentials. One module, so capture, the build context,
bundles and ``--env`` apply the same rules.

* **Files by name** (:func:`path_secret_reason`): every component of a path is matched
  against the credential files and folders of common clouds and tools — SSH and TLS
  keys, ``.env`` files, ``.netrc``, ``.pgpass``, ``.my.cnf``, ``.s3cfg``, ``.boto``,
  ``rclone.conf``, ``.databrickscfg``, ``.pypirc``, ``.npmrc``, ``.dockercfg``,
  ``kubeconfig``, ``kaggle.json``, ``token.json``/``token.pickle`` (Google's OAuth
  quick-starts), ``client_secret*.json``, ``*service-account*.json``,
  ``application_default_credentials.json``, anything named like a credential,
  password, secret, token or API key, Terraform state and variables, password-manager
  databases, VPN and remote-desktop profiles, shell and REPL histories, shell start-up
  files; and folders: ``.ssh``, ``.aws``, ``.azure``, ``gcloud``, ``.kube``,
  ``.docker``, ``.gnupg``, ``.kaggle``, ``.huggingface``, ``.git`` and the like.
* **Files by content** (:func:`content_secret_reason`): private-key headers, credentialed
  URLs (``scheme://user:password@host``), ``password``/``secret``/``token``/``api_key``
  keys with a value in JSON, INI, YAML, ``.env`` and code (code: quoted values only),
  and tokens of known shapes: AWS ``AKIA…``, GitHub ``ghp_…``/``github_pat_…``, GitLab,
  Slack ``xox…`` and webhooks, Discord webhooks, OpenAI, Anthropic, Google ``AIza…`` and
  OAuth client secrets, Hugging Face, Stripe, npm, PyPI, SendGrid, DigitalOcean, Azure
  storage keys, Telegram bots, Kaggle API keys, JWTs. Text files are read in bounded chunks, in linear
  time; binary files (a NUL byte in the first 8 KiB) are judged by their names only.
* **Links** (:func:`file_secret_reason`): symlinks are resolved and the target's own
  name is judged too; a file with several hard links is compared by inode with this
  machine's known credential files (``~/.ssh/*``, ``~/.aws/*``, …), so ``~/.ssh/id_rsa``
  linked in under an innocent name is caught even when its content is not recognised.
* **Environment variables** (:func:`env_secret_reason`): secret-looking names
  (``*TOKEN*``, ``*PASSWORD*``, ``DB_PASS``, ``GH_PAT``, ``*WEBHOOK*``, ``*DSN``…) and
  values that carry a credential whatever the name (``DATABASE_URL=postgres://u:pw@…``).

The rules are deliberately broad: a false positive costs the user one explicit step (a
renamed file, a variable set at run time), a false negative leaks a credential into an
image that may be pushed.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, FrozenSet, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_secret_path", "path_secret_reason", "content_secret_reason",
           "file_secret_reason", "text_secret_reason", "notebook_secret_warnings",
           "is_secret_env_name", "is_secret_env", "env_secret_reason",
           "url_has_credentials", "redact_url", "redact_text"]

# -- files by name ----------------------------------------------------------------------
# Matched (fnmatch, lower-cased) against every component of a path.
_SECRET_FILE_PATTERNS: Tuple[Tuple[str, ...], ...] = (
    # environment files
    (".env", ".env.*", "*.env", ".envrc", ".flaskenv"),
    # keys, certificates with keys, keystores
    ("*.pem", "*.key", "*.p12", "*.pfx", "*.pkcs12", "*.p8", "*.jks", "*.keystore", "*.ppk",
     "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*_rsa", "*_dsa", "*_ecdsa",
     "*_ed25519", "secring.*", "*.gpg-key"),
    # named like what they hold
    ("*credential*", "*secret*", "*password*", "*passwd*", "*api_key*", "*apikey*",
     "*api-key*", "token", "token.*", "*.token", "*_token", "*_token.*", "*-token",
     "*-token.*", "access_token*", "refresh_token*", "auth.json", "htpasswd", ".htpasswd"),
    # clouds, databases and tools
    ("kaggle.json", "*service-account*.json", "*service_account*.json",
     "*serviceaccount*.json", "adc.json", "access_tokens.db", ".pgpass", "pgpass.conf",
     ".my.cnf", ".mylogin.cnf", ".s3cfg", ".boto", "rclone.conf", ".rclone.conf",
     ".databrickscfg", ".netrc", "_netrc", ".pypirc", ".npmrc", ".yarnrc", ".yarnrc.yml",
     ".git-credentials", ".dockercfg", "kubeconfig", "*.kubeconfig", ".terraformrc",
     "terraform.rc", "*.tfvars", "*.tfvars.json", "*.tfstate", "*.tfstate.*",
     ".tugboat", ".esmtprc", "sftp-config.json", ".ftpconfig", "filezilla.xml",
     "recentservers.xml", "sitemanager.xml", "wallet.dat", "*.kdb", "*.kdbx",
     "*.keychain", "*.agilekeychain", "*.psafe3", "*.ovpn", "*.rdp", "*.cscfg"),
    # shell and REPL histories, shell start-up files (exported tokens)
    ("*_history", ".history", ".histfile", "history.sqlite", ".lesshst",
     ".bashrc", ".bash_profile", ".bash_login", ".zshrc", ".zprofile", ".zshenv",
     ".profile"),
    # folders of credentials (any file below them)
    (".ssh", ".aws", ".azure", "gcloud", ".kube", ".docker", ".gnupg", ".kaggle",
     ".huggingface", ".snowsql", ".terraform.d", ".password-store", "keyrings",
     ".subversion", ".git"),  # .git/config may hold a remote URL with a token
)
_FLAT_PATTERNS = tuple(p for group in _SECRET_FILE_PATTERNS for p in group)
# Folders that are secret only where a tool keeps them (".config/gh" is GitHub's CLI).
_SECRET_PATH_PATTERNS = ("*.config/gh/*", "*.config/hub", "*.cargo/credentials*",
                         "*.gem/credentials", "*.cache/huggingface/token*")


def path_secret_reason(path: str) -> Optional[str]:
    """Why the relative POSIX ``path`` looks like a credential file by its name (see the
    module docstring), or None."""
    posix = "/" + PurePosixPath(path).as_posix().lower()
    for part in PurePosixPath(path).parts:
        name = part.lower()
        for pattern in _FLAT_PATTERNS:
            if fnmatch.fnmatchcase(name, pattern):
                return f"its name looks like a credential file ({pattern})"
    for pattern in _SECRET_PATH_PATTERNS:
        if fnmatch.fnmatchcase(posix, pattern) or fnmatch.fnmatchcase(posix + "/", pattern):
            return f"it lies where a tool keeps credentials ({pattern})"
    return None


def is_secret_path(path: str) -> bool:
    """True when the relative POSIX ``path`` looks like a credential file by its name."""
    return path_secret_reason(path) is not None


# -- content --------------------------------------------------------------------------
# Each rule: what it is, the literal text its matches start with (found with
# bytes.find, at memchr speed) and the pattern, tried only where a literal was found —
# at it (``back`` 0) or in a short window before it. So a scan is linear in the data
# and fast even on data files of tens of megabytes.
_TOKEN_RULES: Tuple[Tuple[str, Tuple[bytes, ...], int, bytes], ...] = (
    ("a private key", (b"-----BEGIN ",), 0,
     rb"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"),
    ("an AWS access key id", (b"AKIA", b"ASIA", b"ABIA", b"ACCA"), 0,
     rb"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])"),
    ("a GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"), 0,
     rb"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"),
    ("a GitLab token", (b"glpat-",), 0, rb"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20}"),
    ("a Slack token", (b"xox",), 0, rb"(?<![A-Za-z0-9])xox[abeoprs]-[A-Za-z0-9-]{10,}"),
    ("a Slack webhook", (b"hooks.slack.com/",), 0,
     rb"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}"),
    ("a Discord webhook", (b"discord",), 0,
     rb"discord(?:app)?\.com/api/webhooks/[0-9]{5,}/[A-Za-z0-9_-]{20,}"),
    ("an OpenAI API key", (b"sk-",), 0,
     rb"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{0,200}T3BlbkFJ[A-Za-z0-9_-]{20,}"
     rb"|(?<![A-Za-z0-9_-])sk-[A-Za-z0-9]{48}(?![A-Za-z0-9_-])"),
    ("an Anthropic API key", (b"sk-ant-",), 0, rb"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}"),
    ("a Google API key", (b"AIza",), 0, rb"AIza[0-9A-Za-z_-]{35}"),
    ("a Google OAuth client secret", (b"GOCSPX-",), 0, rb"GOCSPX-[A-Za-z0-9_-]{28}"),
    ("a Hugging Face token", (b"hf_",), 0, rb"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{34,}"),
    ("a Stripe key", (b"sk_live_", b"rk_live_"), 0, rb"[rs]k_live_[A-Za-z0-9]{16,}"),
    ("an npm token", (b"npm_",), 0, rb"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}"),
    ("a PyPI token", (b"pypi-AgEIcHlwaS5vcmc",), 0, rb"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    ("a SendGrid key", (b"SG.",), 0, rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ("a DigitalOcean token", (b"dop_v1_", b"doo_v1_", b"dor_v1_"), 0, rb"do[opr]_v1_[a-f0-9]{64}"),
    ("an Azure storage key", (b"AccountKey=",), 0, rb"AccountKey=[A-Za-z0-9+/]{86}=="),
    ("a Telegram bot token", (b":AA",), 11, rb"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}"),
    ("a Kaggle API key", (b'"key"',), 160,
     rb'"username"\s{0,5}:\s{0,5}"[^"\n]{1,64}"\s{0,5},\s{0,5}"key"\s{0,5}:\s{0,5}"[0-9a-f]{32}"'),
    ("a JSON Web Token", (b"eyJ",), 0,
     rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ("a URL with a password", (b"://",), 22,
     rb"[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/:@\"'<>]{1,128}:(?![$<{*%])[^\s/@\"'<>]{1,256}"
     rb"@[A-Za-z0-9.-]"),
)
_COMPILED = tuple((what, anchors, back, re.compile(pattern))
                  for what, anchors, back, pattern in _TOKEN_RULES)
# Keys naming a secret, and the value after ":" or "=" (JSON, YAML, INI, .env, code).
_PASSWORD_KEYS = rb"password|passwd|passphrase|secret|private[_-]?key|client[_-]?secret"
_TOKEN_KEYS = (rb"api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth[_-]?token|"
               rb"access[_-]?token|refresh[_-]?token|bearer|token")
_KEY_VALUE = re.compile(
    rb"(?i)(?P<key>" + _PASSWORD_KEYS + rb"|" + _TOKEN_KEYS + rb")[A-Za-z0-9_]{0,20}"
    rb"(?P<kq>[\"']?)[ \t]{0,5}[:=][ \t]{0,5}(?P<q>[\"']?)(?P<value>[^\s\"',;#<>{}()\[\]]{4,256})")
# Where such a key can start, in lower-cased data.
_KEY_ANCHORS = (b"passw", b"passp", b"secret", b"private", b"client", b"api_k", b"api-k",
                b"apik", b"access", b"auth", b"refresh", b"bearer", b"token")
_PLACEHOLDERS = frozenset({b"null", b"none", b"true", b"false", b"nil", b"undefined",
                           b"xxxx", b"xxxxxxxx", b"****", b"********", b"changeme",
                           b"required", b"optional", b"string", b"example"})
_CODE_SUFFIXES = frozenset({".py", ".ipynb", ".pyi", ".r", ".jl", ".js", ".ts", ".scala",
                            ".java", ".c", ".h", ".cpp", ".go", ".rs", ".rb", ".m", ".sql"})
_CHUNK = 1 << 20
_OVERLAP = 1024   # longer than any match the rules need to see whole
_AFTER = 700      # how far a match may reach beyond its start


def _token_like(value: bytes) -> bool:
    return (len(value) >= 16 and any(c in b"0123456789" for c in value)
            and any(c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in value))


def _positions(haystack: bytes, anchor: bytes) -> Iterable[int]:
    at = haystack.find(anchor)
    while at != -1:
        yield at
        at = haystack.find(anchor, at + 1)


def _key_value_at(data: bytes, at: int, code: bool) -> Optional[str]:
    m = _KEY_VALUE.match(data, at)
    if m is None:
        return None
    value = m.group("value")
    if code and not m.group("q"):
        return None  # code: `token = tokenizer(x)` is not a secret, `token = "…"` is
    low = value.lower()
    if low in _PLACEHOLDERS or low.startswith((b"$", b"%", b"<", b"*", b"os.", b"env")):
        return None
    key = m.group("key").lower()
    if re.fullmatch(_PASSWORD_KEYS, key) is not None or _token_like(value):
        return f"a {key.decode()} with a value"
    return None


def content_secret_reason(data: bytes, *, code: bool = False) -> Optional[str]:
    """What credential ``data`` holds (``"a private key"``, ``"a GitHub token"``, …), or
    None. ``code``: only quoted values count for secret-named keys (source code).
    Linear in ``len(data)``: each rule runs only where its literal text occurs."""
    for what, anchors, back, pattern in _COMPILED:
        for anchor in anchors:
            for at in _positions(data, anchor):
                if back == 0:
                    if pattern.match(data, at):
                        return what
                elif pattern.search(data, max(at - back, 0), at + _AFTER):
                    return what
    low = data.lower()
    for anchor in _KEY_ANCHORS:
        for at in _positions(low, anchor):
            reason = _key_value_at(data, at, code)
            if reason is not None:
                return reason
    return None


def text_secret_reason(text: str, *, code: bool = False) -> Optional[str]:
    """:func:`content_secret_reason` for text."""
    return content_secret_reason(text.encode("utf-8", "surrogatepass"), code=code)


def _file_content_reason(path: Path, code: bool) -> Optional[str]:
    """Scan a text file in bounded chunks (overlapping, so no match is cut in two). A
    binary file (a NUL byte in its first 8 KiB, git's test) is judged by name only."""
    with open(path, "rb") as fh:
        tail = b""
        first = True
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                return None
            if first and b"\x00" in chunk[:8192]:
                return None
            first = False
            window = tail + chunk
            reason = content_secret_reason(window, code=code)
            if reason is not None:
                return reason
            tail = window[-_OVERLAP:]


@lru_cache(maxsize=4)
def _known_secret_inodes(home: str) -> FrozenSet[Tuple[int, int]]:
    """(device, inode) of this machine's known credential files (for hard links)."""
    roots = [os.path.join(home, d) for d in (".ssh", ".aws", ".azure", ".kube", ".docker",
                                             ".gnupg", ".kaggle", ".config/gcloud",
                                             ".config/gh", ".huggingface",
                                             ".cache/huggingface")]
    singles = [os.path.join(home, f) for f in (".netrc", ".pgpass", ".my.cnf", ".s3cfg",
                                               ".boto", ".pypirc", ".npmrc",
                                               ".git-credentials", ".databrickscfg",
                                               ".bash_history", ".zsh_history",
                                               ".python_history", ".psql_history")]
    singles += ["/etc/shadow", "/etc/gshadow"]
    found = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath.count(os.sep) - root.count(os.sep) > 3:
                dirnames[:] = []
            singles += [os.path.join(dirpath, name) for name in filenames]
    for name in singles:
        try:
            st = os.stat(name)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.add((st.st_dev, st.st_ino))
    return frozenset(found)


def file_secret_reason(path: Path, rel: str, *, data: Optional[bytes] = None) -> Optional[str]:
    """Why the file at ``path`` (shipped as ``rel``) must not ship, or None: its name,
    the name of what a symlink points to, a hard link to one of this machine's
    credential files, or what it holds (``data`` when the caller has read it already).
    Symlinks and hard links are resolved before anything is decided."""
    reason = path_secret_reason(rel)
    if reason:
        return reason
    real = Path(os.path.realpath(path))
    if real != Path(os.path.abspath(path)):
        target = path_secret_reason(real.as_posix().lstrip("/"))
        if target:
            return f"it links to {real}: {target}"
    try:
        st = os.stat(real)
    except OSError:
        return None
    if st.st_nlink > 1 and (st.st_dev, st.st_ino) in _known_secret_inodes(
            os.path.expanduser("~")):
        return "it is a hard link to one of this machine's credential files"
    code = PurePosixPath(rel).suffix.lower() in _CODE_SUFFIXES
    if data is not None:
        found = None if b"\x00" in data[:8192] else content_secret_reason(data, code=code)
    else:
        found = _file_content_reason(real, code) if stat.S_ISREG(st.st_mode) else None
    return f"it holds {found}" if found else None


def notebook_secret_warnings(nb: Mapping[str, Any]) -> List[str]:
    """One warning per cell whose source or saved outputs hold a credential (the
    notebook ships as it is, outputs included: the user should know before it is built,
    exported or pushed)."""
    warnings: List[str] = []
    for index, cell in enumerate(nb.get("cells") or []):
        if not isinstance(cell, Mapping):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        reason = text_secret_reason(source, code=True)
        where = "source"
        if reason is None:
            reason = next(filter(None, (text_secret_reason(t) for t in _output_texts(cell))),
                          None)
            where = "saved output"
        if reason:
            warnings.append(f"cell {index}'s {where} holds what looks like {reason}: it "
                            "goes into the image, bundles and pushed copies as it is")
    return warnings


def _output_texts(cell: Mapping[str, Any]) -> Iterable[str]:
    for output in cell.get("outputs") or []:
        if not isinstance(output, Mapping):
            continue
        for value in (output.get("text"), output.get("evalue"),
                      *(output.get("data") or {}).values()):
            if isinstance(value, list):
                value = "".join(str(v) for v in value)
            if isinstance(value, str):
                yield value


# -- environment variables ------------------------------------------------------------
_SECRET_ENV_RE = re.compile(
    r"(SECRET|TOKEN|PASSW|PASSWD|PWD|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH|"
    r"SESSION|COOKIE|_KEY$|^KEY$|SIGNATURE|CERT_?PASS|DSN$|WEBHOOK|(?:^|_)PASS(?:$|_)|"
    r"(?:^|_)PAT(?:$|_)|(?:^|_)PW(?:$|_))",
    re.IGNORECASE,
)


def is_secret_env_name(name: str) -> bool:
    """True for variable names that usually hold secrets (``AWS_SECRET_ACCESS_KEY``,
    ``GITHUB_TOKEN``, ``DB_PASSWORD``, ``DB_PASS``, ``GH_PAT``, ``SLACK_WEBHOOK``, ...)."""
    return bool(_SECRET_ENV_RE.search(name))


def env_secret_reason(name: str, value: str) -> Optional[str]:
    """Why the variable must not go into an image, or None: a secret-looking name, or a
    value that carries a credential whatever the name (``postgres://u:pw@…``, a token)."""
    if is_secret_env_name(name):
        return "its name looks secret"
    found = text_secret_reason(value)
    if found is None and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        found = "a URL with credentials" if url_has_credentials(value) else None
    return f"its value holds {found}" if found else None


def is_secret_env(name: str, value: str) -> bool:
    """True when ``name=value`` must not go into an image (see :func:`env_secret_reason`)."""
    return env_secret_reason(name, value) is not None


# -- URLs and messages --------------------------------------------------------------------
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
# user:password@host/ or user:password@host:port/ without a scheme (an image reference
# someone typed with credentials in it); digests (repo@sha256:…) do not match.
_BARE_USERINFO_RE = re.compile(
    r"(?<![\w.@/:%+-])[\w.%+-]+:[^\s/@]+@(?=[A-Za-z0-9.-]+(?::[0-9]+)?/)")


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
    """Every ``scheme://userinfo@`` (and ``user:password@host/``) in free text replaced
    by ``***@``."""
    text = _URL_USERINFO_RE.sub(lambda m: m.group("scheme") + "***@", text)
    return _BARE_USERINFO_RE.sub("***@", text)
