"""The benchmark suite still runs: `python -m bench.run --smoke` completes and prints every section.

Not a timed test: the figures are printed, never asserted (the bars live in BENCHMARKS.md).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_run_prints_every_section(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--json", str(tmp_path / "bench.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for section in ("[1] check latency", "[2] archive growth", "[3] parse cost", "[4] query latency",
                    "[5] memory", "[6] against urlwatch"):
        assert section in out.stdout
    assert "parser mismatches against the generated truth        0" in out.stdout
    assert (tmp_path / "bench.json").read_text().startswith("{")
