"""What an ERROR line in a node's start-up log means, and what to do about it:
the fix 08 (and 07) print beside a start that failed. One table, needle -> fix,
first match wins."""

FIXES = [
    ("Access denied", "a datasource in master-datasources.xml has the wrong user or password: correct it "
                      "(04_registry_mount) and check the grants (03_databases)"),
    ("Address already in use", "another process (often a second node on this host with the same Offset) has the "
                               "port: give each node on a host its own offset in the params (05/06)"),
    ("ClassNotFoundException: ", "no jar in the lib directory holds the datasource's driverClassName: install the "
                                 "driver jar (03_databases) and check driverClassName (04_registry_mount)"),
    ("Unable to create initial connections of pool", "a datasource in master-datasources.xml cannot connect: "
                                                     "check each URL, user and password (04) and the database (03)"),
    ("Error in looking up data source", "registry.xml or user-mgt.xml name a datasource master-datasources.xml "
                                        "does not define (04_registry_mount)"),
    ("not well-formed", "the file named above is not well-formed XML: restore it from its backup"),
    ("Permission denied", "a port below 1024 needs root: start the node as the documents start the ELB, "
                          "`sudo -E sh <home>/bin/wso2server.sh start` (08 does), not as a plain user"),
    ("Cannot initialize cluster", "the clustering agent in axis2.xml cannot start in this product (05/06)"),
    ("keystore password is mandatory", "Secure Vault found no password-tmp in the node's CARBON_HOME: start it "
                                       "through 08/07, which write it just before the start"),
    ("IOError loading keyStore", "the keystore password given to Secure Vault is wrong: set the secret named in "
                                 "securevault.keystore_password to the node's wso2carbon.jks password"),
    ("Error loading key for alias", "Secure Vault opened the keystore but not its key entry: the key has a password "
                                    "of its own. Set securevault.key_password to it (08/07 then start the node with "
                                    "-Dkey.password=true and both passwords in password-tmp)"),
    ("input stream for cipher", "a cipher text in conf/security/cipher-text.properties does not decrypt with the "
                                "node's key: re-run 04 (07 for brokers) with apply=True to encrypt it again"),
]


def explain(line: str) -> str:
    return next((fix for needle, fix in FIXES if needle in line), "read the node's log above the ERROR line")
