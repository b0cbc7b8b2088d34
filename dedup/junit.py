"""A check as JUnit XML, the test report format CI systems show natively.

One test case per batch document: it fails when a finding about it fails the policy (the
failure names the matched document, archived or in the batch, the relation, and quotes the
shared passages); documents that were not compared (already indexed, too short) are skipped
test cases with the reason. Findings the policy does not fail on (``partial`` by default)
are listed in the passing test case's ``system-out``.

The layout follows the schema that Jenkins, GitLab, GitHub test reporters and Azure DevOps
read: ``testsuites > testsuite > testcase`` with ``failure`` / ``skipped`` children.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from .check import CheckResult, describe, passage_lines, relation_from

CLASSNAME = "dedup.check"


def to_junit(result: CheckResult, suite: str = "dedup check") -> str:
    """The check as a JUnit XML document (a string, UTF-8 declared)."""
    cases: list[ET.Element] = []
    failures = skipped = 0
    by_document = result.findings_by_document()
    for doc_id in result.batch:
        case = ET.Element("testcase", classname=CLASSNAME, name=_clean(doc_id), time="0")
        findings = by_document.get(doc_id, [])
        failing = [m for m in findings if m.relation in result.fail_on]
        if failing:
            failures += 1
            first = failing[0]
            message = describe(result, first, doc_id)
            if len(failing) > 1:
                message += f" and {len(failing) - 1} more"
            body: list[str] = []
            for m in failing:
                body.append(describe(result, m, doc_id))
                other = m.b if doc_id == m.a else m.a
                if other in result.origins:
                    body.append(f"  from {result.origins[other]}")
                body.extend(passage_lines(result, m, doc_id, limit=5, indent="  "))
            failure = ET.SubElement(case, "failure", message=_clean(message),
                                    type=relation_from(first, doc_id))
            failure.text = _clean("\n".join(body) + "\n")
        notes = [m for m in findings if m.relation not in result.fail_on]
        if notes:
            out = ET.SubElement(case, "system-out")
            out.text = _clean("\n".join(describe(result, m, doc_id) for m in notes) + "\n")
        cases.append(case)
    for already in result.already_indexed:
        case = ET.Element("testcase", classname=CLASSNAME, name=_clean(already.id), time="0")
        reason = "already indexed" + ("" if already.same_text else " with a different text")
        ET.SubElement(case, "skipped", message=reason)
        skipped += 1
        cases.append(case)
    for skip in result.skipped:
        case = ET.Element("testcase", classname=CLASSNAME, name=_clean(skip.id), time="0")
        ET.SubElement(case, "skipped", message=_clean(skip.reason))
        skipped += 1
        cases.append(case)
    cases.sort(key=lambda c: c.get("name", ""))

    seconds = f"{result.stats.get('seconds', 0.0):.3f}"
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0",
              "skipped": str(skipped), "time": seconds}
    root = ET.Element("testsuites", {"name": suite, **counts})
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "")
    testsuite = ET.SubElement(root, "testsuite", {
        "name": _clean(f"{suite} against {result.index}"), "timestamp": stamp, **counts})
    properties = ET.SubElement(testsuite, "properties")
    for name, value in (("index", result.index),
                        ("index_documents", str(result.index_documents)),
                        ("fail_on", ",".join(sorted(result.fail_on))),
                        ("added", str(len(result.added)))):
        ET.SubElement(properties, "property", name=name, value=_clean(value))
    testsuite.extend(cases)
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters in scraped text)."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20
                   and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff")
