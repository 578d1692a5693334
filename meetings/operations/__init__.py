"""The verbs on bridge points and meetings, one module per concern (as Indico's ``rb/operations``): ``points``
(register, change, groups), ``bookings`` (book a meeting or a series), ``conflicts`` (who holds a point when),
``changes`` (change or cancel one occurrence, the following ones or the whole series) and ``suggestions``
(find a time). Each verb takes the actor, checks its permission (``meetings.permissions``), records a change-trail
entry and queues its mail in the caller's transaction; the boundary commits and sends.
"""
