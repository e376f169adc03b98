"""Man pages made from the click definitions themselves, and `wirecraft help CMD`.

    python -m wirecraft.cli.manpage OUTDIR    # wirecraft.1 and wirecraft-CMD.1 (roff)
    wirecraft help read                       # the page (through man -l on a terminal)

A page has NAME, SYNOPSIS, DESCRIPTION and OPTIONS; every option of the command is
an entry of OPTIONS (`.TP`, then its spellings in bold, then its help), so the pages
cannot drift from what the commands accept.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from .. import __version__

SECTION = "1"


def _escape(text: str) -> str:
    """Text safe in roff: backslashes and hyphens escaped, no line starting with . or '."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.splitlines():
        if line[:1] in (".", "'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def option_spellings(param: click.Parameter) -> list[str]:
    """Every way an option can be written (`-c`, `--count`, `--no-progress`...)."""
    return [*param.opts, *param.secondary_opts]


def _option_entry(ctx: click.Context, param: click.Option) -> str:
    names = ", ".join(f"\\fB{_escape(n)}\\fR" for n in option_spellings(param))
    record = param.get_help_record(ctx)
    metavar = ""
    if not param.is_flag and not param.count:
        try:
            form = param.make_metavar(ctx)  # type: ignore[call-arg]  # click >= 8.2
        except TypeError:
            form = param.make_metavar()  # type: ignore[call-arg]
        metavar = f" \\fI{_escape(form)}\\fR"
    help_text = record[1] if record else ""
    return f".TP\n{names}{metavar}\n{_escape(help_text) or 'See the command description.'}"


def page(name: str, command: click.Command, parent: click.Context | None = None) -> str:
    """The roff page of one command (`name` is its man page name, wirecraft-read)."""
    # the settings the command line gives (-h as well as --help), so that the page lists
    # the options a user has, whatever click cached on the command before
    settings = command.context_settings if parent is None else {}
    ctx = click.Context(command, info_name=name.split("-", 1)[-1] if parent else name,
                        parent=parent, **settings)
    usage = " ".join(command.collect_usage_pieces(ctx))
    help_text = inspect.cleandoc(command.help or command.short_help or "")
    out = [
        f'.TH "{name.upper()}" "{SECTION}" "" "wirecraft {__version__}" "wirecraft manual"',
        ".SH NAME",
        f"{_escape(name)} \\- {_escape(command.get_short_help_str(200))}",
        ".SH SYNOPSIS",
        f"\\fB{_escape(name.replace('-', ' '))}\\fR {_escape(usage)}",
        ".SH DESCRIPTION",
        _escape(click.unstyle(help_text)).replace("\n\n", "\n.PP\n"),
    ]
    options = [p for p in command.get_params(ctx) if isinstance(p, click.Option)]
    if options:
        out.append(".SH OPTIONS")
        out.extend(_option_entry(ctx, p) for p in options)
    if isinstance(command, click.Group):
        out.append(".SH COMMANDS")
        for sub in command.list_commands(ctx):
            cmd = command.get_command(ctx, sub)
            if cmd is not None:
                out.append(f".TP\n\\fB{_escape(sub)}\\fR\n{_escape(cmd.get_short_help_str(200))}"
                           f"\n(see \\fBwirecraft\\-{_escape(sub)}\\fR(1))")
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    """File name -> roff text: wirecraft.1 and one wirecraft-CMD.1 per command."""
    from . import main

    root = click.Context(main, info_name="wirecraft", **main.context_settings)
    result = {f"wirecraft.{SECTION}": page("wirecraft", main)}
    for sub in main.list_commands(root):
        cmd = main.get_command(root, sub)
        if cmd is not None:
            result[f"wirecraft-{sub}.{SECTION}"] = page(f"wirecraft-{sub}", cmd, root)
    return result


def write_pages(directory: str | os.PathLike[str]) -> list[Path]:
    """Write every page into `directory` (made if missing); returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in pages().items():
        path = out / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@click.command("help")
@click.argument("command_name", metavar="[COMMAND]", required=False)
def help_command(command_name: str | None) -> None:
    """Show the manual page of wirecraft or of one COMMAND (man -l on a terminal, else the
    help text)."""
    from . import main

    root = click.Context(main, info_name="wirecraft", **main.context_settings)
    if command_name is None:
        cmd: click.Command = main
        name = "wirecraft"
    else:
        found = main.get_command(root, command_name)
        if found is None:
            raise click.UsageError(f"no such command: {command_name}")
        cmd, name = found, f"wirecraft-{command_name}"
    man = shutil.which("man")
    if man is not None and sys.stdout.isatty():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.{SECTION}"
            path.write_text(page(name, cmd, None if cmd is main else root), encoding="utf-8")
            subprocess.run([man, "-l", str(path)], check=False)
        return
    ctx = click.Context(cmd, info_name=command_name or "wirecraft",
                        parent=None if cmd is main else root,
                        **(main.context_settings if cmd is main else {}))
    click.echo(cmd.get_help(ctx))


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m wirecraft.cli.manpage OUTDIR", file=sys.stderr)
        return 2
    for path in write_pages(argv[0]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
