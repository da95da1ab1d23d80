"""Defaults from a config file: ``[tool.audit]`` in ./pyproject.toml, or ./audit.toml, or the
file given with ``--config FILE``.

Keys are option names (``lang``, ``fail_on``, ``mapping``, ``prepared_by`` ...; ``fail-on``
works too). A key at the top applies to every command that has that option; a table named
after a command (``[tool.audit.run]``, ``[tool.audit.rules.list]``) to that command only.
They become click's ``default_map``, so every option of every command takes a default from
the file without the command knowing, and a flag on the command line always wins. Relative
paths resolve against the config file's folder. An unknown key stops the command (exit 2).

# NOTE: the export is hostile: a config file inside DATA_DIR (or found there because the
# command runs from inside DATA_DIR) is never applied, only reported.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.errors import UsageError
from audit.suggest import did_you_mean

# NOTE: options that choose the config itself or only print something are no defaults.
NOT_CONFIGURABLE = {"config", "help", "version", "install_completion", "show_completion"}


@dataclass
class Config:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent


def find(explicit: str | None, cwd: Path | None = None) -> Config | None:
    """The config the command runs with: ``--config FILE``, else ./audit.toml, else
    ``[tool.audit]`` of ./pyproject.toml, else none."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(f"--config {explicit}: no such file; give an audit.toml or a "
                             "pyproject.toml with a [tool.audit] table")
        data = _read(path)
        if path.name == "pyproject.toml" or "tool" in data:
            data = data.get("tool", {}).get("audit", {})
        return Config(path.resolve(), _table(data, path))
    cwd = cwd or Path.cwd()
    own = cwd / "audit.toml"
    if own.is_file():
        return Config(own.resolve(), _table(_read(own), own))
    project = cwd / "pyproject.toml"
    if project.is_file():
        data = _read(project).get("tool", {}).get("audit")
        if data is not None:
            return Config(project.resolve(), _table(data, project))
    return None


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML ({err}); fix the file or pass another with "
                         "--config") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot be read ({err.strerror})") from None


def _table(data: Any, path: Path) -> dict:
    if not isinstance(data, dict):
        raise UsageError(f"{path}: [tool.audit] must be a table of option = value")
    return data


def check_keys(config: Config, root) -> None:
    """Every key names an option of some command, every table a command: else exit 2."""
    _check(config, root, config.values, [])


def _check(config: Config, group, table: dict, where: list[str]) -> None:
    subcommands = getattr(group, "commands", {})
    everywhere = options_under(group)
    for key, value in table.items():
        if key in subcommands and isinstance(value, dict):
            _check(config, subcommands[key], value, [*where, key])
            continue
        if _norm(key) in everywhere and not isinstance(value, dict):
            continue
        tables = (["tool", "audit"] if config.path.name == "pyproject.toml" else []) + where
        place = "[" + ".".join(tables) + "]" if tables else "top level:"
        known = sorted(everywhere) + sorted(subcommands)
        raise UsageError(f"{config.path}: {place} {key!r} is no option"
                         + ("" if subcommands else f" of `audit {' '.join(where)}`")
                         + f"{did_you_mean(_norm(key), known)}; the keys are the options' "
                           "names, e.g. lang, fail_on, mapping, prepared_by")


def options_under(command) -> set[str]:
    """Names of the options (not arguments) of a command, or of every command in a group."""
    names = set()
    for sub in getattr(command, "commands", {}).values():
        names |= options_under(sub)
    return names | set(_options(command))


def _options(command) -> dict[str, Any]:
    """A command's options by every name a config key may use: the parameter's name and its
    long flag (``formats`` and ``format`` for ``--format``, ``as_json`` and ``json``)."""
    found: dict[str, Any] = {}
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") != "option" or param.name in NOT_CONFIGURABLE:
            continue
        found[param.name] = param
        for opt in param.opts:
            if opt.startswith("--"):
                found.setdefault(_norm(opt[2:]), param)
    return found


def defaults_for(config: Config, path: list[str], command) -> dict[str, Any]:
    """The default_map of one command: top-level keys, then its group's table, then its own;
    the keys it has no option for are left out (they belong to other commands)."""
    options = _options(command)
    merged: dict[str, Any] = {}
    table: Any = config.values
    for depth in range(len(path) + 1):
        for key, value in table.items():
            if not isinstance(value, dict) and _norm(key) in options:
                param = options[_norm(key)]
                merged[param.name] = _resolve(value, param, config.folder)
        if depth < len(path):
            table = table.get(path[depth], {})
            if not isinstance(table, dict):
                break
    return merged


def inside(config: Config, data_dir: Path) -> bool:
    """Whether the config file lies in the export folder (or below it)."""
    try:
        return config.path.resolve().is_relative_to(Path(data_dir).resolve())
    except OSError:
        return False


def _norm(key: str) -> str:
    return key.replace("-", "_")


def _resolve(value: Any, param, folder: Path) -> Any:
    """A path option's relative value is relative to the config file's folder."""
    if not _is_path(param):
        return value
    if isinstance(value, str):
        return str(folder / Path(value).expanduser())
    if isinstance(value, list):
        return [str(folder / Path(v).expanduser()) if isinstance(v, str) else v for v in value]
    return value


def _is_path(param) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and getattr(descriptor, "is_path", False):
        return True
    return type(getattr(param, "type", None)).__name__ == "Path"
