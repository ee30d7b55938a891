"""Encryption of platform tokens at rest (Fernet, keyed by HERALD_SECRET_KEY).

Several comma-separated keys may be given: the first encrypts, all decrypt (key rotation).
In embedded mode (SQLite) a key is generated once into ``data/secret.key`` with mode 0600;
with PostgreSQL the key must be configured, because a generated one would differ per host.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Settings

KEY_FILE_NAME = "secret.key"
# Decrypted tokens kept per process. The daemon decrypts an account's tokens for every publish,
# and Fernet's HMAC + AES is a noticeable share of its CPU at hundreds of publishes a second.
# A ciphertext always decrypts to the same text (the keys are fixed for the process's life;
# a new token is a new ciphertext), so it is a safe key. Bounded: the oldest entries go first.
DECRYPTED_CACHE_SIZE = 8192


class SecretKeyMissing(RuntimeError):
    pass


class TokenCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyMissing("no encryption key given")
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SecretKeyMissing(
                "HERALD_SECRET_KEY is not a valid Fernet key (32 url-safe base64 bytes); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc
        self._decrypted: dict[str, str] = {}
        self._decrypted_lock = threading.Lock()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        plain = self._decrypted.get(token)
        if plain is None:
            plain = self._fernet.decrypt(token.encode()).decode()
            with self._decrypted_lock:
                if len(self._decrypted) >= DECRYPTED_CACHE_SIZE:
                    del self._decrypted[next(iter(self._decrypted))]
                self._decrypted[token] = plain
        return plain

    def decrypt_fresh(self, token: str, ttl_seconds: int) -> str:
        """Decrypt a token minted at most ``ttl_seconds`` ago (OAuth state)."""
        return self._fernet.decrypt(token.encode(), ttl=ttl_seconds).decode()


class LazyCipher(TokenCipher):
    """Loads the key on first use, so commands that never touch tokens need no key."""

    def __init__(self, settings: Settings) -> None:  # noqa: D107 - no super().__init__ on purpose
        self._settings = settings
        self._loaded: TokenCipher | None = None

    def _cipher(self) -> TokenCipher:
        if self._loaded is None:
            self._loaded = load_cipher(self._settings)
        return self._loaded

    def encrypt(self, plain: str) -> str:
        return self._cipher().encrypt(plain)

    def decrypt(self, token: str) -> str:
        return self._cipher().decrypt(token)

    def decrypt_fresh(self, token: str, ttl_seconds: int) -> str:
        return self._cipher().decrypt_fresh(token, ttl_seconds)


def load_cipher(settings: Settings) -> TokenCipher:
    if settings.secret_key:
        return TokenCipher([k for k in settings.secret_key.split(",") if k.strip()])
    if not settings.is_sqlite:
        raise SecretKeyMissing(
            "HERALD_SECRET_KEY must be set when the database is PostgreSQL (every process must "
            "share the same key to read the stored platform tokens)"
        )
    return TokenCipher([_embedded_key(settings.data_dir)])


def _embedded_key(data_dir: Path) -> str:
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    # O_EXCL: if two processes start together, one writes and the other reads what it wrote.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


__all__ = ["TokenCipher", "LazyCipher", "load_cipher", "SecretKeyMissing", "InvalidToken"]
