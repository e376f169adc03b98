"""wirecraft flows: the capture to Zeek conn.log's table (--mode flows), or the whole
folder of logs, conn, dns, smtp and weird, written as Zeek TSV (--mode logs)."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import args, emit, now  # noqa: E402

import wirecraft  # noqa: E402
import wirecraft.capture  # noqa: E402, F401 - the core now, not inside the timed work
import wirecraft.conn  # noqa: E402, F401
import wirecraft.logs  # noqa: E402

T1 = now()
a = args([("--mode", {"default": "flows", "choices": ("flows", "logs")})])
if a.mode == "flows":
    table = wirecraft.flows(a.file)
    T2 = now()
    stats = table.stats
    counts = {"connections": len(table), "in_connections": stats["in_connections"],
              "packets": stats["packets"]}
else:
    with tempfile.TemporaryDirectory() as out:
        logs = wirecraft.logs.build(a.file)
        wirecraft.logs.write(logs, out, format="zeek")
        T2 = now()
    counts = {"connections": len(logs["conn"]), "dns_rows": len(logs["dns"]),
              "smtp_rows": len(logs["smtp"]), "weird_rows": len(logs["weird"])}
emit(T0, T1, T2, counts.get("packets", 0), counts)
