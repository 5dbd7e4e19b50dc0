"""The ``nbdocker`` command line: argument parsing and rendering only.

All work happens in :mod:`nbdocker.pipeline`; this module turns arguments into calls,
events into a progress display (stderr) and results into stdout. Exit codes:
0 success / reproduced, 1 notebook failed or outputs differ, 2 bad input or usage,
3 container engine unavailable or build failed, 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from .. import __version__
from .console import ConsoleRenderer, format_error
from ..exceptions import InputError, NbDockerError

__all__ = ["main", "build_parser"]

EPILOG = """\
exit codes: 0 success or reproduced; 1 a cell failed or outputs differ; 2 bad input or
usage; 3 container engine unavailable or build failed; 130 interrupted.

examples:
  nbdocker capture analysis.ipynb            what the notebook needs, and why
  nbdocker dockerfile analysis.ipynb         the Dockerfile nbdocker would build
  nbdocker build analysis.ipynb              build the image; prints its tag last
  nbdocker run analysis.ipynb -p alpha 0.2   re-run headless with a parameter
  nbdocker verify analysis.ipynb             build + run + compare with saved outputs
  nbdocker export analysis.ipynb --to share/ a bundle others can rebuild (also Binder)
  nbdocker verify --bundle share/            rebuild from the bundle alone and compare
  nbdocker build analysis.ipynb --push registry.example.com/team/analysis
