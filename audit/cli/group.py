"""What every command gets without knowing it: -q / -v, --lang, --config, -h, the config
file's defaults, did-you-mean on commands. A command added with ``app.command(...)`` (or a
sub-app added with ``app.add_typer``) gets them all when the app is built."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from audit.cli import config as cfg
from audit.cli import console
from audit.errors import UsageError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def _verbosity(ctx, param, value):
    if value:
        level = console.QUIET if param.name == "quiet" else console.VERBOSE
        other = "verbose" if param.name == "quiet" else "quiet"
        if ctx.meta.get(f"audit.{other}") and not ctx.resilient_parsing:
            raise UsageError(console.text_of("quiet_and_verbose"))
        ctx.meta[f"audit.{param.name}"] = True
        console.set_verbosity(level)
    return value


def _lang(ctx, param, value):
    # NOTE: one line and exit 2 through cli.main, as every bad option of the commands.
    if value is not None and value not in ("en", "zh") and not ctx.resilient_parsing:
        raise UsageError(console.text_of("bad_lang", value=value))
    console.set_lang(value)
    return value


def _common(
    quiet: bool = typer.Option(False, "--quiet", "-q", callback=_verbosity,
                               help="Only errors and the final summary."),
    verbose: bool = typer.Option(False, "--verbose", "-v", callback=_verbosity,
                                 help="Details too: stage timings, where defaults came from."),
    lang: Optional[str] = typer.Option(None, "--lang", callback=_lang,
                                       help="Language of the messages: en or zh."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config file of defaults "
                                          "(default: ./audit.toml, or [tool.audit] in "
                                          "./pyproject.toml); flags given here win."),
) -> None:
    """Template of the options every command gets (see ``augment``)."""


def _common_params():
    holder = typer.Typer(add_completion=False)
    holder.command()(_common)
    return {p.name: p for p in typer.main.get_command(holder).params}


def augment(command) -> None:
    """Give ``command`` (and every command of a group) the common options it lacks. An option
    the command already has (``run --quiet``, ``run --lang``) keeps its help and gets the
    common behaviour; a short flag already taken (``leverage -v``) is left to the command."""
    for sub in getattr(command, "commands", {}).values():
        if type(sub) is TyperGroup:
            sub.__class__ = AuditGroup  # NOTE: a sub-app added without cls= gets it too
        if getattr(sub, "commands", None) is not None:
            sub.context_settings = {**CONTEXT, **(sub.context_settings or {})}
        augment(sub)
    if getattr(command, "commands", None) is not None or getattr(command, "_audit_common", False):
        return
    command._audit_common = True
    command.context_settings = {**CONTEXT, **(command.context_settings or {})}
    taken = {opt for p in command.params for opt in getattr(p, "opts", [])}
    own = {p.name: p for p in command.params}
    for name, template in _common_params().items():
        if name in own:
            _chain(own[name], template.callback)
            continue
        param = template
        param.expose_value = False
        param.opts = [o for o in param.opts if o not in taken]
        param.secondary_opts = [o for o in param.secondary_opts if o not in taken]
        command.params.append(param)


def _chain(param, callback) -> None:
    first = param.callback

    def both(ctx, p, value):
        value = first(ctx, p, value) if first is not None else value
        callback(ctx, p, value)
        return value

    param.callback = both


def _scan(args: list[str], name: str) -> str | None:
    """The value of option ``name`` among raw arguments (``--config F`` / ``--config=F``)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


class AuditGroup(TyperGroup):
    """The `audit` group: sets each command's defaults from the config file before the
    command parses its own arguments."""

    def __init__(self, *args, **kwargs):
        kwargs["context_settings"] = {**CONTEXT, **(kwargs.get("context_settings") or {})}
        super().__init__(*args, **kwargs)
        augment(self)

    def main(self, *args, **kwargs):
        console.reset()  # NOTE: one process may run several commands (tests, a notebook)
        console.honour_no_color()
        return super().main(*args, **kwargs)

    def resolve_command(self, ctx, args):
        console.set_lang(_scan(args, "--lang") or console.lang())
        name, command, rest = super().resolve_command(ctx, args)
        if command is None or getattr(command, "commands", None) is not None \
                or ctx.resilient_parsing or {"-h", "--help"} & set(rest):
            return name, command, rest
        defaults = _defaults(ctx, name, command, rest)
        if defaults:
            ctx.default_map = {**(ctx.default_map or {}), name: defaults}
        return name, command, rest


def _defaults(ctx, name: str, command, rest: list[str]) -> dict:
    config = cfg.find(_scan(rest, "--config"))
    if config is None:
        return {}
    root = ctx.find_root().command
    cfg.check_keys(config, root)
    path, outer = [name], ctx
    while outer.parent is not None:  # NOTE: the root's info_name is the program, not a command
        path.insert(0, outer.info_name)
        outer = outer.parent
    data_dir = _data_dir(ctx, name, command, rest)
    if data_dir is not None and cfg.inside(config, data_dir):
        console.warn(console.text_of("config_in_export", path=config.path,
                                     data_dir=data_dir.resolve()))
        return {}
    verbose = next((p for p in command.params if p.name == "verbose"), None)
    if verbose is not None and set(verbose.opts) & set(rest):
        console.set_verbosity(console.VERBOSE)  # NOTE: before the command parses -v itself
    defaults = cfg.defaults_for(config, path, command)
    if "lang" in defaults and _scan(rest, "--lang") is None:
        console.set_lang(defaults["lang"])
    console.detail(console.text_of("config_used", path=config.path))
    return defaults


def _data_dir(ctx, name: str, command, rest: list[str]) -> Path | None:
    """DATA_DIR of the command line, read by a dry parse that reports nothing."""
    if not any(p.name == "data_dir" for p in command.params):
        return None
    scratch = command.make_context(name, list(rest), parent=ctx, resilient_parsing=True,
                                   default_map={})
    value = scratch.params.get("data_dir")
    return Path(value) if value else None
