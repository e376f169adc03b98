"""Packaging: the version has one source, the sdist carries the Cython sources, and the wheel
`./dev wheel` makes installs and runs the demo in a fresh venv on a PATH without a compiler.

The wheel test builds everything from this checkout (zig from PyPI links the extensions
against glibc 2.17, auditwheel checks and tags the result) and needs only PyPI: it is slow
(a few minutes on 2 cores) and marked so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _init_version() -> str:
    text = (REPO / "src" / "wirecraft" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert match, "src/wirecraft/__init__.py must set __version__ as a plain string"
    return match.group(1)


def test_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "wirecraft.__version__"}
    import wirecraft

    assert wirecraft.__version__ == _init_version()


def test_build_requirements_match_the_metadata() -> None:
    """PEP 639's `license = "<SPDX>"` needs setuptools 77; the venv tools agree."""
    reqs = PYPROJECT["build-system"]["requires"]
    assert "setuptools>=77" in reqs and any(r.startswith("Cython>=3") for r in reqs)
    assert isinstance(PYPROJECT["project"]["license"], str)
    for extra in ("dev", "release"):
        assert set(reqs) <= set(PYPROJECT["project"]["optional-dependencies"][extra]), extra


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    return path / "bin"


def _no_compiler_path(bin_dir: Path) -> str:
    path = str(bin_dir)
    for cc in ("gcc", "cc", "clang", "x86_64-linux-gnu-gcc"):
        assert shutil.which(cc, path=path) is None, f"{cc} on the test PATH"
    return path


@pytest.mark.slow
def test_wheel_installs_and_runs_without_a_compiler(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    env = dict(os.environ, WIRECRAFT_VENV=str(tmp_path / "build-venv"))
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(REPO / "dev"), "wheel", "--outdir", str(dist)], env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    version = _init_version()
    wheels = sorted(dist.glob(f"wirecraft-{version}-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    wheel = wheels[0]
    tags = wheel.name.removesuffix(".whl").split("-")[-1].split(".")
    assert "manylinux_2_17_x86_64" in tags, wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for mod in ("_core", "_dns", "_reassembly", "_craft"):
        assert any(n.startswith(f"wirecraft/{mod}.") and n.endswith(".so") for n in names), mod
        assert f"wirecraft/{mod}.pyi" in names
    assert "wirecraft/py.typed" in names
    assert not any(n.startswith("wirecraft.libs/") for n in names), "nothing is vendored"
    sdists = list(dist.glob(f"wirecraft-{version}.tar.gz"))
    assert len(sdists) == 1
    with tarfile.open(sdists[0]) as t:
        members = set(t.getnames())
    assert f"wirecraft-{version}/ext/wirecraft/_core.pyx" in members
    # _core.pyx is assembled from include files and inline C decoders: the sdist needs them
    for part in ("core/reader.pxi", "proto/tcp.pxd", "_record.pxd", "_codes.pxd", "_wire.pxd"):
        assert f"wirecraft-{version}/ext/wirecraft/{part}" in members, part
    assert not any(m.endswith(".so") for m in members)

    # a user's venv: binary packages only, and no compiler on the PATH
    user = _venv(tmp_path / "user")
    path = _no_compiler_path(user)
    uenv = {"PATH": path, "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    r = subprocess.run([str(user / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", "--only-binary", ":all:",
                        f"{wheel}[arrow]"], env=uenv, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    run = lambda *argv: subprocess.run(argv, env=uenv, capture_output=True,  # noqa: E731
                                       text=True, timeout=300, cwd=tmp_path)
    for argv in ([str(user / "wirecraft"), "--version"],
                 [str(user / "python"), "-m", "wirecraft", "--version"]):
        out = run(*argv)
        assert out.returncode == 0 and out.stdout.strip() == f"wirecraft {version}", out
    caps = REPO / "captures"
    out = run(str(user / "wirecraft"), "read", str(caps / "zeek__smtp.pcap"), "-c", "15")
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 15, out.stderr
    out = run(str(user / "wirecraft"), "dns", str(caps / "dpkt__dns_icmp.pcap"))
    assert out.returncode == 0 and "transactions" in out.stderr, out.stderr
    out = run(str(user / "wirecraft"), "smtp", str(caps / "zeek__smtp.pcap"))
    assert out.returncode == 0 and "mail from" in out.stdout, out.stderr
    code = ("import wirecraft, sys\n"
            "assert '/user/' in wirecraft.__file__, wirecraft.__file__\n"
            "t = wirecraft.open(sys.argv[1]).table()\n"
            "print(len(t), dict(t.value_counts('ip_protocol')))\n")
    out = run(str(user / "python"), "-c", code,
              str(caps / "zeek__var-services-std-ports.pcap"))
    assert out.returncode == 0 and out.stdout.split()[0].isdigit(), out.stderr
