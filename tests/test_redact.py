"""redact.py on the files WSO2 ships (read in place from ../shared): every
password-bearing location is masked, nothing else changes, and the masked
file is still the same XML; plus the fingerprint and the places it is applied."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from lxml import etree

from runbook_lib.core import redact, valuemask
from runbook_lib.core.change import unified_diff
from runbook_lib.configedit import SetText, apply_xml_edits
from runbook_lib.core.errors import RunbookError
from runbook_lib.params.secrets import _RESOLVED, mask_text
from runbook_lib.core.redact import is_secret_name, redact_file, redact_text
from runbook_lib.core.valuemask import mask_value
from runbook_lib.core.recorder import checks_entry
from runbook_lib.core.step import Check, Checks

XML_FILES = ["elb-2.0.5/repository/conf/user-mgt.xml", "elb-2.0.5/repository/conf/axis2/axis2.xml",
             "ei-6.1.1/wso2/broker/conf/broker.xml", "ei-6.1.1/wso2/broker/conf/user-mgt.xml",
             "ei-6.1.1/wso2/broker/conf/carbon.xml", "ei-6.1.1/wso2/broker/conf/datasources/metrics-datasources.xml",
             "ei-6.1.1/wso2/broker/conf/datasources/master-datasources.xml",
             "ei-6.1.1/wso2/broker/conf/tomcat/catalina-server.xml", "ei-6.1.1/wso2/broker/conf/registry.xml",
             "ei-6.1.1/wso2/broker/conf/advanced/qpid-config.xml",
             "ei-6.1.1/wso2/broker/conf/advanced/qpid-virtualhosts.xml", "ei-6.1.1/wso2/broker/conf/axis2/axis2.xml",
             "ei-6.1.1/conf/user-mgt.xml", "ei-6.1.1/conf/carbon.xml", "ei-6.1.1/conf/datasources/master-datasources.xml",
             "ei-6.1.1/conf/tomcat/catalina-server.xml", "ei-6.1.1/conf/registry.xml", "ei-6.1.1/conf/axis2/axis2.xml"]
PROPERTY_TAGS = {"Property", "property", "parameter", "Parameter"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _secret_element(el: etree._Element) -> bool:
    return is_secret_name(_local(el)) or (_local(el) in PROPERTY_TAGS and is_secret_name(el.get("name", "")))


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


@pytest.mark.parametrize("rel", XML_FILES)
def test_shipped_xml_every_secret_masked_and_nothing_else_changed(upstream: Path, rel: str) -> None:
    raw = (upstream / rel).read_bytes()
    masked = redact_file(raw.decode(), rel).encode()
    before, after = _parse(raw), _parse(masked)  # still well-formed: only values were replaced
    pairs = list(zip(before.iter(), after.iter()))
    assert len(pairs) == len(list(before.iter())) == len(list(after.iter()))
    secrets = 0
    for a, b in pairs:
        assert a.tag == b.tag
        if isinstance(a.tag, str) and _secret_element(a) and (a.text or "").strip():
            secrets += 1
            assert b.text.strip() == mask_value(a.text.strip()), (rel, _local(a))
        elif isinstance(a.tag, str) and _secret_element(a):
            assert not (b.text or "").strip()
        elif isinstance(a.tag, str):  # settings, user names, aliases, regexes: as shipped
            assert a.text == b.text, (rel, _local(a), a.text, b.text)
        for name, value in a.attrib.items():
            want = mask_value(value) if is_secret_name(name) else value
            assert b.get(name) == want, (rel, _local(a), name)
    # commented-out examples too (<!-- <Password>password</Password> -->)
    for whole, _, value in re.findall(r"(<(\w*[Pp]assword)>([^<]+)</\2>)", raw.decode()):
        assert whole not in masked.decode() and value.strip(), (rel, whole)
    if rel.endswith(("datasources.xml", "user-mgt.xml", "carbon.xml", "broker.xml")):
        assert secrets, rel


def test_the_locations_the_runbook_reads_and_writes(upstream: Path) -> None:
    text = lambda rel: redact_file((upstream / rel).read_text(), rel)  # noqa: E731
    ds = text("ei-6.1.1/conf/datasources/master-datasources.xml")
    assert "<password>wso2carbon</password>" not in ds and f"<password>{mask_value('wso2carbon')}</password>" in ds
    assert "<username>wso2carbon</username>" in ds  # the same word as a user name is not a secret
    assert '<password svns:secretAlias="WSO2.DB.Password"></password>' in text(
        "ei-6.1.1/wso2/broker/conf/datasources/master-datasources.xml")  # an alias is a name, shown
    carbon = text("ei-6.1.1/conf/carbon.xml")
    for tag in ("Password", "KeyPassword"):
        assert f"<{tag}>wso2carbon</{tag}>" not in carbon and f"<{tag}>{mask_value('wso2carbon')}</{tag}>" in carbon
    assert "<KeyAlias>wso2carbon</KeyAlias>" in carbon
    assert "<SvnPassword>password</SvnPassword>" not in text("ei-6.1.1/wso2/broker/conf/carbon.xml")
    um = text("ei-6.1.1/conf/user-mgt.xml")
    assert "<Password>admin</Password>" not in um and "<UserName>admin</UserName>" in um
    assert '<Property name="ConnectionPassword">admin</Property>' not in um
    assert '<Property name="PasswordJavaRegEx">^[\\S]{5,30}$</Property>' in um
    assert '<Property name="StoreSaltedPassword">true</Property>' in um
    assert 'keystorePass="wso2carbon"' not in text("ei-6.1.1/conf/tomcat/catalina-server.xml")
    assert "<keyStorePassword>password</keyStorePassword>" not in text("ei-6.1.1/wso2/broker/conf/advanced/qpid-config.xml")
    broker = text("ei-6.1.1/wso2/broker/conf/broker.xml")
    assert "<password>wso2carbon</password>" not in broker and '<property name="password">admin</property>' not in broker
    assert '<parameter name="mail.smtp.password">mailpassword</parameter>' not in text("ei-6.1.1/conf/axis2/axis2.xml")
    assert "<password>password</password>" not in text("ei-6.1.1/conf/registry.xml")


@pytest.mark.parametrize("rel", ["ei-6.1.1/conf/log4j.properties", "ei-6.1.1/wso2/broker/conf/log4j.properties",
                                 "elb-2.0.5/repository/conf/log4j.properties",
                                 "ei-6.1.1/wso2/broker/conf/hazelcast.properties",
                                 "elb-2.0.5/repository/conf/loadbalancer.conf"])
def test_shipped_properties_only_password_keys_masked(upstream: Path, rel: str) -> None:
    raw = (upstream / rel).read_text()
    masked = redact_file(raw, rel)
    changed = [(a, b) for a, b in zip(raw.splitlines(), masked.splitlines()) if a != b]
    assert len(raw.splitlines()) == len(masked.splitlines())
    for a, b in changed:
        key, _, value = a.partition("=")
        assert is_secret_name(key.lstrip("#").strip()) and b == f"{key}={mask_value(value)}", a
    if "LOGEVENT.password=admin" in raw:
        assert changed
    # a secure-vault alias is a name, not a secret
    assert "#log4j.appender.LOGEVENT.password=secretAlias:Log4j" in masked or "secretAlias" not in raw


def test_cipher_text_properties_every_value_masked() -> None:
    text = "# cipher-tool output\nWSO2.DB.Password=kXq1c2VjcmV0\\=\\=\nKeystore.Password=abcdEFGH1234\n"
    out = redact_file(text, "/opt/x/repository/conf/security/cipher-text.properties")
    assert "kXq1c2VjcmV0" not in out and "abcdEFGH1234" not in out and out.startswith("# cipher-tool output\n")
    assert "WSO2.DB.Password=***(" in out and "Keystore.Password=***(" in out


def test_names() -> None:
    for name in ("password", "Password", "KeyPassword", "SvnPassword", "ConnectionPassword", "keyStorePassword",
                 "keystorePass", "truststorePass", "mail.smtp.password", "log4j.appender.LOGEVENT.password",
                 "svns:password", "db_passwd", "pass"):
        assert is_secret_name(name), name
    for name in ("PasswordJavaRegEx", "passwordHashMethod", "PasswordDigest", "StoreSaltedPassword",
                 "PasswordsExternallyManaged", "passthru", "bypass", "UserName", "secretAlias", "KeyAlias"):
        assert not is_secret_name(name), name


def test_fingerprint_is_a_keyed_hash_stable_within_a_run() -> None:
    value = "Tr0ub4dor&3"
    assert mask_value(value) == mask_value(value) != mask_value(value + "x")
    assert mask_value(value) == "***(" + hmac.new(valuemask._KEY, value.encode(), hashlib.sha256).hexdigest()[:4] + ")"
    assert mask_value("") == "" and mask_value(mask_value(value)) == mask_value(value)
    # a kernel the runner starts gets the runner's key (environment, never a file): the same fingerprint
    valuemask.share_key()
    try:
        code = "from runbook_lib.core.valuemask import mask_value; print(mask_value('Tr0ub4dor&3'))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        assert out == mask_value(value)
        code = "from runbook_lib.core import valuemask; print(valuemask._KEY != bytes.fromhex(%r))" % valuemask._KEY.hex()
        alone = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                               env={k: v for k, v in os.environ.items() if k != valuemask.KEY_ENV}).stdout.strip()
        assert alone == "True"  # a process on its own makes its own random key
    finally:
        os.environ.pop(valuemask.KEY_ENV, None)


def test_diff_of_a_password_change_shows_fingerprints_on_both_sides() -> None:
    before = "<c>\n  <password>Old-Secret-1</password>\n  <username>u</username>\n</c>\n"
    after = before.replace("Old-Secret-1", "New-Secret-2").replace(">u<", ">v<")
    diff = unified_diff(before, after, "/opt/x/master-datasources.xml")
    assert "Old-Secret-1" not in diff and "New-Secret-2" not in diff
    assert f"-  <password>{mask_value('Old-Secret-1')}</password>" in diff
    assert f"+  <password>{mask_value('New-Secret-2')}</password>" in diff
    assert "-  <username>u</username>" in diff and "+  <username>v</username>" in diff
    same = unified_diff(before, before.replace(">u<", ">v<"), "x.xml")
    assert "\n   <password>***(" in same and "-  <password>" not in same  # unchanged: context, not a difference


def test_edit_notes_and_html_forms() -> None:
    data = b"<S><DeploymentSynchronizer><SvnPassword>Hand-Set-9</SvnPassword></DeploymentSynchronizer></S>"
    r = apply_xml_edits(data, [SetText("/S/DeploymentSynchronizer/SvnPassword", "Wanted-77")], "carbon.xml")
    assert all("Hand-Set-9" not in f"{n.before}{n.after}{n.text}" for n in r.notes)  # the structured note too
    note = "; ".join(map(str, r.notes))
    shown = redact_text(note)
    assert "Hand-Set-9" not in shown and "Wanted-77" not in shown
    assert f"'{mask_value('Hand-Set-9')}' -> '{mask_value('Wanted-77')}'" in shown
    html_line = '<span style="color:#cf222e">-    &lt;password&gt;Hand&amp;Set&lt;/password&gt;</span>'
    assert "Hand&amp;Set" not in redact_text(html_line)
    assert mask_value("Hand&Set") in redact_text(html_line)  # the same fingerprint as the raw value's
    for text in ("jdbc:mysql://db:3306/R?useSSL=false&password=Url-Pw-1", "svn info --password Cli-Pw-1 x",
                 "ALTER USER 'u'@'%' IDENTIFIED BY 'Sql-Pw-1'"):
        assert "-Pw-1" not in redact_text(text), text
    assert redact_text(redact_text(html_line)) == redact_text(html_line)


def test_check_rows_of_a_secret_keep_only_fingerprints() -> None:
    c = Check("h1", "manager: carbon.xml DeploymentSynchronizer SvnPassword", "Params-Value-1", "Hand-Value-2", False)
    assert (c.expected, c.found) == (mask_value("Params-Value-1"), mask_value("Hand-Value-2"))
    table = Checks("05 files", [c])
    text = table.text() + table._repr_html_() + str(checks_entry(table))
    assert "Params-Value-1" not in text and "Hand-Value-2" not in text
    assert Check("h1", "manager: carbon.xml HostName", "a.example", "b.example", False).found == "b.example"
    assert Check("h1", "x: KeyPassword", "(none)", "(none)", True).found == "(none)"
    assert Check("h1", "x: catalina-server.xml @keystorePass", "a", "b", False).found == mask_value("b")
    assert Check("h1", "sudo without a password", "allowed", "refused", False).found == "refused"  # prose


def test_values_seen_at_a_location_are_masked_elsewhere_and_in_errors() -> None:
    redact_text("<password>Seen-Somewhere-42</password>")
    assert redact_text("login failed with Seen-Somewhere-42") == f"login failed with {mask_value('Seen-Somewhere-42')}"
    assert "Seen-Somewhere-42" not in str(RunbookError("cannot log in with Seen-Somewhere-42", fix="x"))
    assert "Bad-Pw-7" not in str(RunbookError("x.xml: <password>Bad-Pw-7</password> is wrong"))
    redact_text("<password>wso2carbon</password>")
    assert redact_text("user wso2carbon") == "user wso2carbon"  # a shipped word: by location only


def test_mask_text_by_value_and_location() -> None:
    _RESOLVED.add("Params-Known-5")
    try:
        out = mask_text("pw Params-Known-5 and <KeyPassword>wso2carbon</KeyPassword>")
    finally:
        _RESOLVED.discard("Params-Known-5")
    assert out == f"pw {mask_value('Params-Known-5')} and <KeyPassword>{mask_value('wso2carbon')}</KeyPassword>"


def test_redact_notebook_masks_every_output(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("error", ename="XMLSyntaxError", evalue="<password>Tb-Pw-3</password>",
                                           traceback=["line <password>Tb-Pw-3</password>"]),
                    nbformat.v4.new_output("stream", name="stdout", text="keystorePass=\"Tb-Pw-3\"\n")]
    nb.cells = [cell]
    path = tmp_path / "04_x.ipynb"
    nbformat.write(nb, path)
    redact.redact_notebook(path)
    assert "Tb-Pw-3" not in path.read_text() and mask_value("Tb-Pw-3") in path.read_text()
    nbformat.read(path, as_version=4)


def test_report_pages_of_redacted_and_unredacted_notebooks(tmp_path: Path) -> None:
    """The report's page of a notebook the runner redacted masks by value (what became known
    since); of one it did not (a run killed mid-section), by every rule again."""
    from runbook_lib.run.report_notebook import render_notebooks

    def notebook(name: str, text: str) -> Path:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("x")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), cell]
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        return tmp_path / f"{name}.ipynb"
    notebook("04_killed", "<password>Killed-Pw-9</password>\n")
    done = notebook("05_done", "<password>Done-Pw-8</password> later Later-Known-7\n")
    redact.redact_notebook(done, mask_text)
    assert nbformat.read(done, as_version=4).metadata[redact.REDACTED] is True
    _RESOLVED.add("Later-Known-7")  # resolved after 05's notebook was redacted
    try:
        render_notebooks(tmp_path, "run")
    finally:
        _RESOLVED.discard("Later-Known-7")
    killed, finished = (tmp_path / "04_killed.html").read_text(), (tmp_path / "05_done.html").read_text()
    assert "Killed-Pw-9" not in killed and mask_value("Killed-Pw-9") in killed
    assert "Done-Pw-8" not in finished and mask_value("Done-Pw-8") in finished
    assert "Later-Known-7" not in finished and mask_value("Later-Known-7") in finished


def test_text_inside_json_is_masked_too() -> None:
    """The run record is JSON: its quotes are escaped, its secrets still found by their place."""
    import json
    line = json.dumps({"diff": '-<Connector keystorePass="Json-Pw-1" port="9443"/>\n'
                               '+<Property name="ConnectionPassword">Json-Pw-2</Property>'})
    out = redact_text(line)
    assert "Json-Pw-1" not in out and "Json-Pw-2" not in out and json.loads(out)["diff"].count("***(") == 2


def test_rollback_diff_masks_both_sides() -> None:
    """rollback's diff (current file -> its backup) shows fingerprints, never the values."""
    from runbook_lib.run.changelog import FileChange, sha256
    from runbook_lib.run.rollback import RollbackReport, _plan_one

    path = "/opt/wso2/w/conf/datasources/master-datasources.xml"
    now = b"<c>\n  <password>Run-Wrote-11</password>\n</c>\n"
    files = {path: now, path + ".bak": b"<c>\n  <password>Hand-Set-22</password>\n</c>\n"}

    class Files:  # a host's read_file, in memory
        name = "node1"

        def read_file(self, p: str, sudo: bool = False) -> bytes | None:
            return files.get(p)

    first = FileChange("node1", path, True, path + ".bak", sha256(now), False, "RUN")
    fr, _ = _plan_one(Files(), first, first, force=False)  # type: ignore[arg-type]
    text = RollbackReport("runs/RUN", True, [fr]).text()
    assert fr.action == "restore" and "Run-Wrote-11" not in text and "Hand-Set-22" not in text
    assert f"-  <password>{mask_value('Run-Wrote-11')}</password>" in text
    assert f"+  <password>{mask_value('Hand-Set-22')}</password>" in text


