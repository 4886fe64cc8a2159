"""The clinical cases under tests/cases/ through the real engine, scored with the contract's rule.

Each case folder holds its inputs (bundle.json, *.dcm.json DICOM headers, *.stl meshes, all written by
tests/cases/make_files.py), README.md and expected.json: the contract's format (section 7) per claim form, plus
"rules" (rule ids the case must fire: a line's or a notice's `rule`) and, for bad-input cases, "skipped" (the
skip reasons it must report). A folder with KNOWN_ISSUE.md is a case where the engine disagrees with the rules or
the contract: it is expected to fail (xfail, strict) with the file's first line as the reason, until the engine
is fixed.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from plugin import mappings
from plugin.cli import code_paths
from plugin.suggestion import Suggestion
from tests.scoring import score

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "cases"
CLAIMS = ("dental", "medical")
# Files of a case folder that describe the case; the engine reads the whole folder and reports these as skipped.
META_FILES = frozenset({"expected.json", "README.md", "KNOWN_ISSUE.md"})
# The notice kinds the contract says every implementation uses (contract README, section 5).
CONTRACT_NOTICE_KINDS = ("imaging-overlap", "global-period", "integral-to-postprocessing", "third-party-fabrication",
                         "by-report", "documentation-required", "facility-bills-capture", "mue-exceeded",
                         "not-a-volume")
CLAIM_KEYS = {"required", "one_of", "optional", "forbidden", "notices"}


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "expected.json").is_file())


@functools.cache
def expected(name: str) -> dict:
    return json.loads((CASES / name / "expected.json").read_text())


def known_issue(name: str) -> str | None:
    path = CASES / name / "KNOWN_ISSUE.md"
    if not path.is_file():
        return None
    first = next((line.strip().lstrip("#").strip() for line in path.read_text().splitlines() if line.strip()), "")
    return first or "KNOWN_ISSUE.md (no reason given)"


@functools.cache
def run(name: str, claim: str) -> tuple[Suggestion, ...]:
    """The real code behind `dwcoder suggest <case> --claim <claim> --practice <expected practice>`."""
    return tuple(code_paths([str(CASES / name)], expected(name)["practice"], claim))


def fired(suggestion: Suggestion) -> set[str]:
    return ({line.rule for line in suggestion.lines} | {notice.rule for notice in suggestion.notices}) - {""}


def rule_claims() -> dict[str, frozenset[str]]:
    return {rule.id: rule.claims for rule in mappings.load().rules}


def edit_ids() -> set[str]:
    edits = mappings.load().edits
    return {edit["id"] for key in ("overlap", "same_day") for edit in edits.get(key, []) if "id" in edit}


def retired() -> set[str]:
    """Rules retired before this code set's year (valid.to earlier than the manifest's first day): they stay in
    rules.yaml under their immutable ids but cannot fire on the cases, which are dated in the code set's year."""
    maps = mappings.load()
    return {r.id for r in maps.rules if r.valid_to and r.valid_to < maps.manifest["valid"]["from"]}


def claims_of(name: str) -> list[str]:
    return [claim for claim in CLAIMS if claim in expected(name)]


def summary(out: dict) -> str:
    lines = ", ".join(f"{l['code']}{''.join('-' + m for m in l['modifiers'])} x{l['quantity']} ({l['rule']})"
                      for l in out["lines"])
    notices = ", ".join(f"{n['kind']} ({n['rule'] or '-'})" for n in out["notices"])
    return f"engine said: lines [{lines}]; notices [{notices}]"


def case_params() -> list:
    params = []
    for name in case_names():
        issue = known_issue(name)
        marks = [pytest.mark.xfail(strict=True, reason=issue)] if issue else []
        params += [pytest.param(name, claim, id=f"{name}-{claim}", marks=marks) for claim in claims_of(name)]
    return params


def good_runs() -> list[tuple[str, str, Suggestion]]:
    """Every case x claim form except the known issues (whose output is, by definition, not yet right)."""
    return [(name, claim, s) for name in case_names() if not known_issue(name)
            for claim in claims_of(name) for s in run(name, claim)]


# ---------------------------------------------------------------------------------------------- the cases
@pytest.mark.parametrize(("name", "claim"), case_params())
def test_case(name: str, claim: str) -> None:
    exp = expected(name)
    results = run(name, claim)
    assert len(results) == 1, f"{name}: expected one case, the engine made {[r.case for r in results]}"
    out = results[0].as_dict()
    assert out["claim"] == claim
    problems = score(out, exp[claim])
    applies = rule_claims()
    problems += [f"rule {rule} did not fire" for rule in exp["rules"]
                 if claim in applies.get(rule, CLAIMS) and rule not in fired(results[0])]
    assert not problems, f"{name} [{claim}]: " + "; ".join(problems) + "\n" + summary(out)


