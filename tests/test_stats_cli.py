"""wirecraft stats: error cases (one line, exit 2), JSON output equal to the library's
rows, and the PNG of --plot read back as an image with labelled axes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wirecraft import stats

from conftest import REPO, WIRECRAFT_PATH

CAP = REPO / "captures" / "zeek__wikipedia.pcap"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "wirecraft", "stats", *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("args", [
    (str(CAP), "nosuchkind"), (str(CAP), "conv", "-Y", "tcp.port ==="),
    ("/nonexistent.pcap", "conv"), (str(CAP), "conv,bogus"), (str(CAP), "io", "--interval", "0"),
])
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...]) -> None:
    out = _run(*args)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_json_is_the_library_table() -> None:
    out = _run(str(CAP), "conv,udp", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["rows"] == stats.conv(CAP, "udp").to_dicts() and doc["rows"]


def test_plot_png(tmp_path: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    from wirecraft.stats import plot

    png = tmp_path / "io.png"
    fig = plot.io(stats.io(CAP, 1.0, ("tcp", "udp")), str(png))
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    pixels = image.imread(str(png))
    w, h = fig.get_size_inches() * fig.dpi
    assert pixels.shape[:2] == (round(h * 100 / fig.dpi), round(w * 100 / fig.dpi))
    assert pixels[..., :3].min() < 0.5  # something was drawn on the white
    out = _run(str(CAP), "dns", "--plot", str(tmp_path / "dns.png"))
    assert out.returncode == 0, out.stderr
    assert image.imread(str(tmp_path / "dns.png")).shape[2] in (3, 4)
