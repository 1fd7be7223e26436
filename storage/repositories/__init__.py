"""Repositories: the only place that writes queries, one module per aggregate. Services call these
through the unit of work (storage/uow.py); handlers never do.

The entities mapped before any repository is imported: some build their statements once, at import,
from mapped attributes (storage/orm.py).
"""
from storage.orm import start_mappers

start_mappers()
