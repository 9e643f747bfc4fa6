"""The building blocks of the params model: the patterns and small field
types (SQL identifiers, Unix users, absolute paths, ports, secret references)
with their one-field rules, and ``fail``, the error every rule raises (load.py
turns it into a Problem naming the file, the field, the message and the fix).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ..products import PRODUCTS, line_spec

NAME_RE = r"^[a-z][a-z0-9-]{0,14}$"
SQL_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SQL_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
UNIX_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
HOSTNAME_RE = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
SECRET_NAME_RE = r"^[A-Z][A-Z0-9_]{1,63}$"
VERSION_RE = r"^\d+\.\d+\.\d+$"
DOMAIN_RE = r"^[A-Za-z0-9_.-]+$"
TENANT_RANGE_RE = r"^(\*|\d+(-\d+)?(,\d+(-\d+)?)*)$"
MYSQL_HOST_RE = re.compile(r"^[A-Za-z0-9.%_:-]{1,255}$")
NODE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# What each pattern means, in words, for error messages (load.py).
PATTERN_WORDS = {
    NAME_RE: "a short lower-case name: a letter, then letters, digits or '-', at most 15 characters",
    HOSTNAME_RE: "a DNS host name such as esb.wso2.com",
    SECRET_NAME_RE: "an UPPER_CASE name of letters, digits and _ such as DB_APP_PASSWORD",
    VERSION_RE: "a version such as 6.1.1",
    DOMAIN_RE: "letters, digits, '.', '_' and '-' only, such as wso2.esb.domain",
    TENANT_RANGE_RE: "`*` or tenant ids and ranges such as 1,3-5",
}

# The product lines the runbook supports (INDEX.md), by major version: from products.py.
SUPPORTED_LINES = {name: line_spec(name).major for name in PRODUCTS}
PRODUCT_WORDS = {name: line_spec(name).short for name in PRODUCTS}


def fail(message: str, fix: str) -> PydanticCustomError:
    """A rule's failure, with its own message and fix (see load.py)."""
    return PydanticCustomError("runbook", "{message}", {"message": message, "fix": fix})


def _sql_ident(v: str) -> str:
    if not SQL_IDENT_RE.match(v):
        raise fail(f"{v!r} is not a safe SQL identifier",
                   "use letters, digits and _ only, starting with a letter or _ (at most 64), e.g. WSO2_USER_DB")
    return v


def _sql_user(v: str) -> str:
    if not SQL_USER_RE.match(v):
        raise fail(f"{v!r} is not a safe SQL user name",
                   "use letters, digits and _ only, starting with a letter or _ (at most 32), e.g. wso2carbon")
    return v


def _unix_user(v: str) -> str:
    if not UNIX_USER_RE.match(v):
        raise fail(f"{v!r} is not a safe Unix user name",
                   "use lower-case letters, digits, _ and - only, starting with a letter or _, e.g. wso2")
    return v


def _abs_path(v: str) -> str:
    if not v.startswith("/") or any(c.isspace() for c in v) or "/../" in f"{v}/" or (len(v) > 1 and v.endswith("/")):
        raise fail(f"{v!r} is not a plain absolute path",
                   "write an absolute path without spaces, `..` or a trailing /, e.g. /opt/wso2/manager/wso2ei-6.1.1")
    return v


SqlIdent = Annotated[str, AfterValidator(_sql_ident)]
SqlUser = Annotated[str, AfterValidator(_sql_user)]
UnixUser = Annotated[str, AfterValidator(_unix_user)]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
Port = Annotated[int, Field(ge=1, le=65535)]
HostName = Annotated[str, Field(pattern=HOSTNAME_RE)]
Name = Annotated[str, Field(pattern=NAME_RE)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """A secret named, never written: resolved from the environment or the
    secrets file at run time (see secrets.py)."""

    secret: Annotated[str, Field(pattern=SECRET_NAME_RE)]
