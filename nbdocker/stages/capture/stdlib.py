"""Standard-library names of OTHER Pythons: never guessed as PyPI names.

The target interpreter's own standard library comes from its probe
(``sys.stdlib_module_names``). A module missing there may still be a standard module
of another Python: Python 2's (``StringIO``, ``urllib2``, ``cPickle``…: the whole 2.7
module index below) or one that a Python 3 release removed (``distutils``, ``imp``,
``asyncore`` in 3.12; PEP 594's "dead batteries" in 3.13). Installing a PyPI project of
that name is at best a different thing (PyPI has squatters and backports under some of
them), so such a module is reported and never guessed.
"""
from __future__ import annotations

from typing import Optional

__all__ = ["PYTHON2_STDLIB", "REMOVED_IN_PYTHON3", "other_stdlib"]

# Top-level modules of Python 2.7's standard library (docs.python.org/2.7/py-modindex),
# including the platform-specific ones; most Python 3 names are here too.
PYTHON2_STDLIB = frozenset("""
    __builtin__ __future__ __main__ _winreg abc aepack aetools aetypes aifc al AL
    anydbm applesingle argparse array ast asynchat asyncore atexit audioop autoGIL
    base64 BaseHTTPServer Bastion bdb binascii binhex bisect bsddb buildtools bz2
    calendar Carbon cd cfmfile cgi CGIHTTPServer cgitb chunk cmath cmd code codecs
    codeop collections ColorPicker colorsys commands compileall compiler ConfigParser
    contextlib Cookie cookielib copy copy_reg cPickle cProfile crypt cStringIO csv
    ctypes curses datetime dbhash dbm decimal DEVICE difflib dircache dis distutils dl
    doctest DocXMLRPCServer dumbdbm dummy_thread dummy_threading EasyDialogs email
    encodings ensurepip errno exceptions fcntl filecmp fileinput findertools FL fl flp
    fm fnmatch formatter fpectl fpformat fractions FrameWork ftplib functools
    future_builtins gc gdbm gensuitemodule getopt getpass gettext GL gl glob grp gzip
    hashlib heapq hmac hotshot htmlentitydefs htmllib HTMLParser httplib ic icopen imageop
    imaplib imgfile imghdr imp importlib imputil inspect io itertools jpeg json keyword
    lib2to3 linecache locale logging macerrors MacOS macostools macpath macresource
    mailbox mailcap marshal math md5 mhlib mimetools mimetypes MimeWriter mimify
    MiniAEFrame mmap modulefinder msilib msvcrt multifile multiprocessing mutex Nav
    netrc new nis nntplib numbers operator optparse os ossaudiodev parser pdb pickle
    pickletools pipes PixMapWrapper pkgutil platform plistlib popen2 poplib posix
    posixfile posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc Queue
    quopri random re readline resource rexec rfc822 rlcompleter robotparser runpy sched
    ScrolledText select sets sgmllib sha shelve shlex shutil signal SimpleHTTPServer
    SimpleXMLRPCServer site smtpd smtplib sndhdr socket SocketServer spwd sqlite3 ssl
    stat statvfs string StringIO stringprep struct subprocess sunau sunaudiodev
    SUNAUDIODEV symbol symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile
    termios test textwrap thread threading time timeit Tix Tkinter tkColorChooser
    tkCommonDialog tkFileDialog tkFont tkMessageBox tkSimpleDialog token tokenize trace
    traceback ttk tty turtle types unicodedata unittest urllib urllib2 urlparse user
    UserDict UserList UserString uu uuid videoreader W warnings wave weakref webbrowser
    whichdb winsound wsgiref xdrlib xml xmllib xmlrpclib zipfile zipimport zlib
""".split())

# Python 3 standard modules that later releases removed: name -> the release.
REMOVED_IN_PYTHON3 = {
    "macpath": "3.8", "dummy_threading": "3.9", "_dummy_thread": "3.9",
    "formatter": "3.10", "parser": "3.10", "symbol": "3.10", "binhex": "3.11",
    "asynchat": "3.12", "asyncore": "3.12", "distutils": "3.12", "imp": "3.12",
    "smtpd": "3.12",
    **{name: "3.13" for name in (
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib",
        "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib",
        "uu", "xdrlib", "lib2to3")},
}


def other_stdlib(module: str) -> Optional[str]:
    """Why ``module`` (a top-level name missing from the target's standard library) is
    no PyPI name: ``"removed from the standard library in Python 3.12"``,
    ``"part of Python 2's standard library"``; None when it is neither."""
    if module in REMOVED_IN_PYTHON3:
        return f"removed from the standard library in Python {REMOVED_IN_PYTHON3[module]}"
    if module in PYTHON2_STDLIB:
        return "part of Python 2's standard library"
    return None
