"""`copswatch schedule`: an APScheduler 3 scheduler that checks each target on its cron schedule.

Reads from configuration: ``db``, ``timeout``, ``user_agent``, ``jitter``, ``misfire_grace_time``, the
alert settings (``operator_notify``, ``failure_streak``, ``alert_on``, ``feed``) and each target's ``url``,
``schedule``, ``timezone`` and ``notify``.

- One job per target, on a standard 5-field cron expression in the target's time zone, with jitter,
  a misfire grace time and coalescing (missed runs within the grace time become one run).
- Runs go through one worker thread and ``max_instances=1``, and every run holds the archive lock
  (schedules/lock.py) that `copswatch run` takes too: two checks of one archive never overlap.
- No job store: the archive is the state. On start, a target whose last successful check is older
  than its most recent scheduled time (a run was missed: the machine was off, the daemon stopped,
  the check failed) is checked at once.
- SIGTERM/SIGINT: no new run starts; a run in progress gets ``grace`` seconds to finish. A run
  still in progress after that (a stalled fetch) is abandoned: the process exits without committing
  it, so nothing half-done reaches the archive (each check's writes are one SQLite transaction).
- One log line per run on stderr, ``key=value`` pairs without a timestamp (journald adds one),
  prefixed with a syslog priority (``<6>`` info, ``<4>`` warning, ``<3>`` error) when stderr is the
  journal (``$JOURNAL_STREAM`` set by systemd).
"""

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from copswatch.config import Config, Target, cron_trigger
from copswatch.errors import CopswatchError
from schedules.lock import ArchiveBusy, archive_lock
from storage.archive import Archive, CheckResult

BUSY_RETRY = 1.0  # seconds between attempts to take an archive lock another process holds


def check_target(config: Config, target: Target) -> CheckResult:
    """One check of one target under the archive lock, then its alerts: the daemon's only call into the
    pipeline. A channel that did not take its alert is logged (masked); the alert stays pending."""
    from notify.channels import from_config
    from schedules.job import check_and_notify
    from scraper.fetch import USER_AGENT, make_client

    channels, operator_channels = from_config(config, target)
    with archive_lock(config.db), Archive(config.db) as archive, \
            make_client(user_agent=config.user_agent or USER_AGENT, timeout=config.timeout) as client:
        result, attempts = check_and_notify(
            archive, client, target.name, target.url, channels=channels, operator_channels=operator_channels,
            failure_streak=config.failure_streak, feed=config.feed,
        )
    for a in attempts:
        if a.error:
            stderr_log(f"target={target.name} alert=pending channel={a.channel} deliveries={len(a.delivery_ids)} "
                       f"error={json.dumps(a.error, ensure_ascii=False)}", "warning")
    return result


def catch_up_due(trigger, last_success: datetime | None, now: datetime) -> bool:
    """True when a scheduled time has passed since the last successful check (or there was none).

    ``trigger`` must have no jitter. A check started at a scheduled time belongs to that time, so the
    next scheduled time is sought from one second after it (cron's resolution is a minute).
    """
    if last_success is None:
        return True
    return trigger.get_next_fire_time(None, last_success + timedelta(seconds=1)) <= now


def log_line(target: str, outcome: str, duration: float, **fields) -> str:
    """``target=… outcome=… key=value … duration=1.23s``; values with spaces or quotes are JSON strings."""
    parts = [f"target={target}", f"outcome={outcome}"]
    for key, value in fields.items():
        if value is not None:
            text = str(value)
            plain = text and text.isprintable() and not any(c in text for c in ' "=')
            parts.append(f"{key}={text if plain else json.dumps(text, ensure_ascii=False)}")
    parts.append(f"duration={duration:.2f}s")
    return " ".join(parts)


def stderr_log(line: str, level: str = "info") -> None:
    prefix = {"info": "<6>", "warning": "<4>", "error": "<3>"}[level] if os.environ.get("JOURNAL_STREAM") else ""
    print(prefix + line, file=sys.stderr, flush=True)


class Daemon:
    def __init__(
        self,
        config: Config,
        targets: list[Target],
        *,
        log: Callable[..., None] = stderr_log,
        check: Callable[[Config, Target], CheckResult] = check_target,
    ):
        self.config = config
        self.targets = targets
        self.log = log
        self.check = check
        self.stop = threading.Event()
        self.running = threading.Lock()  # held for the whole of a run
        self.current: str | None = None

    def scheduler(self, now: datetime) -> BackgroundScheduler:
        """A scheduler (not started) with one job per target; targets due a catch-up run at ``now``."""
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": max(1, round(self.config.misfire_grace_time))},
        )
        for target in self.targets:
            trigger = cron_trigger(target.schedule, target.timezone, self.config.jitter)
            due = catch_up_due(cron_trigger(target.schedule, target.timezone), self._last_success(target), now)
            scheduler.add_job(self.run_once, trigger, args=[target], id=target.name, name=target.name,
                              next_run_time=now if due else trigger.get_next_fire_time(None, now))
        return scheduler

    def _last_success(self, target: Target) -> datetime | None:
        from storage.status import last_success_at

        if not os.path.exists(self.config.db):
            return None
        with Archive(self.config.db, create=False) as archive:
            return last_success_at(archive, target.name)

    def run_once(self, target: Target) -> None:
        """One scheduled run: wait for the archive lock, check, log one line. Never raises."""
        with self.running:
            if self.stop.is_set():  # queued behind a run that finished after SIGTERM
                return
            self.current = target.name
            started = time.monotonic()
            try:
                self._check_when_free(target, started)
            finally:
                self.current = None

    def _check_when_free(self, target: Target, started: float) -> None:
        while True:
            try:
                result = self.check(self.config, target)
                break
            except ArchiveBusy as exc:
                # `copswatch run` from cron holds it: wait for it, within the misfire grace time.
                if self.stop.wait(BUSY_RETRY) or time.monotonic() - started > self.config.misfire_grace_time:
                    self.log(log_line(target.name, "skipped", time.monotonic() - started, reason=str(exc)), "warning")
                    return
            except (CopswatchError, OSError) as exc:
                self.log(log_line(target.name, "error", time.monotonic() - started, reason=str(exc)), "error")
                return
            except Exception as exc:  # a bug must not kill the scheduler; it is logged and the next run happens
                self.log(log_line(target.name, "error", time.monotonic() - started,
                                  reason=f"{type(exc).__name__}: {exc}"), "error")
                return
        failed = result.outcome in ("failed", "anomaly")
        self.log(
            log_line(target.name, result.outcome, time.monotonic() - started,
                     changes=result.changes.publication_changes, version=result.version_id, check=result.check_id,
                     summary=result.changes.summary() if result.outcome in ("first", "changed") else None,
                     reason=result.reason),
            "warning" if failed else "info",
        )

    def serve(self, grace: float, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Run until SIGTERM or SIGINT, then stop as the module docstring says."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())
        started = now()
        scheduler = self.scheduler(started)
        for job in scheduler.get_jobs():
            catch_up = " (catch-up: a scheduled run was missed)" if job.next_run_time == started else ""
            self.log(f"scheduled target={job.id} next_run={job.next_run_time.isoformat()}{catch_up}")
        scheduler.start()
        self.stop.wait()
        scheduler.shutdown(wait=False)
        if self.running.acquire(timeout=grace):
            self.running.release()
            self.log("stopped")
            return
        self.log(f"stopped: abandoned the run of target={self.current} in progress; its uncommitted writes are rolled back",
                 "warning")
        os._exit(0)  # the worker thread is stuck in network I/O and cannot be joined
