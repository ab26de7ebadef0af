"""The ``grokkit`` command line. Each subcommand lives in ``grokkit/commands/``.

Command modules import torch and TransformerLens inside ``run`` only, so that
``grokkit --help`` answers at once.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

# name → module exposing HELP, configure(parser) and run(args) -> int
COMMANDS = {
    "train": "grokkit.commands.train",
    "resume": "grokkit.commands.resume",
    "info": "grokkit.commands.info",
    "toy": "grokkit.commands.toy",
    "capacity": "grokkit.commands.capacity",
    "measure": "grokkit.commands.measure",
    "report": "grokkit.commands.report",
    "run": "grokkit.commands.run",
    "sweep": "grokkit.commands.sweep",
    "compare": "grokkit.commands.compare",
    "import": "grokkit.commands.import_",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grokkit",
        description="Train grokking runs and dissect them with TransformerLens.",
    )
    parser.add_argument("--version", action="version", version="grokkit 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.add_argument("--threads", type=int, default=None,
                             help="torch CPU threads (default: torch's choice, one per core; on a shared "
                                  "machine, 1 per process avoids OpenMP threads fighting for the cores)")
        command.set_defaults(_run=module.run)
    return parser


# OS errors that come from the user's paths or machine, not from a bug: one line, no traceback
USER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
               errno.EISDIR, errno.EEXIST, errno.ENODEV, errno.ENXIO, errno.ENAMETOOLONG, errno.ELOOP, errno.EIO}


def one_line(message: object) -> str:
    """A message on one line: a wrapped library error (e.g. torch's size mismatch list) is joined with '; '."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def closed_stdout() -> int:
    """The reader of stdout went away (``grokkit info RUN | head -1``): stop quietly, as a shell tool does.

    stdout is pointed at /dev/null so the interpreter's own flush at exit has nowhere to fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no real file (a test's capture): nothing will flush to a pipe
        pass
    return 128 + 13  # SIGPIPE's status: what `set -o pipefail` sees from any tool cut off this way


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user error (GrokkitError, or an OSError on a user path) is one line on stderr
    and exit status 2; anything else is a bug and keeps its traceback."""
    from grokkit.errors import GrokkitError

    args = build_parser().parse_args(argv)
    try:
        from grokkit.train.device import set_threads  # torch is imported only when --threads is given

        set_threads(args.threads)
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return closed_stdout()
    except GrokkitError as exc:
        print(f"grokkit: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno == errno.EPIPE and exc.filename is None:  # e.g. raised inside a library's write
            return closed_stdout()
        if exc.errno not in USER_ERRNOS and exc.filename is None:
            raise
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"grokkit: error: {where}{exc.strerror or one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ngrokkit: interrupted{continue_hint(args, argv)}", file=sys.stderr)
        return 130


def continue_hint(args: argparse.Namespace, argv: list[str] | None) -> str:
    """How to carry on after Ctrl-C: the resume command with the real run path, when a run folder exists."""
    import shlex
    from pathlib import Path

    path = getattr(args, "out", None) if args.command in ("train", "run") else getattr(args, "run", None)
    if args.command not in ("train", "run", "resume") or path is None or not (Path(path) / "config.json").is_file():
        return ""
    resume = f"`grokkit resume {shlex.quote(str(path))}`"
    if args.command == "run":  # the same command resumes training, then measures and reports
        again = shlex.join(["grokkit", *(sys.argv[1:] if argv is None else argv)])
        return f"; continue with `{again}` (it resumes), or train on alone with {resume}"
    return f"; continue with {resume}"


if __name__ == "__main__":
    raise SystemExit(main())
