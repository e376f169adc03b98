"""Every subcommand over every kind of damaged input: one line on stderr, a documented exit
status (2 bad input, 77 missing privilege, 1 other), never a traceback.

The corpus is generated here (tests/pcapbuild.py for the capture bytes), one file per class
of damage, so each class is tested whatever the exact bytes: a capture cut inside a record
or inside its header, random bytes, an empty file, a wrong magic number, a gzip stream cut
short or with a bad header, a directory, a missing path and a file the user may not read.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import pcapbuild as pb
from conftest import CAPTURES, WIRECRAFT_PATH, require_root, require_tool

ENV = dict(os.environ, PYTHONPATH=WIRECRAFT_PATH)
ENV.pop("WIRECRAFT_TRACEBACK", None)
CODES = {0, 1, 2, 77}
NOBODY = 65534


def good_capture(n: int = 6) -> bytes:
    return pb.pcap([(10**9 * i, pb.udp_frame(b"q" * 24, dport=53)) for i in range(n)])


def make_corpus(root: Path) -> dict[str, Path]:
    """name -> path of one damaged input per class (all but `truncated_*` are not captures)."""
    rng = random.Random(13)
    good = good_capture()
    files = {
        "garbage": bytes(rng.randrange(256) for _ in range(700)),
        "empty": b"",
        "wrong_magic": b"\x0b\xad\xf0\x0d" + good[4:],
        "text": b"this is not a capture\n" * 4,
        "header_cut": good[:17],
        "pcapng_cut": pb.shb() + pb.idb(1)[:9],
        "gzip_cut": gzip.compress(good)[:-16],
        "gzip_bad_header": b"\x1f\x8b\x09" + bytes(rng.randrange(256) for _ in range(64)),
        "gzip_of_garbage": gzip.compress(b"\x00" * 100),
    }
    out = {}
    for name, data in files.items():
        p = root / name
        p.write_bytes(data)
        out[name] = p
    (root / "directory").mkdir()
    out["directory"] = root / "directory"
    out["missing"] = root / "no-such-file.pcap"
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-corpus")
    root.chmod(0o755)
    return make_corpus(root)


def _as_nobody() -> list[str]:
    """A prefix that runs a command without root's power to read anything, when root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed: root reads any file")
    prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
              "--inh-caps=-all"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import wirecraft.cli"], env=ENV,
                           capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("user nobody cannot run this interpreter")
    return prefix


def wirecraft_cli(*args: str, prefix: list[str] | None = None, timeout: float = 60,
              **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "wirecraft", *args],
                          capture_output=True, text=True, env=ENV, timeout=timeout, **kw)


def error_lines(r: subprocess.CompletedProcess) -> tuple[list[str], list[str]]:
    """(warning lines, other stderr lines)."""
    lines = r.stderr.strip().splitlines()
    warns = [ln for ln in lines if ln.startswith("wirecraft: warning: ")]
    return warns, [ln for ln in lines if not ln.startswith("wirecraft: warning: ")]


def assert_one_line_error(r: subprocess.CompletedProcess, code: int, what: str) -> None:
    assert "Traceback" not in r.stderr, f"{what}:\n{r.stderr}"
    assert r.returncode == code, f"{what}: exit {r.returncode}, want {code}:\n{r.stderr}"
    _, other = error_lines(r)
    assert len(other) == 1, f"{what}: want one error line, got:\n{r.stderr}"
    assert other[0].startswith("wirecraft"), other


# subcommand argv with FILE where the damaged path goes
FILE_COMMANDS = {
    "read": ["read", "FILE"],
    "read-json": ["read", "FILE", "--json", "-c", "3"],
    "read-filter": ["read", "FILE", "-f", "udp"],
    "dns": ["dns", "FILE"],
    "dns-json": ["dns", "FILE", "--json"],
    "smtp": ["smtp", "FILE"],
    "smtp-extract": ["smtp", "FILE", "--extract", "OUTDIR"],
    "follow": ["follow", "FILE"],
    "follow-n": ["follow", "FILE", "0"],
}
# gzip_cut is not here: a gzip stream cut short is a truncated capture (every complete
# packet, then one warning line, exit 0; see test_truncated_capture_is_a_one_line_warning)
BAD = ["garbage", "empty", "wrong_magic", "text", "header_cut",
       "gzip_bad_header", "gzip_of_garbage", "directory", "missing"]


def _argv(template: list[str], path: Path, tmp: Path) -> list[str]:
    return [str(path) if a == "FILE" else str(tmp / "mail") if a == "OUTDIR" else a
            for a in template]


@pytest.mark.parametrize("command", list(FILE_COMMANDS))
def test_every_damaged_file_is_one_line_exit_2(command: str, corpus: dict[str, Path],
                                               tmp_path: Path) -> None:
    for name in BAD:
        r = wirecraft_cli(*_argv(FILE_COMMANDS[command], corpus[name], tmp_path))
        assert_one_line_error(r, 2, f"{command} {name}")
        assert r.stdout == "", (command, name, r.stdout)


