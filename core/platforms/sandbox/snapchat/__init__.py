"""Snapchat's Public Profile API in the sandbox: ``SnapchatSandbox`` and every name of the former
``sandbox/snapchat.py`` importable from here.

``network`` holds ``SnapchatSandbox`` (routes, Snap's envelope, limits, profiles, media
containers, stats) and the overview of what is confirmed and what is designed; ``multipart_upload``
the upload of the encrypted file and its decryption; ``content`` stories, saved stories and
Spotlight; ``oauth`` OAuth on ``accounts.snapchat.com``.
"""

from core.platforms.sandbox.snapchat.content import KINDS
from core.platforms.sandbox.snapchat.multipart_upload import MAGIC, decrypt, looks_like
from core.platforms.sandbox.snapchat.network import ASSET_TYPES, DEFAULTS, SnapchatSandbox, iso
from core.platforms.sandbox.snapchat.oauth import ACCESS_TTL

__all__ = [
    "ACCESS_TTL",
    "ASSET_TYPES",
    "DEFAULTS",
    "KINDS",
    "MAGIC",
    "SnapchatSandbox",
    "decrypt",
    "iso",
    "looks_like",
]
