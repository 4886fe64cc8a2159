"""digital-workflow-coder: evidence of a clinical case in, explained charge lines out.

The data's way: evidence/ (readers) -> case.py (assembly) -> engine/ (facts, rules, edits)
-> output/ (json, fhir, table). mappings.py is the one loader of mappings/; errors.py is at the bottom.
"""
__version__ = "0.1.0"
