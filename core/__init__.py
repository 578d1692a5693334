"""Plumbing below the domains: database and boundary, recorded intents, durable tasks, change trail, outbox.

Nothing here imports a domain package (provisioning, meetings, audit) or the web layer.
"""
