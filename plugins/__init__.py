"""exptrack's built-in plugins, installed as the package ``exptrack_plugins``.

Each module here is hook glue registered through the ``exptrack`` entry-point group, exactly like a
third-party plugin; the classes doing the work live in their own modules beside it.
"""
