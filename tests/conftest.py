"""Shared pytest fixtures: each lives with what it serves and is registered here."""
pytest_plugins = ["tests.fhirserver.fixture", "tests.oidc.fixture"]
