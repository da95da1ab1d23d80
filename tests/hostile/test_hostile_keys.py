"""Hostile exports, identifiers: an id spelt differently in one table must not hide a record
from the join that finds its violation. Invisible and full-width characters are normalised
(and reported); look-alikes, changed case and lost leading zeros make the record an orphan,
which is reported and set aside, so the rule is never 'passed' for want of a link.
"""

from __future__ import annotations

import pytest

from harness import audit, edit_rows, lost_findings

HIT = lambda row: row["event_type"] == "screening" and row["outcome"] == "hit"  # noqa: E731
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


@pytest.mark.parametrize("spell", [
    pytest.param(lambda v: v + "\u200b", id="zero-width-space"),
    pytest.param(lambda v: "\ufeff" + v, id="byte-order-mark"),
    pytest.param(lambda v: v[:1] + "\u202e" + v[1:], id="bidi-override"),
    pytest.param(lambda v: v.translate(FULL_WIDTH), id="full-width"),
])
def test_invisible_and_full_width_ids_are_normalised_and_reported(export, tmp_path, baseline,
                                                                   spell):
    n = edit_rows(export / "kyc_events.csv", HIT,
                  lambda row: row.update(client_id=spell(row["client_id"])))
    o = audit(export, tmp_path / "out")
    assert o.code == 1, o.stderr
    assert o.rule("KYC-003")["status"] == "failed"
    assert o.rule("KYC-003")["violations"] == baseline.rule("KYC-003")["violations"]
    assert o.issue_codes().get("key-normalised") == n
    assert not lost_findings(o, baseline)


@pytest.mark.parametrize("spell, lookalike", [
    pytest.param(str.lower, False, id="lower-case"),
    pytest.param(lambda v: "\u0421" + v[1:], True, id="cyrillic-es"),
    pytest.param(lambda v: v + "X", False, id="unknown-id"),
])
def test_an_id_that_links_to_nothing_is_an_orphan_and_the_rule_is_incomplete(export, tmp_path,
                                                                             baseline, spell,
                                                                             lookalike):
    n = edit_rows(export / "kyc_events.csv", HIT,
                  lambda row: row.update(client_id=spell(row["client_id"])))
    o = audit(export, tmp_path / "out")
    assert o.code == 1, o.stderr
    # before: the hits vanished from the join and KYC-003 reported passed
    assert o.rule("KYC-003")["status"] == "incomplete"
    assert o.rule("KYC-003")["unreadable"] >= n
    assert o.issue_codes().get("orphan-key") == n
    assert o.issue_codes().get("key-lookalike", 0) == (n if lookalike else 0)
    assert not lost_findings(o, baseline)


def test_ids_that_lost_their_leading_zeros_are_orphans_with_the_reason(export, tmp_path,
                                                                       baseline):
    n = edit_rows(export / "positions.csv", lambda row: row["instrument_id"].startswith("0"),
                  lambda row: row.update(instrument_id=str(int(row["instrument_id"]))))
    assert n
    o = audit(export, tmp_path / "out")
    orphans = [i for i in o.issues if i["code"] == "orphan-key"]
    assert len(orphans) == n
    assert all("leading zeros" in i["problem"] for i in orphans)
    assert not lost_findings(o, baseline)


def test_a_financing_of_an_unknown_client_is_set_aside_not_judged(export, tmp_path, baseline):
    first = []
    edit_rows(export / "financings.csv", lambda row: not first and not first.append(row),
              lambda row: row.update(client_id="NOBODY"))
    o = audit(export, tmp_path / "out")
    (issue,) = [i for i in o.issues if i["code"] == "orphan-key"]
    assert (issue["table"], issue["column"], issue["value"]) == ("financings", "client_id", "NOBODY")
    assert not lost_findings(o, baseline)
    # the record is set aside by the rules reading its client, never accused for want of one,
    # and a rule that set a record aside is never 'passed'
    readers = [r for r in o.findings["rules"] if r["table"] == "financings" and r["unreadable"]]
    assert readers and all(r["status"] in ("failed", "incomplete") for r in readers)
