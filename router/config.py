"""The configuration file: its typed model, where it lives, and loading it from YAML."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from router.classify.rules import Rule
from router.config_errors import ConfigError as ConfigError
from router.config_errors import Problem, read_yaml, suggestion, validation_problems

ProviderType = Literal["ollama", "openai-compatible", "anthropic", "openai", "gemini"]
LOCAL_TYPES: frozenset[str] = frozenset({"ollama", "openai-compatible"})
DEFAULT_URLS: dict[str, str] = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "ollama": "http://127.0.0.1:11434",
    "openai-compatible": "http://127.0.0.1:1234/v1",
}
ROUTE_KEYWORDS = ("local", "cloud")
# A Go duration as Ollama reads keep_alive ("30m", "1h30m", "90s"), or whole seconds; negative
# keeps the model loaded for good.
_KEEP_WARM = re.compile(r"-?(\d+|(\d+(\.\d+)?(h|m|s|ms))+)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _check_keep_warm(value: str) -> str:
    if not _KEEP_WARM.fullmatch(value):
        raise PydanticCustomError(
            "keep_warm",
            "'{value}' is no duration: write e.g. 30m, 1h, 90s, or -1 for good",
            {"value": value},
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    # A larger body is refused (413) before it is read whole. Anthropic's own limit is 32 MB; a
    # long Claude Code conversation is about 1 MB, images make it more.
    max_body_mb: float = Field(default=32, gt=0)
    # Proxy requests served at once (a stream counts until it ends); up to max_queued more wait
    # at most queue_wait_s for a place, the rest are answered "overloaded" (529/503) at once.
    max_concurrent: PositiveInt = 256
    max_queued: int = Field(default=256, ge=0)
    queue_wait_s: float = Field(default=10.0, ge=0)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


class Provider(_Strict):
    type: ProviderType
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    # How long a local model stays loaded after use: Ollama's keep_alive ("30m", "1h", "-1").
    keep_warm: Annotated[str, AfterValidator(_check_keep_warm)] | None = None
    # False: cligate sends a local server nothing of its own (no discovery, no warm-up); models
    # then load on their first request, and only context_window tells their window.
    warm_up: bool = True
    context_window: PositiveInt | None = None
    max_output_tokens: PositiveInt | None = None
    connect_timeout: float = Field(default=5.0, gt=0)
    # Seconds without a byte from the provider; generous because a local model may be loading.
    read_timeout: float = Field(default=600.0, gt=0)

    @property
    def is_local(self) -> bool:
        return self.type in LOCAL_TYPES

    @property
    def keep_warm_seconds(self) -> float | None:
        """``keep_warm`` in seconds (negative: for good), None when it is not set."""
        if self.keep_warm is None:
            return None
        sign = -1.0 if self.keep_warm.startswith("-") else 1.0
        text = self.keep_warm.lstrip("-")
        if text.isdigit():
            return sign * float(text)
        parts = _DURATION_PART.findall(text)
        return sign * sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)

    @property
    def base_url(self) -> str:
        return (self.url or DEFAULT_URLS[self.type]).rstrip("/")


class AppConfig(_Strict):
    default: str = "cloud"
    cloud: str


class LogConfig(_Strict):
    dir: Path | None = None
    prompt_chars: int = Field(default=2000, ge=0)
    max_bytes: PositiveInt = 20_000_000
    backups: int = Field(default=3, ge=0)


class ModelPrice(_Strict):
    """Cloud prices in US dollars per million tokens, for what local routing saves."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    local_routing: bool = True
    providers: dict[str, Provider]
    local: str | None = None
    apps: dict[str, AppConfig] = {}
    rules: list[Rule] = []
    log: LogConfig = LogConfig()
    # Model-name globs to prices; these extend and override the table shipped with cligate.
    prices: dict[str, ModelPrice] = {}

    @model_validator(mode="after")
    def _references_resolve(self) -> Config:
        # Raised as one ValidationError with a location per mistake, so a file with several
        # bad references lists them all, each at its own line.
        problems = [*self._local_problems(), *self._app_problems(), *self._rule_problems()]
        if problems:
            raise ValidationError.from_exception_data("Config", problems)
        return self

    def _local_problems(self) -> list[InitErrorDetails]:
        if self.local is None:
            return []
        provider = self.providers.get(self.local)
        if provider is None:
            reason = f"unknown provider '{self.local}'{suggestion(self.local, self.providers)}"
        elif not provider.is_local:
            reason = f"'{self.local}' is not a local provider (its type is {provider.type})"
        else:
            return []
        return [_reference(("local",), self.local, reason)]

    def _app_problems(self) -> list[InitErrorDetails]:
        problems = []
        for name, app in self.apps.items():
            if app.cloud not in self.providers:
                unknown = f"unknown provider '{app.cloud}'{suggestion(app.cloud, self.providers)}"
                problems.append(_reference(("apps", name, "cloud"), app.cloud, unknown))
            if reason := route_problem(self, app.default):
                problems.append(_reference(("apps", name, "default"), app.default, reason))
        return problems

    def _rule_problems(self) -> list[InitErrorDetails]:
        problems = []
        first: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if reason := route_problem(self, rule.route):
                problems.append(_reference(("rules", index, "route"), rule.route, reason))
            if rule.name in first:
                reason = f"two rules are named '{rule.name}' (also rules.{first[rule.name]})"
                problems.append(_reference(("rules", index, "name"), rule.name, reason))
            first.setdefault(rule.name, index)
        return problems

    def provider(self, name: str) -> Provider:
        return self.providers[name]


