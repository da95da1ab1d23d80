"""The corpus' baseline: the untouched export audits cleanly in the expected shape."""


def test_the_clean_export_fails_the_planted_rules_with_no_unreadable_row(baseline):
    assert baseline.code == 1, baseline.stderr
    assert baseline.statuses["SEG-002"] == "failed"
    assert baseline.statuses["KYC-003"] == "failed"
    assert all(i["code"] != "unreadable-cell" for i in baseline.issues)
