"""Masks for the noise of an environment, and only for that (nbclient's narrow model).

What two runs of the same notebook legitimately print differently is masked; anything
else — dates, times of day, digests, UUIDs, hex values, epoch seconds, every number that
is data — is compared as data. Masked:

* presentation: ANSI colour codes, and what a terminal shows for ``\\r`` redraws;
* memory addresses inside reprs: ``<Foo object at 0x7f3a...>`` (``at 0x...`` followed by
  ``>``, ``;``, ``:`` or ``,``, with a ``<`` before it on the line);
* timings, only where timers print them: ``%time``/``%%time`` (``CPU times:``, ``Wall
  time:``, ``Compiler :``, ``Parser   :`` lines), ``%timeit`` results and its "slowest
  run" notice, tqdm's ``[elapsed<remaining, rate]``, Keras' ``3s 2ms/step``, profilers
  (``%prun``/cProfile timings and row order, ``%lprun``, ``%memit``, ``%mprun``);
* the environment's paths: the notebook's folder on either side, temp folders (and
  ``tempfile``'s random ``tmpXXXXXXXX`` names in them), IPython's cell files, whatever
  leads to ``site-packages``/``dist-packages``, to the standard library
  (``.../lib/python3.11``) or to an interpreter (``.../bin/python3``), the known
  environment folders (the image's ``/opt/venv``), home folders;
* ``%%writefile``'s "Overwriting" (a file left by an earlier session) = "Writing".

Every pattern is linear in the length of the text: fixed or bounded repetitions only,
a literal checked with ``in`` before a pattern runs, and path prefixes found by scanning
back from a literal marker instead of by a backtracking regex (one 120 KB line used to
take minutes).
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Pattern, Sequence, Tuple, Union

from ...contract import VENV

__all__ = ["Normaliser", "collapse_carriage_returns", "strip_ansi", "strip_warnings",
           "ANSI"]

ANSI = re.compile(r"\x1b\[[0-9;?]{0,64}[A-Za-z]")
_DUR = r"[^\n,]{1,32}"
_UNIT = r"(?:ns|µs|μs|us|ms|s|min|h)"
_NUM = r"[\d.]{1,12}"
# How warnings.showwarning starts a warning: "path/to/file.py:12: FutureWarning: ..."
_WARNING_HEADER = re.compile(
    r"^\S[^\n]{0,4096}?:\d{1,9}: (?:[A-Za-z_][\w.]{0,200}\.)?[A-Z]\w{0,100}Warning:", re.M)

Replacement = Union[str, Callable[["re.Match[str]"], str]]
# (literal that must occur for the pattern to apply, pattern, replacement), in order.
_MASKS: Tuple[Tuple[str, Pattern[str], Replacement], ...] = (
    # %time / %%time
    ("CPU times:", re.compile(rf"^CPU times: (?:user {_DUR}, sys: {_DUR}, )?total: {_DUR}$",
                              re.M), "CPU times: <DURATION>"),
    ("Wall time:", re.compile(rf"^Wall time: {_DUR}$", re.M), "Wall time: <DURATION>"),
    # printed only when compiling or parsing took long
    ("Compiler :", re.compile(rf"^Compiler : {_DUR}\n?", re.M), ""),
    ("Parser   :", re.compile(rf"^Parser   : {_DUR}\n?", re.M), ""),
    # %timeit (IPython >= 7, then the old format) and its notice, printed on some runs
    (" per loop", re.compile(
        rf"{_NUM} ?{_UNIT} ± {_NUM} ?{_UNIT} per loop \(mean ± std\. dev\. of [\d,]{{1,12}} "
        r"runs?, [\d,]{1,15} loops? each\)"), "<TIMEIT>"),
    (" per loop", re.compile(r"^[\d,]{1,15} loops?, best of \d{1,4}: [^\n]{1,40} per loop$",
                             re.M), "<TIMEIT>"),
    ("The slowest run took", re.compile(
        r"^The slowest run took [\d.]{1,12} times longer than the fastest\.[^\n]{0,200}\n?",
        re.M), ""),
    # tqdm: [elapsed<remaining, rate, postfix] and, without a total, [elapsed, rate]
    ("<", re.compile(r"\[(?:\d{1,4}:)?\d{1,2}:\d\d<(?:(?:\d{1,4}:)?\d{1,2}:\d\d|\?)"
                     r"(?:, {0,4}[^,\]\n]{0,24})?((?:,[^\]\n]{0,200})?)\]"), r"[<PROGRESS>\1]"),
    ("/s", re.compile(r"\[(?:\d{1,4}:)?\d{1,2}:\d\d, {0,4}(?:[\d.]{1,12}|\?)[a-zA-Z]{0,10}"
                      r"(?:/s|s/[a-zA-Z]{1,10})((?:,[^\]\n]{0,200})?)\]"), r"[<PROGRESS>\1]"),
    # Keras: "... ] - 3s 2ms/step" (Keras 2) and "━━━ 3s 2ms/step" (Keras 3)
    ("/step", re.compile(r"(?<=[\]━] )(?:- )?\d{1,6}m?s \d{1,6}(?:ms|us|µs|s)/step"),
     "<DURATION>/step"),
    # Profilers: %prun / cProfile, %lprun (line_profiler), %memit and %mprun
    # (memory_profiler) measure this run; call counts, hits and the code are kept.
    ("function calls", re.compile(r"^( {0,20}\d{1,15} function calls(?: \(\d{1,15} primitive "
                                  r"calls\))? in )[\d.]{1,20} seconds$", re.M),
     r"\1<DURATION> seconds"),
    ("Timer unit:", re.compile(r"^Timer unit: [^\n]{1,40}$", re.M), "Timer unit: <DURATION>"),
    ("Total time:", re.compile(r"^Total time: [^\n]{1,40}$", re.M), "Total time: <DURATION>"),
    ("peak memory:", re.compile(r"peak memory: [\d.]{1,20} MiB, increment: -?[\d.]{1,20} MiB"),
     "peak memory: <MEM>, increment: <MEM>"),
    (" MiB", re.compile(r"^( {0,20}\d{1,9}) {1,20}-?[\d.]{1,20} MiB {1,20}-?[\d.]{1,20} MiB"
                        r"( {1,20}\d{1,15} )", re.M), r"\1 <MEM> <MEM>\2"),
    ("Occ", re.compile(r"^(Line # {1,20}Mem usage {1,20}Increment {1,20})Occur{1,2}en{1,2}ces",
                       re.M), r"\1Occurrences"),
    # %%writefile says "Overwriting" when the file was left by an earlier session.
    ("Overwriting ", re.compile(r"^Overwriting (?=[^\s]{1,4096}$)", re.M), "Writing "),
    # The file IPython compiles a cell to: old <ipython-input-N-hash>, new
    # /tmp/ipykernel_PID/HASH.py (pdb, warnings, profilers, inspect).
    ("<ipython-input-", re.compile(r"<ipython-input-\d{1,9}-[0-9a-f]{1,40}>"), "<CELL>"),
    ("ipykernel_", re.compile(r"(?<![\w.])(?:(?:/private)?/var/folders/[^\s'\"]{0,200}?|/tmp)"
                              r"/ipykernel_\d{1,10}/\d{1,20}\.py"), "<CELL>"),
    ("ipykernel_", re.compile(r"[A-Za-z]:\\{1,2}Users\\{1,2}[^\\\s'\"]{1,64}\\{1,2}AppData"
                              r"\\{1,2}Local\\{1,2}Temp\\{1,2}ipykernel_\d{1,10}\\{1,2}\d{1,20}"
                              r"\.py"), "<CELL>"),
    # Temp folders, and the random names tempfile gives what it makes in them
    ("/var/folders/", re.compile(r"(?<![\w.])(?:/private)?/var/folders/[\w.+-]{1,16}/"
                                 r"[\w.+-]{1,64}/T(?=/)"), "<TMP>"),
    ("tmp", re.compile(r"(?<![\w.])/(?:var/)?tmp(?=/)"), "<TMP>"),
    ("Temp", re.compile(r"[A-Za-z]:\\{1,2}Users\\{1,2}[^\\\s'\"]{1,64}\\{1,2}AppData\\{1,2}"
                        r"Local\\{1,2}Temp(?=\\)"), "<TMP>"),
    ("<TMP>", re.compile(r"(?<=<TMP>[/\\])tmp[a-z0-9_]{8}(?![\w.])"), "<TMPNAME>"),
)
# Masks that apply only to text holding a profiler's table header, so that a data
# table that merely looks like one (a DataFrame of floats) is never masked.
_TABLE_MASKS: Tuple[Tuple[str, Pattern[str], Tuple[Tuple[Pattern[str], str], ...]], ...] = (
    # cProfile rows are ordered by time and vary in number between Python versions
    ("ncalls", re.compile(r"^ {1,20}ncalls {1,20}tottime {1,20}percall {1,20}cumtime {1,20}percall "
                r"{1,20}filename:lineno", re.M), (
        (re.compile(r"^ {0,20}\d{1,15}(?:/\d{1,15})?(?: {1,20}\d{1,15}\.\d{1,15}){4} {1,20}\S"
                    r"[^\n]{0,4096}\n?", re.M), "<PROFILE ROW>\n"),
        (re.compile(r"(?:^<PROFILE ROW>\n)+", re.M), "<PROFILE ROWS>\n"),
    )),
    # memory_profiler's rule is as wide as its header, whose spelling changed
    ("Mem usage", re.compile(r"^Line # {1,20}Mem usage {1,20}Increment", re.M), (
        (re.compile(r"^={20,4096}$", re.M), "<RULE>"),
    )),
    # line_profiler: keep line numbers, hits and code; mask time, per hit and % time
    ("Per Hit", re.compile(r"^Line # {1,20}Hits {1,20}Time {1,20}Per Hit {1,20}% Time {1,20}Line "
                r"Contents", re.M), (
        (re.compile(r"^( {0,20}\d{1,9} {1,20}\d{1,15}) {1,20}[\d.e+-]{1,30} {1,20}[\d.e+-]{1,30}"
                    r" {1,20}[\d.]{1,10}(?=  )", re.M), r"\1 <TIME>"),
    )),
)
# Where an address appears in a repr: "<Foo object at 0x7f3a2b1c4d50>", "<A at 0x1>",
# "<weakref at 0x...; to 'A' at 0x...>", "<cell at 0x...: int object at 0x...>".
_REPR_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{1,16}(?=[>;:,])")
_REPR_REACH = 2000   # how far back on the line the repr's "<" may be

# Paths found by a literal marker at their end; the prefix is scanned back to a
# delimiter (never by a backtracking regex).
_PATH_MARKERS: Tuple[Tuple[str, Pattern[str], str], ...] = (
    ("-packages", re.compile(r"[/\\](?:site|dist)-packages(?=[/\\'\"\s:]|$)"),
     "<SITE-PACKAGES>"),
    ("python", re.compile(r"/lib/python\d\.\d{1,2}(?=[/'\"\s:]|$)"), "<PYTHON-LIB>"),
    ("python", re.compile(r"/bin/python(?:\d(?:\.\d{1,2})?)?(?=['\"\s:]|$)"), "<PYTHON>"),
    ("python", re.compile(r"\\python[w]?\.exe(?=['\"\s]|$)"), "<PYTHON>"),
)
_PATH_STOP = frozenset(" \t\n\r'\"()[]{}<>,;=`|*?:")
_PATH_MAX = 4096

_HOMES: Tuple[Tuple[str, Pattern[str]], ...] = (
    ("/", re.compile(r"(?<![\w.])/(?:home|Users)/[^/\s'\"<>]{1,64}")),
    ("/root", re.compile(r"(?<![\w.])/root(?![\w.-])")),
    ("Users", re.compile(r"(?<![\w.])[A-Za-z]:\\{1,2}Users\\{1,2}[^\\\s'\"<>]{1,64}")),
)
_WINDOWS_TAIL = re.compile(r"(<NOTEBOOK_DIR>|<TMP>)((?:\\{1,2}[^\s'\"\\]{1,255}){1,64})")
_SEPARATORS = re.compile(r"/|\\{1,2}")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape codes (colours, cursor moves)."""
    return ANSI.sub("", text) if "\x1b" in text else text