@pytest.fixture()
def public_dir() -> Iterator[Path]:
    """A directory every user may enter (pytest's own tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="wc-cli-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("command", list(FILE_COMMANDS))
def test_unreadable_file_is_one_line_exit_2(command: str, public_dir: Path) -> None:
    prefix = _as_nobody()
    path = public_dir / "unreadable.pcap"
    path.write_bytes(good_capture())
    path.chmod(0)
    r = wirecraft_cli(*_argv(FILE_COMMANDS[command], path, public_dir), prefix=prefix)
    assert_one_line_error(r, 2, f"{command} unreadable")
    assert "Permission denied" in r.stderr or "not readable" in r.stderr, r.stderr


@pytest.mark.parametrize("command", ["read", "dns", "smtp", "follow"])
def test_truncated_capture_is_a_one_line_warning(command: str, tmp_path: Path) -> None:
    good = good_capture()
    ng = pb.shb() + pb.idb(1) + b"".join(pb.epb(0, 10**6 * i, pb.udp_frame(b"q" * 24, dport=53))
                                         for i in range(4))
    # inside the last frame, inside a record header, further back; a pcapng cut inside a
    # block, and one cut right after its interface description
    # and gzip streams cut inside their compressed data and inside their trailer
    cuts = [good[:-3], good[:-15], good[:-40], ng[:-5], ng[:len(pb.shb()) + 9],
            gzip.compress(good)[:-16], gzip.compress(ng)[:-4]]
    for i, data in enumerate(cuts):
        path = tmp_path / f"cut{i}.pcap"
        path.write_bytes(data)
        r = wirecraft_cli(command, str(path))
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        warns, other = error_lines(r)
        assert len(warns) == 1 and "truncated" in warns[0], r.stderr
        # the only other line allowed is dns's one-line summary
        assert other == [] or (command == "dns" and len(other) == 1
                               and "transactions" in other[0]), r.stderr


def test_send_script_of_damaged_files(corpus: dict[str, Path]) -> None:
    for name in ("garbage", "empty", "text", "gzip_cut"):
        r = wirecraft_cli("send", "-i", "lo", "--script", str(corpus[name]))
        assert_one_line_error(r, 2, f"send --script {name}")
    for name in ("directory", "missing"):
        r = wirecraft_cli("send", "-i", "lo", "--script", str(corpus[name]))
        assert_one_line_error(r, 2, f"send --script {name}")


def test_send_script_that_raises(tmp_path: Path) -> None:
    script = tmp_path / "boom.py"
    script.write_text("packets = [1 / 0]\n")
    r = wirecraft_cli("send", "-i", "lo", "--script", str(script))
    assert_one_line_error(r, 2, "send --script boom.py")
    assert "ZeroDivisionError" in r.stderr


def test_replay_of_damaged_files(corpus: dict[str, Path]) -> None:
    for name in BAD:
        r = wirecraft_cli("replay", str(corpus[name]), "-i", "lo", "-c", "1")
        assert_one_line_error(r, 2, f"replay {name}")


@pytest.mark.parametrize("length", [0, 1, 6, 13])
def test_send_hex_frame_shorter_than_ethernet(length: int) -> None:
    frame = "02" * length
    r = wirecraft_cli("send", "-i", "lo", "--hex", "02" * 20, "--hex", frame)
    assert_one_line_error(r, 2, f"send --hex of {length} bytes")
    assert "frame 1" in r.stderr and "at least 14" in r.stderr


def test_send_hex_not_hex_and_l3_too_short() -> None:
    r = wirecraft_cli("send", "-i", "lo", "--hex", "02zz")
    assert_one_line_error(r, 2, "send --hex 02zz")
    r = wirecraft_cli("send", "--l3", "--hex", "45" * 19)
    assert_one_line_error(r, 2, "send --l3 19 bytes")
    assert "at least 20" in r.stderr


@pytest.mark.parametrize("value", ["1e-300", "0", "-1", "nan", "inf", "1e400", "abc"])
@pytest.mark.parametrize("option", ["--pps", "--mbps"])
def test_send_rate_out_of_range(option: str, value: str) -> None:
    r = wirecraft_cli("send", "-i", "lo", "--hex", "02" * 20, "-c", "2", option, value, timeout=20)
    assert_one_line_error(r, 2, f"send {option} {value}")
    assert option in r.stderr


@pytest.mark.parametrize("value", ["1e-300", "0", "nan", "inf", "1e-4"])
@pytest.mark.parametrize("option", ["--multiplier", "--pps", "--mbps"])
def test_replay_rate_out_of_range(option: str, value: str) -> None:
    r = wirecraft_cli("replay", str(CAPTURES / "zeek__smtp.pcap"), "-i", "lo", option, value,
                  timeout=20)
    assert_one_line_error(r, 2, f"replay {option} {value}")


def test_usage_errors_are_one_line() -> None:
    for argv in (["read"], ["read", "--bogus", "x"], ["nosuchcommand"], ["dns", "-c"],
                 ["sniff"], ["follow", str(CAPTURES / "zeek__smtp.pcap"), "-5"]):
        r = wirecraft_cli(*argv)
        assert_one_line_error(r, 2, " ".join(argv))


def test_output_to_dev_full_is_one_line_exit_1() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    cap = str(CAPTURES / "zeek__smtp.pcap")
    dns_cap = str(CAPTURES / "dpkt__dns_icmp.pcap")
    for argv in (["read", cap], ["read", cap, "--json"], ["dns", dns_cap], ["smtp", cap],
                 ["smtp", cap, "--json"], ["follow", cap], ["follow", cap, "0"],
                 ["--version"], ["--help"]):
        with open("/dev/full", "w") as full:
            r = subprocess.run([sys.executable, "-m", "wirecraft", *argv], stdout=full,
                               stderr=subprocess.PIPE, text=True, env=ENV, timeout=60)
        assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
        assert r.returncode == 1, (argv, r.returncode, r.stderr)
        _, other = error_lines(r)
        assert other[-1:] == ["wirecraft: cannot write output: No space left on device"], (
            argv, r.stderr)
        assert len([ln for ln in other if "No space" in ln]) == 1, r.stderr


def test_closed_pipe_is_quiet() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "wirecraft", "read",
                             str(CAPTURES / "zeek__wikipedia.pcap")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert proc.returncode == 0


def _mounted(tmp_path: Path, options: str, script: str) -> subprocess.CompletedProcess:
    """Run `script` in a private mount namespace with a small tmpfs at tmp_path/mnt."""
    require_root()
    require_tool("unshare")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    return subprocess.run(["unshare", "-m", "sh", "-c",
                           f"mount -t tmpfs -o {options} wctest {mnt} && {script}"],
                          capture_output=True, text=True, env=ENV, timeout=120)


def test_smtp_extract_onto_read_only_and_full_disk(tmp_path: Path) -> None:
    cap = CAPTURES / "zeek__smtp.pcap"
    wc = f"{sys.executable} -m wirecraft smtp {cap} --extract"
    ro = tmp_path / "ro"
    ro.mkdir()
    r = _mounted(ro, "ro,size=64k", f"{wc} {ro / 'mnt' / 'mail'}")
    assert_one_line_error(r, 1, "smtp --extract onto a read-only disk")
    assert "Read-only file system" in r.stderr
    full = tmp_path / "full"
    full.mkdir()
    mail = full / "mnt" / "mail"
    fill = f"mkdir {mail} && (head -c 65536 /dev/zero > {full / 'mnt' / 'fill'} 2>/dev/null || true)"
    r = _mounted(full, "size=8k", f"{fill} && {wc} {mail}")
    assert_one_line_error(r, 1, "smtp --extract onto a full disk")
    assert "No space left on device" in r.stderr


def test_sniff_write_to_bad_places(corpus: dict[str, Path]) -> None:
    require_root()
    for target in (corpus["directory"], corpus["missing"].parent / "nodir" / "x.pcap",
                   Path("/dev/full")):
        r = wirecraft_cli("sniff", "-i", "lo", "--duration", "0.2", "-w", str(target))
        assert_one_line_error(r, 1, f"sniff -w {target}")


def test_version_from_one_place() -> None:
    """`wirecraft --version`, `-V` and `python -m wirecraft --version` print __version__,
    which is also the version in the package metadata (pyproject reads it from there)."""
    import wirecraft

    for argv in (["--version"], ["-V"]):
        r = wirecraft_cli(*argv)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"wirecraft {wirecraft.__version__}"


def test_missing_optional_dependency_names_the_extra(tmp_path: Path) -> None:
    """With pandas/pyarrow/polars hidden, the library and the CLI say which extra to install."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ('pandas', 'pyarrow', 'polars'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    env = dict(ENV, PYTHONPATH=os.pathsep.join([str(tmp_path), WIRECRAFT_PATH]))
    cap = str(CAPTURES / "zeek__smtp.pcap")
    code = (
        "import sys, wirecraft\n"
        "from wirecraft.errors import MissingDependency\n"
        "t = wirecraft.open(sys.argv[1]).table()\n"
        "d = wirecraft.dns.transactions(sys.argv[1])\n"
        "s = wirecraft.smtp.transactions(sys.argv[1])\n"
        "calls = [('pandas', t.to_pandas), ('arrow', t.to_arrow), ('polars', t.to_polars),\n"
        "         ('arrow', lambda: t.to_parquet('/dev/null')), ('pandas', d.to_pandas),\n"
        "         ('arrow', d.to_arrow), ('polars', d.to_polars), ('pandas', s.to_pandas),\n"
        "         ('arrow', s.to_arrow)]\n"
        "for extra, call in calls:\n"
        "    try:\n"
        "        call()\n"
        "    except MissingDependency as exc:\n"
        "        assert f\"pip install 'wirecraft[{extra}]'\" in str(exc), str(exc)\n"
        "    else:\n"
        "        raise SystemExit(f'{call} worked without its package')\n"
        "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code, cap], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_no_command_shows_the_help() -> None:
    r = wirecraft_cli()
    assert "Traceback" not in r.stderr and r.returncode in (0, 2)
    text = r.stdout + r.stderr
    assert "Usage:" in text and "Commands:" in text and "\n" in text.strip()
