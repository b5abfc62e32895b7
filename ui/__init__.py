"""The web chat (Gradio): ``ui.app.build_app(rag)``, ``ui.app.serve()``; rendering in ``ui.render``.

Thin by design: it parses input, calls the ``rag`` library, and renders HTML in which every piece of
document text is escaped (see ``ui.render.escape_text``). No usage data leaves the machine: every
app is built with ``analytics_enabled=False``, which guards all of Gradio's telemetry.
"""
