"""The benchmark suite: check latency, archive growth, parse cost, queries, memory, urlwatch.

    python -m bench.run              # the full suite (a few minutes; installs urlwatch 2.29 once)
    python -m bench.run --smoke      # every section on small inputs, no urlwatch, < 30 s (CI)
    python -m bench.run --json out.json

Every section prints its figures and the bar it is measured against. Timings are medians of
alternating runs in the same process, so background load hits both sides of a comparison alike.
urlwatch is installed from the package index into a throwaway venv (``--urlwatch-venv``, default
``.bench/urlwatch-venv``) with its own config, job list and cache, all under ``.bench/``.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bench import synth

ROOT = Path(__file__).resolve().parent.parent
URLWATCH = "urlwatch==2.29"
TARGET = synth.TARGET


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


# -- a loopback server that sends no ETag or Last-Modified ------------------------------------------


class Server:
    def __init__(self):
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def setup(self):
                super().setup()
                # headers and body go out in two writes; without this, delayed ACK adds ~40 ms
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                body = body if body is not None else b"not found"
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, path: str, body: bytes) -> str:
        self.pages[path] = body
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def close(self):
        self.httpd.shutdown()


# Runs the command and reports its wall time and peak RSS. A process forked from a big parent
# starts with the parent's RSS as its high-water mark (this suite's own process grows past 100 MB
# while building the decade), so commands are started from this small launcher process instead.
LAUNCHER = r"""
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
stderr = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - started
print(json.dumps([elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status), stderr[-500:].decode(errors="replace")]))
"""


def timed(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, int, int]:
    """Run ``cmd``; return (wall seconds, peak RSS in KB of that process, exit status)."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], capture_output=True, text=True, env=env, cwd=cwd,
                         check=True)
    elapsed, peak, status, stderr = json.loads(out.stdout)
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {status}: {stderr}")
    return elapsed, peak, status


_SCRIPT = Path(sys.executable).parent / "copswatch"
COPSWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "copswatch"]


def copswatch_cmd() -> list[str]:
    return COPSWATCH


def release_venv(where: Path) -> Path:
    """This checkout installed the way users install it (not editable) in a throwaway venv.

    An editable install adds ~13 ms of import-hook set-up to every start, which users don't pay.
    """
    if not (where / "bin" / "copswatch").exists():
        print(f"  installing this checkout into {where} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(where)], check=True)
        subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:  # the current code, dependencies already there
        subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", str(ROOT)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return where


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("COPSWATCH")}
    env["HOME"] = str(home)  # urlwatch keeps nothing outside its own files; neither do we
    return env


# -- urlwatch ---------------------------------------------------------------------------------------


def urlwatch_venv(where: Path) -> Path:
    """A throwaway venv with urlwatch 2.29 from the package index; reused if already there."""
    python = where / "bin" / "python"
    if not (where / "bin" / "urlwatch").exists():
        print(f"  installing {URLWATCH} into {where} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(where)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", URLWATCH], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return where


class Urlwatch:
    """urlwatch run non-interactively: its own job list, config, hooks and cache files in ``home``."""

    def __init__(self, venv: Path, home: Path, url: str):
        self.venv, self.home = venv.resolve(), home
        home.mkdir(parents=True, exist_ok=True)
        (home / "urls.yaml").write_text(f"name: buildingtrust\nurl: {url}\n")
        self.cmd = [str(self.venv / "bin" / "urlwatch"), "--urls", str(home / "urls.yaml"),
                    "--config", str(home / "urlwatch.yaml"), "--hooks", str(home / "hooks.py"),
                    "--cache", str(home / "cache.db")]
        self.env = clean_env(home)

    def version(self) -> str:
        out = subprocess.run([*self.cmd[:1], "--version"], capture_output=True, text=True, env=self.env)
        return out.stdout.strip()

    def check(self) -> tuple[float, int, int]:
        return timed(self.cmd, env=self.env, cwd=str(self.home))


# -- 1 + 5. check latency and memory, as whole processes --------------------------------------------