@pytest.mark.parametrize("name", case_names())
def test_case_inputs_are_read_without_skips(name: str) -> None:
    """Every input file and resource of a case is used; only a case about bad input lists the skip reasons it
    must report (expected.json "skipped")."""
    out = run(name, claims_of(name)[0])[0].as_dict()
    skipped = [s for s in out["skipped"] if Path(s["source"].split("#")[0]).name not in META_FILES]
    assert sorted({s["reason"] for s in skipped}) == sorted(set(expected(name).get("skipped", []))), skipped


@pytest.mark.parametrize("name", case_names())
def test_case_folder_is_well_formed(name: str) -> None:
    folder, exp = CASES / name, expected(name)
    assert set(exp) <= {"practice", "dental", "medical", "rules", "skipped"}, sorted(exp)
    assert exp["practice"].count("|") == 1 and claims_of(name), exp
    known = set(rule_claims()) | edit_ids()
    assert set(exp["rules"]) <= known, sorted(set(exp["rules"]) - known)
    kinds = set(mappings.load().notices)
    for claim in claims_of(name):
        e = exp[claim]
        assert set(e) == CLAIM_KEYS, (claim, sorted(e))
        for code, mods, qty in e["required"] + [alt for group in e["one_of"] for alt in group]:
            assert isinstance(code, str) and isinstance(mods, list) and (qty is None or isinstance(qty, int))
            assert code not in e["forbidden"], f"{claim}: {code} is both expected and forbidden"
        assert set(e["notices"]) <= kinds, (claim, sorted(set(e["notices"]) - kinds))
    assert (folder / "README.md").read_text().strip(), "README.md says what the case is about"
    assert (folder / "bundle.json").is_file()


# ---------------------------------------------------------------------------------------------- coverage
def test_every_rule_is_exercised() -> None:
    """Every rule in force in the mappings is listed by some case and fires in some (non-known-issue) case; a
    retired rule is listed by none."""
    all_rules = set(rule_claims()) - retired()
    declared = {rule for name in case_names() for rule in expected(name)["rules"]}
    seen = {rule for _, _, s in good_runs() for rule in fired(s)}
    assert not all_rules - declared, f"rules no case lists: {sorted(all_rules - declared)}"
    assert not all_rules - seen, f"rules no case fires: {sorted(all_rules - seen)}"
    assert not declared & retired(), f"cases list retired rules: {sorted(declared & retired())}"


def test_every_contract_notice_kind_appears() -> None:
    kinds = set(mappings.load().notices)
    seen = {n.kind for _, _, s in good_runs() for n in s.notices}
    assert set(CONTRACT_NOTICE_KINDS) <= kinds, sorted(set(CONTRACT_NOTICE_KINDS) - kinds)
    assert not set(CONTRACT_NOTICE_KINDS) - seen, f"contract notice kinds no case produces: " \
                                                   f"{sorted(set(CONTRACT_NOTICE_KINDS) - seen)}"


def test_every_notice_kind_in_the_mappings_appears() -> None:
    seen = {n.kind for _, _, s in good_runs() for n in s.notices}
    missing = set(mappings.load().notices) - seen
    assert not missing, f"notice kinds no case produces: {sorted(missing)}"


def test_case_files_are_what_make_files_writes(tmp_path: Path) -> None:
    """The committed case folders are exactly the generator's (deterministic) output."""
    spec = importlib.util.spec_from_file_location("make_files", CASES / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = module.write_cases(tmp_path)
    assert sorted(names) == case_names()
    for name in names:
        made = {p.name: p.read_bytes() for p in (tmp_path / name).iterdir()}
        kept = {p.name: p.read_bytes() for p in (CASES / name).iterdir() if p.name != "KNOWN_ISSUE.md"}
        assert made.keys() == kept.keys(), (name, sorted(made), sorted(kept))
        assert [f for f in made if made[f] != kept[f]] == [], name


# ---------------------------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize(("name", "claim"), [("pano-and-cbct-implant", "medical"), ("splint-by-lab", "dental")])
def test_cli_prints_the_same_json(name: str, claim: str) -> None:
    """`dwcoder suggest CASE --claim ... --practice ... --format json` in a subprocess prints what the in-process
    code returns (one JSON object per case)."""
    argv = [sys.executable, "-m", "plugin.cli", "suggest", str(CASES / name), "--claim", claim,
            "--practice", expected(name)["practice"], "--format", "json"]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    results = run(name, claim)
    # exit status 1 = some input was skipped: the folder's expected.json / README.md are not evidence.
    assert proc.returncode == (1 if any(r.skipped for r in results) else 0), proc.stderr
    printed = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert printed == [r.as_dict() for r in results]
    assert score(printed[0], expected(name)[claim]) == []
