"""Shell command lines (``!cmd``, ``%%bash`` bodies, ``os.system("…")``): the commands in them.

One reading of a command line for every consumer: :func:`commands` splits it into
simple commands (at ``;``, ``&&``, ``||``, ``|``, ``&`` and parentheses) and drops what
stands before the command itself (``FOO=1``, ``sudo``, ``time``, ``env``…);
:func:`executables` names the programs those commands run, without shell builtins and
keywords, IPython's ``{expr}`` / ``$var`` expansions or relative paths (``./run.sh`` is
a local file, shipped as such).
"""
from __future__ import annotations

import shlex
from functools import lru_cache
from typing import List, Tuple

__all__ = ["commands", "executables", "PREFIXES", "SHELL_BUILTINS"]

# Words that may stand before the command itself; the value of ``timeout 5`` and
# ``nice -n 5`` is skipped too.
PREFIXES = frozenset({"sudo", "env", "exec", "time", "command", "nohup", "builtin",
                      "nice", "timeout", "stdbuf", "xargs", "then", "do", "else", "!",
                      "if", "while", "until", "{"})
# Run by the shell itself (bash's builtins and keywords): never a package.
SHELL_BUILTINS = frozenset("""
    . : [ [[ ]] alias bg bind break builtin caller case cd command compgen complete
    continue declare dirs disown do done echo elif else enable esac eval exec exit export
    false fc fg fi for function getopts hash help history if in jobs kill let local
    logout mapfile popd printf pushd pwd read readarray readonly return select set shift
    shopt source suspend test then time times trap true type typeset ulimit umask unalias
    unset until wait while { }
""".split())
_OPERATORS = set(";&|()")


@lru_cache(maxsize=4096)
def commands(line: str) -> Tuple[Tuple[str, ...], ...]:
    """The simple commands of one shell line, each as its words, prefixes removed.
    Cached: the pip-install reader and :func:`executables` read the same lines.

    Unbalanced quotes make the line unreadable: no commands.
    """
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError:
        return ()
    found: List[Tuple[str, ...]] = []
    segment: List[str] = []
    for word in words + [";"]:
        if word and set(word) <= _OPERATORS:
            if segment:
                found.append(tuple(_strip_prefixes(segment)))
            segment = []
        else:
            segment.append(word)
    return tuple(c for c in found if c)


def _strip_prefixes(words: List[str]) -> List[str]:
    i = 0
    while i < len(words):
        word = words[i]
        if "=" in word and not word.startswith(("=", "-")) and word.split("=", 1)[0].isidentifier():
            i += 1  # FOO=1 cmd
        elif word in PREFIXES:
            i += 1
            if word in ("timeout", "nice", "stdbuf", "sudo", "env", "xargs"):
                # their options (and timeout's duration) come before the command
                while i < len(words) and (words[i].startswith("-") or
                                          (word == "timeout" and words[i][:1].isdigit())):
                    i += 2 if words[i] in ("-n", "-u", "-g", "-s", "-k", "-I") else 1
        else:
            break
    return words[i:]


def executables(line: str) -> List[str]:
    """Programs the shell line runs (``dot`` for ``!dot -Tpng g.dot > g.png``), in order.

    ``/usr/bin/dot`` counts as ``dot``; relative paths, expansions and builtins do not.
    ``jupyter nbconvert`` runs ``jupyter-nbconvert`` (jupyter's sub-command scripts).
    """
    found: List[str] = []
    for words in commands(line):
        name = words[0]
        if any(c in name for c in "{}$`*?<>\\\"'") or name in SHELL_BUILTINS:
            continue
        if "/" in name:
            if not name.startswith(("/usr/", "/bin/", "/sbin/")):
                continue  # ./script.sh, ../bin/x: local files, not packages
            name = name.rsplit("/", 1)[1]
        if not name or name.startswith("-"):
            continue
        if name == "jupyter" and len(words) > 1 and words[1].isidentifier():
            name = f"jupyter-{words[1]}"
        if name not in found:
            found.append(name)
    return found
