"""How images are classified (plugin/engine/imaging.py) and meshes told from scans (plugin/engine/surfaces.py),
with the real mappings: ImageType, 2D reformats vs 3D renderings, cone-beam vs medical CT, body region, TMJ."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin import mappings
from plugin.engine import imaging
from plugin.engine.imaging import Image
from plugin.engine.surfaces import classify_scan

MAPS = mappings.load()


def kind(**fields) -> str:
    image = Image(uid="1.2.3", **fields)
    image.kind, image.why = imaging.classify(image, MAPS)
    if image.kind == "ct":
        image.kind, image.why, image.cbct_certain = imaging._cone_beam_or_not(image, MAPS)
    return image.kind


# ------------------------------------------------------------------------------------ ImageType decides
@settings(max_examples=60, deadline=None)
@given(description=st.sampled_from(["3D volume rendering", "MPR", "VR", "segmentation", "3D export", ""]),
       value1=st.sampled_from(["ORIGINAL", "DERIVED"]))
def test_value_2_primary_is_acquired_whatever_the_description(description, value1):
    found = kind(modality="CT", image_type=(value1, "PRIMARY", "AXIAL"), description=description,
                 device="Imaging Sciences International 17-19")
    assert found == "cbct"


@pytest.mark.parametrize(("image_type", "modality", "description", "expected"), [
    (("DERIVED", "SECONDARY", "MPR"), "CT", "MPR Coronal 3mm", "reformat"),
    (("DERIVED", "SECONDARY", "CURVED_MPR"), "CT", "", "reformat"),
    (("DERIVED", "SECONDARY", "AXIAL", "MPR"), "XA", "<MPR Range>", "reformat"),
    (("DERIVED", "SECONDARY", "LOCALIZER", "MPR"), "XA", "", "reformat"),
    (("ORIGINAL", "PRIMARY", "LOCALIZER"), "CT", "Topogram", "reformat"),
    (("DERIVED", "SECONDARY"), "OT", "Volume Rendering", "derived"),
    (("DERIVED", "SECONDARY", "MIP"), "CT", "", "derived"),
    (("DERIVED", "SECONDARY", "OTHER"), "MR", "SUB 2-1", "other"),
    (("DERIVED", "SECONDARY"), "OT", "Screen capture", "other"),
    ((), "M3D", "Mandible model", "derived"),
    ((), "SEG", "", "derived"),
])
def test_derived_images_are_renderings_only_with_a_sign_of_3d_work(image_type, modality, description, expected):
    assert kind(modality=modality, image_type=image_type, description=description) == expected


@pytest.mark.parametrize(("description", "expected"), [("3D volume rendering", "derived"), ("MPR sagittal", "reformat"),
                                                       ("CBCT both jaws", "cbct")])
def test_words_decide_only_where_the_header_is_silent(description, expected):
    assert kind(modality="CT", description=description) == expected


def test_derived_panoramic_from_the_volume_is_part_of_the_volume():
    volume = Image(uid="v", study_uid="s", modality="CT", image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
                   station="RONTGEN", device="Imaging Sciences International 17-19")
    pano = Image(uid="p", study_uid="other", modality="PX", image_type=("DERIVED", "SECONDARY"), derived=True,
                 station="RONTGEN", description="Panoramic")
    film = Image(uid="f", study_uid="other", modality="PX", image_type=("ORIGINAL", "PRIMARY"), station="RONTGEN")
    for image in (volume, pano, film):
        image.kind, image.why = imaging.classify(image, MAPS)
    volume.kind = "cbct"
    imaging._reconstructed_views([volume, pano, film], MAPS)
    assert (pano.kind, film.kind) == ("reformat", "panoramic")


# ------------------------------------------------------------------------------------ cone-beam or medical CT
ORIGINAL = ("ORIGINAL", "PRIMARY", "AXIAL")


@pytest.mark.parametrize("device", ["Xoran Technologies ® 17-19", "MyRay HYB", "NIM", "PreXion PreXion3D",
                                    "Dabi Atlante Eagle 3D", "Sirona", "J.Morita.Mfg.Corp.", "Vatech Company Limited"])
def test_dental_cone_beam_makers_are_cbct(device):
    assert kind(modality="CT", image_type=ORIGINAL, device=device) == "cbct"


@pytest.mark.parametrize("device", ["GE MEDICAL SYSTEMS BrightSpeed", "TOSHIBA Aquilion Lightning",
                                    "SIEMENS SOMATOM Definition AS", "Philips Brilliance 64"])
def test_medical_ct_makers_are_ct(device):
    assert kind(modality="CT", image_type=ORIGINAL, device=device) == "ct"


def test_header_evidence_tells_cone_beam_without_a_name():
    image = Image(uid="1", modality="CT", image_type=ORIGINAL, device="Nordlicht XR-3D", voxel=(0.3, 0.3, 0.3),
                  acquisition={"KVP": "120", "ExposureTime": "8900", "XRayTubeCurrent": "5", "ScanOptions": "PORTRAIT"})
    found, why, certain = imaging._cone_beam_or_not(image, MAPS)
    assert (found, certain) == ("cbct", True)
    assert "isotropic" in why and "seconds-long" in why


def test_header_evidence_tells_gantry_ct_without_a_name():
    image = Image(uid="1", modality="CT", image_type=ORIGINAL, device="Nordlicht XR-3D", voxel=(0.49, 0.49, 0.625),
                  acquisition={"CTDIvol": "32", "XRayTubeCurrent": "250", "ScanOptions": "HELICAL MODE"})
    assert imaging._cone_beam_or_not(image, MAPS)[::2] == ("ct", True)


def test_a_silent_header_is_uncertain_and_a_zero_measurement_is_no_evidence():
    image = Image(uid="1", modality="CT", image_type=ORIGINAL, device="Nordlicht XR-3D",
                  acquisition={"ExposureTime": "0", "XRayTubeCurrent": "0"})
    found, why, certain = imaging._cone_beam_or_not(image, MAPS)
    assert (found, certain) == ("ct", False) and "uncertain" in why


def test_craniofacial_sop_class_is_a_volume_whatever_the_modality():
    assert kind(modality="DX", sop_class="1.2.840.10008.5.1.4.1.1.13.1.2", image_type=ORIGINAL) == "cbct"


# ------------------------------------------------------------------------------------ region, field of view, TMJ
@pytest.mark.parametrize(("body", "expected"), [("CHEST", "outside"), ("ABDOMEN", "outside"), ("HEAD", "head-neck"),
                                                ("TMJ", "head-neck"), ("RG Tinningben B", "unknown"), ("", "unknown")])
def test_body_region(body, expected):
    assert imaging.region(Image(uid="1", body_part=body), MAPS) == expected


def test_tmj_exposure_is_marked_by_body_part_and_is_never_a_both_jaws_volume():
    assert imaging.tmj_exposure(Image(uid="1", body_part="TMJ", diameter=80, height=60), MAPS)
    assert not imaging.tmj_exposure(Image(uid="1", body_part="TMJ", diameter=160, height=100), MAPS)
    assert not imaging.tmj_exposure(Image(uid="1", description="both jaws incl. TMJ", diameter=160, height=100), MAPS)
    assert not imaging.tmj_exposure(Image(uid="1", body_part="MANDIBLE", description="TMJ left"), MAPS)


def test_field_of_view_is_never_tmj_and_unknown_without_measurements():
    assert imaging.fov(Image(uid="1", body_part="TMJ", diameter=50, height=40), MAPS) == "partial"
    assert imaging.fov(Image(uid="1", body_part="TMJ"), MAPS) == "unknown"
    assert imaging.fov(Image(uid="1", diameter=160, height=100), MAPS) == "both-jaws"


# ------------------------------------------------------------------------------------ meshes that are no scans
@pytest.mark.parametrize(("header", "largest", "why"), [
    ("Visualization Toolkit generated SLA File", 98.0, "software"),
    ("Mimics - Mandible model", None, "software"),
    ("Surgical splint final", 70.0, "designed appliance"),
    ("solid unit_cube", 1.0, "smaller than any scan"),
    ("", 4572.0, "larger than any scan"),
])
def test_meshes_no_scanner_made_are_no_scans(header, largest, why):
    found = classify_scan(header, largest, MAPS)
    assert found.step == "" and why.split()[0] in found.why


@pytest.mark.parametrize(("header", "largest", "step"), [("3Shape TRIOS 5 lower arch", 62.0, "intraoral-scan"),
                                                         ("", 62.0, "intraoral-scan"), ("", 190.0, "facial-scan")])
def test_real_scans_are_still_scans(header, largest, step):
    assert classify_scan(header, largest, MAPS).step == step


def test_a_reconstructed_panoramic_named_so_without_a_header_is_part_of_the_volume():
    assert kind(modality="PX", description="Panoramic reconstruction from CBCT") == "reformat"
    assert kind(modality="PX", description="Panoramic") == "panoramic"


def test_a_known_cone_beam_model_outweighs_its_makers_medical_ct_line():
    image = Image(uid="1", modality="CT", image_type=ORIGINAL, device="Hitachi Medical Corporation CB MercuRay")
    found, _, certain = imaging._cone_beam_or_not(image, MAPS)
    assert found == "cbct"
