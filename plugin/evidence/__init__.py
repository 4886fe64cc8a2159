"""Readers: FHIR JSON, DICOM (Part 10 and JSON), STL/PLY -> one evidence model (model.py)."""
