"""Fixtures for the real mail stack (filled in by the mail-stack work)."""
