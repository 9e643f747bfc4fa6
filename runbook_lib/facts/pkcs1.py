"""RSA decryption that tells a cipher text of the key from anything else.

Since OpenSSL 3.2, PKCS#1 v1.5 decryption no longer fails on bad padding: it
returns a message derived from the private key and the input, of random
length ("implicit rejection", against Bleichenbacher's attack). Carbon's Java
(`Cipher.getInstance("RSA")`, PKCS#1 v1.5) throws BadPaddingException
instead. So a cipher text of another key, or any bytes, "decrypted" here to
garbage, and now and then to valid UTF-8 (an empty or short string): a wrong
cipher text could pass for a current one.

The synthetic message is derived from the bytes of the private exponent d; a
real message is not. An equivalent key (the same n, e, p and q, exponent
d +/- lcm(p-1, q-1), which decrypts alike) gives the same message for a real
cipher text and, but with negligible probability, another one for anything
else: a message both keys agree on is a real one. tests/test_securevault.py
fails if that ever stops holding.
"""

from __future__ import annotations

import functools
import math

from cryptography.hazmat.primitives.asymmetric import padding as pad
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPrivateNumbers


@functools.lru_cache(maxsize=64)
def _twin(key: RSAPrivateKey) -> RSAPrivateKey:
    """KEY with its other private exponent (d +/- lcm(p-1, q-1), below n either way)."""
    n = key.private_numbers()
    lam = (n.p - 1) * (n.q - 1) // math.gcd(n.p - 1, n.q - 1)
    d = n.d - lam if n.d >= lam else n.d + lam
    numbers = RSAPrivateNumbers(n.p, n.q, d, n.dmp1, n.dmq1, n.iqmp, n.public_numbers)
    try:
        return numbers.private_key(unsafe_skip_rsa_key_validation=True)
    except TypeError:  # cryptography before 39
        return numbers.private_key()


def decrypt(key: RSAPrivateKey, data: bytes, padding: pad.AsymmetricPadding) -> bytes:
    """DATA decrypted with KEY; ValueError when it is not a cipher text of KEY
    (as Java's BadPaddingException), whether or not OpenSSL says so itself."""
    message = key.decrypt(data, padding)  # OAEP, and OpenSSL before 3.2, raise ValueError here
    if isinstance(padding, pad.PKCS1v15) and _twin(key).decrypt(data, padding) != message:
        raise ValueError("not a cipher text of this key (PKCS#1 v1.5 padding)")
    return message