def test_a_private_key_is_masked_whole_and_in_a_diff():
    """Rollback shows the diff of each file it removes: 02's TLS key must not appear in it."""
    body = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDGSZjPGgDiwHYn",
            "v402SSCsag/GM442atiPecqA4gPPrZa5PujR4pV14+qJg3wzvSd2UBCYJIs6E851"]
    diff = "\n".join(["    @@ -1,4 +0,0 @@", "    ------BEGIN PRIVATE KEY-----", *(f"    -{b}" for b in body),
                      "    ------END PRIVATE KEY-----", ""])
    whole = "\n".join(["-----BEGIN ENCRYPTED PRIVATE KEY-----", *body, "-----END ENCRYPTED PRIVATE KEY-----"])
    cert = "-----BEGIN CERTIFICATE-----\nMIIcertificate\n-----END CERTIFICATE-----"
    for text in (diff, whole, whole + "\n" + cert):
        out = redact_text(text)
        assert not any(b in out for b in body), out
        assert "PRIVATE KEY-----" in out and "***(private key, 2 lines, " in out
    assert "MIIcertificate" in redact_text(whole + "\n" + cert)  # a certificate is public


def _mask_one_by_one(text: str, values: list[str]) -> str:
    """mask_values as it was before long token-like values got their own pass: every form,
    longest first, searched in the whole text."""
    pairs = sorted({(form, masked) for v in values if len(v) >= 3 for masked, forms in [valuemask._forms(v)]
                    for form in forms}, key=lambda p: (-len(p[0]), p[0]))
    for form, masked in pairs:
        text = text.replace(form, masked)
    return text


