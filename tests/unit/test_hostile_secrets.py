"""Issue 14.3: secrets recognised by kind — credential files of common clouds and tools,
content of known shapes, links resolved first — in capture, the build context and
bundles alike; ``--env`` refuses credential values whatever their names; a notebook
whose saved outputs hold a credential is warned about before anything is built."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import List

import nbformat
import pytest

from nbdocker import secrets
from nbdocker.events import Event
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo
from nbdocker.stages.capture.files import FileCollector
from nbdocker.stages.capture.platform import capture_env
from nbdocker.stages.image import context_files

# Every file that shipped in the report, and more of the same kinds.
BY_NAME = ["kaggle.json", "token.json", "token.pickle", "client_secret.json",
           "client_secret_1234-abc.apps.googleusercontent.com.json", ".pgpass",
           ".kube/config", ".s3cfg", ".boto", "gcp-credentials.json",
           "gcp-credentials-prod.json", "application_default_credentials.json",
           ".config/gcloud/legacy_credentials/me/adc.json", "api_key.txt", "passwords.txt",
           ".bash_history", ".zsh_history", ".python_history", ".psql_history",
           ".my.cnf", "rclone.conf", ".databrickscfg", "terraform.tfstate", "prod.tfvars",
           "my-service-account.json", ".azure/accessTokens.json", ".docker/config.json",
           ".config/gh/hosts.yml", "vpn.ovpn", "vault.kdbx", "deploy_ed25519", ".vault-token",
           ".env.production", "secrets.yaml", ".npmrc", ".git-credentials"]
NOT_SECRET = ["data/tokens.csv", "notes.md", "analysis.py", "data/keyboard.csv",
              ".gitignore", "model.pkl", "environment.yml", "results/history.csv"]

# Content of each kind, in a file with an innocent name.
BY_CONTENT = {
    "private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    "openssh key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n",
    "aws": "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    "github": "GITHUB=ghp_" + "A1b2C3d4E5" * 3 + "xYz123\n",
    "github fine-grained": "t = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'\n",
    "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\n",
    "slack webhook": "url: https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX\n",
    "openai": "key=sk-proj-" + "a1B2" * 10 + "T3BlbkFJ" + "c3D4" * 8 + "\n",
    "google": "GOOGLE_KEY=AIzaSyA1234567890abcdefghijklmnopqrstuv\n",
    "jwt": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
           "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n",
    "json password": json.dumps({"user": "me", "password": "hunter22"}),
    "ini secret": "[service]\nclient_secret = 8f7d6e5c4b3a\n",
    "yaml token": "auth:\n  api_key: Zx81Kq02Lm93Nb47Vc16\n",
    "dotenv": "DB_PASSWORD=correct-horse-battery\n",
    "credentialed url": "engine = create_engine('postgresql://analyst:S3cret!@db.internal/prod')\n",
    "hf": "hf_" + "AbCdEfGhIj" * 3 + "KlMnO\n",
    "kaggle": json.dumps({"username": "someone", "key": "0123456789abcdef" * 2}),
}
HARMLESS = {
    "nlp data": '{"token": "the", "pos": "DT"}\n' * 100,
    "code": "token = tokenizer.tokenize(text)\npassword = getpass.getpass()\n",
    "config": "[plot]\nbackend = Agg\ntoken_limit = 512\n",
    "url": "see https://example.com/docs and user@example.com\n",
}


@pytest.mark.parametrize("rel", BY_NAME)
def test_credential_files_are_recognised_by_name(rel: str) -> None:
    assert secrets.path_secret_reason(rel), rel


@pytest.mark.parametrize("rel", NOT_SECRET)
def test_ordinary_files_are_not(rel: str) -> None:
    assert secrets.path_secret_reason(rel) is None


@pytest.mark.parametrize("kind", sorted(BY_CONTENT))
def test_credentials_are_recognised_by_content(kind: str) -> None:
    code = kind == "credentialed url"   # it is a line of Python: still a secret
    assert secrets.content_secret_reason(BY_CONTENT[kind].encode(), code=code), kind


@pytest.mark.parametrize("kind", sorted(HARMLESS))
def test_harmless_content_is_not_flagged(kind: str) -> None:
    assert secrets.content_secret_reason(HARMLESS[kind].encode(), code=kind == "code") is None


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME with an SSH key whose content no rule would recognise."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("canary-key-material-without-a-header\n")
    monkeypatch.setenv("HOME", str(home))
    secrets._known_secret_inodes.cache_clear()
    return home


def _project(tmp_path: Path, home: Path) -> Path:
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    for rel in ("kaggle.json", ".kube/config", "api_key.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    for i, (kind, text) in enumerate(sorted(BY_CONTENT.items())):
        (root / "data" / f"innocent{i}.txt").write_text(text)
    os.link(home / ".ssh" / "id_rsa", root / "data" / "notes.txt")     # hard link
    (root / "data" / "readme.txt").symlink_to(home / ".ssh" / "id_rsa")  # symlink
    (root / "data" / "values.csv").write_text("a,b\n1,2\n")
    return root


def test_capture_ships_none_of_them(tmp_path: Path, home: Path) -> None:
    root = _project(tmp_path, home)
    collector = FileCollector(root)
    literals = ["kaggle.json", ".kube/config", "api_key.txt", "data"]
    collector.add_literals(literals)
    assert sorted(collector.entries) == ["data/values.csv"], collector.warnings
    assert any("hard link" in w for w in collector.warnings)


def test_the_build_context_drops_them_even_when_the_spec_names_them(
        tmp_path: Path, home: Path) -> None:
    root = _project(tmp_path, home)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nbformat.write(nb, root / "nb.ipynb")
    names = ["nb.ipynb"] + [p.relative_to(root).as_posix() for p in sorted(root.rglob("*"))
                            if p.is_file() and p.name != "nb.ipynb"]
    entries = []
    for rel in names:
        data = (root / rel).read_bytes()
        entries.append(FileEntry(rel, "notebook" if rel == "nb.ipynb" else "data", len(data),
                                 hashlib.sha256(data).hexdigest()))
    spec = EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo("3.11.7"),
                           files=tuple(entries))
    events: List[Event] = []
    files = context_files(spec, root, base_image="base:1", on_event=events.append)
    shipped = sorted(n for n in files if n.startswith("notebook/"))
    assert shipped == ["notebook/data/values.csv", "notebook/nb.ipynb"]
    warned = {e.data.get("path") for e in events if e.kind == "warning"}
    assert warned == set(names) - {"nb.ipynb", "data/values.csv"}


@pytest.mark.parametrize("name,value", [
    ("DATABASE_URL", "postgres://u:PW-canary@db.internal:5432/x"),
    ("GH_PAT", "anything"), ("SLACK_WEBHOOK", "https://hooks.slack.com/services/T/B/x"),
    ("DB_PASS", "x"), ("NOTIFY", "https://hooks.slack.com/services/T0/B0/" + "x" * 24),
    ("SETTINGS", "ghp_" + "a1" * 18), ("MY_SVC", "https://user:pw@host/path"),
])
def test_env_values_with_credentials_are_refused_whatever_the_name(name: str,
                                                                  value: str) -> None:
    pairs, warnings = capture_env([name], {name: value})
    assert pairs == [] and "looks secret" in warnings[0]
    assert value not in warnings[0]            # the warning never repeats the value


def test_plain_env_values_still_go_in() -> None:
    pairs, _ = capture_env(["MPLBACKEND", "LANGUAGE"], {"MPLBACKEND": "Agg", "LANGUAGE": "en"})
    assert pairs == [("LANGUAGE", "en"), ("MPLBACKEND", "Agg")]


def test_a_saved_output_holding_a_credential_is_warned_about_before_the_build(
        tmp_path: Path) -> None:
    cell = nbformat.v4.new_code_cell("print(os.environ['TOKEN'])")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                           text="ghp_" + "Zz9" * 12 + "\n")]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), cell])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    data = (tmp_path / "nb.ipynb").read_bytes()
    spec = EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo("3.11.7"), files=(
        FileEntry("nb.ipynb", "notebook", len(data), hashlib.sha256(data).hexdigest()),))
    events: List[Event] = []
    files = context_files(spec, tmp_path, base_image="base:1", on_event=events.append)
    assert "notebook/nb.ipynb" in files           # the notebook itself still ships
    warnings = [e.message for e in events if e.kind == "warning"]
    assert warnings == ["cell 1's saved output holds what looks like a GitHub token: it goes "
                        "into the image, bundles and pushed copies as it is"]


def test_messages_never_echo_credentials() -> None:
    assert secrets.redact_text("push user:hunter2@registry.example.com:5000/team/x failed") \
        == "push ***@registry.example.com:5000/team/x failed"
    assert secrets.redact_text("Get https://u:hunter2@host/v2/: denied") == \
        "Get https://***@host/v2/: denied"
    kept = "nbdocker/x:1@sha256:" + "ab" * 32
    assert secrets.redact_text(kept) == kept
