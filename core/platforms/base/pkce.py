"""PKCE (RFC 7636) for the OAuth code flows of the networks that ask for it."""

from __future__ import annotations

import base64
import hashlib
import secrets

# --- PKCE -------------------------------------------------------------------------------------


def make_pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` pair, S256 (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

