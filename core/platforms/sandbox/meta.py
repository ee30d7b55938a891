"""What Facebook and Instagram share in the sandbox: the Graph API's shape.

Optional version segment (``/v21.0/...``), tokens in ``Authorization`` or ``access_token``, the
``{"error": {...}}`` envelope, field expansion (``reactions.summary(total_count)``,
``instagram_business_account{id,username}``, ``insights.metric(a,b)``), ``?ids=`` batches,
``X-Business-Use-Case-Usage`` headers with throttling, and Facebook Login (dialog, code
exchange, ``fb_exchange_token``, ``DELETE /me/permissions``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx

from core.platforms.base import pkce_challenge
from core.platforms.sandbox.base import Call, Reply, Route, SandboxNetwork, json_response, route
from core.platforms.sandbox.engagement import ZERO, Engagement
from core.platforms.sandbox.simulator import ceil_minutes

SHORT_LIVED_SECONDS = 5183  # ~1.5 h user token from the code exchange
LONG_LIVED_SECONDS = 5183944  # ~60 days (fb_exchange_token)
_VERSION = re.compile(r"^/v\d+\.\d+(?=/|$)")

THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
           "again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
           "try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


@dataclass
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    subfields: list[FieldSpec] = field(default_factory=list)


def _split_top(spec: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in spec:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_fields(spec: str | None) -> list[FieldSpec]:
    """Graph field expansion: ``a,b.summary(total_count).limit(0),c{d,e}``."""
    fields = []
    for token in _split_top(spec or ""):
        name = re.match(r"[\w]+", token)
        if name is None:
            continue
        rest = token[name.end():]
        subfields: list[FieldSpec] = []
        if rest.startswith("{"):
            depth, end = 0, 0
            for index, char in enumerate(rest):
                depth += char == "{"
                depth -= char == "}"
                if depth == 0:
                    end = index
                    break
            subfields, rest = parse_fields(rest[1:end]), rest[end + 1:]
        fields.append(FieldSpec(name.group(0), dict(re.findall(r"\.(\w+)\(([^()]*)\)", rest)),
                                subfields))
    return fields


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def trace_id(seed: str) -> str:
    return "A" + hashlib.sha1(seed.encode()).hexdigest()[:22]  # noqa: S324 - not security


class MetaNetwork(SandboxNetwork):
    """Graph API behaviour shared by the Facebook and Instagram simulations."""

    buc_type: ClassVar[str] = "pages"
    throttle_code: ClassVar[int] = 80001
    default_calls_per_hour: ClassVar[int] = 4800
    insight_metrics: ClassVar[dict[str, str]] = {}

    def __init__(self, sandbox: Any) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        super().__init__(sandbox)

    # -- plumbing
    def strip_path(self, path: str) -> str:
        return _VERSION.sub("", path) or "/"

    def token_of(self, call: Call) -> str | None:
        return super().token_of(call) or call.query.get("access_token") or None

    def common_routes(self) -> list[Route]:
        return [
            route("GET", r"/dialog/oauth", self.dialog, "oauth", auth=False),
            route("GET", r"/oauth/access_token", self.access_token, "oauth", auth=False),
            route("DELETE", r"/me/permissions", self.delete_permissions, "delete"),
            route("GET", r"/me/accounts", self.me_accounts),
            route("GET", r"/me", self.me),
            route("GET", r"/?", self.batch),
        ]

    def object_routes(self) -> list[Route]:
        return [
            route("GET", r"/(?P<id>[\w]+)/insights", self.insights),
            route("GET", r"/(?P<id>[\w]+)", self.get_object),
            route("DELETE", r"/(?P<id>[\w]+)", self.delete_object, "delete"),
        ]

    # -- errors
    def error(self, status: int, message: str, code: int, *, subcode: int | None = None,
              type_: str = "OAuthException", transient: bool = False,
              user_title: str | None = None, user_msg: str | None = None,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            body["error_subcode"] = subcode
        body["is_transient"] = transient
        if user_title:
            body["error_user_title"] = user_title
        if user_msg:
            body["error_user_msg"] = user_msg
        body["fbtrace_id"] = trace_id(f"{message}{self.sandbox.next_seq()}")
        return json_response(status, {"error": body}, headers)

    def fail(self, status: int, message: str, code: int, **kwargs: Any) -> Reply:
        return Reply(self.error(status, message, code, **kwargs))

    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        if reason == "missing":
            return self.error(400, "An access token is required to request this resource.", 104)
        if reason == "expired":
            when = call.now.strftime("%A, %d-%b-%y %H:%M:%S UTC")
            return self.error(400, f"Error validating access token: Session has expired on "
                              f"{when}. The current time is {when}.", 190, subcode=463)
        if reason == "revoked":
            return self.error(400, "Error validating access token: The user has not authorized "
                              "application.", 190, subcode=458)
        return self.error(400, "Invalid OAuth access token - Cannot parse access token", 190)

    def rate_limited(self, call: Call, reset_at: datetime, params: Mapping[str, Any]) -> httpx.Response:
        code = int(params.get("code", self.throttle_code))
        minutes = ceil_minutes((reset_at - call.now).total_seconds())
        headers = {"X-App-Usage": '{"call_count":100,"total_cputime":35,"total_time":40}'}
        if code >= 80000 or code == 32:
            headers = {"X-Business-Use-Case-Usage": self._buc(call, 100, minutes)}
        return self.error(int(params.get("status", 400)),
                          THROTTLE_MESSAGES.get(code, f"(#{code}) Rate limit reached"), code,
                          transient=True, headers=headers)

    def server_error(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        return self.error(int(params.get("status", 500)), "An unexpected error has occurred. "
                          "Please retry your request later.", 2, transient=True)

    def not_found(self, call: Call) -> httpx.Response:
        return self.error(400, f"Unknown path components: {call.path}", 2500)

    def missing_object(self, object_id: str) -> Reply:
        return self.fail(400, f"Unsupported get request. Object with ID '{object_id}' does not "
                         "exist, cannot be loaded due to missing permissions, or does not "
                         "support this operation.", 100, subcode=33, type_="GraphMethodException")

    def permission_error(self, message: str) -> Reply:
        return self.fail(403, f"(#200) {message}", 200)

    def invalid(self, message: str, *, subcode: int | None = None, **kwargs: Any) -> Reply:
        return self.fail(400, message if message.startswith("(#") else f"(#100) {message}", 100,
                         subcode=subcode, **kwargs)

    # -- limits (Business Use Case)
    def _buc(self, call: Call, percent: int, minutes: int = 0) -> str:
        return json.dumps({call.account_id or "app": [{
            "type": self.buc_type, "call_count": percent, "total_cputime": max(1, percent // 3),
            "total_time": max(1, percent // 2), "estimated_time_to_regain_access": minutes}]})

    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        if not route.auth or not call.account_id:
            return None
        limit = int(self.sandbox.config.limit(self.platform, "calls_per_hour",
                                              self.default_calls_per_hour))
        state = self.sandbox.hit_window((self.platform, "calls", call.account_id), limit, 3600)
        call.notes["usage"] = min(100, state.used * 100 // max(1, limit))
        if state.exceeded:
            return self.rate_limited(call, state.reset_at, {})
        return None

    def decorate(self, call: Call, route: Route, response: httpx.Response) -> None:
        response.headers["facebook-api-version"] = "v21.0"
        response.headers.setdefault("x-fb-trace-id", trace_id(str(self.sandbox.next_seq())))
        if "usage" in call.notes and "x-business-use-case-usage" not in response.headers:
            response.headers["X-Business-Use-Case-Usage"] = self._buc(call, call.notes["usage"])

    # -- Facebook Login
    def dialog(self, call: Call) -> httpx.Response:
        client_id, redirect_uri = call.query.get("client_id"), call.query.get("redirect_uri", "")
        if not client_id:
            raise self.invalid("Missing client_id parameter.", subcode=None)
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            raise self.fail(400, "Can't Load URL: The domain of this URL isn't included in the "
                            "app's domains.", 191)
        login = call.query.get("sandbox_login")
        account = (self.sandbox.account(self.platform, login) if login else None) or self.default_account()
        code = self.sandbox.issue_code(
            self.platform, account.external_account_id, client_id=client_id,
            redirect_uri=redirect_uri, challenge=call.query.get("code_challenge"),
            method=call.query.get("code_challenge_method"),
            scopes=tuple((call.query.get("scope") or "").split(",")))
        query = urlencode({"code": code, "state": call.query.get("state", "")})
        separator = "&" if "?" in redirect_uri else "?"
        return httpx.Response(302, headers={"Location": f"{redirect_uri}{separator}{query}#_=_"})

    def access_token(self, call: Call) -> httpx.Response:
        if not call.query.get("client_id") or not call.query.get("client_secret"):
            raise self.fail(400, "Missing client_id or client_secret parameter.", 101)
        if call.query.get("grant_type") == "fb_exchange_token":
            record, _ = self.sandbox.check_token(self.platform, call.query.get("fb_exchange_token"),
                                                 ("user",))
            if record is None:
                raise self.fail(400, "Error validating access token: the token is invalid or has "
                                "expired and cannot be exchanged.", 190)
            issued = self.sandbox.issue_token(self.platform, record.account_id, kind="user",
                                              ttl_seconds=LONG_LIVED_SECONDS, scopes=record.scopes,
                                              prefix="EAAG")
            return json_response(200, {"access_token": issued.token, "token_type": "bearer",
                                       "expires_in": LONG_LIVED_SECONDS})
        code = self.sandbox.take_code(self.platform, call.query.get("code"))
        if code is None:
            raise self.fail(400, "This authorization code has expired or has been used.", 100,
                            subcode=36007)
        if code.redirect_uri != call.query.get("redirect_uri"):
            raise self.fail(400, "Error validating verification code. Please make sure your "
                            "redirect_uri is identical to the one you used in the OAuth dialog "
                            "request", 100, subcode=36008)
        verifier = call.query.get("code_verifier")
        if code.challenge and (not verifier or pkce_challenge(verifier) != code.challenge):
            raise self.fail(400, "Invalid code verifier.", 100, subcode=36008)
        issued = self.sandbox.issue_token(self.platform, code.account_id, kind="user",
                                          ttl_seconds=SHORT_LIVED_SECONDS, scopes=code.scopes,
                                          client_id=code.client_id, prefix="EAAG")
        return json_response(200, {"access_token": issued.token, "token_type": "bearer",
                                   "expires_in": SHORT_LIVED_SECONDS})

    def delete_permissions(self, call: Call) -> httpx.Response:
        self.sandbox.revoke_tokens(self.platform, account_id=call.account_id)
        return json_response(200, {"success": True})

    def me(self, call: Call) -> httpx.Response:
        assert call.account is not None
        return json_response(200, {"id": call.account_id, "name": call.account.username})

    def me_accounts(self, call: Call) -> httpx.Response:
        raise NotImplementedError

    # -- objects
    def new_object(self, object_id: str, type_: str, owner: str, **data: Any) -> dict[str, Any]:
        obj = {"id": object_id, "_type": type_, "_owner": owner, "_created": self.now, **data}
        self.objects[object_id] = obj
        return obj

    def lookup(self, object_id: str) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("_deleted"):
            raise self.missing_object(object_id)
        return obj

    def render(self, obj: dict[str, Any], spec: str | None) -> dict[str, Any]:
        fields = parse_fields(spec) or [FieldSpec(name) for name in self.default_fields(obj)]
        out: dict[str, Any] = {}
        for field_spec in fields:
            value = self.field_value(obj, field_spec)
            if value is not None:
                out[field_spec.name] = value
        out.setdefault("id", obj["id"])
        return out

    def default_fields(self, obj: dict[str, Any]) -> list[str]:
        return ["id"]

    def field_value(self, obj: dict[str, Any], spec: FieldSpec) -> Any:
        if spec.name == "insights":
            metrics = spec.modifiers.get("metric", "")
            return {"data": self.insight_rows(obj, metrics.split(","))}
        if spec.name == "created_time":
            return graph_time(obj["_created"])
        value = obj.get(spec.name)
        return None if spec.name.startswith("_") else value

    def get_object(self, call: Call) -> httpx.Response:
        obj = self.lookup(call.match["id"])
        return json_response(200, self.render(obj, call.query.get("fields")))

    def delete_object(self, call: Call) -> httpx.Response:
        obj = self.lookup(call.match["id"])
        if obj["_owner"] != call.account_id:
            raise self.permission_error("Permissions error")
        obj["_deleted"] = True
        post = self.sandbox.post(self.platform, obj["id"])
        if post is not None:
            post.status = "deleted"
        return json_response(200, {"success": True})

    def batch(self, call: Call) -> httpx.Response:
        ids = [i for i in (call.query.get("ids") or "").split(",") if i]
        if not ids:
            raise self.invalid("Must specify 'ids' or a path", subcode=None)
        if len(ids) > 50:
            raise self.invalid("Too many IDs. Maximum: 50. Provided: " + str(len(ids)))
        missing = [i for i in ids if i not in self.objects or self.objects[i].get("_deleted")]
        if missing:
            raise self.fail(404, f"(#803) Some of the aliases you requested do not exist: "
                            f"{','.join(missing)}", 803)
        spec = call.query.get("fields")
        return json_response(200, {i: self.render(self.objects[i], spec) for i in ids})

    # -- insights
    def insights(self, call: Call) -> httpx.Response:
        obj = self.lookup(call.match["id"])
        if obj["_owner"] != call.account_id:
            raise self.fail(403, "(#10) Application does not have permission for this action", 10)
        metrics = [m for m in (call.query.get("metric") or "").split(",") if m]
        if not metrics:
            raise self.invalid("The parameter metric is required")
        return json_response(200, {"data": self.insight_rows(obj, metrics)})

    def insight_rows(self, obj: dict[str, Any], metrics: list[str]) -> list[dict[str, Any]]:
        counts = self.engagement_of(obj)
        rows = []
        for metric in (m.strip() for m in metrics if m.strip()):
            attribute = self.insight_metrics.get(metric)
            if attribute is None:
                raise self.invalid(f"metric[0] must be one of the following values: "
                                   f"{', '.join(self.insight_metrics)}")
            value: Any = getattr(counts, attribute)
            if metric.endswith("_by_type_total"):
                value = {"like": value - value // 4, "love": value // 4}
            rows.append({"name": metric, "period": "lifetime", "values": [{"value": value}],
                         "title": metric.replace("_", " ").title(),
                         "id": f"{obj['id']}/insights/{metric}/lifetime"})
        return rows

    def engagement_of(self, obj: dict[str, Any]) -> Engagement:
        post = self.sandbox.post(self.platform, obj.get("_post_id", obj["id"]))
        return self.sandbox.engagement(post) if post is not None else ZERO

    def since_filter(self, call: Call) -> datetime | None:
        raw = call.query.get("since")
        if not raw:
            return None
        try:
            return datetime.fromtimestamp(int(raw), UTC)
        except ValueError:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
