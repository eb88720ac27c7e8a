"""Configuration: a TOML file, environment variables and command-line options, in that rising order.

The file is ``--config PATH``, else ``$COPSWATCH_CONFIG``, else ``./copswatch.toml`` when it exists;
with none, there is one target, ``buildingtrust``, watching the live page. Shape::

    db = "archive.db"                  # $COPSWATCH_DB, --db
    user_agent = "copswatch/0.1 (+…)"  # $COPSWATCH_USER_AGENT
    timeout = 30                       # seconds per read; $COPSWATCH_TIMEOUT
    connect_timeout = 10               # seconds; $COPSWATCH_CONNECT_TIMEOUT
    total_timeout = 300                # seconds for a whole fetch, retries included
    retries = 2                        # retries of a transient failure (0: none)
    backoff_base = 1                   # seconds; retry n waits a random 0…base·2^(n-1)
    backoff_cap = 60                   # seconds; the longest backoff wait
    retry_after_cap = 120              # seconds; a longer Retry-After gives up instead
    max_body_size = 10485760           # bytes (10 MiB), enforced while downloading
    max_redirects = 10
    ignore_robots = false              # true: fetch even where robots.txt disallows it
    jitter = 0                         # seconds of random delay per scheduled run; $COPSWATCH_JITTER
    misfire_grace_time = 3600          # seconds a late run may still start; $COPSWATCH_MISFIRE_GRACE_TIME
    removal_threshold = 0.5            # share of publications gone at once that is an anomaly;
                                       # $COPSWATCH_REMOVAL_THRESHOLD, run --removal-threshold
    operator_notify = ["ntfy://…"]     # anomalies and failing checks; $COPSWATCH_OPERATOR_NOTIFY
    failure_streak = 3                 # failed checks in a row before the operator hears; $COPSWATCH_FAILURE_STREAK
    alert_on = ["added", "reappeared", "removed"]  # event kinds that alert (also modified, moved)
    feed = "feed.xml"                  # Atom feed rewritten after each run; $COPSWATCH_FEED
    (every top-level key also reads $COPSWATCH_<KEY>, e.g. $COPSWATCH_IGNORE_ROBOTS=1)

    [targets.buildingtrust]
    url = "https://cops.usdoj.gov/buildingtrust"   # $COPSWATCH_URL
    schedule = "0 7 * * *"             # 5-field cron; $COPSWATCH_SCHEDULE
    timezone = "UTC"                   # IANA name; $COPSWATCH_TIMEZONE
    notify = ["mailto://…", "json://…"]            # $COPSWATCH_NOTIFY (space-separated)
    alert_on = ["added", "removed"]    # overrides the top-level alert_on
    selectors = { listing = "…" }      # CSS selectors overriding the parser's heuristics; $COPSWATCH_SELECTORS (JSON)
                                       # keys: listing, entry, title, description, spotlight

The per-target variables apply to the single target; with several targets configured they are an
error (set those in the file). Every error names the file, the key and the bad value, and is
reported as a usage error (exit 2).
"""

import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from copswatch.errors import CopswatchError

LIVE_URL = "https://cops.usdoj.gov/buildingtrust"
DEFAULT_TARGET = "buildingtrust"
DEFAULT_FILE = "copswatch.toml"


class ConfigError(CopswatchError):
    pass


@dataclass(frozen=True)
class Target:
    name: str
    url: str = LIVE_URL
    schedule: str = "0 7 * * *"
    timezone: str = "UTC"
    notify: tuple[str, ...] = field(default=(), repr=False)  # may hold secrets: never printed
    selectors: dict[str, str] = field(default_factory=dict)
    alert_on: tuple[str, ...] | None = None  # None: the top-level alert_on


