"""The Kubernetes side of sweeps without a cluster (none can run here).

* The manifests ``--emit`` writes validate against the Kubernetes schemas that
  ``kubernetes-validate`` ships, for the newest cluster version it knows, strictly.
* Submission and collection run through the official ``kubernetes`` client against
  tests/_kube_stub.py, an HTTP server answering like the API server (so the client
  parses real responses into its own models); its pods here run the pod's command with
  this interpreter. tests/integration/test_sweep_engine.py runs them as real containers.
"""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import pytest

from _env import must_not_skip
from _kube_stub import KubeStub, local_pod_runner
from nbdocker import contract, pipeline
from nbdocker.engine.base import ContainerLimits
from nbdocker.exceptions import InputError, MissingExtra
from nbdocker.frontends.cli import main
from nbdocker.stages.run import runner
from nbdocker.stages.run.backends.kubernetes import manifests
from nbdocker.stages.run.sweep_task import RunSpec, SweepJob
from _sweep_notebook import write_notebook

pytest.importorskip("nbclient")


def need(module: str) -> Any:
    """Import ``module``; under scripts/test and CI its absence fails the test."""
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = f"{module} is not installed (pip install -e '.[test]')"
        if must_not_skip():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def validate_all(docs: List[Dict[str, Any]]) -> str:
    validate = need("kubernetes_validate")
    version = validate.latest_version()
    for doc in docs:
        validate.validate(doc, version, strict=True)
    return str(version)


def test_emitted_manifests_validate_for_a_current_cluster(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture
                                                          ) -> None:
    def no_engine() -> None:
        raise AssertionError("--emit with --image needs no engine")

    monkeypatch.setattr(pipeline, "_default_engine", no_engine)
    notebook = write_notebook(tmp_path / "grid.ipynb")
    emit = tmp_path / "emitted"
    code = main(["sweep", str(notebook), "--image", "registry.example.com/team/grid:1",
                 "-p", "a", "1,2,3", "-p", "pause", "0", "-p", "b", "0,1",
                 "--collect", "value", "--emit", str(emit), "-j", "2", "--network", "none",
                 "--memory", "512m", "--cpus", "1.5", "--timeout", "600", "-q"])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.split() == [str(emit / n) for n in
                                               ("kubernetes.json", "slurm.sh", "sweep.json")]
    doc = json.loads((emit / "kubernetes.json").read_text())
    assert doc["kind"] == "List"
    configmap, job, policy = doc["items"]
    version = validate_all(doc["items"])
    assert version >= "1.33"   # Indexed Jobs' backoffLimitPerIndex is stable from 1.33
    assert [configmap["kind"], job["kind"], policy["kind"]] == ["ConfigMap", "Job",
                                                               "NetworkPolicy"]
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == \
        ("Indexed", 6, 2)
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry.example.com/team/grid:1"
    assert container["command"][-2:] == ["--index-env", "JOB_COMPLETION_INDEX"]
    assert container["resources"]["limits"] == {"memory": "512Mi", "cpu": "1.5"}
    assert container["securityContext"]["runAsNonRoot"] is True
    assert pod["activeDeadlineSeconds"] == 615 and pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    payload = json.loads(configmap["data"][contract.SWEEP_FILE])
    assert [r["parameters"] for r in payload["runs"]][:2] == [{"a": 1, "pause": 0, "b": 0},
                                                              {"a": 1, "pause": 0, "b": 1}]
    assert payload["collect"] == ["value"] and payload["timeout"] == 600
    assert all(c.get("outputs") == [] for c in payload["source"]["cells"]
               if c["cell_type"] == "code")
    sweep_id = job["metadata"]["labels"][contract.LABEL_SWEEP]
    assert policy["spec"] == {"podSelector": {"matchLabels": {contract.LABEL_SWEEP: sweep_id}},
                              "policyTypes": ["Ingress", "Egress"]}
    assert json.loads((emit / "sweep.json").read_text()) == payload
    script = (emit / "slurm.sh").read_text()
    assert "#SBATCH --array=0-5%2" in script and "#SBATCH --mem=512M" in script
    assert '--index "$SLURM_ARRAY_TASK_ID"' in script
    assert "docker://registry.example.com/team/grid:1" in script and (emit / "logs").is_dir()
    if shutil.which("bash"):
        subprocess.run(["bash", "-n", str(emit / "slurm.sh")], check=True)


