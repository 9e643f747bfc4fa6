"""The params of WSO2 Secure Vault (issue 19): off unless asked for.

With ``securevault.enabled`` every secret the runbook writes on a node is
written as `ciphertool.sh -Dconfigure` would leave it (the element says
``password`` and names its ``svns:secretAlias``; the cipher text, encrypted
with the node's keystore certificate, sits in ``cipher-text.properties``).
The keystore's password is named like every secret, never written here;
sections/securevault/ reads the keystore on each node with it (a wrong one is
refused before anything is written).
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from .fields import SecretRef, Strict, UnixUser, fail

# cipher-tool 1.0.0-wso2v3 (KeyStoreUtil.initializeCipher) encrypts with Cipher.getInstance("RSA"):
# PKCS#1 v1.5 padding; the secret repository decrypts with secretRepositories.file.algorithm
# (default "RSA"), so OAEP works when that property names it.
PADDINGS = {"pkcs1": "RSA", "oaep": "RSA/ECB/OAEPwithSHA1andMGF1Padding"}


class SecureVault(Strict):
    """Secure Vault on every node of the cluster (the ELB's own files excepted)."""

    enabled: bool = False
    keystore_password: SecretRef | None = None  # the primary keystore's (and, by default, its key's) password
    # absent: the same as the keystore's (Carbon's default); set: the key's own, and the nodes start with
    # -Dkey.password=true and both passwords in password-tmp (DefaultSecretCallbackHandler)
    key_password: SecretRef | None = None
    alias: str = "wso2carbon"  # the key entry whose certificate encrypts (carbon.xml KeyStore/KeyAlias)
    padding: Literal["pkcs1", "oaep"] = "pkcs1"
    file_mode: Literal["0600", "0640"] = "0600"  # files holding a secret or cipher text, and the keystores
    group: UnixUser | None = None  # the group that may read them with 0640

    @model_validator(mode="after")
    def _complete(self) -> "SecureVault":
        if self.enabled and self.keystore_password is None:
            raise fail("securevault.enabled needs the keystore's password",
                       "add `keystore_password: {secret: NAME}` under securevault (the secret holds the password "
                       "of each node's repository/resources/security/wso2carbon.jks)")
        if self.file_mode == "0640" and not self.group:
            raise fail("file_mode 0640 needs a group", "add `group: NAME` under securevault, or use file_mode 0600")
        return self
