"""A local HTTP server that behaves like SendGrid's v3 bounce and subuser API.

It stands in for SendGrid in development, demos, tests and benchmarks. Standard library only and
independent of Django: run it with `python -m bounceadmin.sandbox`, or in-process::

    from bounceadmin.sandbox import SandboxServer, SandboxStore

    with SandboxServer(SandboxStore(":memory:"), api_key="SG.test") as sandbox:
        requests.get(f"{sandbox.url}/v3/subusers", headers=sandbox.headers())
"""

from bounceadmin.sandbox.server import DEFAULT_API_KEY, SandboxServer
from bounceadmin.sandbox.store import SandboxStore

__all__ = ["DEFAULT_API_KEY", "SandboxServer", "SandboxStore"]
