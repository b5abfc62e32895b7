"""The web chat (Gradio): ``ui.app.build_app(rag)``, ``ui.app.serve()``; rendering in ``ui.render``.

Thin by design: it parses input, calls the ``rag`` library, and renders HTML in which every piece of
document text is escaped (see ``ui.render.escape_text``).
"""

from __future__ import annotations

import os

# Gradio reads this when it is imported (and again per app); set here, before any ``ui`` module
# can import Gradio, so no usage data or version check ever leaves the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
