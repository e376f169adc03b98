"""Run the fuzz targets with atheris (libFuzzer): `./dev fuzz [TARGET] [--time S]`.

    python tests/fuzz/fuzzrun.py TARGET|all [--time S] [--seed N] [--out DIR] [-- FLAGS]
    python tests/fuzz/fuzzrun.py TARGET --replay FILE...     (no atheris: a traceback)
    python tests/fuzz/fuzzrun.py TARGET --minimize FILE      (writes FILE.min)

One target runs in this process; `all` runs each in turn in a child process (never two
at once) and prints a summary line per target (executions, executions per second,
coverage, the crash file if any). The corpus of a target lives in DIR/corpus/TARGET
(seeded from the target's `seeds()` when empty; new inputs are added there), its
regression inputs in tests/fuzz_regressions/TARGET/ are read as a second corpus, and a
crash, timeout or out-of-memory input is written to DIR/artifacts/TARGET/. FLAGS go to
libFuzzer unchanged. The exit status is 0 when every target ran its time without a
finding, 1 otherwise (a single target exits as libFuzzer does: 77 for a finding), and 3
when atheris is not installed (`pip install 'wirecraft[fuzz]'`).

Python code is instrumented for coverage (wirecraft, the target, and dnspython for the
differential target); the compiled extensions are when they were built with
`-fsanitize=fuzzer-no-link` (as `./dev fuzz` builds them), otherwise atheris sees only
their Python callers.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the targets, and the tests' helpers they use (decodecheck, pcapbuild, test vectors)
sys.path[:0] = [str(HERE), str(HERE.parent)]

TARGETS = ("reader", "decoder", "l4_diff", "dns", "dns_diff", "smtp", "reassembly", "defrag",
           "filter", "writers")
# the longest input each target reads (libFuzzer's -max_len): whole small files for the
# reader, frames for the decoder, segment streams and sessions for the stateful ones
MAX_LEN = {"reader": 65536, "decoder": 4096, "l4_diff": 4096, "dns": 4096, "dns_diff": 4096,
           "smtp": 16384, "reassembly": 16384, "defrag": 4096, "filter": 1024,
           "writers": 16384}
# per-input time limit (libFuzzer's -timeout, seconds): far above any honest input, so
# that only a hang trips it (it interrupts native loops too)
TIMEOUT = 25
NO_ATHERIS = 3          # exit status when atheris is missing (libFuzzer's findings exit 77)
REGRESSIONS = HERE.parent / "fuzz_regressions"
STAT = re.compile(r"stat::(\w+):\s+(\d+)")
COV = re.compile(r"#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+(?:cov: (\d+) )?ft: (\d+)")
ARTIFACT = re.compile(r"Test unit written to (\S+)")


def write_seeds(name: str, corpus: Path) -> int:
    """Put the target's seeds into an empty corpus folder; returns how many it holds."""
    corpus.mkdir(parents=True, exist_ok=True)
    existing = sum(1 for _ in corpus.iterdir())
    if existing:
        return existing
    import hashlib

    module = importlib.import_module(f"fuzz_{name}")
    for data in module.seeds():
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return sum(1 for _ in corpus.iterdir())


