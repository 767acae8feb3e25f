"""``exptrack ui`` and ``exptrack report``: a local dashboard and a self-contained HTML report.

Needs the ``ui`` extra (``pip install 'exptrack[ui]'``: starlette, uvicorn, plotly); the core
never imports this package unless one of those two commands runs.
"""
