"""The mappings loader: the shipped folder is valid, overrides work, every mistake is named."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from plugin import mappings
from plugin.cli import code_paths, main
from plugin.errors import ConfigError, MappingError
from tests.factories import fhir as f

BASE = mappings.year_folder(mappings.BASE_DIR)


def test_shipped_mappings_load_and_cross_check():
    maps = mappings.load(year=2026)
    assert maps.manifest["code_set_year"] == 2026
    assert mappings.load().manifest["code_set_year"] == max(int(p.name) for p in mappings.BASE_DIR.iterdir() if p.name.isdigit())
    assert len({r.id for r in maps.rules}) == len(maps.rules)
    assert maps.lookup("cbct-dental", {"fov": "maxilla", "component": "capture"}) == "D0382"
    assert maps.lookup("em-office-new", {"minutes": 44}) == "99203"
    assert maps.lookup("em-office-new", {"minutes": 14}) is None


def test_check_command_accepts_the_shipped_folder(capsys):
    assert main(["mappings", "check", str(mappings.BASE_DIR)]) == 0
    assert "ok:" in capsys.readouterr().out


def test_every_code_label_is_short_and_own():
    for code, entry in mappings.load().codes.items():
        assert 3 < len(entry["label"]) <= 80, code


def copy_base(tmp_path: Path) -> Path:
    target = tmp_path / "2026"
    shutil.copytree(BASE, target)
    return target


def edit_rule(folder: Path, rule_id: str, **changes) -> None:
    path = folder / "rules.yaml"
    rules = yaml.safe_load(path.read_text())
    for rule in rules:
        if rule["id"] == rule_id:
            rule.update(changes)
    path.write_text(yaml.safe_dump(rules, sort_keys=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"when": {"fvo": "mandible"}}, r"rule DWC-IMG-010: unknown fact 'fvo' \(did you mean 'fov'\?\)"),
        ({"when": {"fov": "mandibel"}}, r"rule DWC-IMG-010: fact fov: unknown value 'mandibel' \(did you mean 'mandible'\?\)"),
        ({"code": "D0366X"}, r"rule DWC-IMG-010"),
        ({"code": "D0999"}, r"rule DWC-IMG-010: unknown code 'D0999'"),
        ({"code": {"table": "cbct-dentl"}}, r"unknown table 'cbct-dentl' \(did you mean 'cbct-dental'\?\)"),
        ({"step": "cbtc"}, r"unknown step 'cbtc' \(did you mean 'cbct'\?\)"),
        ({"notices": [{"kind": "global-periods"}]}, r"unknown notice kind 'global-periods' \(did you mean 'global-period'\?\)"),
        ({"rationale": "field {fov_class}"}, r"message: unknown fact 'fov_class'"),
        ({"when": {"billed": {"any": ["D0365"]}}}, r"'billed' needs phase: 2"),
        ({"documentation": ["cbct-reprot"]}, r"unknown item \(settings.yaml documentation\) 'cbct-reprot' \(did you mean 'cbct-report'\?\)"),
        ({"alternatives": [{"code": "D0391", "why": "w", "when": {"minuts": {"min": 3}}}]}, r"alternative D0391: unknown fact 'minuts'"),
        ({"alternatives": [{"code": "unlisted", "why": "an unlisted code"}]}, r"unknown code 'unlisted'"),
        ({"alternatives": [{"code": "D0391", "why": "at {minuts} min"}]}, r"message: unknown fact 'minuts'"),
        ({"code": None, "notices": [{"kind": "imaging-overlap"}]}, r"notice imaging-overlap names no codes but its text shows \{codes\}"),
        ({"code": None, "notices": [{"kind": "mue-exceeded", "codes": ["D0367"]}]}, r"notice mue-exceeded has no detail"),
    ],
)
def test_a_wrong_rule_is_named_with_file_and_id(tmp_path, change, message):
    folder = copy_base(tmp_path)
    edit_rule(folder, "DWC-IMG-010", **change)
    with pytest.raises(MappingError, match=message):
        mappings.load_folder(folder)


def test_missing_required_rule_key_is_a_schema_error(tmp_path):
    folder = copy_base(tmp_path)
    rules = yaml.safe_load((folder / "rules.yaml").read_text())
    del rules[0]["source"]
    (folder / "rules.yaml").write_text(yaml.safe_dump(rules))
    with pytest.raises(MappingError, match=r"rules.yaml: rule DWC-EVAL-001: 'source' is a required property"):
        mappings.load_folder(folder)


def test_bad_setting_names_key_and_value(tmp_path):
    folder = copy_base(tmp_path)
    settings = yaml.safe_load((folder / "settings.yaml").read_text())
    settings["default_claim"] = "both"
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings))
    with pytest.raises(MappingError, match=r"default_claim: 'both' is not one of \['dental', 'medical'\]"):
        mappings.load_folder(folder)


def test_broken_yaml_is_reported_with_its_file(tmp_path):
    folder = copy_base(tmp_path)
    (folder / "tables.yaml").write_text("cbct-dental: [unclosed\n")
    with pytest.raises(MappingError, match=r"tables.yaml: not valid YAML"):
        mappings.load_folder(folder)


def test_override_cannot_redefine_facts(tmp_path):
    (tmp_path / "facts.yaml").write_text("fov: {type: string, about: x}\n")
    with pytest.raises(MappingError, match="facts cannot be overridden"):
        mappings.load((str(tmp_path),))


def test_override_folder_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="is not a folder"):
        mappings.load((str(tmp_path / "nope"),))


def test_check_command_reports_a_bad_override(tmp_path, capsys):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump([{
        "id": "PRAC-XRAY-001", "title": "t", "valid": {"from": "2026-01-01"}, "step": "cbct",
        "when": {"component": "bothh"}, "code": "D0367", "rationale": "r", "source": "practice"}]))
    assert main(["mappings", "check", str(tmp_path)]) == 2
    assert "unknown value 'bothh' (did you mean 'both'?)" in capsys.readouterr().err


def scan_case(tmp_path: Path) -> Path:
    folder = tmp_path / "case"
    f.write(folder, "bundle.json", f.bundle(*f.practice(), f.patient(), f.encounter(minutes=25),
                                            f.procedure("scan", "intraoral-scan")))
    return folder


def test_practice_override_replaces_a_rule_and_a_setting(tmp_path):
    folder = scan_case(tmp_path)
    before = code_paths([str(folder)], f.PRACTICE, None)[0]
    assert before.claim == "dental"
    override = tmp_path / "practice"
    override.mkdir()
    (override / "settings.yaml").write_text("default_claim: medical\n")
    (override / "rules.yaml").write_text(yaml.safe_dump([{
        "id": "DWC-SCAN-001", "title": "Our payer wants D0470 for scans", "valid": {"from": "2026-01-01"},
        "step": "intraoral-scan", "code": "D0470", "rationale": "payer contract", "source": "practice contract 2026"}]))
    after = code_paths([str(folder)], f.PRACTICE, None, (str(override),))[0]
    assert after.claim == "medical"
    assert [l.code for l in after.lines if l.step == "intraoral-scan"] == ["D0470"]
    assert "+practice" in after.mappings_version


def test_rule_outside_its_validity_does_not_fire(tmp_path):
    folder = scan_case(tmp_path)
    override = tmp_path / "practice"
    override.mkdir()
    rules = [r for r in yaml.safe_load((BASE / "rules.yaml").read_text()) if r["id"] == "DWC-SCAN-001"]
    rules[0]["valid"] = {"from": "2023-01-01", "to": "2025-12-31"}
    (override / "rules.yaml").write_text(yaml.safe_dump(rules))
    codes = [l.code for l in code_paths([str(folder)], f.PRACTICE, "dental", (str(override),))[0].lines]
    assert "D0801" not in codes and "D0140" in codes


def test_rule_ids_are_immutable():
    """A published id is never removed or reused: retire a rule with `valid.to` (mappings/RULE_IDS)."""
    registry = [l for l in (mappings.BASE_DIR / "RULE_IDS").read_text().splitlines() if l and not l.startswith("#")]
    maps = mappings.load()
    current = {r.id for r in maps.rules} | {e["id"] for key in ("overlap", "same_day") for e in maps.edits.get(key, [])}
    assert sorted(set(registry) - current) == [], "published rule ids missing: retire them with valid.to instead"
    assert sorted(current - set(registry)) == [], "new rule ids: add them to mappings/RULE_IDS"


def test_a_notice_text_for_an_unknown_code_is_named(tmp_path):
    folder = copy_base(tmp_path)
    notices = yaml.safe_load((folder / "notices.yaml").read_text())
    notices["third-party-fabrication"]["by_code"]["D0369"] = "a text for a code that does not exist"
    (folder / "notices.yaml").write_text(yaml.safe_dump(notices))
    with pytest.raises(MappingError, match=r"notices.yaml: third-party-fabrication: by_code: unknown code 'D0369'"):
        mappings.load_folder(folder)


def test_a_same_day_edit_names_known_codes_and_modifiers(tmp_path):
    folder = copy_base(tmp_path)
    edits = yaml.safe_load((folder / "edits.yaml").read_text())
    edits["same_day"][0]["modifier"] = "59"
    (folder / "edits.yaml").write_text(yaml.safe_dump(edits))
    with pytest.raises(MappingError, match=r"edits.yaml: DWC-EDIT-MOD25-1: unknown modifier '59'"):
        mappings.load_folder(folder)
