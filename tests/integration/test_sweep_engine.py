"""`nbdocker sweep` on the real engine: the local backend, a one-node Docker Swarm with a
loopback registry, and the Kubernetes backend against tests/_kube_stub.py whose pods run
as real containers of the image (no Kubernetes cluster can run here).

Every sweep here is a real `nbdocker sweep` subprocess: real image, real kernels, one
container per parameter set. The notebook (tests/_sweep_notebook.py) makes ``value = a *
10 + b`` and ``ratio = Fraction(a, b + 1)``, and fails for ``(a, b) == (2, 1)``.
"""
from __future__ import annotations

import fractions
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import nbformat
import pytest

from _kube_stub import KubeStub, docker_pod_runner
from _registry import docker_registry
from _swarm import one_node_swarm
from _sweep_notebook import write_notebook
from nbdocker import contract, pipeline

pytestmark = pytest.mark.engine

# 8 runs: a in 1,3,4,5 times b in 0,1 (none of them the failing pair)
GRID = ["-p", "a", "1,3,4,5", "-p", "b", "0,1"]
RUN_OPTIONS = ["--network", "none", "--memory", "512m", "--timeout", "300"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep")


@pytest.fixture(scope="module")
def notebook(workdir: Path) -> Path:
    return write_notebook(workdir / "grid.ipynb")


@pytest.fixture(scope="module")
def image(engine: Any, base_image: str, notebook: Path) -> Iterator[str]:
    built = pipeline.build(notebook, python=sys.executable, base_image=base_image,
                           engine=engine)
    yield built.tag
    engine.remove_image(built.tag)


def sweep_containers(engine: Any) -> List[Any]:
    return engine.client.containers.list(all=True, filters={"label": contract.LABEL_SWEEP})


def nbdocker(*args: str, env: Dict[str, str] = {}) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbdocker", "sweep", *args],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, **env})


def table(doc: Dict[str, Any]) -> List[Tuple[Any, ...]]:
    """What must not depend on the backend: parameters, status, collected values."""
    return [(r["index"], json.dumps(r["parameters"], sort_keys=True), r["status"],
             json.dumps(r["collected"], sort_keys=True), r["notebook"]) for r in doc["runs"]]


def check_expected(doc: Dict[str, Any], out: Path) -> None:
    assert doc["summary"] == {"total": 8, "ok": 8, "failed": 0, "not_run": 0}
    for row in doc["runs"]:
        a, b = row["parameters"]["a"], row["parameters"]["b"]
        assert row["collected"]["value"] == a * 10 + b
        assert row["collected"]["ratio"] == repr(fractions.Fraction(a, b + 1))
        assert row["collected_repr"] == ["ratio"]
        executed = nbformat.read(str(out / row["notebook"]), as_version=4)
        nbformat.validate(executed)
        assert executed.cells[1].source == f"# Parameters\na = {a}\nb = {b}\n"
        assert executed.cells[2].outputs == [] and len(executed.cells) == 4
    names = sorted(p.name for p in out.glob("*.ipynb"))
    assert len(names) == 8 and names[0] == "0000-a=1-b=0.ipynb"
    assert not list(out.glob(".*"))   # no temp files left by the atomic writes


@pytest.fixture(scope="module")
def local(engine: Any, image: str, notebook: Path, workdir: Path) -> Dict[str, Any]:
    """The 8-run sweep with -j 4 on the local engine (building is a reuse of `image`)."""
    out = workdir / "local"
    original = notebook.read_bytes()
    proc = nbdocker(str(notebook), "--python", sys.executable, *GRID, *RUN_OPTIONS,
                    "--collect", "value", "--collect", "ratio", "-j", "4", "--out", str(out),
                    "--json")
    assert proc.returncode == 0, proc.stderr
    assert notebook.read_bytes() == original
    assert f"{image} (already built)" in proc.stderr   # the image was built once
    assert "· 4 running ·" in proc.stderr              # four containers at once
    assert sweep_containers(engine) == []
    doc = json.loads(proc.stdout)
    assert doc == json.loads((out / "results.json").read_text())
    return doc


def test_local_sweep_of_eight_runs_four_at_a_time(local: Dict[str, Any],
                                                  workdir: Path) -> None:
    check_expected(local, workdir / "local")
    csv = (workdir / "local" / "results.csv").read_text().splitlines()
    assert csv[0] == "index,status,seconds,error,notebook,a,b,pause,value,ratio"
    assert len(csv) == 9 and csv[8].endswith(',0007-a=5-b=1.ipynb,5,1,,51,"Fraction(5, 2)"')


def test_a_failing_set_gives_exit_1_and_the_others_complete(engine: Any, image: str,
                                                            notebook: Path,
                                                            workdir: Path) -> None:
    out = workdir / "failing"
    proc = nbdocker(str(notebook), "--image", image, "-p", "a", "1,2", "-p", "b", "0,1",
                    "--collect", "value", "-j", "4", "--out", str(out))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f"nbdocker: error: 1 of 4 runs did not succeed: 3 (see {out}/results.csv)")
    doc = json.loads((out / "results.json").read_text())
    assert [r["status"] for r in doc["runs"]] == ["ok", "ok", "ok", "cell_error"]
    assert [r["collected"]["value"] for r in doc["runs"]] == [10, 11, 20, None]
    assert doc["runs"][3]["error"].startswith("cell 2 raised ValueError: bad pair")
    assert "3      cell_error" in proc.stdout
    assert sweep_containers(engine) == []


