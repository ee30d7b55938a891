"""Token encryption: the per-process cache of decrypted tokens stays exact and bounded."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from core.services import secrets
from core.services.secrets import TokenCipher


def test_decrypt_gives_each_ciphertext_its_own_text_and_bounds_its_cache(monkeypatch) -> None:
    monkeypatch.setattr(secrets, "DECRYPTED_CACHE_SIZE", 3)
    cipher = TokenCipher([Fernet.generate_key().decode()])
    tokens = {cipher.encrypt(f"token-{i}"): f"token-{i}" for i in range(5)}
    for _ in range(2):  # the second round reads some from the cache, decrypts the evicted again
        assert {c: cipher.decrypt(c) for c in tokens} == tokens
    assert len(cipher._decrypted) == 3
    # A re-encrypted token is a new ciphertext: it is decrypted, not served an old text.
    again = cipher.encrypt("rotated")
    assert cipher.decrypt(again) == "rotated"


def test_a_ciphertext_under_a_foreign_key_is_refused_even_after_others_were_cached() -> None:
    cipher = TokenCipher([Fernet.generate_key().decode()])
    cipher.decrypt(cipher.encrypt("ours"))
    foreign = TokenCipher([Fernet.generate_key().decode()]).encrypt("theirs")
    with pytest.raises(InvalidToken):
        cipher.decrypt(foreign)
