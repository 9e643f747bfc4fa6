"""WSO2 Secure Vault written without a JVM, and file modes of secrets at rest (issue 19).

04 and 07 call sections/nodes/secrets_at_rest.py (through their entry modules); this package holds its parts:
aliases.py (what is secured, where, from which secret), crypto.py (RSA as
cipher-tool encrypts), keystore.py (each node's key, read with facts/jks.py),
xmlns.py (the marks cipher-tool leaves in XML), vaultfiles.py (cipher-text,
cipher-tool and secret-conf properties), modes.py (0600/0640 and owner),
startup.py (the keystore password handed to a starting node).
"""
