"""A LinkedIn media asset's upload in the sandbox: ``initializeUpload`` (one upload URL, or one
per part of a video), the ``PUT`` of the bytes (an ETag per video part), ``finalizeUpload`` and
the asset's ``GET``. The assets' records, their processing state and their retention are on
``LinkedInSandbox`` (``assets``, ``status_of``), where posts use them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from core.platforms.sandbox.base import Call, Reply, json_response
from core.platforms.sandbox.linkedin.responses import error, input_error, ms

if TYPE_CHECKING:
    from core.platforms.sandbox.linkedin.network import LinkedInSandbox

UPLOAD_TTL = timedelta(hours=24)
VIDEO_PART_BYTES = 4 * 1024**2
VIDEO_MAX_BYTES = 500 * 1024**2
DOCUMENT_TYPES = ("application/pdf", "application/vnd.ms-powerpoint", "application/msword",
                  "application/vnd.openxmlformats-officedocument")
ASSET_PREFIX = {"images": ("image", "C4E10AQ"), "videos": ("video", "D4E05AQ"),
                "documents": ("document", "D4D10AQ")}
FAILURE_REASON = "Video processing failed: the file is not a supported MP4 (H.264/AAC)"


def asset_action(network: LinkedInSandbox, call: Call) -> httpx.Response:
    action = call.query.get("action")
    if action == "initializeUpload":
        return _initialize(network, call)
    if action == "finalizeUpload" and call.match["kind"] == "videos":
        return _finalize(network, call)
    raise Reply(error(400, f"Unsupported action {action!r} on /{call.match['kind']}",
                      code="ILLEGAL_ARGUMENT"))


def _initialize(network: LinkedInSandbox, call: Call) -> httpx.Response:
    kind, prefix = ASSET_PREFIX[call.match["kind"]]
    request = (call.json or {}).get("initializeUploadRequest") if isinstance(call.json, dict) else None
    if not isinstance(request, dict) or not request.get("owner"):
        raise input_error("initializeUploadRequest.owner is required", "FIELD_REQUIRED",
                          "/initializeUploadRequest/owner", 400)
    if not network._may_act_as(call, request["owner"]):
        raise network._denied(call, f"{call.match['kind']} owned by {request['owner']}")
    network._scope(call, "w_member_social", "w_organization_social")
    urn = f"urn:li:{kind}:{prefix}{secrets.token_urlsafe(9).replace('-', 'x').replace('_', 'y')}"
    asset: dict[str, Any] = {"urn": urn, "kind": kind, "owner": request["owner"], "parts": [],
                             "etags": {}, "ready_at": None, "created_at": call.now,
                             "failed": call.notes.get("processing_failed"), "upload_token": "",
                             "used": False}
    value: dict[str, Any] = {kind: urn}
    expires = ms(call.now + UPLOAD_TTL)
    if kind == "video":
        size = request.get("fileSizeBytes")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= VIDEO_MAX_BYTES:
            raise input_error(f"fileSizeBytes must be 1 to {VIDEO_MAX_BYTES}", "INVALID_VALUE",
                              "/initializeUploadRequest/fileSizeBytes", 400)
        part = int(network.sandbox.config.limit(network.platform, "video_part_bytes", VIDEO_PART_BYTES))
        asset["parts"] = [(first, min(first + part, size) - 1) for first in range(0, size, part)]
        asset["upload_token"] = "" if len(asset["parts"]) == 1 else secrets.token_hex(16)
        value.update(uploadUrlsExpireAt=expires, uploadToken=asset["upload_token"],
                     uploadInstructions=[{"uploadUrl": _upload_url(network, call, urn, index),
                                          "firstByte": first, "lastByte": last}
                                         for index, (first, last) in enumerate(asset["parts"])])
    else:
        value.update(uploadUrlExpiresAt=expires, uploadUrl=_upload_url(network, call, urn, 0))
    network.assets[urn] = asset
    return json_response(200, {"value": value})


def _upload_url(network: LinkedInSandbox, call: Call, urn: str, index: int) -> str:
    key = secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    network.upload_keys[key] = (urn, index)
    return f"{call.base}/dms-uploads/{key}"


def upload(network: LinkedInSandbox, call: Call) -> httpx.Response:
    urn, index = network.upload_keys.get(call.match["key"], ("", 0))
    asset = network._asset(urn)
    if asset is None or not network._may_act_as(call, asset["owner"]):
        raise Reply(error(404, "Upload URL not found or expired", code="NOT_FOUND"))
    if call.now >= asset["created_at"] + UPLOAD_TTL or asset["ready_at"] is not None:
        raise Reply(error(400, "The upload URL has expired or the upload is complete",
                          code="ILLEGAL_ARGUMENT"))
    if not call.body:
        raise Reply(error(400, "The request body is empty", code="ILLEGAL_ARGUMENT"))
    if asset["kind"] == "document" and not (call.header("content-type") or "").startswith(
            DOCUMENT_TYPES):
        raise Reply(error(400, "Documents are PDF, PPT(X) or DOC(X) files: send their "
                          "Content-Type", code="ILLEGAL_ARGUMENT"))
    if asset["kind"] != "video":
        asset["ready_at"] = call.now + timedelta(seconds=network.delay(asset["kind"]) or network.delay("image"))
        return httpx.Response(201)
    first, last = asset["parts"][index]
    if len(call.body) != last - first + 1:
        raise Reply(error(400, f"Part {index} must be bytes {first}-{last} "
                          f"({last - first + 1} bytes); got {len(call.body)}", code="ILLEGAL_ARGUMENT"))
    etag = "/ambry-video/signedId/" + hashlib.sha256(f"{urn}/{index}".encode() + call.body).hexdigest()[:32]
    asset["etags"][index] = etag
    return httpx.Response(200, headers={"ETag": etag})


def _finalize(network: LinkedInSandbox, call: Call) -> httpx.Response:
    request = (call.json or {}).get("finalizeUploadRequest") if isinstance(call.json, dict) else None
    request = request if isinstance(request, dict) else {}
    asset = network._asset(str(request.get("video") or ""))
    if asset is None or not network._may_act_as(call, asset["owner"]):
        raise input_error("finalizeUploadRequest.video is not a video you are uploading",
                          "INVALID_VALUE", "/finalizeUploadRequest/video", 400)
    expected = [asset["etags"].get(i) for i in range(len(asset["parts"]))]
    if None in expected or list(request.get("uploadedPartIds") or []) != expected:
        raise input_error("uploadedPartIds must list the ETag of every uploaded part, in "
                          "order", "INVALID_VALUE", "/finalizeUploadRequest/uploadedPartIds", 400)
    if (request.get("uploadToken") or "") != asset["upload_token"]:
        raise input_error("uploadToken does not match", "INVALID_VALUE",
                          "/finalizeUploadRequest/uploadToken", 400)
    asset["ready_at"] = call.now + timedelta(seconds=network.delay("video"))
    return httpx.Response(200)


def get_asset(network: LinkedInSandbox, call: Call) -> httpx.Response:
    asset = network._asset(call.match["urn"])
    if asset is None or ASSET_PREFIX[call.match["kind"]][0] != asset["kind"]:
        raise Reply(error(404, f"{call.match['urn']} does not exist", code="NOT_FOUND"))
    if not network._may_act_as(call, asset["owner"]):
        raise network._denied(call, f"{asset['urn']}")
    status = network.status_of(asset)
    body: dict[str, Any] = {"id": asset["urn"], "owner": asset["owner"], "status": status}
    if status == "AVAILABLE":
        body.update(downloadUrl=f"https://media.licdn.com/dms/{asset['kind']}/{asset['urn']}",
                    downloadUrlExpiresAt=ms(network.now + timedelta(hours=1)))
    if status == "PROCESSING_FAILED":
        body["processingFailureReason"] = str(asset["failed"].get("reason") or FAILURE_REASON)
    return json_response(200, body)
