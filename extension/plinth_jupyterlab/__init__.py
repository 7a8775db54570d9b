"""Plinth for JupyterLab: a prebuilt JupyterLab 4 extension (feature catalog and panels)."""

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    # Where JupyterLab finds the prebuilt extension inside this package (also installed to
    # share/jupyter/labextensions/@plinth/jupyterlab by the wheel's shared-data).
    return [{"src": "labextension", "dest": "@plinth/jupyterlab"}]
