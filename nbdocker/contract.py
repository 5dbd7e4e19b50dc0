"""The container contract: what the host and the image agree on. Standard library only.

This file is copied into every image beside the runner (as ``nbdocker_contract.py``,
see :data:`CONTRACT_PATH`), so the runner, which cannot import nbdocker there, reads
the same names the host writes: paths inside the image, image labels, cell tags, the
runner's progress-line prefix and its exit codes. Everything else imports it from here.
"""
from __future__ import annotations

__all__ = [
    "UID", "HOME", "WORKDIR", "VENV", "RUNNER_DIR", "RUNNER_PATH", "CONTRACT_PATH",
    "OUTPUT_NAME",
    "LABEL_SPEC_HASH", "LABEL_NOTEBOOK", "LABEL_PYTHON", "LABEL_VERSION", "LABEL_BUILD_HASH",
    "LABEL_BASE_NAME", "LABEL_BASE_DIGEST", "LABEL_ENV",
    "GUESS_BEGIN", "GUESS_FAILED",
    "PARAMETERS_TAG", "INJECTED_TAG", "SKIP_EXECUTION_TAG", "SKIP_COMPARE_TAG",
    "RAISES_EXCEPTION_TAG",
    "EVENT_PREFIX", "COLLECT_PREFIX", "OUTPUT_CHUNK",
    "LABEL_SWEEP", "SWEEP_DIR", "SWEEP_FILE", "SWEEP_PAYLOAD_NAME",
    "EXIT_OK", "EXIT_INPUT", "EXIT_CELL_ERROR", "EXIT_CELL_TIMEOUT", "EXIT_TIMEOUT",
    "EXIT_KERNEL_DIED", "EXIT_KERNEL_START",
]

# -- paths inside the image ---------------------------------------------------------
UID = 1000                               # the non-root user every run uses
HOME = "/home/nbdocker"
WORKDIR = f"{HOME}/work"                 # the notebook's folder: its files live here
VENV = "/opt/venv"                       # the notebook's environment (and the kernel's)
RUNNER_DIR = "/opt/nbdocker"
RUNNER_PATH = f"{RUNNER_DIR}/nbdocker_runner.py"
CONTRACT_PATH = f"{RUNNER_DIR}/nbdocker_contract.py"
OUTPUT_NAME = ".nbdocker-output.ipynb"   # the executed notebook, in WORKDIR

# -- image labels ---------------------------------------------------------------------
LABEL_SPEC_HASH = "io.nbdocker.spec-hash"
LABEL_NOTEBOOK = "io.nbdocker.notebook"        # the notebook's path inside WORKDIR
LABEL_PYTHON = "io.nbdocker.python"            # the captured Python version
LABEL_VERSION = "io.nbdocker.version"          # the nbdocker that built the image
LABEL_BUILD_HASH = "io.nbdocker.build-hash"    # digest of the exact build context
LABEL_BASE_NAME = "org.opencontainers.image.base.name"
LABEL_BASE_DIGEST = "org.opencontainers.image.base.digest"
LABEL_ENV = "io.nbdocker.env"                  # key of an installed environment (reuse)

# -- build output markers (the install step prints them, the engine reads them) ---------
GUESS_BEGIN = "nbdocker-guess: "               # + name: installing an unresolved guess
GUESS_FAILED = "nbdocker-guess-failed: "       # + name TAB why: it could not be installed

# -- cell tags ------------------------------------------------------------------------
PARAMETERS_TAG = "parameters"                  # papermill: parameters go after this cell
INJECTED_TAG = "injected-parameters"           # papermill: the cell nbdocker inserts
SKIP_EXECUTION_TAG = "skip-execution"          # nbclient skips it
SKIP_COMPARE_TAG = "nbdocker-skip-compare"     # reported as skipped
RAISES_EXCEPTION_TAG = "raises-exception"      # nbclient: may raise

# -- the runner's protocol ------------------------------------------------------------
EVENT_PREFIX = "@@nbdocker "   # a stdout line starting so is a JSON progress event
# The hidden last cell of a run with --collect prints one line starting so (in the
# kernel, not on the runner's stdout); the runner removes that cell from the output.
COLLECT_PREFIX = "@@nbdocker-collect "
# A sweep task writes the executed notebook to its log stream in base64 lines of at most
# this many characters: well under the 16 KiB at which Docker's log drivers split lines.
OUTPUT_CHUNK = 4000

# -- sweeps (the runner's task mode: ``nbdocker_runner.py --task FILE``) ---------------
LABEL_SWEEP = "io.nbdocker.sweep"        # on every container, service, job and pod of a sweep
SWEEP_DIR = "/opt/nbdocker-sweep"        # cluster backends mount the sweep's payload here
SWEEP_FILE = "sweep.json"                # ... as this file (a Swarm config, a ConfigMap key)
SWEEP_PAYLOAD_NAME = ".nbdocker-sweep.json"  # local runs: copied into WORKDIR, removed once read
# Exit codes, clear of 1 (an uncaught traceback) and 2 (argparse usage errors), so the
# host can tell "the runner itself broke" from "the notebook failed".
EXIT_OK = 0
EXIT_INPUT = 3            # unreadable notebook or parameters
EXIT_CELL_ERROR = 10      # a cell raised (and errors were not allowed)
EXIT_CELL_TIMEOUT = 11    # one cell exceeded --cell-timeout
EXIT_TIMEOUT = 12         # the whole run exceeded --timeout
EXIT_KERNEL_DIED = 13     # nbclient's DeadKernelError (often: OOM-killed)
EXIT_KERNEL_START = 14    # the kernel could not be started