def collapse_carriage_returns(text: str) -> str:
    """What a terminal (and Jupyter) shows for lines redrawn with ``\\r``."""
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def strip_warnings(text: str) -> str:
    """``text`` (stderr) without Python warnings: from the first ``file:line: XWarning:``
    line on, up to the end of the text (the warning's message, source line and any
    warnings after it)."""
    if "Warning:" not in text:
        return text
    match = _WARNING_HEADER.search(text)
    return text[:match.start()] if match else text


def _mask_repr_addresses(text: str) -> str:
    if " at 0x" not in text:
        return text
    out: List[str] = []
    last = 0
    for match in _REPR_ADDRESS.finditer(text):
        start = match.start()
        line_start = text.rfind("\n", max(0, start - _REPR_REACH), start) + 1
        if text.rfind("<", max(line_start, start - _REPR_REACH), start) == -1:
            continue   # no repr opened on this line: a hex value that is data
        out += [text[last:start], " at 0x<ADDR>"]
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _mask_path_prefixes(text: str, marker: Pattern[str], replacement: str) -> str:
    """Replace each path that ends in ``marker`` (its prefix back to a delimiter)."""
    out: List[str] = []
    last = 0
    for match in marker.finditer(text):
        start = match.start()
        if start < last:
            continue
        begin = start
        floor = max(last, start - _PATH_MAX)
        while begin > floor and text[begin - 1] not in _PATH_STOP:
            begin -= 1
        # a Windows drive: "C:" before the path
        if begin >= 2 and text[begin - 1] == ":" and text[begin - 2].isalpha() and \
                (begin == 2 or text[begin - 3] in _PATH_STOP) and begin - 2 >= last:
            begin -= 2
        out += [text[last:begin], replacement]
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _literal_pattern(literals: Sequence[str]) -> Optional[Pattern[str]]:
    """One pattern for whole occurrences of ``literals`` (longest first)."""
    chosen = sorted({d for d in literals if d}, key=len, reverse=True)
    if not chosen:
        return None
    return re.compile("|".join(re.escape(d) for d in chosen) + r"(?![\w-])")