def bench_latency(work: Path, page: bytes, rounds: int, urlwatch: Urlwatch | None, server: Server) -> dict:
    url = server.serve("/buildingtrust", page)
    db = work / "latency.db"
    env = clean_env(work)
    ours = [*copswatch_cmd(), "run", "--db", str(db), "--url", url]
    timed(ours, env=env)  # the first capture; every timed run after it is an unchanged night
    if urlwatch:
        urlwatch.check()  # writes its default config and first cache entry
    samples: dict[str, list] = {"copswatch": [], "urlwatch": []}
    rss: dict[str, list] = {"copswatch": [], "urlwatch": []}
    for _ in range(rounds):  # alternate, so load on the machine hits both alike
        elapsed, peak, _ = timed(ours, env=env)
        samples["copswatch"].append(elapsed)
        rss["copswatch"].append(peak)
        if urlwatch:
            elapsed, peak, _ = urlwatch.check()
            samples["urlwatch"].append(elapsed)
            rss["urlwatch"].append(peak)
    help_samples = [timed([*copswatch_cmd(), "--help"], env=env)[0] for _ in range(rounds)]
    bare = [timed([sys.executable, "-c", "pass"], env=env)[0] for _ in range(rounds)]
    with sqlite3.connect(db) as conn:
        outcomes = dict(conn.execute("SELECT outcome, COUNT(*) FROM checks GROUP BY outcome").fetchall())
    result = {
        "page_bytes": len(page),
        "rounds": rounds,
        "copswatch_run_ms": median_ms(samples["copswatch"]),
        "copswatch_run_all_ms": [round(s * 1000, 1) for s in samples["copswatch"]],
        "copswatch_help_ms": median_ms(help_samples),
        "bare_interpreter_ms": median_ms(bare),
        "copswatch_peak_rss_kb": int(statistics.median(rss["copswatch"])),
        "outcomes": outcomes,
    }
    if urlwatch:
        result |= {
            "urlwatch_run_ms": median_ms(samples["urlwatch"]),
            "urlwatch_run_all_ms": [round(s * 1000, 1) for s in samples["urlwatch"]],
            "ratio_copswatch_to_urlwatch": round(statistics.median(samples["copswatch"])
                                                 / statistics.median(samples["urlwatch"]), 3),
            "urlwatch_peak_rss_kb": int(statistics.median(rss["urlwatch"])),
        }
    return result


