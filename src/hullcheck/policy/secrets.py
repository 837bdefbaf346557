"""What looks like a secret: variable names that hold credentials, and values whose shape
gives a credential away (cloud keys, tokens, private keys). The rules report *where* one is,
never the value."""

from __future__ import annotations

import re

_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|"
    r"CREDENTIALS?|AUTH_?KEY|CLIENT_?SECRET|_PASS$|^PASS$|_PWD$)",
    re.IGNORECASE,
)
_NOT_A_VALUE = re.compile(r"_(FILE|PATH|DIR|URL_FILE)$", re.IGNORECASE)
_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub tokens
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab personal access token
    r"|xox[baprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_PLACEHOLDERS = frozenset({"", '""', "''", "changeme", "none", "null", "false", "true"})


def secret_name(name: str) -> bool:
    """Whether a variable of this name holds a credential (``DB_PASSWORD``; not
    ``DB_PASSWORD_FILE``, which names where one is)."""
    return bool(_NAME.search(name)) and not _NOT_A_VALUE.search(name)


def secret_value(value: str) -> bool:
    """Whether a value has the shape of a known credential."""
    return bool(_VALUE.search(value))


def holds_secret(name: str, value: str) -> bool:
    """Whether ``name=value`` sets a credential: a secret's name with a real value (not a
    placeholder, not a reference to another variable), or a credential's shape."""
    if secret_value(value):
        return True
    stripped = value.strip()
    if stripped.lower() in _PLACEHOLDERS or stripped.startswith("$"):
        return False
    return secret_name(name)
