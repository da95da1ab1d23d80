"""Plants and traps of the KYC pack (rules/kyc): client identification, risk disclosure,
screening, suitability and reviews. Each works on the client records of the accounts cast for
it (cast.py), while the clients table is built (clients.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from audit.sample.identity import USCC_ALPHABET
from audit.sample.market import date_of, day_number
from audit.sample.plants.registry import CLIENT_IDS, CLIENTS, client_key, per_financing, plant, trap

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.clients import Kyc


@plant("KYC-001", at=CLIENTS)
def plant_kyc_001(b: Builder, kyc: Kyc) -> None:
    """Financed with the identity pending, rejected, or verified four days after the financing."""
    for s in b.by_role["kyc001"]:
        a, v = s.account, s.variant % 4
        if v in (0, 3):
            kyc.status[a], kyc.verified[a], note = 1, -1, "client identity still pending verification"
            covered = None
        elif v == 1:
            kyc.verified[a], note = kyc.first[a] + 4, "identity verified four days after the financing"
            covered = int(kyc.verified[a])
        else:
            kyc.status[a], kyc.verified[a], note = 2, -1, "identity verification rejected"
            covered = None
        per_financing(b, "KYC-001", a, covered, note)


@trap("KYC-001", "KYC-002", at=CLIENTS)
def trap_kyc_same_day(b: Builder, kyc: Kyc) -> None:
    """Verified, and the risk disclosure signed, on the day of the first financing."""
    for s in b.by_role["kyc_same_day"]:
        a = s.account
        kyc.verified[a] = kyc.signed[a] = kyc.first[a]


@plant("KYC-002", at=CLIENTS)
def plant_kyc_002(b: Builder, kyc: Kyc) -> None:
    """The risk disclosure never signed, or signed after the first financing."""
    for s in b.by_role["kyc002"]:
        a = s.account
        if s.variant % 2 == 0:
            kyc.signed[a], note = -1, "risk disclosure never signed"
        else:
            kyc.signed[a], note = kyc.first[a] + 3, "risk disclosure signed after the financing"
        per_financing(b, "KYC-002", a, None if kyc.signed[a] < 0 else int(kyc.signed[a]), note)


@plant("KYC-003", at=CLIENTS)
def plant_kyc_003(b: Builder, kyc: Kyc) -> None:
    """A screening hit never resolved, resolved after the financing, or confirmed as a true
    match and financed all the same."""
    for s in b.by_role["kyc003"]:
        a, v = s.account, s.variant % 3
        kyc.hit[a], kyc.rating[a] = True, 2
        kyc.last_review[a] = kyc.as_of - 30
        kyc.screened[a] = min(kyc.screened[a], kyc.first[a] - 3)
        if v == 0:
            kyc.resolved[a], note, covered = -1, "screening hit never resolved, client financed", None
        elif v == 1:
            kyc.resolved[a], note = kyc.first[a] + 6, "screening hit resolved after the financing"
            covered = int(kyc.resolved[a])
        else:
            kyc.resolved[a], kyc.confirmed[a] = kyc.first[a] - 1, True
            note, covered = "screening hit confirmed as a true match, financed all the same", None
        per_financing(b, "KYC-003", a, covered, note)


@trap("KYC-003", at=CLIENTS)
def trap_kyc_003_resolved(b: Builder, kyc: Kyc) -> None:
    """Screening hits resolved on the day of the first financing or before it, and one resolved
    for a client never financed."""
    for s in b.by_role["kyc_hit_ok"]:
        a = s.account
        kyc.hit[a] = True
        kyc.rating[a] = 2
        kyc.resolved[a] = kyc.first[a] if s.variant == 0 else kyc.first[a] - 12
        kyc.last_review[a] = kyc.as_of - 40
    for s in b.by_role["kyc_hit_nofin"]:
        a = s.account
        kyc.hit[a], kyc.rating[a], kyc.resolved[a], kyc.last_review[a] = (
            True, 2, kyc.screened[a] + 9, kyc.as_of - 60)


@plant("KYC-004", at=CLIENT_IDS)
def plant_kyc_004(b: Builder, id_number: list[str]) -> None:
    """A wrong check character on a resident ID, a unified social credit code or an LEI."""
    for s in b.by_role["kyc004"]:
        a = s.account
        good = id_number[a]
        if b.id_type[a] == 3:  # LEI: the check digits are the last two
            bad = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"
            note = "LEI check digits wrong"
        elif b.id_type[a] == 2:
            alphabet = USCC_ALPHABET
            bad = good[:-1] + alphabet[(alphabet.index(good[-1]) + 1) % len(alphabet)]
            note = "unified social credit code check character wrong"
        else:
            digits = "0123456789X"
            bad = good[:-1] + digits[(digits.index(good[-1]) + 3) % 11]
            note = "resident ID check digit wrong"
        id_number[a] = bad
        b.violation("KYC-004", "clients", client_key(a), note)


@plant("KYC-005", at=CLIENTS)
def plant_kyc_005(b: Builder, kyc: Kyc) -> None:
    """An R4 product sold to a C3 client, an R5 one to a C4 client (the product is set on the
    contract here too: the financings table is built after the simulation). The assessment is
    dated before the financing, so the grade is the one of its day."""
    for s in b.by_role["kyc005"]:
        j = int(b.first_fin_row[s.account])
        kyc.tolerance[s.account] = 3 if s.variant % 2 else 2  # C4 (with an R5 product) / C3
        kyc.assessed[s.account] = min(kyc.assessed[s.account], kyc.first[s.account])
        if s.variant % 2:
            b.fin_product[j] = 5
            note = "R5 product sold to a C4 client"
        else:
            b.fin_product[j] = 4
            note = "R4 product sold to a C3 client"
        b.violation("KYC-005", "financings", {"financing_id": b.fin_id[j]}, note)


@plant("KYC-006", at=CLIENTS)
def plant_kyc_006(b: Builder, kyc: Kyc) -> None:
    """Risk tolerance assessed after the financing, expired when it was opened (25 months old),
    or never assessed (a financing sold without any assessment breaks KYC-005 too, where the
    product has a risk level)."""
    for s in b.by_role["kyc006"]:
        a, v = s.account, s.variant % 3
        if v == 0:
            kyc.assessed[a], note = kyc.first[a] + 5, "risk tolerance assessed after the financing"
            per_financing(b, "KYC-006", a, int(kyc.assessed[a]), note)
            # A professional investor is not graded C1-C5: only a retail client's sale breaks KYC-005.
            for fid, day in _products(b, a, with_day=True):
                if day < kyc.assessed[a] and not b.pro[a]:
                    b.violation("KYC-005", "financings", {"financing_id": fid},
                                "product sold before any risk-tolerance assessment")
        elif v == 1:
            if kyc.onboarded[a] > kyc.first[a] - 800:
                kyc.reonboard(a, kyc.first[a] - 800)
            kyc.assessed[a] = kyc.first[a] - 770
            note = "risk tolerance assessment 25 months old when the financing was opened (valid 24)"
            per_financing(b, "KYC-006", a, None, note)
        else:
            kyc.assessed[a], note = -1, "risk tolerance never assessed"
            per_financing(b, "KYC-006", a, None, note)
            for fid, _ in _products(b, a, with_day=True):
                if not b.pro[a]:
                    b.violation("KYC-005", "financings", {"financing_id": fid},
                                "product sold without any risk-tolerance assessment")


@trap("KYC-006", at=CLIENTS)
def trap_kyc_006_730_days(b: Builder, kyc: Kyc) -> None:
    """A risk tolerance assessment exactly 24 calendar months old when the financing opened."""
    for s in b.by_role["tr_assess730"]:
        a = s.account
        day = day_number(_add_months(date_of(kyc.first[a]), -24))
        if kyc.onboarded[a] > day - 10:
            kyc.reonboard(a, day - 10)
        kyc.assessed[a] = day


@plant("KYC-007", at=CLIENTS)
def plant_kyc_007(b: Builder, kyc: Kyc) -> None:
    """A high-risk client last reviewed 400 days ago; a medium-risk one never reviewed in 1,200."""
    as_of = kyc.as_of
    for s in b.by_role["kyc007"]:
        a = s.account
        if s.variant % 2 == 0:
            kyc.rating[a], kyc.last_review[a] = 2, as_of - 400
            note = "high-risk client last reviewed 400 days ago (yearly)"
        else:
            kyc.reonboard(a, as_of - 1202)
            kyc.assessed[a] = max(kyc.assessed[a], as_of - 600)
            kyc.rating[a], kyc.last_review[a] = 1, -1
            note = "medium-risk client never reviewed since verification 1,200 days ago"
        b.violation("KYC-007", "clients", client_key(a), note)


@trap("KYC-007", at=CLIENTS)
def trap_kyc_007_one_year(b: Builder, kyc: Kyc) -> None:
    """A high-risk client reviewed exactly twelve calendar months ago."""
    as_of = kyc.as_of
    for s in b.by_role["tr_review_exact"]:
        a = s.account
        if kyc.onboarded[a] > as_of - 400:
            kyc.reonboard(a, as_of - 400)
        kyc.rating[a] = 2
        kyc.last_review[a] = day_number(_add_months(date_of(as_of), -12))


@plant("KYC-008", at=CLIENTS)
def plant_kyc_008(b: Builder, kyc: Kyc) -> None:
    """Financed but never screened, or screened two days after the first financing."""
    for s in b.by_role["kyc008"]:
        a = s.account
        if s.variant % 2 == 0:
            kyc.not_screened[a], kyc.screened[a], note = True, -1, "never screened, financed"
        else:
            kyc.screened[a], note = kyc.first[a] + 2, "screened two days after the financing"
        per_financing(b, "KYC-008", a, None if kyc.screened[a] < 0 else int(kyc.screened[a]), note)


@trap("KYC-008", at=CLIENTS)
def trap_kyc_008_same_day(b: Builder, kyc: Kyc) -> None:
    """Screened on the day of the first financing."""
    for s in b.by_role["tr_screen_sameday"]:
        kyc.screened[s.account] = kyc.first[s.account]


@plant("KYC-009", at=CLIENTS)
def plant_kyc_009(b: Builder, kyc: Kyc) -> None:
    """A politically exposed client never approved by senior management, or approved late."""
    for s in b.by_role["kyc009"]:
        a = s.account
        kyc.pep[a], kyc.rating[a], kyc.last_review[a] = True, 2, kyc.as_of - 50
        if s.variant % 2 == 0:
            kyc.pep_ok[a], note = -1, "politically exposed client never approved by senior management"
        else:
            kyc.pep_ok[a], note = kyc.first[a] + 7, "politically exposed client approved after the financing"
        per_financing(b, "KYC-009", a, None if kyc.pep_ok[a] < 0 else int(kyc.pep_ok[a]), note)


@trap("KYC-009", at=CLIENTS)
def trap_kyc_009_same_day(b: Builder, kyc: Kyc) -> None:
    """A politically exposed client approved on the day of the first financing."""
    for s in b.by_role["tr_pep_sameday"]:
        a = s.account
        kyc.pep[a], kyc.rating[a], kyc.last_review[a], kyc.pep_ok[a] = True, 2, kyc.as_of - 45, kyc.first[a]


@plant("KYC-010", at=CLIENTS)
def plant_kyc_010(b: Builder, kyc: Kyc) -> None:
    """Profile cn: a margin account opened to a client whose first trade anywhere was four
    months before (six months of trading required)."""
    for s in b.by_role["kyc010"]:
        a = s.account
        _individual(b, a)
        kyc.reonboard(a, kyc.first[a] - 150)
        kyc.credit_opened[a] = kyc.first[a] - 5
        kyc.first_trade[a] = day_number(_add_months(date_of(kyc.credit_opened[a]), -4))
        kyc.rating[a], kyc.last_review[a] = 0, kyc.as_of - 20
        b.violation("KYC-010", "clients", client_key(a),
                    "margin account opened four months after the client's first trade "
                    "(six months required)")


@trap("KYC-010", at=CLIENTS)
def trap_kyc_010_180_days(b: Builder, kyc: Kyc) -> None:
    """A margin account opened exactly six calendar months after the client's first trade,
    and 90 days after onboarding here (experience counts at any broker)."""
    for s in b.by_role["tr_onboard180"]:
        a = s.account
        _individual(b, a)
        kyc.reonboard(a, kyc.first[a] - 90)
        kyc.credit_opened[a] = kyc.first[a] - 2
        kyc.first_trade[a] = day_number(_add_months(date_of(kyc.credit_opened[a]), -6))
        kyc.rating[a], kyc.last_review[a] = 0, kyc.as_of - 20


@trap("KYC-001", "KYC-003", "KYC-005", "KYC-006", "KYC-008", at=CLIENTS)
def trap_kyc_ongoing(b: Builder, kyc: Kyc) -> None:
    """Ongoing due diligence after the financing is no late diligence: the clients.py draws
    re-verify, re-screen, re-assess (a grade lower than at the financing, too) and re-sign
    the disclosure after a financing; here it is checked that some of each exist."""
    for name, arr in (("re-verifications", kyc.reverified), ("re-screenings", kyc.rescreened),
                      ("re-assessments", kyc.reassessed), ("re-signed disclosures", kyc.resigned)):
        if (arr >= 0).sum() < 1:
            raise RuntimeError(f"no {name} after a financing: the ongoing due-diligence trap is missing")
    lower = (kyc.reassessed >= 0) & (kyc.regrade < kyc.tolerance)
    if not lower.any():  # small exports: make one re-assessment a lower grade
        some = np.nonzero((kyc.reassessed >= 0) & (kyc.tolerance > 0))[0]
        if not len(some):
            raise RuntimeError("no client re-assessed after a financing")
        kyc.regrade[some[0]] = kyc.tolerance[some[0]] - 1


def _individual(b: Builder, a: int) -> None:
    """Make the client a natural person (professional institutions are exempt from the CN
    experience test, so the story needs an individual)."""
    if b.id_type[a] in (2, 3):
        b.id_type[a] = 0


def _add_months(d, months: int):
    """``d`` plus ``months`` calendar months, clamped to the month's end."""
    import calendar
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    return d.replace(year=y, month=m, day=min(d.day, calendar.monthrange(y, m)[1]))


def _products(b: Builder, account: int, with_day: bool = False) -> list[tuple[str, int]]:
    """(financing id, day opened) of an account's contracts that state a product risk level."""
    return [(b.fin_id[j], int(b.fin_open_day[j])) for j in range(len(b.fin_acc))
            if b.fin_acc[j] == account and b.fin_product[j] > 0]
