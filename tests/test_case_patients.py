"""Never the wrong patient (contract section 1), as a property: evidence of N patients, as FHIR Bundles, DICOM
JSON files and STL meshes, mixed into shared and per-patient files and folders in any order, always gives cases
of one patient each, and no evidence is lost silently: each record, series and mesh is in exactly one case or
named as skipped (PatientMismatch, UnlinkedEvidence); another order of the same evidence gives the same cases.

The generator knows each item's patient; the engine only sees the files. Each patient may or may not have a
Patient resource (a DICOM PatientID then stays a patient of its own), has 0-2 encounters and records with or
without an encounter reference; "intruders" are records of one patient filed under another patient's encounter.
Meshes carry no patient data: one placed in a patient's own folder (beside that patient's DICOM) may join only
that patient's case; one placed in the shared folder may join whichever case the folder rule gives, or none.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import mappings
from plugin.case import assemble
from plugin.evidence.files import read_paths
from plugin.evidence.model import ReadResult
from tests.factories import fhir as f
from tests.factories.dicom import dataset_json
from tests.factories.mesh import write_binary_stl

DAYS = ("2026-05-04", "2026-05-05", "2026-05-06")


class World:
    """The files of one example and the truth about them: whose each record, series and mesh is."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.owner: dict[str, int] = {}  # "Procedure/x", "Series/uid", "File/m.stl" -> patient number
        self.resources: list[tuple[int, dict]] = []  # (patient number, resource)
        self.must_skip: set[str] = set()  # refs that must be reported, not coded
        self.own_folder_meshes: dict[str, int] = {}  # "File/m.stl" -> the patient whose folder holds it
        self.meshes: set[str] = set()

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def patient_spec() -> st.SearchStrategy:
    return st.fixed_dictionaries({
        "resource": st.booleans(),
        "encounters": st.integers(0, 2),
        "records": st.lists(st.tuples(st.integers(-1, 1), st.integers(0, 2)), max_size=3),  # (encounter or -1, day)
        "series": st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=2),  # (day, in own folder)
        "meshes": st.lists(st.booleans(), max_size=2),  # in own folder?
    })


def build(world: World, specs: list[dict], intruders: list[tuple[int, int]]) -> None:
    for i, spec in enumerate(specs):
        pid, mrn = f"p{i}", f"MRN-{i}"
        if spec["resource"]:
            world.resources.append((i, f.patient(pid, mrn)))
        encounters = [f"e{i}-{k}" for k in range(spec["encounters"])]
        for k, eid in enumerate(encounters):
            world.resources.append((i, f.encounter(eid, day=DAYS[k], pid=pid)))
        for n, (enc, day) in enumerate(spec["records"]):
            eid = encounters[enc] if 0 <= enc < len(encounters) else ""
            world.resources.append((i, f.procedure(f"r{i}-{n}", "photographs", eid=eid, day=DAYS[day], patient=pid)))
            world.owner[f"Procedure/r{i}-{n}"] = i
        own = [d for d, mine in spec["series"] if mine]
        for n, (day, mine) in enumerate(spec["series"]):
            uid = f"1.2.826.0.1.{i}.{n}"
            ds = dataset_json(PatientID=mrn, StudyDate=DAYS[day].replace("-", ""), StudyInstanceUID=f"{uid}.9",
                              SeriesInstanceUID=uid, SOPInstanceUID=f"{uid}.1")
            f.write(world.folder(f"p{i}" if mine else "shared"), f"s{i}-{n}.dcm.json", [ds])
            world.owner[f"Series/{uid}"] = i
        for n, mine in enumerate(spec["meshes"]):
            name = f"m{i}-{n}.stl"
            where = f"p{i}" if mine and own else "shared"
            # each mesh its own scan: identical bytes are one scan, counted once per case (plugin.case.one_per_content)
            write_binary_stl(world.folder(where) / name, "TRIOS 5 upper", 12, seed=100 * i + n)
            world.meshes.add(f"File/{name}")
            if where != "shared":
                world.own_folder_meshes[f"File/{name}"] = i
    for n, (i, j) in enumerate(intruders):
        host = next((r for _, r in world.resources if r["resourceType"] == "Encounter" and r["subject"]["reference"] == f"Patient/p{j}"), None)
        if host is None or i == j:
            continue
        world.resources.append((i, f.procedure(f"x{n}", "photographs", eid=host["id"], patient=f"p{i}")))
        world.must_skip.add(f"Procedure/x{n}")


def write_bundles(world: World, bundles: int) -> None:
    """Resources into `bundles` Bundles at random; a Bundle of one patient lies in that patient's folder."""
    groups: list[list[tuple[int, dict]]] = [[] for _ in range(bundles)]
    for item in world.resources:
        groups[world.rng.randrange(bundles)].append(item)
    groups[0] += [(-1, r) for r in f.practice()]
    for n, group in enumerate(g for g in groups if g):
        world.rng.shuffle(group)
        whose = {i for i, _ in group} - {-1}
        folder = f"p{whose.pop()}" if len(whose) == 1 else "shared"
        f.write(world.folder(folder), f"b{n}.json", f.bundle(*(r for _, r in group)))


def summary(cases) -> list:
    return [(c.key, sorted(r.ref for r in c.records), sorted((s.ref, s.source) for s in c.series), sorted(m.source for m in c.meshes),
             sorted(p.source for p in c.problems)) for c in cases]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(specs=st.lists(patient_spec(), min_size=1, max_size=4), data=st.data())
def test_cases_are_of_one_patient_and_nothing_is_lost(specs, data):
    intruders = data.draw(st.lists(st.tuples(st.integers(0, len(specs) - 1), st.integers(0, len(specs) - 1)), max_size=2))
    bundles = data.draw(st.integers(1, 3))
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp), random.Random(data.draw(st.integers(0, 2**16))))
        build(world, specs, intruders)
        write_bundles(world, bundles)
        read = read_paths([world.root])
        assert read.problems == [], read.problems
        shuffled = data.draw(st.permutations(read.evidence))
        cases = assemble(ReadResult(evidence=list(shuffled), problems=[]), f.PRACTICE, "dental", mappings.load())
        again = assemble(ReadResult(evidence=list(reversed(shuffled)), problems=[]), f.PRACTICE, "dental", mappings.load())
    assert summary(again) == summary(cases), "another order of the same evidence gave other cases"

    placed: dict[str, int] = {}
    for case in cases:
        items = [r.ref for r in case.records] + [s.ref for s in case.series] + [m.ref for m in case.meshes]
        for ref in items:
            placed[ref] = placed.get(ref, 0) + 1
        whose = {world.owner[r] for r in items if r in world.owner}
        if case.encounter:
            whose.add(int(case.encounter["subject"]["reference"].removeprefix("Patient/p")))
        assert len(whose) <= 1, f"case {case.key} mixes patients {sorted(whose)}: {items}"
        for ref in items:
            if ref in world.own_folder_meshes:
                assert whose <= {world.own_folder_meshes[ref]}, f"{ref} of patient {world.own_folder_meshes[ref]} joined {case.key}"
    named = " ".join(p.source for c in cases for p in c.problems)
    for ref in list(world.owner) + sorted(world.must_skip):
        if ref in world.must_skip:
            assert ref not in placed and ref in named, f"{ref} filed under another patient's encounter was not reported"
        else:
            assert placed.get(ref) == 1, f"{ref} is in {placed.get(ref, 0)} cases"
    for ref in sorted(world.meshes):
        assert placed.get(ref, 0) + (ref.removeprefix("File/") in named) == 1, f"{ref} neither placed once nor named"