@dataclass(frozen=True)
class Config:
    db: str = "archive.db"
    user_agent: str | None = None  # None: scraper.fetch.USER_AGENT
    timeout: float = 30.0
    connect_timeout: float = 10.0
    total_timeout: float = 300.0
    retries: int = 2
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    retry_after_cap: float = 120.0
    max_body_size: int = 10 * 1024 * 1024
    max_redirects: int = 10
    ignore_robots: bool = False
    jitter: float = 0.0
    misfire_grace_time: float = 3600.0
    removal_threshold: float = 0.5  # more than this share of publications gone at once is an anomaly
    operator_notify: tuple[str, ...] = field(default=(), repr=False)  # may hold secrets: never printed
    failure_streak: int = 3
    alert_on: tuple[str, ...] = ("added", "reappeared", "removed")
    feed: str | None = None
    targets: dict[str, Target] = field(default_factory=lambda: {DEFAULT_TARGET: Target(DEFAULT_TARGET)})
    source: str | None = None  # the file it was read from

    def target(self, name: str | None) -> Target:
        """The named target; with no name, the only one (an error when there are several)."""
        if name is None:
            if len(self.targets) == 1:
                return next(iter(self.targets.values()))
            raise ConfigError(f"several targets configured ({', '.join(self.targets)}): choose one with --target")
        if name not in self.targets:
            if self.source is None:  # no file: any name is a target like the default one
                return replace(next(iter(self.targets.values())), name=name)
            raise ConfigError(f"no target {name!r} in {self.source} (configured: {', '.join(self.targets)})")
        return self.targets[name]


_TOP_KEYS = {f.name for f in fields(Config)} - {"targets", "source"}
_TARGET_KEYS = {f.name for f in fields(Target)} - {"name"}
_ENV = {key: f"COPSWATCH_{key.upper()}" for key in sorted(_TOP_KEYS)}
ALERT_KINDS = ("added", "reappeared", "removed", "modified", "moved")
FETCH_SETTINGS = ("connect_timeout", "total_timeout", "retries", "backoff_base", "backoff_cap", "retry_after_cap",
                  "max_body_size", "max_redirects", "ignore_robots")
_SECONDS = ("timeout", "connect_timeout", "total_timeout", "backoff_base", "backoff_cap", "retry_after_cap")
SELECTOR_KEYS = ("listing", "entry", "title", "description", "spotlight")  # as scraper.parse.SELECTOR_KEYS
_TARGET_ENV = {"url": "COPSWATCH_URL", "schedule": "COPSWATCH_SCHEDULE", "timezone": "COPSWATCH_TIMEZONE",
               "notify": "COPSWATCH_NOTIFY", "selectors": "COPSWATCH_SELECTORS"}


def load(path: str | None = None, env: dict | None = None) -> Config:
    env = os.environ if env is None else env
    path = path or env.get("COPSWATCH_CONFIG") or (DEFAULT_FILE if Path(DEFAULT_FILE).is_file() else None)
    raw: dict = {}
    if path:
        import tomllib  # ~5 ms at start-up, paid only when there is a file to read

        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    where = path or "the environment"
    unknown = set(raw) - _TOP_KEYS - {"targets"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    values = {key: raw[key] for key in _TOP_KEYS if key in raw}
    values.update({key: env[var] for key, var in _ENV.items() if env.get(var)})
    config = Config(
        db=_string(values.get("db", "archive.db"), "db", where),
        user_agent=_string(values["user_agent"], "user_agent", where) if "user_agent" in values else None,
        **{key: _positive(values.get(key, getattr(Config, key)), key, where) for key in _SECONDS},
        retries=_whole(values.get("retries", Config.retries), "retries", where, minimum=0),
        max_body_size=_whole(values.get("max_body_size", Config.max_body_size), "max_body_size", where),
        max_redirects=_whole(values.get("max_redirects", Config.max_redirects), "max_redirects", where, minimum=0),
        ignore_robots=_boolean(values.get("ignore_robots", False), "ignore_robots", where),
        jitter=_positive(values.get("jitter", 0.0), "jitter", where, zero=True),
        misfire_grace_time=_positive(values.get("misfire_grace_time", 3600.0), "misfire_grace_time", where),
        removal_threshold=removal_threshold(values.get("removal_threshold", 0.5), where),
        operator_notify=_urls(values.get("operator_notify", []), "operator_notify", where),
        failure_streak=_count(values.get("failure_streak", 3), "failure_streak", where),
        alert_on=_kinds(values.get("alert_on", Config.alert_on), "alert_on", where),
        feed=_feed_path(values["feed"], where) if "feed" in values else None,
        source=path,
    )
    specs = raw.get("targets", {DEFAULT_TARGET: {}})
    if not isinstance(specs, dict) or not specs:
        raise ConfigError(f"{where}: 'targets' must be a table of [targets.NAME] sections")
    overrides = {key: env[var] for key, var in _TARGET_ENV.items() if env.get(var)}
    if overrides:
        if len(specs) > 1:
            var = _TARGET_ENV[next(iter(overrides))]
            raise ConfigError(f"${var} is set but {where} configures several targets: set it per target in the file")
        if "selectors" in overrides:
            try:
                overrides["selectors"] = json.loads(overrides["selectors"])
            except ValueError:
                raise ConfigError(f"$COPSWATCH_SELECTORS must be a JSON object, not {overrides['selectors']!r}") from None
        (name, spec), = specs.items()
        specs = {name: {**spec, **overrides} if isinstance(spec, dict) else spec}
        where = f"{where} with $COPSWATCH_{'/$COPSWATCH_'.join(k.upper() for k in overrides)}"
    return replace(config, targets={name: _target(name, spec, where) for name, spec in specs.items()})


def _target(name: str, spec, where: str) -> Target:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: targets.{name} must be a table")
    unknown = set(spec) - _TARGET_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key targets.{name}.{sorted(unknown)[0]}")
    key = f"targets.{name}"
    url = _string(spec.get("url", LIVE_URL), f"{key}.url", where)
    check_page_url(url, f"{where}: {key}.url")
    selectors = spec.get("selectors", {})
    if not isinstance(selectors, dict) or not all(isinstance(v, str) for v in selectors.values()):
        raise ConfigError(f"{where}: {key}.selectors must be a table of CSS selectors")
    _check_selectors(selectors, f"{key}.selectors", where)
    timezone = _string(spec.get("timezone", Target.timezone), f"{key}.timezone", where)
    schedule = _string(spec.get("schedule", Target.schedule), f"{key}.schedule", where)
    # The defaults are valid; checking them would import zoneinfo and APScheduler (with asyncio),
    # ~30 ms of every `copswatch run` (BENCHMARKS.md, check latency).
    if (schedule, timezone) != (Target.schedule, Target.timezone):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ConfigError(f"{where}: {key}.timezone {timezone!r} is not an IANA time zone (e.g. 'UTC', "
                              "'America/New_York')") from None
        try:
            cron_trigger(schedule, timezone)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}.schedule {schedule!r} is not a 5-field cron expression: {exc}") from None
    return Target(name=name, url=url, schedule=schedule, timezone=timezone,
                  notify=_urls(spec.get("notify", []), f"{key}.notify", where), selectors=dict(selectors),
                  alert_on=_kinds(spec["alert_on"], f"{key}.alert_on", where) if "alert_on" in spec else None)


