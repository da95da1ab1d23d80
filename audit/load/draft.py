"""The mapping file `audit init` writes: every table at once, each guess with its confidence,
anything short of sure left commented out, and what is left for the auditor listed in comments
(docs/mapping.md describes the format).

Every name from the export (file, sheet, header, value) is written as a JSON-escaped YAML
string, or with its unprintable characters replaced in a comment, so a hostile name can never
add a line, a key or a value of its own; the text is read back and compared before it is used.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field

import yaml

from audit import contract
from audit.load.guess import MAYBE, SURE, TABLE_SURE, TableGuess
from audit.load.peek import Sample, Survey


@dataclass
class Draft:
    """The mapping text and what it leaves open (for the command's summary)."""

    text: str
    sure_tables: int = 0
    tables_to_confirm: int = 0
    sure_columns: int = 0
    columns_to_confirm: int = 0
    missing_required: dict[str, list[str]] = field(default_factory=dict)
    tables_not_found: list[str] = field(default_factory=list)
    expected: dict = field(default_factory=dict)  # what the text must parse to


def quoted(text: str) -> str:
    """A YAML double-quoted scalar for any text (JSON escapes are YAML escapes too)."""
    out = []
    for ch in json.dumps(str(text), ensure_ascii=False):
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:  # NOTE: U+2028, NEL and other non-printables are line breaks or errors in YAML
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def comment_text(text: object, limit: int = 60) -> str:
    """Text safe inside a comment: one line, printable, clipped."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return clean if len(clean) <= limit else clean[:limit - 3] + "..."


def render(folder: str, survey: Survey, guesses: list[TableGuess], left: list[Sample],
           written_on: str, version: str) -> Draft:
    draft = Draft("")
    lines = [
        f"# Mapping for the export folder {comment_text(folder)!s}, drafted by `audit init` "
        f"{version} on {written_on}.",
        "# Review it, then run: audit validate <export folder> --mapping <this file>",
        f"# Confidence: 1.00 the contract's name or alias; lower, a guess. Guesses under "
        f"{SURE:.2f} are",
        "# commented out (# confirm:): delete the '# ' before one to accept it. Format: "
        "docs/mapping.md.",
        "",
        "# timezone: Asia/Shanghai   # zone of date-times written without an offset "
        "(default: the profile's)",
        "tables:",
    ]
    expected_tables: dict[str, dict] = {}
    for guess in guesses:
        lines += _table_lines(guess, draft, expected_tables)
    found = {g.table for g in guesses if g.score >= TABLE_SURE}
    draft.tables_not_found = [t.name for t in contract.TABLES if t.name not in found]
    not_proposed = [t for t in contract.TABLES if t.name not in {g.table for g in guesses}]
    if not_proposed:
        lines += ["", "# Tables not found in the export (no file's name or headers fit them; "
                      "name a file under tables.<table>.file if one holds it):"]
        for t in not_proposed:
            names = ", ".join(comment_text(a, 30) for a in t.aliases[:4])
            lines.append(f"#   {t.name:22} also called: {names}" if names else f"#   {t.name}")
    if left:
        lines += ["", "# Files read that fit no table (or whose table another file fits better):"]
        lines += [f"#   {comment_text(s.label)}" for s in left]
    if survey.skipped:
        lines += ["", "# Not read:"]
        lines += [f"#   {comment_text(name, 40)}: {comment_text(why, 160)}"
                  for name, why in survey.skipped]
    if not expected_tables:
        lines[lines.index("tables:")] = "tables: {}"
    draft.text = "\n".join(lines) + "\n"
    draft.expected = {"tables": expected_tables}
    return draft


def _table_lines(guess: TableGuess, draft: Draft, expected: dict[str, dict]) -> list[str]:
    t = contract.table(guess.table)
    sample = guess.sample
    sure = guess.score >= TABLE_SURE
    evidence = (f"confidence {guess.score:.2f} (file name {guess.name_score:.2f}, headers "
                f"{guess.header_score:.2f}; {len(sample.headers)} headers in row "
                f"{sample.header_at + 1})")
    out = ["", f"  {t.name}:" if sure else f"  # {t.name}:",
           f"    # {comment_text(sample.label)}: {evidence}"]
    pre = "" if sure else "# "
    if sure:
        draft.sure_tables += 1
        table_expect: dict = {"file": sample.file}
        expected[t.name] = table_expect
        out.append(f"    file: {quoted(sample.file)}")
    else:
        draft.tables_to_confirm += 1
        table_expect = {}
        out.append(f"    # file: {quoted(sample.file)}   # confirm: "
                   f"{guess.score:.2f}")
    for label, score in guess.alternatives:
        out.append(f"    # also possible: {comment_text(label)} ({score:.2f})")
    if sample.sheet is not None:
        out.append(f"    {pre}sheet: {quoted(sample.sheet)}")
        if sure:
            table_expect["sheet"] = sample.sheet
    entries = [g for g in guess.columns if g.score < 1.0]
    already = [g for g in guess.columns if g.score >= 1.0]
    sure_entries = [g for g in entries if g.score >= SURE]
    out.append(f"    {pre}columns:")
    if sure:
        table_expect["columns"] = {g.header: g.column for g in sure_entries}
    for g in entries:
        entry = f"{quoted(g.header)}: {g.column}"
        why = f"{g.score:.2f} {comment_text(g.how, 40)}"
        if g.score >= SURE and sure:
            draft.sure_columns += 1
            out.append(f"      {entry}   # {why}")
        else:
            draft.columns_to_confirm += 1
            out.append(f"      # {entry}   # confirm: {why}")
    if already:
        names = ", ".join(comment_text(g.header, 30) for g in already)
        out.append(f"      # read as they are (the contract's names or aliases): {names}")
    out += _values_lines(guess)
    missing = guess.missing_required()
    if missing:
        draft.missing_required[t.name] = missing
        out.append(f"    # required columns no header was matched to: {', '.join(missing)}")
    confirm = guess.required_to_confirm()
    if confirm:
        out.append(f"    # required columns matched only by a guess to confirm: "
                   f"{', '.join(confirm)}")
    out += _side_by_side(guess)
    return out


def _side_by_side(guess: TableGuess) -> list[str]:
    """Unmatched headers next to the unmatched contract columns they might be."""
    headers = [h for _, h in guess.unmatched_headers()]
    t = contract.table(guess.table)
    columns = [f"{c}{' *' if t.column(c).required else ''}" for c in guess.unmatched_columns()]
    if not headers:
        return []
    from audit.load.guess import header_score

    lines = [f"    # {'unmatched headers':<30} | contract columns not matched (* required)"]
    for i in range(max(len(headers), min(len(columns), 12))):
        left = ""
        if i < len(headers):
            h = headers[i] or "(blank header)"
            best = max(((header_score(h, t.name, c.rstrip(' *'))[0], c.rstrip(' *'))
                        for c in columns), default=(0.0, ""))
            hint = f" ~{best[1]}?" if best[0] >= 0.4 else ""
            left = comment_text(h, 24) + hint
        right = columns[i] if i < len(columns) else ""
        lines.append(f"    #   {_pad(left, 28)} | {right}".rstrip())
    if len(columns) > 12 and len(headers) < len(columns):
        lines.append(f"    #   {'':<28} | ... and {len(columns) - max(len(headers), 12)} more")
    return lines


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` display columns (a CJK character takes two)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def _values_lines(guess: TableGuess) -> list[str]:
    """Values seen outside a matched column's closed list: to translate under values:."""
    t = contract.table(guess.table)
    lines = []
    for g in guess.columns:
        allowed = t.column(g.column).allowed
        if not allowed or g.score < MAYBE:
            continue
        seen = dict.fromkeys(guess.sample.column_values(g.index))
        outside = [v for v in seen if v not in allowed][:8]
        if outside:
            shown = ", ".join(comment_text(v, 20) for v in outside)
            lines.append(f"    # {g.column}: values outside the contract's list: {shown} "
                         f"(allowed: {', '.join(allowed[:8])}); translate them under "
                         f"values: {{{g.column}: {{...}}}}")
    return lines


def check_round_trip(draft: Draft) -> bool:
    """The text parses back to exactly the entries meant (no name added or changed one)."""
    document = yaml.safe_load(draft.text) or {}
    tables = document.get("tables") or {}
    parsed = {name: {k: (v or {}) if k == "columns" else v for k, v in (m or {}).items()}
              for name, m in tables.items()}
    return parsed == draft.expected["tables"] and set(document) <= {"tables", "timezone"}