def test_many_cipher_texts_are_masked_as_one_by_one_would():
    """A thousand Secure Vault cipher texts (128 nodes) take the token pass; the result is the
    same as searching each form in the whole text, wherever the values stand: whole, inside a
    longer run of base64, next to each other, XML-escaped, beside short passwords, and a
    password that holds a shorter one."""
    import base64
    import random
    rnd = random.Random(7)
    ciphers = [base64.b64encode(rnd.randbytes(256)).decode() for _ in range(1000)]
    short = ["s3cr3t-pw", "pw!<&>'\"x", "s3cr3t"]
    values = ciphers + short
    a, b, c = ciphers[:3]
    texts = [
        f"<Password>{a}</Password>",
        f'password="{b}" other="{c}"',
        f"{a}{b}",  # two in one run: neither is the run whole
        f"QUJD{c}QUJD",  # inside a longer run of base64
        f"- {a}\n+ {b}\n s3cr3t-pw and s3cr3t and pw!&lt;&amp;&gt;&#x27;&quot;x",
        a[:100] + " " + a[100:],  # a cut cipher text is not the value
        "nothing secret here " * 50,
    ]
    set_ = valuemask.ValueSet()
    for v in values:
        set_.add(v)
    tokens, _, rest = valuemask._pairs(set_)
    assert tokens is not None and len(tokens.pairs) == 1000 and {f for f, _ in rest} >= set(short)
    for text in texts:
        expected = _mask_one_by_one(text, values)
        assert valuemask.mask_values(text, set_) == expected
        assert valuemask.mask_values(text, values) == expected  # a plain list: the same forms
    assert a not in valuemask.mask_values(texts[2], set_) and c not in valuemask.mask_values(texts[3], set_)
    assert a[:100] in valuemask.mask_values(texts[5], set_)


