"""The hosts themselves: preflight_checks (00 preflight's read-only checks of each
host: SSH, Java, the product home, ports) and clocks (clock skew, host
against host: E17, for 00 and 07)."""
