"""Configuration: a TOML file, environment variables and command-line options, in that rising order.

The file is ``--config PATH``, else ``$COPSWATCH_CONFIG``, else ``./copswatch.toml`` when it exists;
with none, there is one target, ``buildingtrust``, watching the live page. Shape::

    db = "archive.db"                  # $COPSWATCH_DB, --db
    user_agent = "copswatch/0.1 (+…)"  # $COPSWATCH_USER_AGENT
    timeout = 30                       # seconds; $COPSWATCH_TIMEOUT

    [targets.buildingtrust]
    url = "https://cops.usdoj.gov/buildingtrust"
    schedule = "0 7 * * *"             # 5-field cron
    timezone = "UTC"
    notify = ["mailto://…", "json://…"]
    selectors = { listing = "…" }      # CSS selectors overriding the parser's heuristics

Every error names the file, the key and the bad value, and is reported as a usage error (exit 2).
"""

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

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
    notify: tuple[str, ...] = ()
    selectors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    db: str = "archive.db"
    user_agent: str | None = None  # None: scraper.fetch.USER_AGENT
    timeout: float = 30.0
    targets: dict[str, Target] = field(default_factory=lambda: {DEFAULT_TARGET: Target(DEFAULT_TARGET)})
    source: str | None = None  # the file it was read from

    def target(self, name: str | None) -> Target:
        """The named target; with no name, the only one (an error when there are several)."""
        if name is None:
            if len(self.targets) == 1:
                return next(iter(self.targets.values()))
            raise ConfigError(f"several targets configured ({', '.join(self.targets)}): choose one with --target")
        if name not in self.targets:
            if self.source is None:  # no file: any name is a target watching the default page
                return Target(name)
            raise ConfigError(f"no target {name!r} in {self.source} (configured: {', '.join(self.targets)})")
        return self.targets[name]


_TOP_KEYS = {f.name for f in fields(Config)} - {"targets", "source"}
_TARGET_KEYS = {f.name for f in fields(Target)} - {"name"}
_ENV = {"db": "COPSWATCH_DB", "user_agent": "COPSWATCH_USER_AGENT", "timeout": "COPSWATCH_TIMEOUT"}


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
        timeout=_positive(values.get("timeout", 30.0), "timeout", where),
        source=path,
    )
    if "targets" in raw:
        if not isinstance(raw["targets"], dict) or not raw["targets"]:
            raise ConfigError(f"{where}: 'targets' must be a table of [targets.NAME] sections")
        config = replace(config, targets={name: _target(name, spec, where) for name, spec in raw["targets"].items()})
    return config


def _target(name: str, spec, where: str) -> Target:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: targets.{name} must be a table")
    unknown = set(spec) - _TARGET_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key targets.{name}.{sorted(unknown)[0]}")
    key = f"targets.{name}"
    url = _string(spec.get("url", LIVE_URL), f"{key}.url", where)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: {key}.url must be an http(s) URL, not {url!r}")
    notify = spec.get("notify", [])
    if isinstance(notify, str):
        notify = notify.split()
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        raise ConfigError(f"{where}: {key}.notify must be a list of apprise URLs")
    selectors = spec.get("selectors", {})
    if not isinstance(selectors, dict) or not all(isinstance(v, str) for v in selectors.values()):
        raise ConfigError(f"{where}: {key}.selectors must be a table of CSS selectors")
    return Target(
        name=name,
        url=url,
        schedule=_string(spec.get("schedule", Target.schedule), f"{key}.schedule", where),
        timezone=_string(spec.get("timezone", Target.timezone), f"{key}.timezone", where),
        notify=tuple(notify),
        selectors=dict(selectors),
    )


def _string(value, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value


def _positive(value, key: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{where}: {key} must be positive, not {value!r}")
    return number