def test_manifests_without_limits_stay_minimal() -> None:
    job = SweepJob("abc123def456", "img:1", "nb.ipynb", None, (RunSpec(0, {"a": 1}),))
    docs = manifests(job, "team")
    validate_all(docs)
    assert [d["kind"] for d in docs] == ["ConfigMap", "Job"]
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert "resources" not in container and docs[0]["metadata"]["namespace"] == "team"
    assert "activeDeadlineSeconds" not in docs[1]["spec"]["template"]["spec"]


def _fresh(monkeypatch: pytest.MonkeyPatch, kubeconfig: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))


def test_submission_and_collection_through_the_client(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    need("kubernetes")
    notebook = write_notebook(tmp_path / "grid.ipynb")
    with KubeStub(local_pod_runner(Path(runner.__file__))) as stub:
        _fresh(monkeypatch, stub.kubeconfig(tmp_path / "kubeconfig"))
        outcome = pipeline.sweep(notebook, backend="kubernetes", image="img:1", jobs=2,
                                 sweep_parameters={"a": [1, 2], "b": [0, 1]},
                                 collect=["value"], network="none", out=str(tmp_path / "r"))
    assert [r.status for r in outcome.runs] == ["ok", "ok", "ok", "cell_error"]
    assert [r.collected["value"] for r in outcome.runs] == [10, 11, 20, None]
    assert outcome.runs[3].error.startswith("cell 2 raised ValueError: bad pair")
    assert all((tmp_path / "r" / r.notebook).is_file() for r in outcome.runs)
    assert stub.unexpected == []
    made = [p for m, p in stub.requests if m == "POST"]
    assert [p.rsplit("/", 1)[1] for p in made] == ["configmaps", "jobs", "networkpolicies"]
    assert stub.objects == {}   # the Job, the ConfigMap and the NetworkPolicy are deleted
    assert ("DELETE", "/api/v1/namespaces/nbtest/pods") in stub.requests


def test_a_pod_that_cannot_report_is_retried_once_then_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("kubernetes")
    notebook = write_notebook(tmp_path / "grid.ipynb")
    real = local_pod_runner(Path(runner.__file__))
    attempts: List[str] = []

    def broken_for_index_1(container: Mapping[str, Any], files: Mapping[str, bytes],
                           env: Mapping[str, str]) -> Tuple[int, str]:
        if env["JOB_COMPLETION_INDEX"] == "1":
            attempts.append("1")
            return 127, "exec /usr/bin/python: no such file or directory\n"
        return real(container, files, env)

    with KubeStub(broken_for_index_1) as stub:
        _fresh(monkeypatch, stub.kubeconfig(tmp_path / "kubeconfig"))
        outcome = pipeline.sweep(notebook, backend="kubernetes", image="img:1",
                                 sweep_parameters={"a": [1, 3]}, out=str(tmp_path / "r"))
    assert attempts == ["1", "1"]   # backoffLimitPerIndex: 1
    assert [r.status for r in outcome.runs] == ["ok", "failed"]
    assert outcome.runs[1].error == ("the task in img:1 failed: Error; last output: exec "
                                     "/usr/bin/python: no such file or directory")


def test_without_a_kubeconfig_or_the_client(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    need("kubernetes")
    notebook = write_notebook(tmp_path / "grid.ipynb")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(InputError, match=r"needs a kubeconfig .*--emit DIR"):
        pipeline.sweep(notebook, backend="kubernetes", image="img:1",
                       sweep_parameters={"a": [1]}, out=str(tmp_path / "r"))
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    with pytest.raises(MissingExtra, match=r"pip install 'nbdocker\[kubernetes\]'"):
        pipeline.sweep(notebook, backend="kubernetes", image="img:1",
                       sweep_parameters={"a": [1]}, out=str(tmp_path / "r2"))
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_limits_reach_the_job(tmp_path: Path) -> None:
    job = SweepJob("abc123def456", "img:1", "nb.ipynb", None, (RunSpec(0, {}),),
                   limits=ContainerLimits(memory="1.5g", cpus=0.5, timeout=10))
    docs = manifests(job)
    validate_all(docs)
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"memory": "1.5Gi", "cpu": "0.5"}
