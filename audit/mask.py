"""Masking of personal data in reports: names, identity numbers, phone numbers, bank accounts.

Reports mask by default; only an explicit ``mask=False`` (``audit run --no-mask``) shows the
values. Masking keeps just enough to let a reader match a record with the platform's own
system (the surname, the region and check digits of an ID, the last digits of a phone or an
account) and never reveals the whole value. The masked form has the same length as the value
for names, IDs and phones, so the width of a column says nothing extra.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from audit import contract

MASK = "*"
_SEPARATORS = re.compile(r"[\s\-()]")


def mask_name(value: str) -> str:
    """张三丰 -> 张**, 张三 -> 张*, John Smith -> J*** S****."""
    text = value.strip()
    if not text:
        return text
    words = text.split()
    if len(words) == 1:
        return text[0] + MASK * max(len(text) - 1, 1)
    return " ".join(w[0] + MASK * max(len(w) - 1, 1) for w in words)


def mask_id_number(value: str) -> str:
    """110101199003070018 -> 1101**********0018: region prefix and last four kept."""
    text = _SEPARATORS.sub("", value)
    if len(text) > 8:
        return text[:4] + MASK * (len(text) - 8) + text[-4:]
    if len(text) > 4:  # too short for an ID: keep only the last two
        return MASK * (len(text) - 2) + text[-2:]
    return MASK * len(text)


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678; +8613812345678 -> +86138****5678."""
    text = _SEPARATORS.sub("", value)
    prefix = ""
    if text.startswith("+") and len(text) > 11:
        prefix, text = text[:-11], text[-11:]
    if len(text) < 7:
        return prefix + MASK * len(text)
    return prefix + text[:3] + MASK * (len(text) - 7) + text[-4:]


def mask_bank_account(value: str) -> str:
    """6222021234567891234 -> ****1234: only the last four digits kept."""
    text = _SEPARATORS.sub("", value)
    if len(text) <= 4:
        return MASK * 4
    return MASK * 4 + text[-4:]


def mask_other(value: str) -> str:
    """Any other personal value: all but the last two characters hidden."""
    text = value.strip()
    return MASK * max(len(text) - 2, 2) + (text[-2:] if len(text) > 4 else "")


MASKERS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "bank_account": mask_bank_account,
}


def personal_columns() -> frozenset[str]:
    """Columns masked in reports: every column the data contract marks personal."""
    return frozenset(contract.personal_columns())


def mask_value(column: str, value: Any) -> Any:
    """``value`` masked as the personal column ``column`` requires; other columns unchanged."""
    if value is None or column not in personal_columns():
        return value
    return MASKERS.get(column, mask_other)(str(value))


def tables_with_personal_data() -> frozenset[str]:
    return frozenset(t.name for t in contract.TABLES if any(c.personal for c in t.columns))


def mask_issue(issue: dict[str, Any]) -> dict[str, Any]:
    """A data-quality issue (``file, table, row, column, value, problem``) safe to print.

    The value of a personal column is masked; so is a whole-row value (a ragged row, a title
    line) from a table that holds personal data, since it may quote a name or an ID. Where the
    problem text quotes the value, it quotes the masked one.
    """
    value, column = issue.get("value"), issue.get("column")
    if value is None:
        return dict(issue)
    if column in personal_columns():
        masked = mask_value(column, value)
    elif column is None and issue.get("table") in tables_with_personal_data():
        masked = mask_other(str(value))
    else:
        return dict(issue)
    problem = issue.get("problem")
    if isinstance(problem, str):
        problem = problem.replace(str(value), masked)
    return {**issue, "value": masked, "problem": problem}


def mask_row(row: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    """A record with every personal column masked (unchanged when ``enabled`` is False)."""
    if not enabled:
        return dict(row)
    return {k: mask_value(k, v) for k, v in row.items()}
