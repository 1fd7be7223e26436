"""The reference registry: the JSON contract (registry/schema/record-v1.json) served by aiohttp.

    pintu registry serve --port 8090 --database sqlite:///var/registry.db
        (write token: PINTU_REGISTRY_TOKEN or --token; read token: PINTU_REGISTRY_READ_TOKEN or --read-token)

``POST /v1/records`` (Idempotency-Key, Bearer token; JSON, or multipart with a ``record`` part and
one ``photo`` part per photo, filename = its sha256):

- 201 stored; 200 this key was already stored with the same document (the resend is harmless);
- 400 no/invalid key or body; 401 wrong token; 409 the key was stored with a different document;
- 413 too large; 422 the document breaks the schema, or a photo is missing or fails its hash.

``POST /submission`` (OpenRosa: ``xml_submission_file`` + media parts): 201 stored (also for an
identical resend, as ODK Central answers), 409 the instanceID is known with different XML.
``GET /v1/records/{key}``: what was stored, with the read token only (the write token cannot read;
without a read token reading is off, 403). ``GET /healthz``.

It keeps what it receives in its own database (a separate SQLAlchemy metadata, created on start),
deduplicating by key with the primary key.
"""
