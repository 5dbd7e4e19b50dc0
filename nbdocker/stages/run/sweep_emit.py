"""``--emit DIR``: a sweep written out for clusters the user submits to themselves.

``DIR/kubernetes.json``
    a ``v1`` ``List`` of the Kubernetes objects (:func:`.backends.kubernetes.manifests`):
    ``kubectl apply -f DIR/kubernetes.json``
``DIR/slurm.sh``, ``DIR/sweep.json``, ``DIR/logs/``
    a Slurm job array (``sbatch slurm.sh`` from DIR), one parameter set per array task,
    each running the image with Apptainer (``docker://IMAGE``, or ``$NBDOCKER_IMAGE``),
    the payload bound in read-only; each task's log (its record and executed notebook)
    lands in ``logs/<index>.log``

Nothing here talks to a cluster. The files are written atomically and are the same for
the same sweep (the sweep id aside).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List

from ... import contract
from ..._fs import atomic_write_text
from .backends.kubernetes import manifests
from .sweep_task import SweepJob, task_command

__all__ = ["emit_sweep", "slurm_script"]


def slurm_script(job: SweepJob, payload: str = "sweep.json") -> str:
    """The Slurm array script of ``job`` (``payload`` beside it)."""
    command = task_command(f"{contract.SWEEP_DIR}/{contract.SWEEP_FILE}", index=0)[:-1]
    directives = [f"--job-name={job.name}",
                  f"--array=0-{len(job.runs) - 1}%{job.concurrency}",
                  "--output=logs/%a.log"]
    if job.limits.cpus:
        directives.append(f"--cpus-per-task={int(math.ceil(job.limits.cpus))}")
    if job.limits.memory:   # Slurm wants whole mebibytes
        import docker.utils

        mib = math.ceil(docker.utils.parse_bytes(job.limits.memory) / 2 ** 20)
        directives.append(f"--mem={mib}M")
    if job.limits.timeout:
        directives.append(f"--time={int(math.ceil(job.limits.timeout / 60)) + 1}")
    lines = [
        "#!/bin/bash",
        f"# nbdocker sweep of {job.notebook_name}: {len(job.runs)} runs, one per array task.",
        "# Submit from this folder: sbatch slurm.sh (the nodes need Apptainer or",
        "# Singularity). Each task's record and executed notebook go to logs/<index>.log.",
        *(f"#SBATCH {d}" for d in directives),
        "set -euo pipefail",
        f"IMAGE=\"${{NBDOCKER_IMAGE:-docker://{job.image}}}\"",
        "# The image's work directory, the payload read-only; --containall keeps the",
        "# host's home and environment out. (Apptainer shares the host's network.)",
        "exec apptainer exec --containall --pwd " + contract.WORKDIR
        + f" --bind \"$PWD/{payload}:{contract.SWEEP_DIR}/{contract.SWEEP_FILE}:ro\" \\",
        "    \"$IMAGE\" " + " ".join(command) + " \"$SLURM_ARRAY_TASK_ID\"",
    ]
    return "\n".join(lines) + "\n"


def emit_sweep(job: SweepJob, out: Path, namespace: str = "default") -> List[Path]:
    """Write the Kubernetes objects and the Slurm array for ``job`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    kube = out / "kubernetes.json"
    atomic_write_text(kube, json.dumps({"apiVersion": "v1", "kind": "List",
                                        "items": manifests(job, namespace)},
                                       indent=2, sort_keys=True) + "\n")
    payload = out / "sweep.json"
    atomic_write_text(payload, job.payload().decode("utf-8") + "\n")
    slurm = out / "slurm.sh"
    atomic_write_text(slurm, slurm_script(job, payload.name))
    slurm.chmod(0o755)
    return [kube, slurm, payload]
