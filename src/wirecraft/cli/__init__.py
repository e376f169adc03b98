"""The `wirecraft` command: a thin click shell over the library.

Each subcommand lives in its own module and is imported only when it runs,
so `wirecraft read` does not pay for the sniffer, the crafting layers or DNS.

Errors are one line on stderr, never a traceback, with these exit statuses:

* 0 -- done (a truncated capture is a warning: `wirecraft: warning: ...`);
* 1 -- anything else that failed: a send error, a full or read-only disk, an
  optional package that is not installed (the line names the extra to install);
* 2 -- bad input: a file that is not a capture, is missing, unreadable or a
  directory, a bad filter, option or value;
* 77 -- missing privilege (EX_NOPERM): capture or injection without CAP_NET_RAW;
* 130 -- interrupted by Ctrl-C.

The subcommands validate what they can themselves; `WirecraftGroup.main` is the
net under all of them: it turns any exception that escapes into that one line.
Set WIRECRAFT_TRACEBACK=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import errno
import gzip
import importlib
import importlib.util
import os
import sys
import warnings
import zlib
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

import click

from .. import __version__

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_NO_PERMISSION = 77  # sysexits EX_NOPERM
EXIT_INTERRUPTED = 130

# command name -> (module, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "read": ("wirecraft.cli.read", "command"),
    "dns": ("wirecraft.cli.dns", "command"),
    "smtp": ("wirecraft.cli.smtp", "command"),
    "follow": ("wirecraft.cli.follow", "command"),
    "send": ("wirecraft.cli.send", "command"),
    "replay": ("wirecraft.cli.replay", "command"),
    "sniff": ("wirecraft.cli.sniff", "command"),
    "interfaces": ("wirecraft.cli.sniff", "interfaces"),
    "fields": ("wirecraft.cli.fields", "command"),
    "ping": ("wirecraft.cli.probe", "ping_command"),
    "traceroute": ("wirecraft.cli.probe", "traceroute_command"),
    "scan": ("wirecraft.cli.probe", "scan_command"),
    "query": ("wirecraft.cli.probe", "query_command"),
    "arping": ("wirecraft.cli.probe", "arping_command"),
    "stats": ("wirecraft.cli.stats", "command"),
    "logs": ("wirecraft.cli.logs", "command"),
    "convert": ("wirecraft.cli.convert", "command"),
    "info": ("wirecraft.cli.info", "command"),
    "slice": ("wirecraft.cli.edit", "slice_command"),
    "shift": ("wirecraft.cli.edit", "shift_command"),
    "dedup": ("wirecraft.cli.edit", "dedup_command"),
    "merge": ("wirecraft.cli.merge", "merge_command"),
    "split": ("wirecraft.cli.merge", "split_command"),
    "help": ("wirecraft.cli.manpage", "help_command"),
}

# click >= 8.2 raises this (a UsageError) for a group called without a command
_NO_ARGS_IS_HELP: type[click.UsageError] | tuple[()] = getattr(
    click.exceptions, "NoArgsIsHelpError", ())

# errno values that mean "the input named on the command line is bad"
_BAD_INPUT_ERRNO = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.ENAMETOOLONG,
                    errno.ELOOP, errno.EEXIST}


def _one_line(text: str) -> str:
    """Collapse a message to one line (a library message may carry newlines)."""
    return " ".join(str(text).split()) or "error"


def warn_line(message: str) -> None:
    """Print a warning as the one documented line."""
    click.echo(f"wirecraft: warning: {_one_line(message)}", err=True)


def _showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    warn_line(str(message))


def classify(exc: BaseException) -> tuple[int, str]:
    """(exit status, message) for an exception that reached the command line."""
    from ..errors import (
        CaptureFileError,
        FilterError,
        MissingDependency,
        PermissionDenied,
        WirecraftError,
    )

    if isinstance(exc, PermissionDenied):
        return EXIT_NO_PERMISSION, str(exc)
    if isinstance(exc, MissingDependency):
        return EXIT_ERROR, str(exc)
    if isinstance(exc, CaptureFileError | FilterError):
        return EXIT_BAD_INPUT, str(exc)
    if isinstance(exc, ModuleNotFoundError):
        name = exc.name or "a package"
        return EXIT_ERROR, f"{name} is not installed: pip install 'wirecraft[{name}]'"
    if isinstance(exc, WirecraftError):
        return EXIT_ERROR, str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, gzip.BadGzipFile):
            return EXIT_BAD_INPUT, f"not a valid gzip file: {exc}"
        code = EXIT_BAD_INPUT if exc.errno in _BAD_INPUT_ERRNO else EXIT_ERROR
        if not where and exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG):
            where = "cannot write output: "
        return code, f"{where}{reason}"
    if isinstance(exc, EOFError | zlib.error):
        return EXIT_BAD_INPUT, f"damaged compressed input: {exc}"
    if isinstance(exc, UnicodeError | ValueError | OverflowError | SyntaxError):
        return EXIT_BAD_INPUT, str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return EXIT_ERROR, "out of memory"
    return EXIT_ERROR, f"internal error: {type(exc).__name__}: {exc}"


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush cannot print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def die(message: str, code: int) -> NoReturn:
    """One line on stderr and exit with `code` (stdout flushed or silenced first)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()
    click.echo(f"wirecraft: {_one_line(message)}", err=True)
    sys.exit(code)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name for name, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod)
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or importlib.util.find_spec(target[0]) is None:
            return None
        return getattr(importlib.import_module(target[0]), target[1])


class WirecraftGroup(LazyGroup):
    """The lazy group plus the central error handler (see the module docstring)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        previous = warnings.showwarning
        warnings.showwarning = _showwarning
        try:
            code = self._run(args, prog_name, complete_var, **extra)
        finally:
            warnings.showwarning = previous
        sys.exit(code)

    def _run(self, args: Sequence[str] | None, prog_name: str | None,
             complete_var: str | None, **extra: Any) -> int:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()
            return rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK
        except SystemExit as exc:  # a subcommand's own fail(): already one line
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                _silence_stdout()
            code = exc.code
            return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_ERROR)
        except _NO_ARGS_IS_HELP as exc:  # `wirecraft` alone: the help text, as click shows it
            exc.show()
            return exc.exit_code
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else "wirecraft"
            hint = f" (see '{path} --help')"
            click.echo(f"{path}: {_one_line(exc.format_message())}{hint}", err=True)
            return EXIT_BAD_INPUT
        except click.ClickException as exc:
            click.echo(f"wirecraft: {_one_line(exc.format_message())}", err=True)
            return exc.exit_code
        except click.Abort as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, EOFError):
                code, message = classify(cause)
                return self._report(code, message)
            return self._report(EXIT_INTERRUPTED, "interrupted")
        except KeyboardInterrupt:
            return self._report(EXIT_INTERRUPTED, "interrupted")
        except BrokenPipeError:
            _silence_stdout()  # the reader went away (`| head`): not an error
            return EXIT_OK
        except Exception as exc:
            if os.environ.get("WIRECRAFT_TRACEBACK") == "1":
                raise
            if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                _silence_stdout()
                return EXIT_OK
            code, message = classify(exc)
            return self._report(code, message)

    @staticmethod
    def _report(code: int, message: str) -> int:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            _silence_stdout()
        click.echo(f"wirecraft: {_one_line(message)}", err=True)
        return code


@click.group(cls=WirecraftGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="wirecraft",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Capture, dissect and craft packets.

    Exit status: 0 done, 1 other failure, 2 bad input, 77 missing privilege
    (CAP_NET_RAW), 130 interrupted. Errors are one line on stderr.
    """