def test_a_longer_secret_that_is_not_token_like_keeps_the_one_by_one_order():
    """A value with other characters, longer than a token-like one it contains: masking the token
    first would leave the rest of the longer secret in clear, so all forms go one by one."""
    token = "A" * 40
    longer = "pw:" + token + "!"
    set_ = valuemask.ValueSet()
    for v in (token, "B" * 40, longer):
        set_.add(v)
    assert valuemask._pairs(set_)[0] is None
    masked = valuemask.mask_values(f"x {longer} y {token} z", set_)
    assert masked == f"x {mask_value(longer)} y {mask_value(token)} z"


def test_a_record_entry_with_repeated_strings_is_masked_as_each_alone() -> None:
    """The record masks each distinct string of an entry once (128 workers share one diff):
    every copy comes out masked, and the same as masking that string alone."""
    import json

    from runbook_lib.core import recorder
    from runbook_lib.core.change import Change
    from runbook_lib.core.step import Report
    from runbook_lib.params.secrets import mask_text

    diff = ('-<Property name="ConnectionPassword">Rec-Pw-31</Property>\n'
            '+<Property name="ConnectionPassword">Rec-Pw-32</Property>\n')
    changes = [Change(f"w{i}:/opt/x.xml", True, "would change: 1 setting", diff=diff, host=f"w{i}",
                      path="/opt/x.xml") for i in range(50)]
    changes.append(Change("w99:/opt/y.xml", True, "would change: password Rec-Pw-31 seen", host="w99"))
    entry = recorder._masked(recorder.report_entry(Report("registry", False, changes)))
    text = json.dumps(entry)
    assert "Rec-Pw-31" not in text and "Rec-Pw-32" not in text
    assert [c["diff"] for c in entry["changes"][:50]] == [mask_text(diff)] * 50
    assert entry["changes"][50]["summary"] == f"would change: password {mask_value('Rec-Pw-31')} seen"
    assert [c["host"] for c in entry["changes"]] == [f"w{i}" for i in range(50)] + ["w99"]


