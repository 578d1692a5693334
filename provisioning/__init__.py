"""People and units: units, staff, mailboxes, the LDAP directory, the database base and the audit trail."""
