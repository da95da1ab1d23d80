"""The stress model's parameters: the price-impact law and the platform's call and liquidation lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from audit.errors import InputError

FINRA_CALL_LINE = 1 / (1 - 0.25)  # collateral ratio at which E/A = 25% (FINRA 4210(c))


class StressError(InputError, ValueError):
    """An export the stress test cannot run on; the message says what is missing."""



# --- the impact model and the platform's lines -----------------------------------------------

# Stressed daily volatility by asset class, the sigma of the square-root law. Index and ETF:
# the S&P 500's realised daily volatility from 15 Sep to 31 Dec 2008 in the arch data (4.2%;
# 5.0% in October). The others are toolkit assumptions; see docs/stress-model.md.
STRESSED_DAILY_VOL = {"equity": 0.05, "etf": 0.04, "index": 0.04, "bond": 0.01, "gold": 0.02,
                      "fx": 0.01, "commodity": 0.03, "crypto": 0.08, "other": 0.05}


@dataclass(frozen=True)
class ImpactModel:
    """Price impact of forced sales: psi = Y * sigma * (Q / ADV) ** 0.5 (or ** 1 when linear),
    capped at ``max_impact``; Q is the cumulative units sold in the spiral.

    Sales are priced at the *average* of the impact curve over the units they add, i.e. by
    integrating it: selling from Q1 to Q2 falls on average (G(Q2) - G(Q1)) / (Q2 - Q1) with
    G(Q) = integral of psi from 0 to Q. One seller under the square-root law bears 2/3 of the
    final fall (Caccioli, Bouchaud & Farmer 2012), and proceeds do not depend on how the same
    sellers are split into rounds. A mid-point rule is exact only for linear impact below the
    cap; for the capped square-root law it made a bigger crash give a smaller loss."""

    kind: Literal["sqrt", "linear"] = "sqrt"
    coefficient: float = 1.0  # Y of the square-root law, of order 1 in the empirical studies
    daily_vol: dict[str, float] = field(default_factory=lambda: dict(STRESSED_DAILY_VOL))
    default_vol: float = 0.05  # classes missing from daily_vol
    max_impact: float = 0.9  # price floor: fire sales alone stop at 10% of the shocked price
    max_rounds: int = 100  # guard; a run that hits it is flagged as not converged

    def __post_init__(self) -> None:
        if self.kind not in ("sqrt", "linear"):
            raise StressError(f"impact kind {self.kind!r}: use sqrt or linear")
        if not 0 < self.max_impact <= 1 or self.coefficient < 0 or self.max_rounds < 1:
            raise StressError("impact model: need 0 < max_impact <= 1, Y >= 0 and "
                              "max_rounds >= 1")

    def vol_for(self, asset_class: str) -> float:
        return self.daily_vol.get(asset_class, self.default_vol)

    def impact(self, sold: np.ndarray, adv: np.ndarray, vol: np.ndarray) -> np.ndarray:
        """Fractional price fall of each instrument after ``sold`` units in total."""
        liquid = adv > 0
        days = np.divide(sold, adv, out=np.zeros_like(sold), where=liquid)
        shape = np.sqrt(days) if self.kind == "sqrt" else days
        psi = np.minimum(self.coefficient * vol * shape, self.max_impact)
        # NOTE: no volume means no market: any forced sale goes at the floor price.
        return np.where(liquid, psi, np.where(sold > 0, self.max_impact, 0.0))

    def cost(self, sold: np.ndarray, adv: np.ndarray, vol: np.ndarray) -> np.ndarray:
        """G(Q): the integral of the price fall over the first ``sold`` units (units x fraction).

        Closed form: below the saturation point q* (where the law reaches the cap) the integral
        of c * (q / V) ** e is c * V * (Q / V) ** (e + 1) / (e + 1); beyond it each unit adds the
        cap. No volume means no market: every unit sells at the cap."""
        sold = np.asarray(sold, dtype=np.float64)
        liquid = adv > 0
        c = self.coefficient * vol
        e = 0.5 if self.kind == "sqrt" else 1.0
        v = np.where(liquid, adv, 1.0)
        cap = self.max_impact
        # q* / V = (cap / c) ** (1 / e); with c = 0 the law never saturates
        with np.errstate(divide="ignore"):
            sat = np.where(c > 0, (cap / np.where(c > 0, c, 1.0)) ** (1 / e) * v, np.inf)
        below = np.minimum(sold, sat)
        integral = c * v * (below / v) ** (e + 1) / (e + 1) + cap * np.maximum(sold - sat, 0.0)
        return np.where(liquid, integral, cap * sold)

    def average_fall(self, before: np.ndarray, after: np.ndarray, adv: np.ndarray,
                     vol: np.ndarray) -> np.ndarray:
        """Average fraction by which the units sold from ``before`` to ``after`` (cumulative)
        execute below the pre-impact price; where nothing is added, the fall at ``before``."""
        added = after - before
        exact = np.divide(self.cost(after, adv, vol) - self.cost(before, adv, vol), added,
                          out=np.zeros_like(added), where=added > 0)
        return np.where(added > 0, exact, self.impact(before, adv, vol))

    def label(self) -> str:
        """One line naming the model and its parameters, carried by every stress-table row."""
        law = "square-root" if self.kind == "sqrt" else "linear"
        return (f"this toolkit's deleveraging spiral: {law} price impact, Y = {self.coefficient:g}, "
                f"sales at the integrated average of the impact curve, price floor "
                f"{1 - self.max_impact:.0%} of the shocked price")

    def describe(self) -> dict[str, Any]:
        law = "Y*sigma*sqrt(Q/ADV)" if self.kind == "sqrt" else "Y*sigma*(Q/ADV)"
        return {"impact": self.kind, "formula": f"price falls by min({law}, max_impact)",
                "coefficient": self.coefficient, "daily_vol": dict(sorted(self.daily_vol.items())),
                "default_vol": self.default_vol,
                "execution": "each round's sales at the average of the impact curve over the "
                             "units they add: (G(Q2) - G(Q1)) / (Q2 - Q1), G the integral of "
                             "the price fall",
                "max_impact": self.max_impact, "max_rounds": self.max_rounds,
                "liquidation": "full close-out of accounts at or below the liquidation line",
                "no_adv": "instruments without ADV sell at the floor price (max_impact)",
                "sources": ["Almgren, Thum, Hauptmann & Li (2005); Toth et al. (2011): "
                            "square-root impact", "Cont & Schaanning (2017), Norges Bank WP "
                            "2/2017: fire-sale rounds, price floor",
                            "Caccioli, Bouchaud & Farmer (2012), arXiv:1204.0922: "
                            "impact-adjusted valuation, the integral of the impact curve",
                            "Greenwood, Landier & Thesmar (2015), JFE 115(3): linear impact"]}


@dataclass(frozen=True)
class Lines:
    """Collateral-ratio lines (assets / debt) at which accounts are called and closed out."""

    call: float
    liquidation: float
    call_source: str
    liquidation_source: str
    inclusive: bool = False  # a line is crossed at the line (True) or only strictly below it

    def crossed(self, assets: np.ndarray, line: float, debt: np.ndarray) -> np.ndarray:
        """Accounts whose collateral ratio has crossed ``line`` (the same boundary the call and
        liquidation rules use)."""
        return assets <= line * debt if self.inclusive else assets < line * debt


def platform_lines(disclosure: dict[str, Any] | None, inclusive: bool = False) -> Lines:
    """The disclosed call and liquidation lines, else the documented defaults; ``inclusive`` is
    the profile's boundary, which the disclosure's ``line_inclusive`` overrides."""
    d = disclosure or {}
    if d.get("line_inclusive") is not None:
        inclusive = bool(d["line_inclusive"])
    if d.get("margin_call_ratio"):
        call, call_source = float(d["margin_call_ratio"]), "disclosure.margin_call_ratio"
    elif d.get("maintenance_margin") is not None and 0 <= d["maintenance_margin"] < 1:
        # equity / assets < m  <=>  assets / debt < 1 / (1 - m)
        call, call_source = 1 / (1 - float(d["maintenance_margin"])), \
            "1 / (1 - disclosure.maintenance_margin)"
    else:
        call, call_source = FINRA_CALL_LINE, "default: FINRA 25% maintenance, 1 / (1 - 0.25)"
    if d.get("liquidation_ratio"):
        liq, liq_source = float(d["liquidation_ratio"]), "disclosure.liquidation_ratio"
    else:
        # NOTE: no disclosed liquidation line: assume a call is not met in a crisis and the
        # account is closed at the call line (no grace period), the conservative reading.
        liq, liq_source = call, "default: the call line (no liquidation line disclosed)"
    return Lines(call=call, liquidation=liq, call_source=call_source, liquidation_source=liq_source,
                 inclusive=inclusive)


