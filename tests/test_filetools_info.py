"""`filetools.info` compared with capinfos on every sample capture."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

from wirecraft.filetools import info, seconds_to_ns

from conftest import require_tool

CAPTURES = sorted((pathlib.Path(__file__).parent.parent / "captures").glob("*.pcap*"))


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_info_matches_capinfos(path: pathlib.Path) -> None:
    tool = require_tool("capinfos")
    out = subprocess.run([tool, "-M", "-T", "-c", "-s", "-H", str(path)],
                         capture_output=True, text=True)
    head, row = out.stdout.splitlines()[:2]
    ref = dict(zip(head.split("\t"), row.split("\t"), strict=True))
    facts = info(path)
    assert facts["packets"] == int(ref["Number of packets"])
    assert facts["file_size"] == int(ref["File size (bytes)"])
    assert facts["sha256"] == ref["SHA256"]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_info_times_match_capinfos(path: pathlib.Path) -> None:
    tool = require_tool("capinfos")
    out = subprocess.run([tool, "-M", "-T", "-a", "-e", "-S", "-r", str(path)],
                         capture_output=True, text=True)
    _, first, last = out.stdout.split("\t")[:3]
    facts = info(path)
    if first.strip() == "n/a":
        assert facts["packets"] == 0
        return
    assert facts["first_ns"] == seconds_to_ns(first)
    assert facts["last_ns"] == seconds_to_ns(last)


def test_info_cli_json_reports_truncation() -> None:
    import json

    from click.testing import CliRunner

    from wirecraft.cli.info import command

    path = next(p for p in CAPTURES if p.name == "dpkt__truncated_dns_2.pcap")
    result = CliRunner().invoke(command, ["--json", str(path), str(path)])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 2 and rows[0]["truncated"] is not None
    assert rows[0]["packets"] == info(path)["packets"]


# capinfos names the encapsulation; these are the link types of the sample captures
ENCAP = {"ether": 1, "linux-sll": 113, "linux-sll2": 276}


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_info_link_type_matches_capinfos(path: pathlib.Path) -> None:
    tool = require_tool("capinfos")
    out = subprocess.run([tool, "-T", "-r", "-E", str(path)], capture_output=True, text=True)
    name = out.stdout.split("\t")[1].strip()
    assert info(path)["linktypes"] == [ENCAP[name]]
