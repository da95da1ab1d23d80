"""findings.sarif: SARIF 2.1.0, the static-analysis exchange format code-scanning tools read
(GitHub code scanning, GitLab, Azure DevOps, VS Code's SARIF viewer).

``tool.driver.rules`` lists every rule of the run (id, title, rationale, remediation, the
published source as ``helpUri``, the level of its severity); each violating record is one
result at its source file and row (``region.startLine`` is the row number a person sees when
opening the file, the header being row 1), with its business key as a logical location and a
fingerprint made from the rule id and that key (never the row number, which moves when the
export is re-cut). A rule the export gave nothing to test with is a tool notification, never
silence. Levels: critical and high are ``error``, medium ``warning``, low ``note``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit import __version__
from audit.findings import findings_document
from audit.formats.located import (
    key_text, located, parameters_text, plain, rule_parameters, run_parameters,
)
from audit.mask import mask_row
from audit.rules import one_line
from audit.vocab import ERROR, INCOMPLETE, NOT_EVALUABLE

if TYPE_CHECKING:
    from audit.findings import Run, Violation
    from audit.formats import Options

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
ROOT_ID = "EXPORTROOT"


def fingerprint(v: "Violation") -> str:
    """A stable id of a violation: the rule id and the business key, never the row number."""
    key = {k: v.key[k] for k in v.rule.key_columns if k in v.key} or v.key
    text = json.dumps([v.rule.id, key], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rule(result, params: dict[str, Any]) -> dict[str, Any]:
    rule = result.rule
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.id.replace("-", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": one_line(rule.rationale)},
        "help": {"text": one_line(rule.remediation)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "severity": rule.severity,
            "pack": rule.pack,
            "tags": list(rule.norms),
            "references": [r.source + (f", {r.clause}" if r.clause else "")
                           for r in rule.references],
            "parameters": {k: plain(v) for k, v in rule_parameters(rule, params).items()},
        },
    }
    url = next((r.url for r in rule.references if r.url), None)
    if url:
        descriptor["helpUri"] = url
    return descriptor


def _location(file: str | None, row: int | None, root: str | None) -> dict[str, Any] | None:
    if file is None:
        return None
    artifact: dict[str, Any] = {"uri": file}
    if root is None or Path(root).is_absolute():
        artifact["uriBaseId"] = ROOT_ID
    else:
        rel = root.replace("\\", "/").rstrip("/")
        artifact["uri"] = file if rel in ("", ".") else f"{rel}/{file}"
    location: dict[str, Any] = {"artifactLocation": artifact}
    if row is not None:
        location["region"] = {"startLine": int(row)}
    return location


def document(run: "Run", options: "Options") -> dict[str, Any]:
    doc = findings_document(run)
    params = run_parameters(run)
    index = {r.rule.id: i for i, r in enumerate(run.results)}
    results = []
    for loc in located(run):
        v, rule = loc.violation, loc.rule
        evidence = mask_row(v.evidence, options.mask)
        key = mask_row(v.key, options.mask)
        shown = ", ".join(f"{k}={plain(x)}" for k, x in evidence.items())
        message = f"{rule.id} {rule.title}: {key_text(key) or 'the whole table'}" + (
            f" ({shown})" if shown else "")
        where: dict[str, Any] = {"logicalLocations": [{
            "name": key_text(key) or rule.table, "kind": "object",
            "fullyQualifiedName": f"{rule.table}[{key_text(key)}]"}]}
        physical = _location(loc.file, v.source_row, options.source_root)
        if physical is not None:
            where["physicalLocation"] = physical
        results.append({
            "ruleId": rule.id,
            "ruleIndex": index[rule.id],
            "level": LEVEL[v.severity],
            "message": {"text": message},
            "locations": [where],
            "partialFingerprints": {"businessKey/v1": fingerprint(v)},
            "properties": {"severity": v.severity, "table": rule.table, "key": key,
                           "parameters": parameters_text(rule_parameters(rule, params)),
                           "evidence": evidence},
        })
    # NOTE: a rule not tested is said, never left out: SARIF has no "not tested" result, so
    # it is a notification of the invocation, an error when it gates the exit code.
    notes = []
    for r in run.results:
        if r.status in (ERROR, NOT_EVALUABLE, INCOMPLETE):
            notes.append({"level": "error" if run.gates(r.severity) else "warning",
                          "message": {"text": f"{r.rule.id} {r.status}: {r.message or ''}".strip()},
                          "associatedRule": {"id": r.rule.id, "index": index[r.rule.id]}})
    run_doc: dict[str, Any] = {
        "tool": {"driver": {"name": "platform-audit", "version": __version__,
                            "semanticVersion": __version__,
                            "rules": [_rule(r, params) for r in run.results]}},
        "automationDetails": {"id": f"platform-audit/{doc['run']['profile']['name']}/"},
        "invocations": [{"executionSuccessful": True,
                         "exitCode": doc["summary"]["exit_code"],
                         "toolExecutionNotifications": notes}],
        "results": results,
        "properties": {"run_id": doc["run"]["id"], "as_of": doc["run"]["as_of"],
                       "profile": doc["run"]["profile"]["name"], "fail_on": run.fail_on,
                       "summary": doc["summary"]},
    }
    if options.source_root is None or Path(options.source_root).is_absolute():
        base: dict[str, Any] = {"description": {"text": "The export folder audited."}}
        if options.source_root is not None:
            base["uri"] = Path(options.source_root).resolve().as_uri() + "/"
        run_doc["originalUriBaseIds"] = {ROOT_ID: base}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run_doc]}


def write(run: "Run", out_dir: Path, options: "Options") -> Path:
    path = out_dir / "findings.sarif"
    path.write_text(json.dumps(document(run, options), ensure_ascii=False, indent=2, default=str)
                    + "\n", encoding="utf-8")
    return path
