"""The three properties files `ciphertool.sh -Dconfigure` leaves in a profile's conf/security/.

cipher-tool 1.0.0-wso2v3 (CipherTool.encryptCipherTextFile, Utils.writeToPropertyFile,
Utils.writeToSecureConfPropertyFile): cipher-text.properties maps each alias to
its Base64 cipher text (java.util.Properties.store: `=` in a value escaped as
`\\=`); cipher-tool.properties maps each alias to `<file>//<xpath>,<true|false>`
(true: the secret is the attribute in the XPath's last predicate);
secret-conf.properties names the secret provider, the file repository and the
primary keystore. EI 6.1.1 runs the tool in its standalone mode
(conf/cipher-standalone-config.properties): paths relative to the profile's
home; Carbon 4.x products in the WSO2 mode: the keystore's absolute path.
The runbook writes the three files whole, in a fixed order (no date line), so
that a second apply with the same secrets leaves them byte for byte.
"""

from __future__ import annotations

import posixpath

from ...configedit import get_values, read_properties
from ...core.change import Change, EditNote
from ...core.context import Run
from ...core.errors import RunbookError
from ...core.step import Carried, Operation
from ...operations.files import write_whole
from ...params import NodeView
from ...params.securevault import PADDINGS
from .aliases import Secured, value
from .crypto import decrypt, encrypt
from .keystore import node_key
from .xmlns import PLACEHOLDER

CIPHER_TEXT, CIPHER_TOOL, SECRET_CONF = "cipher-text.properties", "cipher-tool.properties", "secret-conf.properties"
HEADER = "# Written by the WSO2 Cluster Runbook as `ciphertool.sh -Dconfigure` writes it ({what}).\n"


def security_dir(v: NodeView) -> str:
    """The profile's conf/security (EI: conf/security, wso2/broker/conf/security; Carbon 4.x: repository/conf/security)."""
    return v.path(posixpath.join(v.spec.conf_dir, "security"))


def home_rel(v: NodeView, rel: str) -> str:
    """REL (relative to the product home) relative to the profile's CARBON_HOME."""
    return posixpath.relpath(rel, v.spec.carbon_home)


def _escape(text: str) -> str:
    """A value as java.util.Properties.store writes it (Base64 needs only `=`)."""
    out = text.replace("\\", "\\\\")
    for ch in "=:#!":
        out = out.replace(ch, "\\" + ch)
    return out


def _body(what: str, pairs: list[tuple[str, str]], stored: bool = False) -> bytes:
    """The file's text; STORED: values escaped as Properties.store does (cipher-text.properties,
    which the tool writes), else as WSO2 ships the hand-written files (cipher-tool.properties)."""
    esc = _escape if stored else (lambda x: x)
    return (HEADER.format(what=what) + "".join(f"{k}={esc(v)}\n" for k, v in pairs)).encode("utf-8")


def tool_line(v: NodeView, s: Secured) -> str:
    """cipher-tool.properties' value for S: the file relative to the profile's home, `//`, the XPath, the flag."""
    return f"{home_rel(v, v.spec.conf(s.key))}{s.tool_xpath},{'true' if s.attr else 'false'}"


def secret_conf(run: Run, v: NodeView) -> bytes:
    """secret-conf.properties as Utils.writeToSecureConfPropertyFile writes it (plus the
    repository's algorithm when it is not the default RSA, read by FileBaseSecretRepository)."""
    sv, standalone = run.params.securevault, v.spec.conf_dir != "repository/conf"
    store = node_key(run, v).rel if standalone else v.path(posixpath.join(v.spec.security_dir, "wso2carbon.jks"))
    provider = "org.wso2.carbon.securevault.DefaultSecretCallbackHandler"
    pairs = [("carbon.secretProvider", "org.wso2.securevault.secret.handler.SecretManagerSecretCallbackHandler"),
             ("secretRepositories", "file"),
             ("secretRepositories.file.provider",
              "org.wso2.securevault.secret.repository.FileBaseSecretRepositoryProvider"),
             ("secretRepositories.file.location", home_rel(v, posixpath.join(v.spec.conf_dir, "security", CIPHER_TEXT)))]
    if sv.padding != "pkcs1":
        pairs.append(("secretRepositories.file.algorithm", PADDINGS[sv.padding]))
    pairs += [("keystore.identity.location", store), ("keystore.identity.type", "JKS"),
              ("keystore.identity.alias", sv.alias),
              ("keystore.identity.store.password", "identity.store.password"),
              ("keystore.identity.store.secretProvider", provider),
              ("keystore.identity.key.password", "identity.key.password"),
              ("keystore.identity.key.secretProvider", provider)]
    return _body("secret provider, file repository, primary keystore", pairs, stored=True)


def _as_found(run: Run, v: NodeView, s: Secured) -> str | None:
    """The plain value on the node of a secret the params do not hold (the admin's
    password): the element's text while it is not yet secured, else None."""
    data = run.host(v.host_name).read_file(v.file(s.key))
    found = get_values(data, s.xpath, s.namespaces) if data else []
    return found[0] if found and found[0] != PLACEHOLDER else None


