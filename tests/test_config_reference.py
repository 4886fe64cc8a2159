"""docs/configuration.md is what `dwcoder settings reference` generates from the code, and every variable the
code reads is described."""
from __future__ import annotations

from plugin import config_reference
from plugin.cli import main
from plugin.settings import Settings
from tests.pipeline.runner import ROOT


def test_the_configuration_reference_matches_the_code():
    assert (ROOT / "docs" / "configuration.md").read_text() == config_reference.markdown(), \
        "docs/configuration.md is stale: run `dwcoder settings reference --write docs/configuration.md`"


def test_every_variable_the_code_reads_is_described():
    undocumented = sorted(set(config_reference.variables()) - set(config_reference.described()))
    assert not undocumented, f"describe in plugin/settings.py's docstring or config_reference.DESCRIPTIONS: {undocumented}"
    stale = sorted(set(config_reference.DESCRIPTIONS) - set(config_reference.variables()))
    assert not stale, f"described but read nowhere: {stale}"


def test_the_scan_finds_what_settings_and_other_modules_read():
    found = config_reference.variables()
    assert found["DWCODER_SETTLE_S"].default == "0.3" and found["DWCODER_SETTLE_S"].minimum == "0"
    assert found["FHIR_AUTH"].allowed == ("none", "bearer", "smart")
    assert found["DWCODER_MAX_BODY_BYTES"].default == str(Settings.max_body_bytes)
    assert "plugin/mappings.py" in found["DWCODER_CODE_SETS"].read_by
    assert found["WEBHOOK_SOURCES"].secret and not found["DWCODER_PORT"].secret


def test_a_new_setting_is_found_with_its_default_and_minimum():
    found: dict = {}
    config_reference._scan_settings(found, 'def _build(env):\n    x = _number(env, "DWCODER_NEW_S", 2.5, minimum=0.5)\n'
                                           '    y = _choice(env, "DWCODER_MODE", ("a", "b"), "a")\n')
    assert (found["DWCODER_NEW_S"].default, found["DWCODER_NEW_S"].minimum) == ("2.5", "0.5")
    assert found["DWCODER_MODE"].allowed == ("a", "b")


def test_the_command_prints_and_writes_the_reference(tmp_path, capsys):
    assert main(["settings", "reference"]) == 0
    assert capsys.readouterr().out == config_reference.markdown()
    assert main(["settings", "reference", "--write", str(tmp_path / "c.md")]) == 0
    assert (tmp_path / "c.md").read_text() == config_reference.markdown()


def test_a_variable_named_only_in_the_settings_docstring_is_described_by_it():
    found = config_reference.docstring_descriptions()
    assert found["DWCODER_RATE"].startswith("DWCODER_RATE default requests per second per source")
    assert found["WEBHOOK_SOURCES"].count("max_body_bytes") == 1  # continuation lines joined
