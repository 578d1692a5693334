"""Usage auditing and reports: who uses their mailbox, meetings held and attended, per unit."""
