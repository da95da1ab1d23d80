"""rules.junit.xml: one test case per rule, so a platform's CI can run its self-assessment.

A rule at or above ``--fail-on`` that ``failed`` becomes ``<failure>``; one that is ``error``,
``not_evaluable`` or ``incomplete`` becomes ``<error>`` (a rule the export gave nothing to
test with never reads as a pass); ``not_applicable`` becomes ``<skipped>``. A rule below
``--fail-on`` in any of those states is not a failure, as it does not fail the exit code: its
status is a ``<property>`` of the test case and its system-out says it. Test suites are the rule
packs. The file is deterministic (no durations; the timestamp honours SOURCE_DATE_EPOCH) and
holds no personal data.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.vocab import ERROR, FAILED, INCOMPLETE, NOT_APPLICABLE, NOT_EVALUABLE
from audit.findings import findings_document
from audit.mask import mask_row
from audit.rules import one_line

if TYPE_CHECKING:
    from audit.findings import Run
    from audit.formats import Options

SAMPLE_LINES = 10
# Characters XML 1.0 cannot hold (a hostile export may put them in any cell).
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    return _INVALID_XML.sub("\ufffd", str(value))


def write(run: "Run", out_dir: Path, options: "Options") -> Path:
    return write_junit(run, Path(out_dir) / "rules.junit.xml")


def write_junit(run: "Run", path: Path) -> Path:
    """Write the JUnit XML of ``run`` to ``path`` and return ``path``."""
    doc = findings_document(run)
    root = ET.Element("testsuites", name="platform-audit")
    remediation = {r.rule.id: one_line(r.rule.remediation) for r in run.results}
    by_pack: dict[str, list[dict]] = {}
    for entry in doc["rules"]:
        by_pack.setdefault(entry["pack"], []).append(entry)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for pack, entries in by_pack.items():
        gating = [e for e in entries if run.gates(e["severity"])]
        counts = {
            "tests": len(entries),
            "failures": sum(e["status"] == FAILED for e in gating),
            "errors": sum(e["status"] in (ERROR, NOT_EVALUABLE, INCOMPLETE) for e in gating),
            "skipped": sum(e["status"] == NOT_APPLICABLE for e in entries),
        }
        for k, v in counts.items():
            totals[k] += v
        suite = ET.SubElement(root, "testsuite", name=f"platform-audit.{pack}",
                              timestamp=doc["run"]["generated_at"][:19], time="0",
                              **{k: str(v) for k, v in counts.items()})
        props = ET.SubElement(suite, "properties")
        for name, value in (("run_id", doc["run"]["id"]), ("profile", doc["run"]["profile"]["name"]),
                            ("as_of", doc["run"]["as_of"]), ("fail_on", run.fail_on),
                            ("tool_version", doc["tool"]["version"])):
            ET.SubElement(props, "property", name=name, value=_text(value))
        for entry in entries:
            _testcase(suite, pack, entry, remediation[entry["id"]],
                      run.gates(entry["severity"]), run.fail_on)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", "0")
    ET.indent(root, space="  ")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ET.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n", encoding="utf-8")
    return path


def _testcase(suite: ET.Element, pack: str, e: dict, remediation: str, gates: bool = True,
              fail_on: str = "low") -> None:
    case = ET.SubElement(suite, "testcase", classname=f"platform-audit.{pack}",
                         name=_text(f"{e['id']} {e['title']}"), time="0")
    norms = ", ".join(e["norms"])
    below = ""
    if not gates and e["status"] in (FAILED, ERROR, NOT_EVALUABLE, INCOMPLETE):
        # NOTE: the exit code ignores a rule below --fail-on; a CI test view that showed it red
        # would contradict the gate. Its status stays visible, as a property and in system-out.
        props = ET.SubElement(case, "properties")
        for name, value in (("status", e["status"]), ("severity", e["severity"]),
                            ("violations", e["violations"]), ("fail_on", fail_on)):
            ET.SubElement(props, "property", name=name, value=_text(value))
        below = (f"; {e['status']} below --fail-on {fail_on}, not a failure of this run"
                 + (f": {e['message']}" if e["message"] and e["status"] != FAILED else ""))
    elif e["status"] == FAILED:
        rate = f" ({e['rate']:.2%})" if e["rate"] is not None else ""
        message = (f"{e['violations']} of {e['checked']} record(s) violate {e['id']}{rate}; "
                   f"severity {e['severity']}; norms {norms}")
        node = ET.SubElement(case, "failure", type=e["severity"], message=_text(message))
        node.text = _text(_details(e, remediation))
    elif e["status"] == ERROR:
        node = ET.SubElement(case, "error", type="evaluation_error",
                             message=_text(e["message"] or "rule could not be evaluated"))
        node.text = _text(f"{e['id']} could not be evaluated on this data: {e['message']}")
    elif e["status"] == NOT_EVALUABLE:
        # NOTE: an <error>, not <skipped>: a CI gate must not go green on a rule the export
        # gave it nothing to test with.
        node = ET.SubElement(case, "error", type="not_evaluable",
                             message=_text(e["message"] or "the export lacks what the rule needs"))
        node.text = _text(f"{e['id']} was not evaluated: {e['message']}")
    elif e["status"] == INCOMPLETE:
        # NOTE: no record it could read fails, but some could not be read: not a pass.
        node = ET.SubElement(case, "error", type="incomplete",
                             message=_text(e["message"] or "records in scope could not be read"))
        node.text = _text(f"{e['id']} is incomplete: {e['message']}")
    elif e["status"] == NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=_text(e["message"] or "not applicable"))
    ET.SubElement(case, "system-out").text = _text(
        f"{e['id']} [{e['severity']}] norms {norms}: {e['status']}, checked {e['checked']}, "
        f"violations {e['violations']}{below}")


def _details(e: dict, remediation: str) -> str:
    lines = [f"{e['id']}: {e['title']}", f"remediation: {remediation}"]
    refs = "; ".join(r["source"] + (f", {r['clause']}" if r.get("clause") else "")
                     for r in e["references"])
    lines.append(f"references: {refs}")
    lines.append(f"first violating records (of {e['violations']}; all in violations.csv):")
    for row in e["sample"][:SAMPLE_LINES]:
        safe = mask_row(row)
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in safe.items()))
    return "\n".join(lines)