def _reference(loc: tuple[int | str, ...], value: str, reason: str) -> InitErrorDetails:
    return {"type": PydanticCustomError("config_reference", reason), "loc": loc, "input": value}


def route_problem(config: Config, route: str) -> str | None:
    """Why ``route`` names nothing in ``config``, or None if it is local, cloud, P or P/MODEL."""
    if route in ROUTE_KEYWORDS:
        return None
    provider = route.split("/", 1)[0]
    if provider in config.providers:
        return None
    hint = suggestion(provider, config.providers) or f" (providers: {', '.join(config.providers)})"
    return f"unknown route '{route}'{hint}"


def check_route(config: Config, route: str, *, where: str) -> None:
    """Raise ValueError unless ``route`` is local, cloud, a provider or provider/model."""
    if reason := route_problem(config, route):
        raise ValueError(f"{where}: {reason}")


def default_config_path() -> Path:
    if env := os.environ.get("CLIGATE_CONFIG"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cligate" / "config.yaml"


def shipped_rules_dir() -> Path:
    """The shipped ``rules/`` folder: packaged in a wheel, or beside the package in a checkout."""
    packaged = Path(__file__).parent / "_shipped_rules"
    return packaged if packaged.is_dir() else Path(__file__).parents[1] / "rules"


def ensure_config_file(path: Path) -> Path:
    """Create ``path`` from the shipped default on first use, so no file must be written first.

    Created readable by the user only (its folder too, if new): it names where keys come from
    and may hold provider URLs with credentials in them.
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = (shipped_rules_dir() / "default.yaml").read_bytes()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            return path  # another cligate created it first
        with os.fdopen(fd, "wb") as file:
            file.write(text)
    return path


def load_config(path: Path) -> Config:
    """The config in ``path``; ConfigError lists every mistake as FILE:LINE:COLUMN: where: why."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Problem(None, None, source, "", f"cannot read: {exc.strerror}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(None, None, source, "", "not UTF-8 text")]) from exc
    return parse_config_text(text, source=source)


def parse_config_text(text: str, *, source: str) -> Config:
    """The config in YAML ``text``; ConfigError names each mistake at its line, as for a file."""
    document = read_yaml(text, source)
    return _validate(document.data, source, document.root, document.duplicates)


def parse_config(raw: object, *, source: str) -> Config:
    """The config in an already parsed value; with no YAML, mistakes are named without lines."""
    return _validate(raw, source, None, [])


def _validate(raw: object, source: str, root: yaml.Node | None, problems: list[Problem]) -> Config:
    if not isinstance(raw, dict):
        line, column = (
            (root.start_mark.line + 1, root.start_mark.column + 1) if root else (None, None)
        )
        reason = "the config is empty" if raw is None else "the top level must be a mapping"
        raise ConfigError([Problem(line, column, source, "", reason)])
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [*problems, *validation_problems(exc, Config, source, root)]
    if problems:
        # Without positions pydantic's order (the model's field order) is the best there is.
        if root is not None:
            problems.sort(key=lambda problem: (problem.line or 0, problem.column or 0))
        raise ConfigError(problems)
    return config
