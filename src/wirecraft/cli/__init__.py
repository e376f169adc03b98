"""The `wirecraft` command: a thin click shell over the library.

Each subcommand lives in its own module and is imported only when it runs,
so `wirecraft read` does not pay for the sniffer, the crafting layers or DNS.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

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
}


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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wirecraft")
def main() -> None:
    """Capture, dissect and craft packets."""