def test_ctrl_c_removes_every_container_and_resume_runs_the_rest(
        engine: Any, image: str, notebook: Path, workdir: Path) -> None:
    out = workdir / "interrupted"
    args = [str(notebook), "--image", image, "-p", "a", "1", "-p", "b", "0", "-p", "pause",
            "0,0.1,8,8.1", "--collect", "value", "-j", "2", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "nbdocker", "sweep", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:   # two complete, two sleeping in their cells
            results = out / "results.json"
            done = [r for r in json.loads(results.read_text())["runs"]
                    if r["status"] == "ok"] if results.is_file() else []
            if len(done) == 2 and len([c for c in sweep_containers(engine)
                                       if c.status == "running"]) == 2:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        time.sleep(2)   # the kernels are inside time.sleep(8) now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "nbdocker: error: interrupted (Ctrl-C): 2 of 4 runs complete in" in err
    assert sweep_containers(engine) == []
    doc = json.loads((out / "results.json").read_text())
    assert [r["status"] for r in doc["runs"]] == ["ok", "ok", "not_run", "not_run"]
    kept = {r["notebook"]: (out / r["notebook"]).read_bytes() for r in doc["runs"][:2]}
    assert sorted(p.name for p in out.iterdir()) == sorted([*kept, "results.csv",
                                                            "results.json"])

    again = nbdocker(*args, "--resume")
    assert again.returncode == 0, again.stderr
    assert "2 to run (2 already complete), 2 at a time on local" in again.stderr
    assert {name: (out / name).read_bytes() for name in kept} == kept   # not re-run
    doc = json.loads((out / "results.json").read_text())
    assert [r["status"] for r in doc["runs"]] == ["ok"] * 4
    assert [r["collected"]["value"] for r in doc["runs"]] == [10] * 4
    assert sweep_containers(engine) == []


def test_the_notebook_baked_into_an_image(engine: Any, image: str, workdir: Path) -> None:
    out = workdir / "baked"
    proc = nbdocker("--image", image, "-p", "a", "7", "--collect", "value", "--out", str(out),
                    "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["collected"]["value"] for r in json.loads(proc.stdout)["runs"]] == [70]
    assert sweep_containers(engine) == []



def test_swarm_replicated_job_gives_the_same_table(engine: Any, image: str, notebook: Path,
                                                   workdir: Path, local: Dict[str, Any],
                                                   tmp_path: Path) -> None:
    out = workdir / "swarm"
    args = [str(notebook), "--image", image, *GRID, *RUN_OPTIONS, "--collect", "value",
            "--collect", "ratio", "-j", "4", "--out", str(out), "--backend", "swarm"]
    with docker_registry(tmp_path) as registry:
        target = f"{registry}/nbdocker-sweep"
        if engine.client.info()["Swarm"]["LocalNodeState"] != "active":
            # first without a swarm: said before anything is built, pushed or written
            proc = nbdocker(*args, "--registry", target)
            assert proc.returncode == 2
            assert ("is not part of a swarm (state: inactive): run `docker swarm init` "
                    "there") in proc.stderr
            assert not out.exists()
        client = engine.client
        with one_node_swarm(engine):
            proc = nbdocker(*args, "--registry", target, "--json")
            # the service, its config and its internal network are gone with the sweep
            left = [x.name for x in (*client.services.list(), *client.configs.list(),
                                     *client.networks.list())
                    if x.name.startswith("nbdocker-sweep-")]
        engine.remove_image(f"{target}:{image.rsplit(':', 1)[1]}")   # the pushed tag
    assert proc.returncode == 0, proc.stderr
    assert left == []
    doc = json.loads(proc.stdout)
    assert doc["backend"] == "swarm" and doc["image"].startswith(f"{target}@sha256:")
    assert table(doc) == table(local)
    check_expected(doc, out)
    assert sweep_containers(engine) == []


def test_kubernetes_indexed_job_against_the_api_stub(engine: Any, image: str,
                                                     notebook: Path, workdir: Path,
                                                     local: Dict[str, Any],
                                                     tmp_path: Path) -> None:
    out = workdir / "kubernetes"
    pods = {"nbdocker-test": "kube-stub-pod"}
    with KubeStub(docker_pod_runner(engine.client, pods)) as stub:
        proc = nbdocker(str(notebook), "--image", image, *GRID, *RUN_OPTIONS, "--collect",
                        "value", "--collect", "ratio", "-j", "4", "--out", str(out),
                        "--backend", "kubernetes", "--json",
                        env={"KUBECONFIG": str(stub.kubeconfig(tmp_path / "kubeconfig"))})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert table(doc) == table(local)
    check_expected(doc, out)
    assert stub.unexpected == [] and stub.objects == {}
    assert engine.client.containers.list(all=True, filters={"label": "nbdocker-test"}) == []
