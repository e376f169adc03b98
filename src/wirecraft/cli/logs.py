"""`wirecraft logs FILE... -o DIR`: Zeek-style conn, dns, smtp and weird logs in a folder."""

from __future__ import annotations

import sys

import click

from ..logs import FORMATS, LOGS


@click.command("logs")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--out", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the logs in (created).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="zeek", show_default=True,
              help="Zeek's TSV (zeek-cut reads it), JSON lines, CSV or Parquet.")
@click.option("--only", default=",".join(LOGS), show_default=True, metavar="LOGS",
              help="Comma-separated logs to write.")
@click.option("-C", "--no-checksums", is_flag=True,
              help="Do not verify checksums (Zeek's -C): no bad_*_checksum weirds.")
@click.option("-j", "--jobs", default=1, show_default=True, type=click.IntRange(min=0),
              help="Read the files in this many processes (0: every usable core); "
                   "the logs are the same as with one.")
@click.option("--local-nets", default="private", show_default=True, metavar="CIDRS",
              help="Comma-separated networks for local_orig/local_resp; 'private' is "
                   "Zeek's private address space, 'none' leaves the columns unset.")
def command(files: tuple[str, ...], outdir: str, fmt: str, only: str, no_checksums: bool,
            jobs: int, local_nets: str) -> None:
    """Write conn, dns, smtp and weird logs of the capture FILES (one set of logs for
    all of them, rows in file order), linked by connection uid. Each file is read on its
    own: a connection that goes on into the next file is a row in each."""
    from functools import partial

    from .._pool import map_files
    from ..logs import Log, build, write

    which = [w.strip() for w in only.split(",") if w.strip()]
    unknown = set(which) - set(LOGS)
    if unknown:
        raise click.BadParameter(f"unknown logs {', '.join(sorted(unknown))} "
                                 f"(known: {', '.join(LOGS)})", param_hint="--only")
    nets = None if local_nets == "none" else (
        "private" if local_nets == "private" else [n.strip() for n in local_nets.split(",")])
    merged: dict[str, Log] = {}
    progress = None
    if sys.stderr.isatty() and len(files) > 1:
        from rich.progress import Progress
        progress = Progress(transient=True)
        progress.start()
        task = progress.add_task("logs", total=len(files))
    try:
        parts = map_files(partial(build, local_nets=nets, checksums=not no_checksums,
                                  which=which), files, jobs,
                          on_done=None if progress is None else
                          lambda: progress.advance(task))
    finally:
        if progress is not None:
            progress.stop()
    for logs in parts:
        for name, log in logs.items():
            if name in merged:
                merged[name].rows.extend(log.rows)
            else:
                merged[name] = log
    for p in write(merged, outdir, format=fmt):
        click.echo(f"{p}: {len(merged[p.stem])} rows")
