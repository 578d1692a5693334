"""A reorganisation applied as one plan: a file of unit changes (and staff placements) read (``sheets``),
resolved against the tree and validated as a whole (``plan``, ``resolve``, ``people``), shown (``preview``),
then applied in one unit of work through the unit and mailbox verbs (``apply``), as background tasks
(``tasks``). Layers above take part through :class:`provisioning.reorg.participants.Participant` (bridge
points live in ``meetings``)."""
