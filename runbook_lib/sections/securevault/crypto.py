"""Encrypt and decrypt a secret as cipher-tool and Carbon's secret repository do.

cipher-tool 1.0.0-wso2v3 (KeyStoreUtil.initializeCipher, CipherTool.doEncryption)
encrypts the UTF-8 bytes with `Cipher.getInstance("RSA")` initialised with the
key entry's certificate, i.e. RSA with PKCS#1 v1.5 padding, and writes the
result in Base64. The secret repository (FileBaseSecretRepository) decrypts
each value with the key and `secretRepositories.file.algorithm` (default
"RSA"); OAEP (SHA-1, MGF1-SHA-1: Java's `RSA/ECB/OAEPwithSHA1andMGF1Padding`)
works when that property names it. Both paddings are randomised: the same
secret never encrypts to the same text twice, so whether a cipher text is
current is decided by decrypting it (``holds``), never by comparing texts.
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as pad
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

from ...facts import pkcs1


def _padding(name: str) -> pad.AsymmetricPadding:
    if name == "oaep":
        return pad.OAEP(mgf=pad.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return pad.PKCS1v15()


def encrypt(cert_der: bytes, secret: str, padding: str = "pkcs1") -> str:
    """Base64 cipher text of SECRET with the certificate's RSA key."""
    key = x509.load_der_x509_certificate(cert_der).public_key()
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the keystore's key is not RSA: Secure Vault (cipher-tool) encrypts with RSA only")
    return base64.b64encode(key.encrypt(secret.encode("utf-8"), _padding(padding))).decode("ascii")


@functools.lru_cache(maxsize=64)
def _private_key(key_der: bytes):  # noqa: ANN202 - one of cryptography's key types
    """The loaded key, kept: loading checks the RSA key, which costs far more than a
    decryption, and every value of every node's cipher-text.properties is decrypted
    with the same few keys (it was most of a kernel's time in the Secure Vault steps)."""
    return load_der_private_key(key_der, password=None)


@functools.lru_cache(maxsize=4096)
def decrypt(key_der: bytes, text: str, padding: str = "pkcs1") -> str | None:
    """The secret in TEXT, or None when it is not a cipher text of this key. Kept: a
    node's cipher texts are decrypted by its plan, its apply and its checks (at 128
    workers about 1,000 RSA decryptions each time: a quarter of a second of CPU)."""
    key = _private_key(key_der)
    if not isinstance(key, RSAPrivateKey):
        return None
    try:
        return pkcs1.decrypt(key, base64.b64decode(text.strip(), validate=True), _padding(padding)).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def holds(key_der: bytes, text: str | None, secret: str, padding: str = "pkcs1") -> bool:
    """TEXT decrypts to SECRET (so it is kept: a second apply changes nothing)."""
    return text is not None and decrypt(key_der, text, padding) == secret
