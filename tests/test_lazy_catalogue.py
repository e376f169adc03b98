"""The field catalogue is built on first use, and building it stays cheap.

Every process that decodes DNS or SMTP, or makes a Table, imports wirecraft.proto for a
few numbers (ports, DNS type names). Executing all the protocol modules, and what they
once imported (dataclasses, typing, pkgutil and with it inspect), cost 50-60 ms a
process, a whole-process regression of every DNS and SMTP figure. These tests run fresh
interpreters and look at sys.modules, so they fail if an import brings either back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CAPTURE = Path(__file__).resolve().parents[1] / "captures" / "zeek__smtp.pcap"


def _modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter (this one's, same environment) holds after `code`."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=120,
                         check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_dns_smtp_table_json_do_not_build_the_catalogue() -> None:
    mods = _modules_after("import wirecraft, wirecraft.capture, wirecraft.dns, "
                          "wirecraft.smtp, wirecraft.table, wirecraft.summary")
    built = [m for m in mods if m.startswith("wirecraft.proto.") and m not in (
        "wirecraft.proto._bind", "wirecraft.proto._dns_names")]
    assert built == [], f"importing these declared protocols: {built}"


def test_raw_and_layer_columns_do_not_build_the_catalogue() -> None:
    """Nor does listing the columns: the catalogue's column names are generated into the
    core with the record (tools/gen_ext.py; its --check test keeps them current)."""
    mods = _modules_after(
        "import wirecraft\n"
        f"t = wirecraft.open({str(CAPTURE)!r}).table()\n"
        "t['l4_src_port'], t['has_tcp'], t['time'], t['ipv4_src'], t['truncated']\n"
        "assert 'tcp_src_port' in t.columns\n")
    assert "wirecraft.proto._spec" not in mods


def test_catalogue_imports_no_heavy_modules() -> None:
    mods = _modules_after("import wirecraft.proto as p\n"
                          "p.FIELDS, p.value, p.protocol('tcp'), p.fields('ipv6')")
    assert "wirecraft.proto.tcp" in mods and "wirecraft.proto.ntp" in mods
    heavy = {"dataclasses", "typing", "inspect", "pkgutil", "numpy", "ast"} & set(mods)
    assert not heavy, f"building the catalogue imported {sorted(heavy)}"


def test_catalogue_names_resolve_lazily() -> None:
    import wirecraft.proto as p
    import wirecraft.table as t

    assert p.FIELDS["tcp.srcport"] is p.protocol("tcp").field("tcp.srcport")
    assert p.PROTOCOL_OF["tcp.srcport"].name == "tcp"
    assert p.Field is type(p.FIELDS["ip.ttl"]) and p.Protocol is type(p.protocol("ip"))
    assert "tcp.srcport" in t.DOTTED and "tcp_src_port" in t.VIRTUAL
    assert "FIELDS" in dir(p)
    try:
        p.NO_SUCH_NAME  # noqa: B018
    except AttributeError as e:
        assert "NO_SUCH_NAME" in str(e)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_declarations_are_read_only_and_equal_by_value() -> None:
    import pytest

    from wirecraft.proto import _bind
    from wirecraft.proto._spec import Field, Slot

    f = Field("toy.x", "FT_UINT8", "x", at=(0, 1))
    assert f == Field("toy.x", "FT_UINT8", "x", at=(0, 1)) and hash(f) == hash(
        Field("toy.x", "FT_UINT8", "x", at=(0, 1)))
    assert f != Field("toy.x", "FT_UINT8", "x", at=(0, 2))
    with pytest.raises(AttributeError):
        f.name = "toy.y"  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown field type"):
        Field("toy.x", "FT_NOPE", "x")
    with pytest.raises(ValueError, match="unknown slot type"):
        Slot("toy_x", "u7", "x")
    assert "at=(0, 1)" in repr(f)
    b = _bind.Binding("udp", "toy", "udp.port", (1,))
    assert b == _bind.Binding("udp", "toy", "udp.port", (1,)) and "decode" not in repr(b)