def _folder(run: Run, v: NodeView, dry_run: bool, before: bytes | None) -> None:
    """conf/security exists in every shipped profile; made (0700) where a home lacks
    it. A file read there (BEFORE) shows the folder is there: no command then (at 128
    workers, three per node of a run that changes nothing)."""
    if not dry_run and before is None:
        run.host(v.host_name).check("test -d %s || mkdir -m 700 -p %s", security_dir(v), security_dir(v))


def cipher_text_op(run: Run, v: NodeView, secrets: list[Secured]) -> Operation:
    """cipher-text.properties: each alias's cipher text, kept when it decrypts (with
    the node's key) to the intended secret, else encrypted anew: random padding
    makes every encryption differ, so only decryption can say nothing changed."""
    h, path, padding = run.host(v.host_name), posixpath.join(security_dir(v), CIPHER_TEXT), \
        run.params.securevault.padding
    unheld = [s for s in secrets if value(run, s) is None]  # their plain values are read from the node
    read = Carried(lambda: (h.read_file(path), {s.alias: _as_found(run, v, s) for s in unheld}))

    def fn(dry_run: bool) -> Change:
        key = node_key(run, v)
        before, as_found = read.get(dry_run)
        found = read_properties(before) if before else {}
        pairs, notes = [], []
        for s in secrets:
            want = value(run, s)
            if want is None:
                want = as_found[s.alias]
            old = found.get(s.alias)
            plain = decrypt(key.key_der, old, padding) if old else None
            if want is None:  # secured already with a value the params do not hold: keep it if it is ours
                if plain is None:
                    raise RunbookError(f"{v.name}: {s.alias} is secured in {v.file(s.key)} but {path} holds no cipher "
                                       "text this keystore decrypts", fix=f"write the plain value back in place of "
                                       f"`password` in {v.file(s.key)} (the runbook encrypts it again)")
                pairs.append((s.alias, old))
                notes.append(EditNote.same(f"cipher text for alias {s.alias}", "kept", f"cipher text for alias "
                                           f"{s.alias}: kept (decrypts with the node's key)"))
            elif plain == want:
                pairs.append((s.alias, old))
                notes.append(EditNote.same(f"cipher text for alias {s.alias}", "current", f"cipher text for alias "
                                           f"{s.alias}: holds the intended secret"))
            else:
                pairs.append((s.alias, encrypt(key.cert_der, want, padding)))
                why = "new" if old is None else "another secret" if plain is not None else "not decryptable"
                verb = "would change" if dry_run else "changed"
                notes.append(EditNote(f"cipher text for alias {s.alias}", why, "the intended secret", None,
                                      f"cipher text for alias {s.alias} {verb} (was: {why})"))
        after = _body("alias = Base64 RSA cipher text", pairs, stored=True)
        _folder(run, v, dry_run, before)
        if before is not None and read_properties(before) == dict(pairs) and not any(n.changed for n in notes):
            after = before
        changed = sum(n.changed for n in notes)
        summary = f"{changed} cipher text(s) to write" if changed else f"{len(pairs)} cipher texts current"
        return write_whole(h, path, before, after, summary, mode=0o600, edits=tuple(notes), dry_run=dry_run)

    reads = (path, *dict.fromkeys(v.file(s.key) for s in unheld))
    return Operation(f"{v.host_name}:{path}", fn, v.host_name, path=path, reads=reads, reader=h)


def whole_file_op(run: Run, v: NodeView, name: str, content_fn) -> Operation:  # type: ignore[no-untyped-def]
    """A properties file of conf/security written whole (cipher-tool.properties, secret-conf.properties)."""
    h, path = run.host(v.host_name), posixpath.join(security_dir(v), name)
    read = Carried(lambda: h.read_file(path))

    def fn(dry_run: bool) -> Change:
        before, after = read.get(dry_run), content_fn()
        _folder(run, v, dry_run, before)
        summary = f"{name} as intended" if before == after else f"write {name}"
        return write_whole(h, path, before, after, summary, mode=0o600, dry_run=dry_run)

    return Operation(f"{v.host_name}:{path}", fn, v.host_name, path=path, reads=(path,), reader=h)


def cipher_tool(v: NodeView, secrets: list[Secured]) -> bytes:
    return _body("alias = file//xpath,attribute?", [(s.alias, tool_line(v, s)) for s in secrets])


def revealed(run: Run, v: NodeView, alias: str) -> str | None:
    """ALIAS's secret as the node resolves it: its cipher text decrypted with the
    node's key (for a check that must log in as the node's own user; never shown)."""
    data = run.host(v.host_name).read_file(posixpath.join(security_dir(v), CIPHER_TEXT))
    text = read_properties(data).get(alias) if data else None
    return decrypt(node_key(run, v).key_der, text, run.params.securevault.padding) if text else None
