"""The media's encryption before upload: AES-256-CBC with a fresh random key and IV, PKCS7
padding, spooled (``seal`` -> ``SealedMedia``, sent in parts)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.platforms.media import SPOOL_MEMORY_BYTES, FetchedMedia

ENCRYPT_BLOCK_BYTES = 1024**2


@dataclass
class SealedMedia:
    """Media encrypted with AES-256-CBC (PKCS7), spooled; close it when done."""

    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)
    size: int
    file: IO[bytes] = field(repr=False)

    def parts(self, size: int) -> Iterator[bytes]:
        self.file.seek(0)
        while block := self.file.read(size):
            yield block

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> SealedMedia:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def seal(media: FetchedMedia) -> SealedMedia:
    """Encrypt ``media`` with a fresh random key and IV (what ``openssl enc -aes-256-cbc
    -nosalt -K key -iv iv`` produces)."""
    key, iv = secrets.token_bytes(32), secrets.token_bytes(16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - returned
    for block in media.iter_chunks(ENCRYPT_BLOCK_BYTES):
        spool.write(encryptor.update(padder.update(block)))
    spool.write(encryptor.update(padder.finalize()) + encryptor.finalize())
    return SealedMedia(key, iv, spool.tell(), spool)
