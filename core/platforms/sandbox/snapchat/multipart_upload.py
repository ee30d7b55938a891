"""Snapchat's upload of the encrypted file in the sandbox: ``multipart-upload-v2`` with
``action=INIT`` (the encrypted size and the number of parts of at most 32 MB), ``ADD`` (one part)
and ``FINALIZE``, where the parts are joined and decrypted for real (AES-256-CBC with PKCS7, the
key and IV given at the media's creation) and must be the declared kind of file."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.platforms.sandbox.base import Call

if TYPE_CHECKING:
    from core.platforms.sandbox.snapchat.network import SnapchatSandbox

MAGIC = {"IMAGE": (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")}


def decrypt(data: bytes, key: bytes, iv: bytes) -> bytes | None:
    """AES-256-CBC + PKCS7, or ``None`` when ``data`` does not decrypt with ``key``/``iv``."""
    if not data or len(data) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


def looks_like(media_type: str, plain: bytes) -> bool:
    if media_type == "VIDEO":
        return plain[4:8] == b"ftyp"  # MP4 / MOV
    return plain.startswith(MAGIC["IMAGE"])


def multipart(network: SnapchatSandbox, call: Call) -> httpx.Response:
    """``multipart-upload-v2?action=INIT|ADD|FINALIZE`` for media not yet uploaded."""
    media = network._own_media(call, call.match["media"])
    if not network.setting("allowlisted"):
        raise network.fail(403, "This app is not allowlisted for the Public Profile API", "E3002")
    if media["finalized_at"] is not None:
        raise network.fail(400, f"Media {media['id']} has already been uploaded")
    action = (call.query.get("action") or "").upper()
    handlers = {"INIT": init_upload, "ADD": add_part, "FINALIZE": finalize_upload}
    if action not in handlers:
        raise network.fail(400, "action must be INIT, ADD or FINALIZE")
    return handlers[action](network, call, media)


def int_param(network: SnapchatSandbox, call: Call, name: str) -> int:
    value = str(call.param(name) or "")
    if not value.isdigit():
        raise network.fail(400, f"{name} is required and must be a positive integer")
    return int(value)


def init_upload(network: SnapchatSandbox, call: Call, media: dict[str, Any]) -> httpx.Response:
    size, parts = int_param(network, call, "file_size"), int_param(network, call, "number_of_parts")
    limit = network.setting("image_max_bytes" if media["type"] == "IMAGE" else "video_max_bytes")
    if size == 0 or size % 16:
        raise network.fail(400, "file_size must be that of the AES-256-CBC encrypted file "
                           "(a positive multiple of 16 bytes)")
    if size > limit + 16:
        raise network.fail(400, f"The {media['type'].lower()} is larger than {int(limit)} bytes")
    if not math.ceil(size / network.setting("max_part_bytes")) <= parts <= size:
        raise network.fail(400, "number_of_parts does not fit file_size in parts of at most "
                           f"{int(network.setting('max_part_bytes'))} bytes")
    upload_id = str(uuid.uuid4())
    media["upload"] = {"id": upload_id, "size": size, "parts": parts, "received": {}}
    base = urlsplit(call.base).path + f"/v1/media/{media['id']}/multipart-upload-v2"
    return network.ok(upload_id=upload_id, add_path=f"{base}?action=ADD",
                      finalize_path=f"{base}?action=FINALIZE")


def upload_of(network: SnapchatSandbox, call: Call, media: dict[str, Any]) -> dict[str, Any]:
    upload = media["upload"]
    if upload is None or call.param("upload_id") != upload["id"]:
        raise network.fail(400, "upload_id does not match an INIT of this media")
    return upload


def add_part(network: SnapchatSandbox, call: Call, media: dict[str, Any]) -> httpx.Response:
    upload = upload_of(network, call, media)
    number, part = int_param(network, call, "part_number"), call.files.get("file")
    if part is None or part.filename is None or not part.data:
        raise network.fail(400, "file is required (a multipart file part)")
    if not 1 <= number <= upload["parts"]:
        raise network.fail(400, f"part_number must be between 1 and {upload['parts']}")
    if len(part.data) > network.setting("max_part_bytes"):
        raise network.fail(400, f"A part may be at most {int(network.setting('max_part_bytes'))} bytes")
    upload["received"][number] = part.data
    return network.ok()


def finalize_upload(network: SnapchatSandbox, call: Call, media: dict[str, Any]) -> httpx.Response:
    upload = upload_of(network, call, media)
    missing = [n for n in range(1, upload["parts"] + 1) if n not in upload["received"]]
    if missing:
        raise network.fail(400, f"Parts {missing} have not been uploaded")
    data = b"".join(upload["received"][n] for n in range(1, upload["parts"] + 1))
    if len(data) != upload["size"]:
        raise network.fail(400, f"The parts add up to {len(data)} bytes, not file_size "
                           f"{upload['size']}")
    plain = decrypt(data, media["key"], media["iv"])
    if plain is None or not looks_like(media["type"], plain):
        media["upload"] = None  # the bytes are dropped; a new INIT may try again
        raise network.fail(400, f"Media {media['id']} could not be decrypted with the key and "
                           f"iv given at creation into {media['type'].lower()} data",
                           "E2004")
    kind = "video" if media["type"] == "VIDEO" else "image"
    media.update(finalized_at=call.now, size=len(plain), upload=None,
                 ready_at=call.now + timedelta(seconds=network.delay(kind)),
                 digest=hashlib.sha256(plain).hexdigest())
    return network.ok(result=network._render_media(media))
