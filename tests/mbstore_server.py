"""A throwaway MariaDB for the broker stand-in's tests (no lab): its own
datadir under the test's tmp folder, a free loopback port, no grant tables
(any user logs in), the MB store sourced from the shipped mysql-mb.sql (or
the lab skeleton's). Stopped by its pid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pymysql

from runbook_lib.remote.sqlsplit import split_sql

ROOT = Path(__file__).resolve().parent.parent
MB_SQL = [ROOT.parent / "shared/wso2-upstream/ei-6.1.1/wso2/broker/dbscripts/mb-store/mysql-mb.sql",
          ROOT / "runbook_lib/lab/skeletons/ei-6.1.1/wso2/broker/dbscripts/mb-store/mysql-mb.sql"]


class MbStore:
    def __init__(self, tmp: Path, port: int):
        self.dir, self.port = tmp / "mariadb", port
        self.proc: subprocess.Popen | None = None

    def start(self) -> "MbStore":
        data, tmp = self.dir / "data", self.dir / "tmp"
        data.mkdir(parents=True)
        tmp.mkdir()
        user = ["--user=root"] if os.geteuid() == 0 else []
        # Its own tmpdir, as the lab's (lab/services.py): a MariaDB starting removes every #sql*
        # file in its tmpdir, so with the shared /tmp another test's start-up broke this bootstrap.
        # No defaults: the machine's my.cnf is not the test's.
        res = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", f"--tmpdir={tmp}",
                              "--auth-root-authentication-method=normal", "--skip-test-db", *user],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed ({res.returncode}): {res.stderr[-2000:]}")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={data}", f"--tmpdir={tmp}", f"--socket={self.dir}/sock",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-grant-tables", f"--pid-file={self.dir}/pid",
             f"--log-error={self.dir}/err.log", "--innodb-buffer-pool-size=16M", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connect().close()
                break
            except pymysql.MySQLError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError((self.dir / "err.log").read_text()[-2000:])
                time.sleep(0.2)
        script = next(p for p in MB_SQL if p.exists()).read_text()
        with self.connect() as c, c.cursor() as cur:
            cur.execute("CREATE DATABASE wso2_mb CHARACTER SET latin1")
            cur.execute("USE wso2_mb")
            for stmt in split_sql(script):
                cur.execute(stmt.sql)
        return self

    def connect(self, database: str | None = None):
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", database=database,
                               autocommit=True, connect_timeout=3)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.connect("wso2_mb") as c, c.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
