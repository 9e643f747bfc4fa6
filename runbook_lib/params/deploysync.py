"""The params of the deployment synchroniser: how artifacts deployed on one node
reach the others (005/006: SVN, deprecated; E18: rsync over SSH from a source
node, as WSO2's Carbon 4.4 clustering guide runs it; or none)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from .fields import SecretRef, Strict, fail


class DeploymentSync(Strict):
    kind: Literal["svn", "rsync", "none"] = "none"
    source: str | None = None  # rsync: the node that pushes its repository/deployment/server/ to the others
    interval_min: Annotated[int, Field(ge=1, le=59)] = 1  # rsync: the schedule, every N minutes (cron)
    host: str | None = None
    url: str | None = None
    user: str | None = None
    password: SecretRef | None = None
    repo_path: Annotated[str, Field(pattern=r"^/[^\s]*$")] | None = None  # on the SVN host, for svnadmin create

    @field_validator("url")
    @classmethod
    def _svn_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("svn", "svn+ssh", "http", "https") or not parts.hostname or any(c.isspace() for c in v):
            raise fail(f"{v!r} is not an SVN repository URL", "write svn://HOST/REPO or http(s)://HOST/svn/REPO")
        if parts.password is not None:
            raise fail("a password written in clear text in the URL",
                       "remove it from the URL and write `password: {secret: NAME}` under deployment_sync")
        return v
