"""The supervisors' web dashboard (docs/dashboard.md): server-rendered pages behind the chat's sign-in.

app.py assembles the aiohttp application; auth.py is who is asking (sessions, scope, CSRF); each page
family registers its own routes (progress.py, enumerators.py, exports.py, map_routes.py, review_routes.py).
"""