def _urls(value, key: str, where: str) -> tuple[str, ...]:
    """A list of apprise URLs, or one string of whitespace-separated URLs (as in the environment)."""
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ConfigError(f"{where}: {key} must be a list of apprise URLs")
    return tuple(value)


def _kinds(value, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, (list, tuple)) or any(k not in ALERT_KINDS for k in value):
        raise ConfigError(f"{where}: {key} must be a list of event kinds from {', '.join(ALERT_KINDS)}, not {value!r}")
    return tuple(value)


def _count(value, key: str, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, (bool, float)) or number < 1:
        raise ConfigError(f"{where}: {key} must be a whole number of at least 1, not {value!r}")
    return number


_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def cron_trigger(expr: str, timezone: str, jitter: float | None = None):
    """An APScheduler CronTrigger for a standard crontab expression (minute hour day month weekday).

    APScheduler 3 numbers weekdays from Monday = 0 (its issue 286); crontab from Sunday = 0 (and 7).
    The weekday field is therefore rewritten as day names before APScheduler reads it. And as in
    cron (crontab(5)), when both day-of-month and weekday are restricted, either one matching is enough.
    """
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger

    fields_ = expr.split()
    if len(fields_) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields_)}")
    minute, hour, day, month, weekday = fields_
    zone, jitter = ZoneInfo(timezone), jitter or None
    if day.startswith("*") or weekday.startswith("*"):
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday),
                           timezone=zone, jitter=jitter)
    # Both restricted: cron runs on days matching EITHER field (APScheduler alone requires both).
    from apscheduler.triggers.combining import OrTrigger

    return OrTrigger([
        CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=zone),
        CronTrigger(minute=minute, hour=hour, month=month, day_of_week=_weekdays(weekday), timezone=zone),
    ], jitter=jitter)


def _weekdays(field_: str) -> str:
    """crontab weekday field → comma-separated day names ('*' stays '*')."""
    if field_ == "*":
        return field_
    days: set[int] = set()
    for item in field_.lower().split(","):
        span, _, step = item.partition("/")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _day(low)
            last = _day(high) if high else (6 if step else first)
            if high and last == 0 < first:
                last = 7  # "5-7" / "5-0" reach Sunday at the end of the week
        if not step.isdigit() and step or step == "0":
            raise ValueError(f"bad step {step!r} in weekday field {field_!r}")
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, int(step or 1)))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in _DAYS and len(token) == 3:
        return _DAYS.index(token)
    raise ValueError(f"bad weekday {token!r}")


