"""-Dsetup: create the registry and user-manager tables in the databases
registry.xml and user-mgt.xml use, from the home's dbscripts/mysql.sql,
where they do not exist yet (carbon-kernel's DatabaseCreator)."""

from __future__ import annotations

import re

from . import datasources
from .config import referenced_datasources
from .errors import StartupError

CREATOR = "org.wso2.carbon.utils.dbcreator.DatabaseCreator"


def statements(sql: str) -> list[str]:
    sql = re.sub(r"(?m)^\s*--.*$", "", sql)
    return [s.strip() for s in sql.split(";") if s.strip()]


def run(node) -> None:
    script = node.carbon_home / "dbscripts" / "mysql.sql"
    done = set()
    for _, jndi in referenced_datasources(node.conf):
        d = datasources.lookup(node.sources, jndi)
        if d is None or d.host is None or d.name in done:
            continue
        done.add(d.name)
        conn = datasources.connect(d)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW TABLES LIKE 'REG_CLUSTER_LOCK'")
                if cur.fetchone():
                    node.log.info(CREATOR, f"Database tables already exist in {d.url}; skipping")
                    continue
                node.log.info(CREATOR, f"Creating the database tables in {d.url}")
                for stmt in statements(script.read_text()):
                    cur.execute(stmt)
        except Exception as e:
            raise StartupError(f"Error while creating the database tables in {d.url}: {e}", CREATOR) from None
        finally:
            conn.close()
