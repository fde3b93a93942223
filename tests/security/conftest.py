"""The claims world (institutions, trainees, staff tokens) for the security tests."""

from tests.claims.conftest import trainee_chat, world

__all__ = ["trainee_chat", "world"]
