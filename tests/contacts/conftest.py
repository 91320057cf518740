"""Fixtures shared by the contacts tests: the real LDAP server of the directory's feed (tests/ldap_server.py)."""

from tests.ldap_server import ldap_branch, ldap_server

__all__ = ["ldap_branch", "ldap_server"]
