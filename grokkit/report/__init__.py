"""The interactive HTML report of a run.

``collect`` gathers plain numbers from a run, ``figures`` turns them into plotly
figures, ``sections`` decides which figure shows which keys, and ``html``
assembles one self-contained page::

    >>> from grokkit.report import write_report
    >>> write_report(grokkit.load_run("runs/quick"))   # → runs/quick/report.html
"""

from grokkit import lazy_getattr

_EXPORTS = {"REPORT_FILE": "grokkit.report.html", "render_page": "grokkit.report.html",
            "write_report": "grokkit.report.html"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())  # lazily: sections import figures from here
