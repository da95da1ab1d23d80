"""`audit leverage`: the leverage arithmetic of 《杠杆的双重效应》 for one position, or as a 1x-10x table."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from audit.cli.common import EXIT_ERROR, fail


def leverage(
    position_value: Optional[str] = typer.Option(None, "--position-value", "-v",
                                                 help="Market value V of the positions."),
    equity: Optional[str] = typer.Option(None, "--equity", "-e",
                                         help="The client's own equity E (with --table: the "
                                         "equity each row is sized on, default 100000)."),
    maintenance: str = typer.Option("0.25", "--maintenance", "-m",
                                    help="Maintenance margin m as a fraction or percent "
                                    "(0.25 or 25%; FINRA's 25% by default)."),
    table: bool = typer.Option(False, "--table", help="Print the figures for leverage 1x to "
                               "10x: the room each level leaves before a call and a wipe-out."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: money and percentages as "
                                 "exact decimal strings."),
) -> None:
    """Leverage V/E, equity ratio, debt, the value at which a margin call triggers (D/(1-m)),
    the fall to that line and the fall that wipes out the equity (1/L).

    Exit code: 0 figures printed, 2 bad input.
    """
    from audit.leverage import LeverageError, display_figures, leverage_figures, leverage_table

    try:
        if table:
            if position_value is not None:
                fail("--table sizes each row from --equity; drop --position-value")
            rows = leverage_table(maintenance, equity=equity or "100000")
        else:
            if position_value is None or equity is None:
                fail("give both --position-value and --equity (or --table for 1x to 10x)")
            rows = [leverage_figures(position_value, equity, maintenance)]
    except LeverageError as err:
        fail(str(err), EXIT_ERROR)
    shown = [display_figures(r) for r in rows]
    if as_json:
        typer.echo(json.dumps(shown if table else shown[0], indent=2, ensure_ascii=False))
    elif table:
        _print_table(shown)
    else:
        _print_one(shown[0])


def _print_one(f: dict[str, Any]) -> None:
    call_drop = "in call at open" if f["in_call_at_open"] else f"{f['call_drop_pct']}%"
    lines = [
        ("position value V", f["position_value"]),
        ("equity E", f["equity"]),
        ("debt D = V - E", f["debt"]),
        ("leverage L = V / E", f"{f['leverage']}x"),
        ("equity ratio E / V", f"{f['equity_ratio_pct']}%"),
        ("maintenance margin m", f"{f['maintenance_pct']}%"),
        ("margin call at V* = D / (1 - m)", f["call_value"]),
        ("fall to the call line", call_drop),
        ("fall that wipes out equity (1 / L)", f"{f['wipeout_drop_pct']}%"),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        typer.echo(f"{label:<{width}}  {value}")
    if f["note"]:
        typer.echo(f"note: {f['note']}")


def _print_table(rows: list[dict[str, Any]]) -> None:
    m = rows[0]["maintenance_pct"]
    typer.echo(f"Leverage and the room it leaves (equity {rows[0]['equity']}, maintenance {m}%)")
    header = ("leverage", "equity ratio", "debt", "call at", "fall to call", "fall to wipe-out")
    body = [
        (f"{r['leverage']}x", f"{r['equity_ratio_pct']}%", r["debt"], r["call_value"],
         "in call at open" if r["in_call_at_open"] else f"{r['call_drop_pct']}%",
         f"{r['wipeout_drop_pct']}%")
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in (header, *body)) for i in range(len(header))]
    for row in (header, *body):
        typer.echo("  ".join(str(cell).rjust(w) for cell, w in zip(row, widths)))
