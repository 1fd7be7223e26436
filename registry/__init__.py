"""Forwarding completed records to the central registry, and a reference registry service.

A separate program with its own contract (registry/schema/record-v1.json; docs/registry.md):

- ``registry.payload``   a record as the JSON document of the contract (and its photos)
- ``registry.openrosa``  the same record as an XForm instance for ODK Central / KoboToolbox
- ``registry.client``    one HTTP delivery and how its outcome is classified
- ``registry.worker``    the outbox worker: claim with a lease, send concurrently, settle
- ``registry.service``   the reference registry (aiohttp + its own database)
"""
