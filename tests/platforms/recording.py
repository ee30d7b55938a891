"""A transport that answers from the in-process sandbox and keeps every exchange, for tests that
check what a connector actually sent (headers, bodies, ranges) and what came back."""

from __future__ import annotations

import httpx

from core.platforms.sandbox import Sandbox


class Recorder:
    """Use as ``httpx.MockTransport(Recorder(sandbox))``. A request whose answer was lost
    (injected timeout or lost response) is kept with a placeholder 599 response."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.calls: list[tuple[httpx.Request, httpx.Response]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request, httpx.Response(599, text="no answer (timeout or lost response)")))
        response = self.sandbox.handle(request)
        self.calls[-1] = (request, response)
        return response

    def to(self, method: str, path_part: str) -> list[tuple[httpx.Request, httpx.Response]]:
        """The exchanges whose method is ``method`` and whose path contains ``path_part``."""
        return [(q, r) for q, r in self.calls if q.method == method and path_part in q.url.path]