class Normaliser:
    """Masks environment noise in output text (see the module docstring).

    ``dirs`` are the notebook's folder on each side (and the author's, read from saved
    outputs): each becomes ``<NOTEBOOK_DIR>``. ``env_dirs`` are interpreter
    environments (the image's ``/opt/venv`` is always one): ``<PYTHON-ENV>``.
    ``sanitize`` are nbval-style ``(pattern, replacement)`` pairs applied last, to both
    sides alike.
    """

    def __init__(self, dirs: Sequence[str] = (), env_dirs: Sequence[str] = (),
                 sanitize: Sequence[Tuple[Pattern[str], str]] = ()) -> None:
        self.dirs = [d.rstrip("/\\") for d in dirs if d and d.strip("/\\")]
        self.env_dirs = [d.rstrip("/\\") for d in (*env_dirs, VENV) if d and d.strip("/\\")]
        self.sanitize = tuple(sanitize)

    def text(self, text: str) -> str:
        """``text`` with presentation undone and environment noise masked."""
        text = strip_ansi(collapse_carriage_returns(text))
        text = self._replace_literals(text, self.dirs, "<NOTEBOOK_DIR>")
        text = _mask_repr_addresses(text)
        for literal, pattern, replacement in _MASKS:
            if literal in text:
                text = pattern.sub(replacement, text)
        if ">\\" in text:
            # An author's Windows folder: what follows it compares like a POSIX path
            text = _WINDOWS_TAIL.sub(
                lambda m: m.group(1) + _SEPARATORS.sub("/", m.group(2)), text)
        for literal, header, masks in _TABLE_MASKS:
            if literal in text and header.search(text):
                for pattern, repl in masks:
                    text = pattern.sub(repl, text)
        for literal, marker, name in _PATH_MARKERS:
            if literal in text:
                text = _mask_path_prefixes(text, marker, name)
        text = self._replace_literals(text, self.env_dirs, "<PYTHON-ENV>")
        for literal, pattern in _HOMES:
            if literal in text:
                text = pattern.sub("~", text)
        for pattern, repl in self.sanitize:
            text = pattern.sub(repl, text)
        return text

    @staticmethod
    def _replace_literals(text: str, literals: Sequence[str], name: str) -> str:
        present = [d for d in literals if d in text]
        pattern = _literal_pattern(present)
        return pattern.sub(name, text) if pattern is not None else text