def bench_big_page(work: Path, page: bytes, server: Server, urlwatch_venv: Path | None,
                   size: int = 10_000_000) -> dict:
    """Peak RSS of `run` on a ~10 MB page: the first (parsed) capture and an unchanged night."""
    # A page bloated the way CMS pages get bloated: a huge inline JSON settings blob in a script.
    blob = json.dumps({"drupalSettings": ["x" * 70 + str(i) for i in range(size // 80)]}).encode()
    big = page.replace(b"</head>", b"<script>" + blob + b"</script>\n</head>", 1)
    url = server.serve("/big", big)
    db = work / "big.db"
    env = clean_env(work)
    cmd = [*copswatch_cmd(), "run", "--db", str(db), "--url", url]
    first = timed(cmd, env=env)
    unchanged = [timed(cmd, env=env) for _ in range(3)]
    theirs = {}
    if urlwatch_venv:
        urlwatch = Urlwatch(urlwatch_venv, work / "urlwatch-big", url)
        first_uw = urlwatch.check()
        again_uw = [urlwatch.check() for _ in range(3)]
        theirs = {"urlwatch_first_peak_rss_kb": first_uw[1],
                  "urlwatch_unchanged_peak_rss_kb": int(statistics.median(u[1] for u in again_uw))}
    return theirs | {
        "page_bytes": len(big),
        "first_capture_ms": round(first[0] * 1000, 1),
        "first_capture_peak_rss_kb": first[1],
        "unchanged_peak_rss_kb": int(statistics.median(u[1] for u in unchanged)),
        "unchanged_ms": median_ms([u[0] for u in unchanged]),
    }


# -- 1b. in-process stage times ---------------------------------------------------------------------


def bench_stages(work: Path, pages: list[bytes], server: Server, repeat: int) -> dict:
    from scraper import PARSER_VERSION
    from scraper.fetch import fetch, make_client
    from scraper.parse import parse
    from storage.archive import Archive
    from storage.diff import Listed, diff

    old_page, new_page = pages[0], pages[1]
    url = server.serve("/stages", new_page)
    times: dict[str, list] = {k: [] for k in ("fetch", "parse", "record_changed", "record_unchanged", "diff")}
    with make_client() as client:
        fetch(client, url)  # connection warm-up, as a long-lived scheduler would have it
        for _ in range(repeat):
            t = time.perf_counter()
            response = fetch(client, url)
            times["fetch"].append(time.perf_counter() - t)
    old = parse(old_page, url, "text/html; charset=utf-8")
    for _ in range(repeat):
        t = time.perf_counter()
        new = parse(new_page, url, "text/html; charset=utf-8")
        times["parse"].append(time.perf_counter() - t)
    old_fetch = type(response)(**{**response.__dict__, "body": old_page})
    for i in range(repeat):
        with Archive(work / f"stages-{i}.db") as archive:
            archive.record_page(TARGET, old_fetch, old, PARSER_VERSION)
            t = time.perf_counter()
            archive.record_page(TARGET, response, new, PARSER_VERSION)
            times["record_changed"].append(time.perf_counter() - t)
            t = time.perf_counter()
            archive.record_same_body(TARGET, response, PARSER_VERSION)
            times["record_unchanged"].append(time.perf_counter() - t)
    listed = [[Listed(p.key, p.title, p.url, p.description, p.position) for p in page.publications]
              for page in (old, new)]
    for _ in range(repeat):
        t = time.perf_counter()
        diff(listed[0], listed[1], old_text=old.text, new_text=new.text)
        times["diff"].append(time.perf_counter() - t)
    return {f"{k}_ms": median_ms(v) for k, v in times.items()} | {"page_bytes": len(new_page)}


# -- 3. parse cost ----------------------------------------------------------------------------------


def bench_parse(pages: list[bytes], repeat: int) -> dict:
    import lxml.html

    from scraper.parse import parse

    ours, floor = [], []
    for _ in range(repeat):  # alternate
        for page in pages:
            t = time.perf_counter()
            lxml.html.document_fromstring(page)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            parse(page, synth.URL, "text/html; charset=utf-8")
            ours.append(time.perf_counter() - t)
    return {
        "pages": len(pages),
        "page_bytes_median": int(statistics.median(len(p) for p in pages)),
        "lxml_floor_ms": median_ms(floor),
        "parse_ms": median_ms(ours),
        "ratio": round(statistics.median(ours) / statistics.median(floor), 2),
    }


# -- 2. archive growth ------------------------------------------------------------------------------


def bench_growth(work: Path, nights: int, extra: int) -> dict:
    """Build the synthetic decade, then measure the file's growth per unchanged and per changed night."""
    path = work / "decade.db"
    growth: dict[str, list] = {"content": [], "same": [], "chrome": [], "redesign": []}
    raw_of_content: list[int] = []
    last = {"size": 0}

    def on_night(night, result, archive):
        archive.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = os.path.getsize(path)
        if night.kind in growth:
            growth[night.kind].append(size - last["size"])
            if night.kind == "content":
                raw_of_content.append(len(night.body))
        last["size"] = size

    stats = synth.build_archive(path, nights=nights, on_night=on_night)
    # Unchanged nights after the decade: byte-identical bodies, measured over `extra` nights so
    # SQLite's 4 KB page granularity averages out.
    last_body = next(n.body for n in reversed(list(synth.simulate(nights))) if n.body is not None)
    from storage.archive import Archive

    before = synth.db_bytes(path)
    with Archive(path) as archive:
        archive.conn.execute("PRAGMA synchronous = OFF")
        start = synth.NIGHT0 + synth.timedelta(days=nights)
        for i in range(extra):
            synth.check(archive, last_body, start + synth.timedelta(days=i))
    after = synth.db_bytes(path)
    with sqlite3.connect(path) as conn:
        tables = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall())
        versions = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
        payload = {
            "versions": conn.execute("SELECT SUM(LENGTH(text) + LENGTH(intro) + LENGTH(summary)) FROM versions").fetchone()[0],
            "bodies": conn.execute("SELECT SUM(LENGTH(content)) FROM bodies").fetchone()[0],
            "bodies_raw": conn.execute("SELECT SUM(size) FROM bodies").fetchone()[0],
        }
    changed_cost = statistics.mean(growth["content"]) if growth["content"] else 0
    raw_mean = statistics.mean(raw_of_content) if raw_of_content else 0
    decade_bytes = stats["db_bytes"]
    return {
        "synth": {k: v for k, v in stats.items() if k not in ("path", "first_mismatches")},
        "decade_db_bytes": decade_bytes,
        "raw_html_every_night_bytes": stats["raw_html_bytes_every_night"],
        "ratio_raw_to_db": round(stats["raw_html_bytes_every_night"] / decade_bytes, 1),
        "unchanged_night_bytes": round((after - before) / extra, 1),
        "unchanged_nights_measured": extra,
        "unchanged_night_bytes_during_decade": round(statistics.mean(growth["same"]), 1) if growth["same"] else None,
        "changed_version_bytes": round(changed_cost),
        "changed_version_raw_html_bytes": round(raw_mean),
        "changed_version_fraction_of_raw": round(changed_cost / raw_mean, 3) if raw_mean else None,
        "chrome_change_night_bytes": round(statistics.mean(growth["chrome"])) if growth["chrome"] else None,
        "redesign_night_bytes": round(statistics.mean(growth["redesign"])) if growth["redesign"] else None,
        "versions": versions,
        "bytes_by_table": tables,
        "payload_bytes": payload,
        "path": str(path),
    }


# -- 4. queries -------------------------------------------------------------------------------------


def main_queries(archive) -> dict:
    """The history questions that exist on main, as (name → zero-argument callable)."""
    ids = [r[0] for r in archive.conn.execute("SELECT id FROM versions WHERE target = ? ORDER BY id", [TARGET])]
    middle = ids[len(ids) // 2]
    return {
        "show latest": lambda: archive.show(None, TARGET),
        "show (a version mid-decade)": lambda: archive.show(middle, TARGET),
        "diff last two": lambda: archive.diff_versions(None, None, TARGET),
        "diff first..last": lambda: archive.diff_versions(ids[0], ids[-1], TARGET),
        "history (every check)": lambda: archive.history(TARGET),
    }


def bench_queries(path: str, repeat: int) -> dict:
    """Each query on the decade archive, in-process, median of ``repeat`` after one warm-up.

    Hook: issue 4's ``bench/queries.py`` (show --at, new --since, publication timeline, search …),
    once merged, is measured alongside through its ``cases(archive)`` → [(name, cli args, call)].
    """
    from storage.archive import Archive

    results = {}
    with Archive(path, create=False) as archive:
        queries = main_queries(archive)
        try:
            from bench.queries import cases  # issue 4
        except ImportError:
            cases = None
        if cases is not None:
            queries |= {name: call for name, _, call in cases(archive)}
        for name, query in queries.items():
            query()
            samples = []
            for _ in range(repeat):
                t = time.perf_counter()
                query()
                samples.append(time.perf_counter() - t)
            results[name] = median_ms(samples)
    return results


# -- 6. urlwatch's cache for the same nights --------------------------------------------------------

REPLAY = r"""
import sys, time
from urlwatch.storage import CacheMiniDBStorage
cache_path, schedule, bodies = sys.argv[1:4]
storage = CacheMiniDBStorage(cache_path)
guid = "buildingtrust"
old, tries, saved = None, 0, 0
for line in open(schedule):
    when, digest = line.split()
    if digest == "-":  # a failed night: urlwatch saves the old data with tries + 1
        tries += 1
        storage.save(None, guid, old, float(when), tries, None)
        saved += 1
        continue
    data = open(f"{bodies}/{digest}", encoding="utf-8").read()
    history = storage.get_history_data(guid, 1)
    if old is not None and (data == old or data in history):
        if tries:
            tries = 0
            storage.save(None, guid, data, float(when), tries, None)
            saved += 1
        continue
    storage.save(None, guid, data, float(when), 0, None)
    old, tries, saved = data, 0, saved + 1
storage.close()
print(saved)
"""


def bench_urlwatch_archive(work: Path, venv: Path, nights: int, decade_db: str) -> dict:
    """Replay the same nights into urlwatch's own cache storage class (what its worker saves)."""
    bodies, schedule = work / "uw-bodies", work / "uw-schedule.txt"
    bodies.mkdir(exist_ok=True)
    with open(schedule, "w") as out:
        for night in synth.simulate(nights):
            digest = "-"
            if night.body is not None:
                digest = hashlib.sha256(night.body).hexdigest()
                if not (bodies / digest).exists():
                    (bodies / digest).write_bytes(night.body)
            out.write(f"{night.when.timestamp()} {digest}\n")
    cache = work / "uw-cache.db"
    cache.unlink(missing_ok=True)
    started = time.perf_counter()
    out = subprocess.run([str(venv / "bin" / "python"), "-c", REPLAY, str(cache), str(schedule), str(bodies)],
                         check=True, capture_output=True, text=True)
    saved = int(out.stdout.strip())
    uw_bytes = synth.db_bytes(cache)
    with sqlite3.connect(decade_db) as conn:
        versions = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
        bodies_n = conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0]
    ours = os.path.getsize(decade_db)
    return {
        "urlwatch_rows_saved": saved,
        "urlwatch_cache_bytes": uw_bytes,
        "urlwatch_bytes_per_saved_row": round(uw_bytes / saved),
        "copswatch_db_bytes": ours,
        "copswatch_versions": versions,
        "copswatch_bodies": bodies_n,
        "copswatch_bytes_per_version": round(ours / versions),
        "copswatch_bytes_per_distinct_body": round(ours / bodies_n),
        "replay_seconds": round(time.perf_counter() - started, 1),
    }


# -- the report -------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "sqlite": sqlite3.sqlite_version,
        "httpx": httpx.__version__,
    }


def line(label: str, value, bar: str = "") -> None:
    print(f"  {label:<52} {value}{'   [' + bar + ']' if bar else ''}", flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="copswatch benchmarks")
    parser.add_argument("--smoke", action="store_true", help="every section on small inputs, no urlwatch (< 30 s)")
    parser.add_argument("--nights", type=int, default=None, help="simulated nights [3650; smoke 120]")
    parser.add_argument("--rounds", type=int, default=None, help="alternating whole-process runs [21; smoke 3]")
    parser.add_argument("--no-urlwatch", action="store_true", help="skip the urlwatch comparisons")
    parser.add_argument("--urlwatch-venv", type=Path, default=ROOT / ".bench" / "urlwatch-venv")
    parser.add_argument("--copswatch-venv", type=Path, default=ROOT / ".bench" / "copswatch-venv",
                        help="where this checkout is installed (not editable) for the whole-process runs")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (archives) and print it")
    args = parser.parse_args(argv)
    nights = args.nights or (120 if args.smoke else 3650)
    rounds = args.rounds or (3 if args.smoke else 21)
    repeat = 3 if args.smoke else 25
    use_urlwatch = not (args.smoke or args.no_urlwatch)

    work = Path(tempfile.mkdtemp(prefix="copswatch-bench-"))
    results: dict = {"machine": machine(), "smoke": args.smoke, "nights": nights}
    server = Server()
    try:
        print("machine:", json.dumps(results["machine"]), flush=True)
        night_pages = [n.body for n in synth.simulate(min(nights, 400)) if n.kind in ("first", "content")]
        page = night_pages[-1]
        urlwatch = None
        if not args.smoke:
            COPSWATCH[:] = [str(release_venv(args.copswatch_venv) / "bin" / "copswatch")]
        results["copswatch_command"] = COPSWATCH[0]
        if use_urlwatch:
            venv = urlwatch_venv(args.urlwatch_venv)
            urlwatch = Urlwatch(venv, work / "urlwatch", server.serve("/buildingtrust", page))
            results["urlwatch_version"] = urlwatch.version()

        print("\n[1] check latency (whole process, unchanged ~40 KB page, no ETag)", flush=True)
        r = results["latency"] = bench_latency(work, page, rounds, urlwatch, server)
        line("copswatch run, median ms", r["copswatch_run_ms"])
        if urlwatch:
            line("urlwatch 2.29, median ms (alternating)", r["urlwatch_run_ms"])
            line("ratio copswatch / urlwatch", r["ratio_copswatch_to_urlwatch"],
                 f"≤ 0.5: {verdict(r['ratio_copswatch_to_urlwatch'] <= 0.5)}")
        else:
            line("urlwatch", "skipped")
        line("copswatch --help, median ms", r["copswatch_help_ms"], f"≤ 100: {verdict(r['copswatch_help_ms'] <= 100)}")
        line("bare interpreter (python -c pass), median ms", r["bare_interpreter_ms"])
        r = results["stages"] = bench_stages(work, night_pages[-2:], server, repeat)
        for stage in ("fetch", "parse", "record_changed", "record_unchanged", "diff"):
            line(f"in-process {stage}, median ms", r[f"{stage}_ms"])

        print("\n[2] archive growth (synthetic decade through run_check)", flush=True)
        g = results["growth"] = bench_growth(work, nights, 60 if args.smoke else 365)
        s = g["synth"]
        line("nights / versions / distinct bodies / publications",
             f"{nights} / {s['versions_rows']} / {s['bodies_rows']} / {s['publications_rows']}")
        line("parser mismatches against the generated truth", s["mismatches"])
        line("DB growth per unchanged night, bytes", g["unchanged_night_bytes"],
             f"≤ 200: {verdict(g['unchanged_night_bytes'] <= 200)}")
        line("DB growth per changed version, bytes", g["changed_version_bytes"])
        line("… as a fraction of its raw HTML", g["changed_version_fraction_of_raw"],
             f"≤ 0.25: {verdict((g['changed_version_fraction_of_raw'] or 0) <= 0.25)}")
        line("whole archive, bytes", g["decade_db_bytes"],
             f"≤ 5 MB for 3,650 nights: {verdict(g['decade_db_bytes'] <= 5_000_000)}" if nights >= 3650 else "")
        line("raw HTML of every night / archive", f"{g['ratio_raw_to_db']}×")

        print("\n[3] parse cost (our parse vs bare lxml.html of the same bytes)", flush=True)
        r = results["parse"] = bench_parse(night_pages[-5:], repeat)
        line("lxml.html.document_fromstring, median ms", r["lxml_floor_ms"])
        line("scraper.parse.parse, median ms", r["parse_ms"])
        line("ratio", r["ratio"], f"≤ 3: {verdict(r['ratio'] <= 3)}")

        print("\n[4] query latency on the decade archive (in-process, median)", flush=True)
        r = results["queries"] = bench_queries(g["path"], repeat)
        for name, ms in r.items():
            line(f"{name}, ms", ms, f"≤ 50: {verdict(ms <= 50)}")

        print("\n[5] memory (peak RSS of a whole `run` process)", flush=True)
        lat = results["latency"]
        line("copswatch run, unchanged 40 KB page, KB", lat["copswatch_peak_rss_kb"])
        if urlwatch:
            line("urlwatch 2.29, same page, KB", lat["urlwatch_peak_rss_kb"],
                 f"copswatch ≤ urlwatch: {verdict(lat['copswatch_peak_rss_kb'] <= lat['urlwatch_peak_rss_kb'])}")
        r = results["big_page"] = bench_big_page(work, page, server, urlwatch and urlwatch.venv,
                                                 1_000_000 if args.smoke else 10_000_000)
        line(f"copswatch run, {r['page_bytes']:,} B page, first capture, KB", r["first_capture_peak_rss_kb"])
        line(f"copswatch run, {r['page_bytes']:,} B page, unchanged, KB", r["unchanged_peak_rss_kb"])
        if "urlwatch_first_peak_rss_kb" in r:
            line(f"urlwatch 2.29, {r['page_bytes']:,} B page, first / unchanged, KB",
                 f"{r['urlwatch_first_peak_rss_kb']} / {r['urlwatch_unchanged_peak_rss_kb']}")

        print("\n[6] against urlwatch: archive of the same nights", flush=True)
        if urlwatch:
            r = results["urlwatch_archive"] = bench_urlwatch_archive(work, urlwatch.venv, nights, g["path"])
            line("urlwatch cache.db bytes / rows saved", f"{r['urlwatch_cache_bytes']} / {r['urlwatch_rows_saved']}")
            line("urlwatch bytes per saved snapshot", r["urlwatch_bytes_per_saved_row"])
            line("copswatch bytes / versions / distinct bodies",
                 f"{r['copswatch_db_bytes']} / {r['copswatch_versions']} / {r['copswatch_bodies']}")
            line("copswatch bytes per version (all checks, bodies, rows)", r["copswatch_bytes_per_version"],
                 f"< urlwatch per snapshot: {verdict(r['copswatch_bytes_per_version'] < r['urlwatch_bytes_per_saved_row'])}")
        else:
            line("urlwatch", "skipped")
    finally:
        server.close()
        if args.keep:
            print(f"\nwork directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print("\ndone", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
