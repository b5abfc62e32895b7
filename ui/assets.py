"""The page's CSS and the transcript's click handler (static strings; no document text here)."""

from __future__ import annotations

TRANSCRIPT_JS = """
const box = () => element.querySelector('.rq-scroll');
const showLatest = () => {
  const scroller = box();
  if (!scroller) return;
  const turns = scroller.querySelectorAll('.rq-turn');
  const last = turns[turns.length - 1];
  scroller.scrollTop = last ? Math.max(0, last.offsetTop - 6) : 0;
};
element.addEventListener('click', (event) => {
  const el = event.target.closest('[data-cite],[data-passage],[data-example]');
  if (!el || !element.contains(el)) return;
  event.preventDefault();
  trigger('click', {
    turn: el.dataset.turn || '',
    cite: el.dataset.cite || '',
    passage: el.dataset.passage || '',
    example: el.dataset.example || '',
  });
});
watch('value', showLatest);
"""
"""Citation markers, related passages and example questions are buttons carrying data attributes;
one listener forwards a click with those attributes to the server
(``ChatHandlers.transcript_click``).
After each answer the transcript scrolls so the newest question sits at the top: the answer is in
view without the reader scrolling, however long the conversation."""

SOURCE_JS = """
watch('value', () => {
  const box = element.querySelector('.rq-source-text');
  const target = box && box.querySelector('mark, .rq-focus');
  if (target) box.scrollTop = Math.max(0, target.offsetTop - box.clientHeight / 3);
});
"""
"""Brings the highlighted quote into view in the source panel, a third of the way down."""

CSS = """
.gradio-container { padding-top: 6px !important; }
.rq-title { font-size: 1.05rem; padding: 2px 2px 0; color: var(--body-text-color-subdued); }
.rq-title b { color: var(--body-text-color); }
#rq-transcript .rq-scroll {
  position: relative;
  height: calc(100vh - 200px);
  min-height: 260px;
  overflow-y: auto;
  padding: 6px 12px;
  border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-lg);
  background: var(--background-fill-secondary);
}
.rq-turn { padding: 6px 0 10px; border-bottom: 1px solid var(--border-color-primary); }
.rq-turn:last-child { border-bottom: none; }
.rq-question {
  margin: 4px 0 6px auto; width: fit-content; max-width: 85%;
  padding: 6px 12px; border-radius: 14px;
  background: var(--color-accent-soft); color: var(--body-text-color); font-weight: 600;
}
.rq-answer { line-height: 1.5; }
.rq-quote {
  margin: 4px 0; padding: 4px 12px; border-left: 4px solid var(--color-accent);
  background: var(--background-fill-primary); font-size: 1.02rem;
}
.rq-short { font-weight: 700; background: rgba(255, 214, 0, 0.45); padding: 0 1px; }
mark { background: rgba(255, 214, 0, 0.55); color: inherit; padding: 0; }
.rq-meta { color: var(--body-text-color-subdued); font-size: 0.9rem; }
.rq-note { color: var(--color-accent); font-size: 0.9rem; margin: 2px 0; }
.rq-stale { color: #b45309; font-weight: 600; }
.rq-gap { text-decoration: underline wavy #b45309; }
.rq-why { font-size: 0.85rem; margin-top: 6px; }
.rq-why-table td, .rq-why-table th { padding: 2px 6px; text-align: left; }
button.rq-cite, button.rq-cite-item, button.rq-example {
  cursor: pointer; border: none; background: none; padding: 0 2px;
  color: var(--link-text-color, var(--color-accent)); font: inherit;
}
button.rq-cite { font-size: 0.85em; vertical-align: super; font-weight: 700; }
button.rq-cite-item { text-decoration: underline; text-align: left; }
button.rq-cite:hover, button.rq-cite-item:hover, button.rq-example:hover { opacity: 0.75; }
.rq-sources, .rq-related { margin: 4px 0 0 1.2em; padding: 0; font-size: 0.92rem; }
.rq-sources li { list-style: none; margin-left: -1.2em; }
.rq-related li { margin: 3px 0; }
.rq-snippet { color: var(--body-text-color-subdued); }
.rq-abstain-head { margin: 4px 0; }
.rq-abstained { border-left: 4px solid var(--border-color-accent, #999); padding-left: 10px; }
.rq-scores { font-size: 0.85rem; margin-top: 4px; }
.rq-empty { padding: 8px 4px; }
.rq-empty-head { font-size: 1.1rem; font-weight: 600; }
.rq-examples { padding-left: 0; }
.rq-examples li { list-style: none; margin: 6px 0; }
button.rq-example {
  border: 1px solid var(--border-color-primary); border-radius: 16px; padding: 4px 12px;
  background: var(--background-fill-primary);
}
#rq-ask-row { align-items: stretch; }
#rq-ask-row button { white-space: nowrap; }
.rq-source { padding: 4px 2px; }
.rq-source-head { margin-bottom: 6px; }
.rq-source-label { font-weight: 700; color: var(--color-accent); }
.rq-file { font-weight: 600; }
.rq-source-text {
  position: relative; white-space: pre-wrap; line-height: 1.5;
  max-height: calc(100vh - 250px); min-height: 200px;
  overflow-y: auto; padding: 8px 10px; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-lg); background: var(--background-fill-primary);
}
.rq-focus { background: var(--color-accent-soft); }
.rq-source-empty { color: var(--body-text-color-subdued); padding: 12px 4px; }
.rq-docs, .rq-docs tr { width: 100%; font-size: 0.9rem; border: none !important; }
.rq-docs th, .rq-docs td { text-align: left; padding: 3px 6px; border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; }
.rq-docs td:first-child { overflow-wrap: anywhere; }
.rq-docs th:not(:first-child) { width: 1%; white-space: nowrap; }
.rq-num { text-align: right !important; white-space: nowrap; }
.rq-upload-report { padding-left: 0; margin: 4px 0; font-size: 0.92rem; }
.rq-upload-report li { list-style: none; }
.rq-ok { color: var(--color-green-600, green); }
.rq-fail { color: var(--color-red-600, #c00); }
"""
