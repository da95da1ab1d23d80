"""Plants and traps of the KYC pack (rules/kyc): client identification, risk disclosure,
screening, suitability and reviews. Each works on the client records of the accounts cast for
it (cast.py), while the clients table is built (clients.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.sample.identity import USCC_ALPHABET
from audit.sample.plants.registry import CLIENT_IDS, CLIENTS, client_key, plant, trap

if TYPE_CHECKING:
    from audit.sample.builder import Builder
    from audit.sample.clients import Kyc


@plant("KYC-001", at=CLIENTS)
def plant_kyc_001(b: Builder, kyc: Kyc) -> None:
    """Financed with the identity pending, rejected, or verified four days after the financing."""
    for s in b.by_role["kyc001"]:
        a, v = s.account, s.variant % 4
        fid = b.fin_id[b.first_fin_row[a]]
        if v in (0, 3):
            kyc.status[a], kyc.verified[a], note = 1, -1, "client identity still pending verification"
        elif v == 1:
            kyc.verified[a], note = kyc.first[a] + 4, "identity verified four days after the financing"
        else:
            kyc.status[a], kyc.verified[a], note = 2, -1, "identity verification rejected"
        b.violation("KYC-001", "financings", {"financing_id": fid}, note)


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
            kyc.signed[a], note = kyc.first[a] + 3, "risk disclosure signed after the first financing"
        b.violation("KYC-002", "clients", client_key(a), note)


@plant("KYC-003", at=CLIENTS)
def plant_kyc_003(b: Builder, kyc: Kyc) -> None:
    """A screening hit never resolved (financed or not), or resolved after the first financing."""
    for s in b.by_role["kyc003"]:
        a, v = s.account, s.variant % 3
        kyc.hit[a], kyc.rating[a] = True, 2
        kyc.last_review[a] = kyc.as_of - 30
        if v == 0:
            kyc.resolved[a], note = -1, "screening hit never resolved, client financed"
        elif v == 1:
            kyc.resolved[a], note = kyc.first[a] + 6, "screening hit resolved after the first financing"
        else:
            kyc.resolved[a], note = -1, "screening hit never resolved"
        b.violation("KYC-003", "clients", client_key(a), note)


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
    contract here too: the financings table is built after the simulation)."""
    for s in b.by_role["kyc005"]:
        j = int(b.first_fin_row[s.account])
        kyc.tolerance[s.account] = 3 if s.variant % 2 else 2  # C4 (with an R5 product) / C3
        if s.variant % 2:
            b.fin_product[j] = 5
            note = "R5 product sold to a C4 client"
        else:
            b.fin_product[j] = 4
            note = "R4 product sold to a C3 client"
        b.violation("KYC-005", "financings", {"financing_id": b.fin_id[j]}, note)


@plant("KYC-006", at=CLIENTS)
def plant_kyc_006(b: Builder, kyc: Kyc) -> None:
    """Risk tolerance assessed after the first financing, 800 days ago, or never."""
    as_of = kyc.as_of
    for s in b.by_role["kyc006"]:
        a, v = s.account, s.variant % 3
        if v == 0:
            kyc.assessed[a], note = kyc.first[a] + 5, "risk tolerance assessed after the first financing"
        elif v == 1:
            if kyc.onboarded[a] > as_of - 900:
                kyc.reonboard(a, as_of - 900)
            kyc.assessed[a], note = as_of - 800, "risk tolerance assessment 800 days old (valid 730)"
        else:
            kyc.assessed[a], note = -1, "risk tolerance never assessed"
        b.violation("KYC-006", "clients", client_key(a), note)


@trap("KYC-006", at=CLIENTS)
def trap_kyc_006_730_days(b: Builder, kyc: Kyc) -> None:
    """A risk tolerance assessment exactly 730 days old."""
    as_of = kyc.as_of
    for s in b.by_role["tr_assess730"]:
        a = s.account
        if kyc.onboarded[a] > as_of - 760:
            kyc.reonboard(a, as_of - 760)
        kyc.assessed[a] = as_of - 730


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
    """A high-risk client reviewed exactly a year ago."""
    as_of = kyc.as_of
    for s in b.by_role["tr_review_exact"]:
        a = s.account
        if kyc.onboarded[a] > as_of - 400:
            kyc.reonboard(a, as_of - 400)
        kyc.rating[a], kyc.last_review[a] = 2, as_of - 365


@plant("KYC-008", at=CLIENTS)
def plant_kyc_008(b: Builder, kyc: Kyc) -> None:
    """Financed but never screened, or screened two days after the first financing."""
    for s in b.by_role["kyc008"]:
        a = s.account
        if s.variant % 2 == 0:
            kyc.not_screened[a], kyc.screened[a], note = True, -1, "never screened, financed"
        else:
            kyc.screened[a], note = kyc.first[a] + 2, "screened two days after the first financing"
        b.violation("KYC-008", "clients", client_key(a), note)


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
            kyc.pep_ok[a], note = kyc.first[a] + 7, "politically exposed client approved after the first financing"
        b.violation("KYC-009", "clients", client_key(a), note)


@trap("KYC-009", at=CLIENTS)
def trap_kyc_009_same_day(b: Builder, kyc: Kyc) -> None:
    """A politically exposed client approved on the day of the first financing."""
    for s in b.by_role["tr_pep_sameday"]:
        a = s.account
        kyc.pep[a], kyc.rating[a], kyc.last_review[a], kyc.pep_ok[a] = True, 2, kyc.as_of - 45, kyc.first[a]


@plant("KYC-010", at=CLIENTS)
def plant_kyc_010(b: Builder, kyc: Kyc) -> None:
    """Profile cn: financed 90 days after onboarding (six months of trading required)."""
    for s in b.by_role["kyc010"]:
        a = s.account
        kyc.reonboard(a, kyc.first[a] - 90)
        kyc.rating[a], kyc.last_review[a] = 0, kyc.as_of - 20
        b.violation("KYC-010", "clients", client_key(a),
                    "financed 90 days after onboarding (six months of trading required)")


@trap("KYC-010", at=CLIENTS)
def trap_kyc_010_180_days(b: Builder, kyc: Kyc) -> None:
    """Financed exactly 180 days after onboarding."""
    for s in b.by_role["tr_onboard180"]:
        a = s.account
        kyc.reonboard(a, kyc.first[a] - 180)
        kyc.rating[a], kyc.last_review[a] = 0, kyc.as_of - 20
