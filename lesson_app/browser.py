"""Where the student's browser finds a server that runs next to the kernel.

The kernel reaches its ``BackgroundServer`` at ``http://127.0.0.1:PORT``. The
browser often cannot: on a JupyterHub, on Binder, on Colab or in a Codespace the
kernel runs on another machine. ``locate(port)`` picks the address the browser
should use, checking in this order:

1. ``LESSON_BROWSER_URL``, for setups nobody foresaw: a template with ``{port}``
   (``https://lab.example.org/proxy/{port}/``), or the external address of the
   Jupyter server, to which ``proxy/PORT/`` is added;
2. Colab: its kernel-port proxy (``google.colab.kernel.proxyPort``);
3. JupyterHub and Binder: ``{JUPYTERHUB_SERVICE_PREFIX}proxy/PORT/``, served by
   jupyter-server-proxy;
4. GitHub Codespaces: the forwarded port, ``https://{CODESPACE_NAME}-PORT.{domain}/``;
5. a Jupyter server behind a base URL other than ``/``: ``{base_url}proxy/PORT/``;
6. anything else is a local Jupyter: ``http://127.0.0.1:PORT/``.

Every address ends with ``/``, so the app's pages can use relative URLs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

OVERRIDE_ENV = "LESSON_BROWSER_URL"
HUB_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"
DEFAULT_CODESPACES_DOMAIN = "app.github.dev"

Where = Literal["override", "colab", "jupyterhub", "codespaces", "jupyter-base-url", "local"]


@dataclass(frozen=True)
class BrowserAddress:
    """The address a browser should use for a kernel-side server, and why."""

    url: str
    where: Where

    @property
    def same_machine(self) -> bool:
        """True when the browser reaches the server directly, without any proxy in between."""
        return self.where == "local"


def locate(port: int, host: str = "127.0.0.1", environ: Mapping[str, str] | None = None) -> BrowserAddress:
    """The browser's address for a server listening on ``host:port`` next to this kernel."""
    env = os.environ if environ is None else environ
    override = env.get(OVERRIDE_ENV, "").strip()
    if override:
        return BrowserAddress(_from_template(override, port), "override")
    if "google.colab" in sys.modules:
        return BrowserAddress(_colab_url(port), "colab")
    prefix = env.get(HUB_PREFIX_ENV, "").strip()
    if prefix:
        return BrowserAddress(f"{_slashed(prefix)}proxy/{port}/", "jupyterhub")
    if env.get("CODESPACES", "").lower() == "true" and env.get("CODESPACE_NAME"):
        domain = env.get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN") or DEFAULT_CODESPACES_DOMAIN
        return BrowserAddress(f"https://{env['CODESPACE_NAME']}-{port}.{domain}/", "codespaces")
    base_url = jupyter_base_url(env)
    if base_url not in (None, "/"):
        return BrowserAddress(f"{base_url}proxy/{port}/", "jupyter-base-url")
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return BrowserAddress(f"http://{shown}:{port}/", "local")


def _slashed(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _from_template(template: str, port: int) -> str:
    if "{port}" in template:
        return _slashed(template.replace("{port}", str(port)))
    return f"{_slashed(template)}proxy/{port}/"


def _colab_url(port: int) -> str:
    """Colab's proxy address for ``port``, asked from the page that shows the notebook."""
    from google.colab import output  # type: ignore[import-not-found]

    url = output.eval_js(f"google.colab.kernel.proxyPort({int(port)}, {{'cache': false}})")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise RuntimeError(f"Colab's proxy gave no address for port {port}: {url!r}")
    return _slashed(url)


def jupyter_base_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The base URL of the Jupyter server that started this kernel, or ``None`` if unknown.

    A Jupyter server writes ``jpserver-<pid>.json`` into its runtime directory, and
    starts each kernel with ``JPY_PARENT_PID`` set to that pid.
    """
    env = os.environ if environ is None else environ
    parent = env.get("JPY_PARENT_PID", "")
    if not parent.isdigit():
        return None
    info_file = _runtime_dir(env) / f"jpserver-{parent}.json"
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    base_url = info.get("base_url")
    return _slashed(base_url) if isinstance(base_url, str) and base_url.startswith("/") else None


def _runtime_dir(env: Mapping[str, str]) -> Path:
    if env.get("JUPYTER_RUNTIME_DIR"):
        return Path(env["JUPYTER_RUNTIME_DIR"])
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return Path.home() / ".local" / "share" / "jupyter" / "runtime"
    return Path(jupyter_runtime_dir())
