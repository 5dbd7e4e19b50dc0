"""The ``nbdocker`` command line: argument parsing and rendering only.

All work happens in :mod:`nbdocker.pipeline`; this module turns arguments into calls,
events into a progress display (stderr) and results into stdout. Exit codes:
0 success / reproduced, 1 notebook failed or outputs differ, 2 bad input or usage,
3 container engine unavailable or build failed, 130 interrupted (Ctrl-C), 143 SIGTERM,
129 SIGHUP (both handled like Ctrl-C: see :mod:`nbdocker.signals`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, Optional, Sequence

from .. import pipeline
from .._version import __version__
from ..exceptions import InputError, NbDockerError
from ..options import COMMANDS, Options, add_arguments, from_namespace
from ..signals import describe, exit_code, handled
from .console import ConsoleRenderer, format_error

__all__ = ["main", "build_parser"]

EPILOG = """\
exit codes: 0 success or reproduced; 1 a cell failed or outputs differ; 2 bad input or
usage; 3 container engine unavailable or build failed; 130 interrupted (Ctrl-C);
143 terminated (SIGTERM); 129 hung up (SIGHUP); containers and temporary files are
removed on all three.

examples:
  nbdocker capture analysis.ipynb            what the notebook needs, and why
  nbdocker dockerfile analysis.ipynb         the Dockerfile nbdocker would build
  nbdocker build analysis.ipynb              build the image; prints its tag last
  nbdocker run analysis.ipynb -p alpha 0.2   re-run headless with a parameter
  nbdocker verify analysis.ipynb             build + run (twice) + compare with saved outputs
  nbdocker verify analysis.ipynb --html report.html --junit-xml report.xml
  nbdocker compare analysis.ipynb rerun.ipynb  compare two executed notebooks (no Docker)
  nbdocker sweep analysis.ipynb -p alpha 0.1,0.2 --seeds 4 --collect score -j 4
                                             8 runs in parallel, a table of scores
  nbdocker export analysis.ipynb --to share/ a bundle others can rebuild (also Binder)
  nbdocker verify --bundle share/            rebuild from the bundle alone and compare
  nbdocker build analysis.ipynb --push registry.example.com/team/analysis
