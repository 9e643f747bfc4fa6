"""Reading the database the datasources name, with the admin credentials the
operator gives: which schemas exist, the application user's account hosts and
grants, the user store's charset. Only SELECT and SHOW: nothing is changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..facts.mysql import database_charset, databases, grants
from ..remote.db import Db, DbError
from .found import Found, Problem


@dataclass
class DbFacts:
    address: str
    port: int
    schemas: set[str] = field(default_factory=set)
    app_hosts: list[str] = field(default_factory=list)  # mysql.user Host of the application user
    app_grants: dict[str, list[str]] = field(default_factory=dict)
    charset: str = ""
    version: str = ""

    def found(self, value: object, what: str) -> Found:
        return Found(value, self.address, f"mysql:{self.port}", None, why=what)


def read_database(address: str, port: int, admin: str, password: str, app_user: str, user_store: str,
                  problems: list[Problem]) -> DbFacts | None:
    """DbFacts, or None with a Problem when discover cannot log in."""
    try:
        db = Db.connect(address, port, admin, password)
    except DbError as e:
        problems.append(Problem(f"database {admin}@{address}:{port}", f"cannot log in ({e})",
                                "check --db-admin and the secret named by --db-admin-secret"))
        return None
    with db:
        out = DbFacts(address, port, version=db.server_version())
        out.schemas = databases(db)
        rows = db.query("SELECT Host FROM mysql.user WHERE User=%s ORDER BY Host", (app_user,))
        out.app_hosts = [str(r[0]) for r in rows]
        for h in out.app_hosts:
            out.app_grants[h] = grants(db, app_user, h)
        out.charset = database_charset(db, user_store) if user_store else ""
    return out
