"""The private slapd, Dovecot and Postfix that ``congvu services`` runs on loopback for the demo and tests."""