"""


def _notebook_arg(p: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        p.add_argument("notebook", nargs="?", help="path to the .ipynb file (or a bundle "
                       "directory)")
        p.add_argument("--bundle", metavar="DIR",
                       help="an exported bundle: rebuilt from its spec and files alone (no "
                            "re-capture), files checked against the spec's sha256")
    else:
        p.add_argument("notebook", help="path to the .ipynb file (or a bundle directory)")


def _output_args(p: argparse.ArgumentParser, json_help: Optional[str]) -> None:
    if json_help:
        p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--verbose", "-v", action="store_true", help="stream the full log")


_DESCRIPTIONS = {
    "capture": ("print the notebook's EnvironmentSpec",
                "Read every code cell (magics included), resolve imports to installed "
                "distributions and print what the notebook needs: a table by default, the "
                "spec with --json."),
    "dockerfile": ("print the Dockerfile", "Print the deterministic Dockerfile for the notebook."),
    "build": ("build the image; prints its tag last",
              "Capture, then build the image through the Docker Engine API. The last line "
              "on stdout is the image tag."),
    "run": ("re-run the notebook headless in its image",
            "Run the notebook inside its image (built first when missing) and write the "
            "executed copy to a new file."),
    "verify": ("build + run + compare with the saved outputs",
               "Capture, build (or reuse) the image, re-run the notebook (--runs times, each "
               "in a fresh container) and compare every cell's outputs with the saved ones: "
               "same, close (within --rtol/--atol), volatile (the runs disagree: not "
               "provable), differs, error or skipped. Exit 0 only when no cell differs or "
               "fails and at least one was proven."),
    "compare": ("compare two executed notebooks (no Docker needed)",
                "Compare the outputs of RERUN with those of ORIGINAL, cell by cell, with the "
                "same rules as verify: environment noise masked, numbers within --rtol/"
                "--atol are 'close', images by pixels when Pillow is installed. Further "
                "RERUNs are compared with the first: what differs between them is "
                "'volatile'. Exit 0 only when reproduced."),
    "sweep": ("run the notebook once per parameter set, in parallel",
              "Build the image once (or use --image / --bundle), then run the notebook "
              "in one container per parameter set - every combination of the -p lists, "
              "--grid and --seeds - at most -j at a time, on this engine, a Docker Swarm "
              "or a Kubernetes cluster. Executed notebooks, results.csv and results.json "
              "go to --out DIR as each run ends. Exit 0 only when every run succeeded."),
    "export": ("write a bundle others can rebuild and verify",
               "Write the notebook, its local modules and data files, the spec, a "
               "Dockerfile (no host CA or index URLs), pinned requirements and Binder files "
               "(binder/) to a directory or a .tar.gz. Deterministic; no secrets. Rebuild "
               "with `nbdocker verify --bundle DIR`."),
    "push": ("push an image to a registry; prints REPO@sha256:...",
             "Tag IMAGE (or the image of a NOTEBOOK / bundle, built when missing) as "
             "REGISTRY/REPO[:TAG] and push it with the credentials of the Docker config "
             "(~/.docker/config.json). Prints the pushed reference with its digest."),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the CLI). Every option but the
    rendering ones (``--json``, ``--quiet``, ``--verbose``) comes from
    :mod:`nbdocker.options`, the table the ``%dockerize`` magic is built from too."""
    parser = argparse.ArgumentParser(
        prog="nbdocker",
        description="Make a Jupyter notebook reproducible: capture what it uses, build a "
                    "pinned Docker image, re-run it headless and compare the outputs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"nbdocker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        short, long = _DESCRIPTIONS[command]
        p = sub.add_parser(command, help=short, description=long)
        if command == "compare":
            p.add_argument("original", metavar="ORIGINAL.ipynb",
                           help="the notebook with the outputs to reproduce")
            p.add_argument("reruns", metavar="RERUN.ipynb", nargs="+",
                           help="an executed copy; more than one: what differs between "
                                "them is volatile")
        elif command == "push":
            p.add_argument("source", metavar="IMAGE|NOTEBOOK",
                           help="a local image, or a notebook / bundle whose image to push")
            p.add_argument("ref", metavar="REGISTRY/REPO[:TAG]",
                           help="where to push (without :TAG, the image's own tag)")
        else:
            _notebook_arg(p, optional=command in ("run", "verify", "sweep"))
        if command == "export":
            p.add_argument("--to", required=True, metavar="DIR|FILE.tar.gz",
                           help="target directory (created, or replaced when it holds only "
                                "a bundle; see --force), or an archive ending in .tar.gz or "
                                ".tar; prints the path, then the bundle digest")
        add_arguments(p, [command])
        if command == "capture":
            _output_args(p, "print the EnvironmentSpec as JSON")
            p.add_argument("--all", action="store_true",
                           help="also list the locked transitive requirements in the table")
        elif command in ("build", "run", "push"):
            _output_args(p, "print a JSON summary on stdout")
        elif command in ("verify", "compare"):
            _output_args(p, "print the ReproductionReport as JSON on stdout")
        elif command == "sweep":
            _output_args(p, "print the results table (results.json's document) on stdout")
        elif command in ("export", "dockerfile"):
            p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p = sub.add_parser("ci", help="print a CI workflow that verifies every notebook",
                       description="Print a ready GitHub Actions workflow or GitLab CI job "
                                   "that runs `nbdocker verify` on every notebook git "
                                   "tracks, uploads the HTML reports and executed notebooks "
                                   "and publishes the JUnit XML. Example: nbdocker ci github "
                                   "> .github/workflows/nbdocker.yml")
    p.add_argument("kind", choices=("github", "gitlab"), help="which CI system")
    p.add_argument("--notebooks", default="*.ipynb", metavar="PATHSPEC",
                   help="git pathspec of the notebooks to verify (default: every *.ipynb)")
    p.add_argument("--python-version", default="3.11", metavar="X.Y",
                   help="the Python CI installs (the notebooks' versions are pinned from it)")
    p.add_argument("--package", default="nbdocker", metavar="REQ",
                   help="how CI installs nbdocker (default: nbdocker)")
    return parser


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
        with handled():   # SIGTERM and SIGHUP unwind like Ctrl-C: everything cleans up
            options = from_namespace(args)   # bad values: exit 2 before any work
            return _COMMANDS[args.command](args, options, renderer)
    except NbDockerError as exc:
        renderer.close()
        print(format_error(exc, log_tail=not getattr(args, "quiet", False)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        renderer.close()
        print(f"nbdocker: interrupted ({describe(exc)}); nothing was left behind",
              file=sys.stderr)
        return exit_code(exc)
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

def _cmd_capture(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    from ..stages.capture.summary import format_spec

    spec = pipeline.capture(args.notebook, options, on_event=renderer)
    renderer.close()
    if args.json:
        sys.stdout.write(spec.to_json())
    else:
        print(format_spec(spec, transitive=args.all))
    return 0


def _cmd_dockerfile(args: argparse.Namespace, options: Options,
                    renderer: ConsoleRenderer) -> int:
    planned = pipeline.plan(args.notebook, options, on_event=renderer)
    renderer.close()
    sys.stdout.write(planned.dockerfile)
    return 0


def _cmd_build(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    outcome = pipeline.build(args.notebook, options, on_event=renderer)
    renderer.close()
    if args.json:
        steps = outcome.result.steps if outcome.result else ()
        doc: Dict[str, Any] = {
            "tag": outcome.tag, "image_id": outcome.image_id,
            "base_image": outcome.base_image, "spec_hash": outcome.spec.content_hash(),
            "base": ({"name": outcome.base.name, "digest": outcome.base.digest,
                      "image_id": outcome.base.image_id, "python": outcome.base.python,
                      "pulled": outcome.base.pulled} if outcome.base else None),
            "steps": [{"index": s.index, "instruction": s.instruction, "cached": s.cached}
                      for s in steps]}
        if outcome.saved is not None:
            doc["saved"] = str(outcome.saved)
        if outcome.pushed is not None:
            doc["pushed"] = _push_doc(outcome.pushed)
        _print_json(doc)
    else:
        if outcome.pushed is not None:
            print(outcome.pushed.pinned)
        print(outcome.tag)
    return 0


def _push_doc(pushed: pipeline.PushOutcome) -> Dict[str, str]:
    return {"ref": pushed.ref, "digest": pushed.digest, "pinned": pushed.pinned,
            "source": pushed.source}


def _notebook_or_bundle(args: argparse.Namespace, options: Options) -> Optional[str]:
    """The positional NOTEBOOK, or ``--bundle DIR`` (not both)."""
    if args.bundle and args.notebook:
        raise InputError("give a NOTEBOOK or --bundle DIR, not both")
    if args.bundle:
        from ..stages.share.bundle import load_bundle

        # "not a bundle" beats "not a notebook" as a message
        load_bundle(args.bundle, expect_digest=options.expect_digest)
        return str(args.bundle)
    return str(args.notebook) if args.notebook else None


def _cmd_run(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    outcome = pipeline.run(_notebook_or_bundle(args, options), options, on_event=renderer)
    renderer.close()
    if args.json:
        _print_json(outcome.to_dict())
    else:
        print(outcome.output)
    return 0


def _print_report(report: Any, options: Options, as_json: bool) -> int:
    from ..stages.verify.text import format_report

    if as_json:
        sys.stdout.write(report.to_json())
    else:
        print(format_report(report))
    for label, path in (("HTML report", options.html), ("JUnit XML", options.junit_xml)):
        if path:
            print(f"{label}: {path}", file=sys.stderr if as_json else sys.stdout)
    return 0 if report.reproduced else 1


def _cmd_verify(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    notebook = _notebook_or_bundle(args, options)
    if notebook is None:
        raise InputError("give a NOTEBOOK (or --bundle DIR)")
    outcome = pipeline.verify(notebook, options, on_event=renderer)
    renderer.close()
    code = _print_report(outcome.report, options, args.json)
    if not args.json:
        print(f"executed notebook: {outcome.output}")
    return code


def _cmd_compare(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    report = pipeline.compare(args.original, args.reruns, options, on_event=renderer)
    renderer.close()
    return _print_report(report, options, args.json)


def _cmd_sweep(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    from ..stages.run.sweep import RESULTS_CSV, format_table

    outcome = pipeline.sweep(_notebook_or_bundle(args, options), options, on_event=renderer)
    renderer.close()
    if outcome.emitted:
        for path in outcome.emitted:
            print(path)
        return 0
    if args.json:
        _print_json(outcome.to_dict())
    else:
        print(format_table(outcome))
    if outcome.ok:
        return 0
    failed = outcome.failed
    print(f"nbdocker: error: {len(failed)} of {len(outcome.runs)} runs did not succeed: "
          f"{', '.join(map(str, failed))} (see {outcome.out / RESULTS_CSV})", file=sys.stderr)
    return 1


def _cmd_export(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    from ..stages.share.bundle import digest_of

    path = pipeline.export(args.notebook, args.to, options, on_event=renderer)
    renderer.close()
    print(path)
    print(digest_of(path))   # publish it: `verify --bundle DIR --expect-digest` checks it
    return 0


def _cmd_push(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    pushed = pipeline.push(args.source, args.ref, options, on_event=renderer)
    renderer.close()
    if args.json:
        _print_json(_push_doc(pushed))
    else:
        print(pushed.pinned)
    return 0


def _cmd_ci(args: argparse.Namespace, options: Options, renderer: ConsoleRenderer) -> int:
    from .ci import render

    sys.stdout.write(render(args.kind, pattern=args.notebooks, python=args.python_version,
                            package=args.package))
    return 0


_COMMANDS: Dict[str, Callable[[argparse.Namespace, Options, ConsoleRenderer], int]] = {
    "ci": _cmd_ci,
    "capture": _cmd_capture,
    "dockerfile": _cmd_dockerfile,
    "build": _cmd_build,
    "run": _cmd_run,
    "verify": _cmd_verify,
    "sweep": _cmd_sweep,
    "compare": _cmd_compare,
    "export": _cmd_export,
    "push": _cmd_push,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
