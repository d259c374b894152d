"""The configuration file: its typed model, where it lives, and loading it from YAML."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from router.classify.rules import Rule

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


class ConfigError(Exception):
    """The config file cannot be used; the message names the file and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)


class Provider(_Strict):
    type: ProviderType
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    keep_warm: str | None = None
    context_window: PositiveInt | None = None
    max_output_tokens: PositiveInt | None = None
    connect_timeout: float = Field(default=5.0, gt=0)
    # Seconds without a byte from the provider; generous because a local model may be loading.
    read_timeout: float = Field(default=600.0, gt=0)

    @property
    def is_local(self) -> bool:
        return self.type in LOCAL_TYPES

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
        if self.local is not None:
            provider = self.providers.get(self.local)
            if provider is None or not provider.is_local:
                raise ValueError(f"local: '{self.local}' is not a local provider")
        for name, app in self.apps.items():
            if app.cloud not in self.providers:
                raise ValueError(f"apps.{name}.cloud: unknown provider '{app.cloud}'")
            check_route(self, app.default, where=f"apps.{name}.default")
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            check_route(self, rule.route, where=f"rules.{index}.route")
            if rule.name in seen:
                raise ValueError(f"rules.{index}.name: two rules are named '{rule.name}'")
            seen.add(rule.name)
        return self

    def provider(self, name: str) -> Provider:
        return self.providers[name]


def check_route(config: Config, route: str, *, where: str) -> None:
    """Raise ValueError unless ``route`` is local, cloud, a provider or provider/model."""
    if route in ROUTE_KEYWORDS:
        return
    provider = route.split("/", 1)[0]
    if provider not in config.providers:
        known = ", ".join(sorted(config.providers))
        raise ValueError(f"{where}: unknown route '{route}' (providers: {known})")


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
    """Create ``path`` from the shipped default on first use, so no file must be written first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped_rules_dir() / "default.yaml", path)
    return path


def load_config(path: Path) -> Config:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(raw, source=str(path))


def parse_config(raw: object, *, source: str) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        reasons = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"{source}: {reasons}") from exc


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