def check_page_url(url: str, where: str) -> None:
    """A page to watch: an http(s) URL with a host and no user:password@ (it would be stored in every
    check row, so it is refused without being echoed)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise ConfigError(f"{where} is not a valid URL") from None
    if parts.username or parts.password:
        raise ConfigError(f"{where} contains credentials, which would be stored in the archive; "
                          "copswatch watches public pages only")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where} must be an http(s) URL, not {url!r}")


def _feed_path(value, where: str) -> str:
    """Written after every run: a file in an existing directory, checked before any check runs."""
    path = _string(value, "feed", where)
    if os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise ConfigError(f"{where}: feed must be a file in an existing directory, not {path!r}")
    return path


def _string(value, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value


def _positive(value, key: str, where: str, *, zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}") from None
    if number < 0 or (number == 0 and not zero) or number != number:
        raise ConfigError(f"{where}: {key} must be {'zero or ' if zero else ''}positive, not {value!r}")
    return number


def _whole(value, key: str, where: str, *, minimum: int = 1) -> int:
    try:
        number = int(value) if not isinstance(value, (bool, float)) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise ConfigError(f"{where}: {key} must be a whole number of at least {minimum}, not {value!r}")
    return number


def _boolean(value, key: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")


def removal_threshold(value, where: str) -> float:
    """A share in (0, 1]: more than it of the current publications gone at once is an anomaly."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: removal_threshold must be a number, not {value!r}") from None
    if not 0 < number <= 1:
        raise ConfigError(f"{where}: removal_threshold must be more than 0 and at most 1, not {value!r}")
    return number


def _check_selectors(selectors: dict, key: str, where: str) -> None:
    if not selectors:
        return  # cssselect (~5 ms to import) is only needed for selectors
    from cssselect import GenericTranslator, SelectorError

    for name, selector in selectors.items():
        if name not in SELECTOR_KEYS:
            raise ConfigError(f"{where}: unknown key {key}.{name} (known: {', '.join(SELECTOR_KEYS)})")
        try:
            GenericTranslator().css_to_xpath(selector)
        except SelectorError as exc:
            raise ConfigError(f"{where}: {key}.{name} is not a valid CSS selector ({selector!r}: {exc})") from None


_SECRET_PARAM = re.compile(r"pass|pwd|token|secret|key|auth|sig|cred", re.IGNORECASE)
_TOKEN = re.compile(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-:]{16,}")


def mask(url: str) -> str:
    """A notification URL safe to print: its password, secret query values and token-like path parts
    (apprise puts bot and webhook tokens there, e.g. ``tgram://TOKEN/CHAT``) become ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        host = _masked_part(host)
        netloc = f"{_masked_part(user)}:***@{host}" if colon else f"{_masked_part(user)}@{host}"
    else:
        netloc = _masked_part(netloc)
    path = "/".join(_masked_part(segment) for segment in parts.path.split("/"))
    query = "&".join(
        f"{name}={'***' if _SECRET_PARAM.search(name) and value else _masked_part(value)}" if eq else name
        for name, eq, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _masked_part(text: str) -> str:
    return "***" if _TOKEN.fullmatch(text) else text


def public(config: Config, names: list[str]) -> dict:
    """The effective configuration as `copswatch config --json` prints it, secrets masked."""
    from scraper.fetch import USER_AGENT

    return {
        "source": config.source,
        "db": os.path.abspath(config.db),
        "user_agent": config.user_agent or USER_AGENT,
        "timeout": config.timeout,
        "jitter": config.jitter,
        "misfire_grace_time": config.misfire_grace_time,
        **{key: getattr(config, key) for key in FETCH_SETTINGS},
        "removal_threshold": config.removal_threshold,
        "operator_notify": [mask(n) for n in config.operator_notify],
        "failure_streak": config.failure_streak,
        "alert_on": list(config.alert_on),
        "feed": config.feed,
        "targets": {
            name: {
                "url": t.url, "schedule": t.schedule, "timezone": t.timezone,
                "notify": [mask(n) for n in t.notify], "selectors": t.selectors,
                "alert_on": list(t.alert_on if t.alert_on is not None else config.alert_on),
            }
            for name in names
            for t in [config.target(name)]
        },
    }
