"""Jupyter server configuration for the Plinth UI tests (Galata).

Galata's helper removes auth and XSRF checks and serves Galata's in-browser test helpers;
never use this configuration outside tests.
"""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (c is injected by Jupyter)

# A fixed address the Playwright config points at (baseURL) and waits for.
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("PLINTH_UI_JUPYTER_PORT", "18888"))  # noqa: F821
# Test containers and CI runners often run as root.
c.ServerApp.allow_root = True  # noqa: F821
# No PyPI look-ups from the extension manager: the tests must not need the network.
c.LabApp.extension_manager = "readonly"  # noqa: F821