"""


def _add_capture_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook", help="path to the .ipynb file")
    p.add_argument("--python", metavar="PATH",
                   help="interpreter whose installed versions are pinned "
                        "(default: the notebook's kernel, else this Python)")
    p.add_argument("--env", metavar="NAME", action="append", default=[],
                   help="copy environment variable NAME into the image (opt-in; "
                        "secret-looking names are refused)")


def _add_build_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-image", metavar="IMG",
                   help="base image (default: $NBDOCKER_BASE_IMAGE, else python:X.Y-slim "
                        "matching the captured Python)")


def _add_run_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"),
                   help="papermill-style parameter; VALUE is read as int, float, bool, "
                        "None or else a string")
    p.add_argument("-y", "--parameters-yaml", metavar="YAML",
                   help="parameters as a YAML (or JSON) mapping")
    p.add_argument("--output", "-o", metavar="OUT.ipynb",
                   help="where the executed notebook goes (default: "
                        "<notebook>.nbdocker.ipynb beside it; never the original)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="stop the whole run after S seconds")
    p.add_argument("--cell-timeout", type=float, metavar="S",
                   help="stop when one cell runs longer than S seconds")
    p.add_argument("--network", choices=["none", "bridge", "host"],
                   help="container network; 'none' cuts it off")
    p.add_argument("--memory", metavar="M", help="memory limit, e.g. 512m or 2g")
    p.add_argument("--cpus", type=float, metavar="N", help="CPU limit, e.g. 1.5")


def _add_output_opts(p: argparse.ArgumentParser, json_help: str) -> None:
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--verbose", "-v", action="store_true", help="stream the full log")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the CLI)."""
    parser = argparse.ArgumentParser(
        prog="nbdocker",
        description="Make a Jupyter notebook reproducible: capture what it uses, build a "
                    "pinned Docker image, re-run it headless and compare the outputs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"nbdocker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("capture", help="print the notebook's EnvironmentSpec",
                       description="Read every code cell (magics included), resolve imports "
                                   "to installed distributions and print what the notebook "
                                   "needs: a table by default, the spec with --json.")
    _add_capture_opts(p)
    p.add_argument("--json", action="store_true", help="print the EnvironmentSpec as JSON")
    p.add_argument("--all", action="store_true",
                   help="also list the locked transitive requirements in the table")

    p = sub.add_parser("dockerfile", help="print the Dockerfile",
                       description="Print the deterministic Dockerfile for the notebook.")
    _add_capture_opts(p)
    _add_build_opts(p)

    p = sub.add_parser("build", help="build the image; prints its tag last",
                       description="Capture, then build the image through the Docker Engine "
                                   "API. The last line on stdout is the image tag.")
    _add_capture_opts(p)
    _add_build_opts(p)
    p.add_argument("--tag", "-t", metavar="T",
                   help="image tag (default nbdocker/<notebook>:<spec hash>)")
    p.add_argument("--save", metavar="FILE.tar",
                   help="also write the image as a `docker save` tarball (atomically)")
    p.add_argument("--push", metavar="REGISTRY/REPO[:TAG]",
                   help="also push the image (tag defaults to the image's own); prints "
                        "REGISTRY/REPO@sha256:... before the tag")
    _add_output_opts(p, "print a JSON summary (tag, image id, steps) on stdout")

    p = sub.add_parser("run", help="re-run the notebook headless in its image",
                       description="Run the notebook inside its image (built first when "
                                   "missing) and write the executed copy to a new file.")
    p.add_argument("notebook", nargs="?", help="path to the .ipynb file (or a bundle "
                   "directory)")
    p.add_argument("--image", metavar="IMG", help="run in this image instead of building one")
    p.add_argument("--image-tar", metavar="FILE.tar",
                   help="`docker load` this tarball first and run its image (the notebook "
                        "baked into it, unless NOTEBOOK is given)")
    _add_bundle_opt(p)
    p.add_argument("--python", metavar="PATH",
                   help="interpreter whose installed versions are pinned (when building)")
    p.add_argument("--allow-errors", action="store_true",
                   help="keep going after a failing cell (exit 0 unless the run dies)")
    _add_build_opts(p)
    _add_run_opts(p)
    _add_output_opts(p, "print a JSON summary on stdout")

    p = sub.add_parser("verify", help="build + run + compare with the saved outputs",
                       description="Capture, build (or reuse) the image, re-run the notebook "
                                   "and compare every cell's outputs with the saved ones. "
                                   "Exit 0 only when every compared cell matches.")
    p.add_argument("notebook", nargs="?", help="path to the .ipynb file (or a bundle "
                   "directory)")
    _add_bundle_opt(p)
    p.add_argument("--python", metavar="PATH",
                   help="interpreter whose installed versions are pinned")
    _add_build_opts(p)
    _add_run_opts(p)
    p.add_argument("--strict-images", action="store_true",
                   help="count a differing image (plot) as a difference; by default images "
                        "are compared by hash and reported apart")
    p.add_argument("--ignore-warnings", action="store_true",
                   help="leave Python warnings on stderr (deprecations, platform notices) "
                        "out of the comparison")
    _add_output_opts(p, "print the ReproductionReport as JSON on stdout")

    p = sub.add_parser("export", help="write a bundle others can rebuild and verify",
                       description="Write the notebook, its local modules and data files, "
                                   "the spec, a Dockerfile (no host CA or index URLs), "
                                   "pinned requirements and Binder files (binder/) to a "
                                   "directory or a .tar.gz. Deterministic; no secrets. "
                                   "Rebuild with `nbdocker verify --bundle DIR`.")
    _add_capture_opts(p)
    p.add_argument("--to", required=True, metavar="DIR|FILE.tar.gz",
                   help="target directory (created, or replaced when it holds a bundle), "
                        "or an archive ending in .tar.gz or .tar")
    p.add_argument("--base-image", metavar="IMG",
                   help="FROM of the bundle's Dockerfile (default python:X.Y-slim; "
                        "$NBDOCKER_BASE_IMAGE is not used: it is usually machine-local)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    p = sub.add_parser("push", help="push an image to a registry; prints REPO@sha256:...",
                       description="Tag IMAGE (or the image of a NOTEBOOK / bundle, built "
                                   "when missing) as REGISTRY/REPO[:TAG] and push it with "
                                   "the credentials of the Docker config "
                                   "(~/.docker/config.json). Prints the pushed reference "
                                   "with its digest.")
    p.add_argument("source", metavar="IMAGE|NOTEBOOK",
                   help="a local image, or a notebook / bundle whose image to push")
    p.add_argument("ref", metavar="REGISTRY/REPO[:TAG]",
                   help="where to push (without :TAG, the image's own tag)")
    p.add_argument("--python", metavar="PATH",
                   help="interpreter whose installed versions are pinned (when building)")
    _add_build_opts(p)
    _add_output_opts(p, "print {ref, digest, pinned, source} as JSON on stdout")
    return parser


def _add_bundle_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", metavar="DIR",
                   help="an exported bundle: rebuilt from its spec and files alone (no "
                        "re-capture), files checked against the spec's sha256")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code or 0)
    renderer = ConsoleRenderer(quiet=getattr(args, "quiet", False),
                               verbose=getattr(args, "verbose", False))
    try:
        return _COMMANDS[args.command](args, renderer)
    except NbDockerError as exc:
        renderer.close()
        print(format_error(exc, log_tail=not getattr(args, "quiet", False)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        renderer.close()
        print("nbdocker: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: one line, traceback only on request
        renderer.close()
        if os.environ.get("NBDOCKER_DEBUG"):
            raise
        print(f"nbdocker: internal error: {type(exc).__name__}: {exc} "
              "(set NBDOCKER_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        renderer.close()


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


# -- commands ----------------------------------------------------------------------

def _cmd_capture(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..pipeline import capture
    from ..stages.capture.summary import format_spec

    spec = capture(args.notebook, python=args.python, env_names=args.env, on_event=renderer)
    renderer.close()
    if args.json:
        sys.stdout.write(spec.to_json())
    else:
        print(format_spec(spec, transitive=args.all))
    return 0


def _cmd_dockerfile(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..pipeline import capture, dockerfile

    spec = capture(args.notebook, python=args.python, env_names=args.env, on_event=renderer)
    renderer.close()
    sys.stdout.write(dockerfile(spec, base_image=args.base_image))
    return 0


def _cmd_build(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..pipeline import build, capture, push, save_image
    from ..stages.share.registry import parse_ref

    if args.push:
        parse_ref(args.push)  # a typo fails now, not after a long build
    spec = capture(args.notebook, python=args.python, env_names=args.env, on_event=renderer)
    outcome = build(args.notebook, spec=spec, tag=args.tag, base_image=args.base_image,
                    on_event=renderer)
    saved = save_image(outcome.tag, args.save, on_event=renderer) if args.save else None
    pushed = push(outcome.tag, args.push, on_event=renderer) if args.push else None
    renderer.close()
    if args.json:
        steps = outcome.result.steps if outcome.result else ()
        doc: Dict[str, Any] = {
            "tag": outcome.tag, "image_id": outcome.image_id,
            "base_image": outcome.base_image, "spec_hash": spec.content_hash(),
            "steps": [{"index": s.index, "instruction": s.instruction, "cached": s.cached}
                      for s in steps]}
        if saved is not None:
            doc["saved"] = str(saved)
        if pushed is not None:
            doc["pushed"] = _push_doc(pushed)
        _print_json(doc)
    else:
        if pushed is not None:
            print(pushed.pinned)
        print(outcome.tag)
    return 0


def _push_doc(pushed: Any) -> Dict[str, str]:
    return {"ref": pushed.ref, "digest": pushed.digest, "pinned": pushed.pinned,
            "source": pushed.source}


def _notebook_or_bundle(args: argparse.Namespace, required: bool = True) -> Optional[str]:
    """The positional NOTEBOOK, or ``--bundle DIR`` (not both)."""
    if args.bundle and args.notebook:
        raise InputError("give a NOTEBOOK or --bundle DIR, not both")
    if args.bundle:
        from ..stages.share.bundle import load_bundle

        load_bundle(args.bundle)  # "not a bundle" beats "not a notebook" as a message
        return str(args.bundle)
    if required and not args.notebook:
        raise InputError("give a NOTEBOOK (or --bundle DIR)")
    return args.notebook


def _parameters(args: argparse.Namespace) -> Dict[str, Any]:
    from ..stages.run.parameters import parse_parameters

    return parse_parameters(args.parameter, args.parameters_yaml)


def _limits(args: argparse.Namespace) -> Any:
    from ..engine.base import ContainerLimits

    return ContainerLimits(network=args.network, memory=args.memory, cpus=args.cpus,
                           timeout=args.timeout)


def _cmd_run(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..pipeline import load_image, run

    notebook = _notebook_or_bundle(args, required=False)
    image = args.image
    if args.image_tar:
        loaded = load_image(args.image_tar, on_event=renderer)
        image = image or loaded
    if notebook is None and image is None:
        raise InputError("give a NOTEBOOK, or --image IMG / --image-tar FILE.tar to run "
                         "the notebook baked into it")
    outcome = run(notebook, image=image, parameters=_parameters(args),
                  output=args.output, limits=_limits(args), cell_timeout=args.cell_timeout,
                  allow_errors=args.allow_errors, python=args.python,
                  base_image=args.base_image, on_event=renderer)
    renderer.close()
    if args.json:
        _print_json(outcome.to_dict())
    else:
        print(outcome.output)
    return 0


def _cmd_verify(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..stages.verify.compare import format_report
    from ..pipeline import verify

    outcome = verify(_notebook_or_bundle(args), parameters=_parameters(args), output=args.output,
                     limits=_limits(args), cell_timeout=args.cell_timeout, python=args.python,
                     base_image=args.base_image, strict_images=args.strict_images,
                     ignore_warnings=args.ignore_warnings, on_event=renderer)
    renderer.close()
    if args.json:
        sys.stdout.write(outcome.report.to_json())
    else:
        print(format_report(outcome.report))
        print(f"executed notebook: {outcome.output}")
    return 0 if outcome.report.reproduced else 1


def _cmd_export(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..pipeline import export

    path = export(args.notebook, args.to, python=args.python, env_names=args.env,
                  base_image=args.base_image, on_event=renderer)
    renderer.close()
    print(path)
    return 0


def _cmd_push(args: argparse.Namespace, renderer: ConsoleRenderer) -> int:
    from ..pipeline import ensure_image, push
    from ..stages.share.registry import parse_ref

    parse_ref(args.ref)
    source = args.source
    if source.endswith(".ipynb") or Path(source).is_dir():
        source = ensure_image(source, python=args.python, base_image=args.base_image,
                              on_event=renderer).tag
    pushed = push(source, args.ref, on_event=renderer)
    renderer.close()
    if args.json:
        _print_json(_push_doc(pushed))
    else:
        print(pushed.pinned)
    return 0


_COMMANDS = {
    "capture": _cmd_capture,
    "dockerfile": _cmd_dockerfile,
    "build": _cmd_build,
    "run": _cmd_run,
    "verify": _cmd_verify,
    "export": _cmd_export,
    "push": _cmd_push,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
