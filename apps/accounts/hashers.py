"""Password hashing parameters sized for a sign-in that stays quick on a small server."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class RucheArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's password-storage parameters (19 MiB, 2 passes, 1 lane).

    Django's defaults (100 MiB, 8 lanes) cost ~125 ms of CPU per sign-in on a 2-core machine, a
    third of the time from "Sign in" to the inbox; these cost ~20 ms. Same "argon2" prefix: hashes
    made with other parameters still verify, and are re-hashed with these at the next sign-in.
    """

    time_cost = 2
    memory_cost = 19456
    parallelism = 1