def test_values_added_one_by_one_mask_as_a_set_built_at_once(monkeypatch):
    """A run adds its cipher texts one node at a time: the forms kept for the set are
    extended in place (valuemask._Built), and after every addition they are exactly what
    building them from all the values gives, and mask every text the same."""
    import base64
    import random
    rnd = random.Random(11)
    pool = [base64.b64encode(rnd.randbytes(rnd.choice((24, 33, 256)))).decode() for _ in range(60)]
    pool += ["s3cr3t", "pw!<&>'\"x", "a&b", "a&amp;b", "Z" * 40, "pw:" + "Z" * 40 + "!", "ab", "x" * 31]
    rnd.shuffle(pool)
    set_ = valuemask.ValueSet()
    texts = [" ".join(rnd.sample(pool, 5)) + " &amp; a&b " + pool[0][:20] for _ in range(8)]
    builds = []
    original = valuemask._Built.__init__
    monkeypatch.setattr(valuemask._Built, "__init__", lambda self, v: builds.append(1) or original(self, v))
    in_place = 0
    for value in pool:
        set_.add(value)
        before = len(builds)
        tokens, lengths, pairs = valuemask._pairs(set_)
        in_place += len(builds) == before
        fresh = valuemask._Built(list(set_))
        assert (pairs, lengths) == (fresh.pairs, fresh.lengths), value
        assert (tokens is None) == (fresh.tokens is None)
        if tokens is not None:
            assert (tokens.pairs, tokens.lengths, tokens.whole, tokens.shortest) == \
                (fresh.tokens.pairs, fresh.tokens.lengths, fresh.tokens.whole, fresh.tokens.shortest)
        for text in texts:
            assert valuemask.mask_values(text, set_) == valuemask.mask_values(text, list(set_))
    assert in_place > 0
    # A run's values (cipher texts, a few passwords): after the first two, every one goes in place.
    set_, builds[:] = valuemask.ValueSet(), []
    for value in ["s3cr3t", "pw!<&>'\"x"] + [base64.b64encode(rnd.randbytes(256)).decode() for _ in range(50)]:
        set_.add(value)
        valuemask._pairs(set_)
    assert len(builds) <= 3


def test_masking_while_other_threads_add_values_misses_nothing_added_before():
    """A fan-out's hosts add cipher texts and mask their output at the same time: every
    value in the set when a masking call starts is masked by it, whatever is added meanwhile."""
    import base64
    import random
    import threading
    rnd = random.Random(5)
    values = [base64.b64encode(rnd.randbytes(256)).decode() for _ in range(600)]
    set_ = valuemask.ValueSet()
    for v in values[:100]:
        set_.add(v)
    added = 100
    leaks: list[str] = []

    def adder() -> None:
        nonlocal added
        for v in values[100:]:
            set_.add(v)
            added += 1

    def masker(seed: int) -> None:
        r = random.Random(seed)
        for _ in range(300):
            v = values[r.randrange(added)]  # in the set before this call starts
            out = valuemask.mask_values(f"<Password>{v}</Password> and {v[:40]}", set_)
            if v in out:
                leaks.append(v)

    threads = [threading.Thread(target=adder)] + [threading.Thread(target=masker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert added == len(values) and not leaks
