"""The shared vocabulary of a run: severities, rule statuses and the engine's column names.

This is the ground floor: every stage imports these names from here, so a status or a
severity is spelt in one place only.
"""

from __future__ import annotations

# Severities, most severe first (their order is the order of `--fail-on`).
SEVERITIES = ("critical", "high", "medium", "low")

# Rule statuses.
PASSED = "passed"  # every record the rule applies to meets it
FAILED = "failed"  # at least one record does not
ERROR = "error"  # the rule could not run on this data (a bug in the rule or an engine limit)
NOT_APPLICABLE = "not_applicable"  # the export holds no record the rule covers
# NOTE: "not evaluable" is never "passed": the export lacks a table or column the rule needs,
# or no record it covers could be judged (no disclosure in force, outside the calendar ...).
NOT_EVALUABLE = "not_evaluable"
# NOTE: "incomplete" is never "passed" either: no record the rule could read breaks it, but
# records in its scope could not be read (an unparseable cell it reads, a ragged row, a row of
# a joined table that cannot be read), so a violation may hide there.
INCOMPLETE = "incomplete"
STATUSES = (PASSED, FAILED, INCOMPLETE, ERROR, NOT_EVALUABLE, NOT_APPLICABLE)

ROW = "_row"  # source row number carried from the loader, shown as evidence
SEVERITY_COLUMN = "_severity"  # per-record severity after escalation
INTERNAL_PREFIX = "__"  # engine columns (disclosure fields, evaluability flags): never shown
# A rule's platform.<column> reads the disclosure in force at each record's time, joined onto the
# record as this prefix + the column name.
DISCLOSURE_PREFIX = INTERNAL_PREFIX + "platform__"
# Boolean columns marking records that cannot be judged, this prefix + a reason key.
UNDETERMINED_PREFIX = INTERNAL_PREFIX + "why__"
# A loaded table's list column naming, per row, the cells that could not be read (null for a
# clean row; absent when the whole table read cleanly).
UNREADABLE = INTERNAL_PREFIX + "unreadable"
# The flag of records set aside because a cell the rule reads is unreadable (this prefix, then
# "" for the rule's own table or "_<table>" for a joined one).
UNREADABLE_FLAG = UNDETERMINED_PREFIX + "unreadable"