def write_dictionary(module: object, path: Path) -> Path | None:
    """libFuzzer's -dict file from the target's `dictionary()` (words its inputs are made
    of, such as display-filter field names), or None for a target without one."""
    words = getattr(module, "dictionary", None)
    if words is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for w in words():
        text = "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\x{b:02x}"
                       for b in w)
        lines.append(f'"{text}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def run_one(name: str, seconds: int, seed: int | None, out: Path, extra: list[str],
            minimize: Path | None = None) -> None:
    """Fuzz one target in this process (atheris exits the process when it is done); with
    `minimize`, shrink that failing input instead (written beside it as NAME.min)."""
    try:
        import atheris
    except ImportError:
        print("fuzz: atheris is not installed (pip install 'wirecraft[fuzz]')",
              file=sys.stderr)
        sys.exit(NO_ATHERIS)
    corpus = out / "corpus" / name
    artifacts = out / "artifacts" / name
    artifacts.mkdir(parents=True, exist_ok=True)
    include = ["wirecraft", "fuzzkit", f"fuzz_{name}"]
    if name == "dns_diff":
        include += ["dns", "fuzz_dns"]
    with atheris.instrument_imports(include=include):
        module = importlib.import_module(f"fuzz_{name}")
        count = write_seeds(name, corpus)
        # a first pass over a few seeds imports (and so instruments) the modules
        # wirecraft loads lazily on first use
        for path in sorted(corpus.iterdir())[:20]:
            module.TestOneInput(path.read_bytes())
    if minimize is not None:
        argv = [sys.argv[0], str(minimize), "-minimize_crash=1", f"-max_total_time={seconds}",
                f"-timeout={TIMEOUT}", f"-exact_artifact_path={minimize}.min"]
        atheris.Setup(argv + extra, module.TestOneInput)
        atheris.Fuzz()
    print(f"fuzz: {name}: {count} inputs in {corpus}", file=sys.stderr, flush=True)
    dirs = [str(corpus)]
    if (REGRESSIONS / name).is_dir():
        dirs.append(str(REGRESSIONS / name))
    argv = [sys.argv[0], *dirs, f"-max_total_time={seconds}", f"-timeout={TIMEOUT}",
            f"-max_len={MAX_LEN[name]}", f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1", "-rss_limit_mb=3072"]
    if seed is not None:
        argv.append(f"-seed={seed}")
    dictionary = write_dictionary(module, out / "dict" / f"{name}.dict")
    if dictionary is not None:
        argv.append(f"-dict={dictionary}")
    atheris.Setup(argv + extra, module.TestOneInput)
    atheris.Fuzz()


def summarise(name: str, log: str, rc: int, seconds: float) -> tuple[str, bool]:
    stats = {k: int(v) for k, v in STAT.findall(log)}
    cov = COV.findall(log)
    found = ARTIFACT.findall(log)
    execs = stats.get("number_of_executed_units", 0)
    rate = stats.get("average_exec_per_sec", 0)
    last = cov[-1] if cov else ("0", "", "")
    ok = rc == 0 and not found
    line = (f"{name:<11} {'ok' if ok else 'FINDING':<8} {execs:>10} execs  {rate:>6}/s  "
            f"cov {last[1] or '-':>6}  ft {last[2] or '-':>6}  {seconds:6.0f} s  "
            + (f"rss {stats['peak_rss_mb']} MB" if "peak_rss_mb" in stats else "")
            + (f"  -> {found[-1]}" if found else ("" if ok else f"  (exit {rc})")))
    return line, ok


def run_all(names: list[str], seconds: int, seed: int | None, out: Path,
            extra: list[str]) -> int:
    """Each target in a child process, one after the other; a summary at the end."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    lines, failed = [], []
    for name in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), name, "--time", str(seconds),
               "--out", str(out)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        if extra:
            cmd += ["--", *extra]
        start = time.monotonic()
        print(f"== fuzz {name} ({seconds} s)", flush=True)
        with open(logs / f"{name}.log", "w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        text = (logs / f"{name}.log").read_text(errors="replace")
        line, ok = summarise(name, text, proc.returncode, time.monotonic() - start)
        if proc.returncode == NO_ATHERIS:
            print(text.strip().splitlines()[-1])
            return NO_ATHERIS
        print(line, flush=True)
        lines.append(line)
        if not ok:
            failed.append(name)
            tail = text.strip().splitlines()[-40:]
            print("\n".join(f"   | {t}" for t in tail))
    print("== fuzz summary (log of each target in " + str(logs) + ")")
    print("\n".join(lines))
    if failed:
        print(f"fuzz: findings in {', '.join(failed)}: each input is in {out}/artifacts/; "
              "add it to tests/fuzz_regressions/<target>/ with its fix", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    p = argparse.ArgumentParser(prog="./dev fuzz", description="Run the atheris fuzz targets.")
    p.add_argument("target", nargs="?", default="all", choices=("all", *TARGETS))
    p.add_argument("--time", type=int, default=30, help="seconds per target (default 30)")
    p.add_argument("--seed", type=int, default=None, help="libFuzzer's random seed")
    p.add_argument("--out", type=Path, default=Path("build/fuzz"),
                   help="corpus, artifacts and logs (default build/fuzz)")
    p.add_argument("--seeds-only", action="store_true",
                   help="write the seed corpora and stop (no atheris needed)")
    p.add_argument("--replay", type=Path, nargs="+", metavar="FILE",
                   help="run these inputs through the target, without atheris")
    p.add_argument("--minimize", type=Path, metavar="FILE",
                   help="shrink a failing input for --time seconds (to FILE.min)")
    args = p.parse_args(argv)
    if args.time < 1:
        p.error("--time must be at least 1 second")
    out = args.out.resolve()
    names = list(TARGETS) if args.target == "all" else [args.target]
    if args.seeds_only:
        for name in names:
            print(f"{name}: {write_seeds(name, out / 'corpus' / name)} inputs")
        return
    if args.replay:
        if args.target == "all":
            p.error("--replay needs a target")
        module = importlib.import_module(f"fuzz_{args.target}")
        for path in args.replay:
            module.TestOneInput(path.read_bytes())
            print(f"{path}: passes")
        return
    if args.target == "all":
        if args.minimize:
            p.error("--minimize needs a target")
        sys.exit(run_all(names, args.time, args.seed, out, extra))
    run_one(args.target, args.time, args.seed, out, extra, args.minimize)


if __name__ == "__main__":
    main()
