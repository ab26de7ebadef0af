"""The interactive HTML report of a run.

``collect`` gathers plain numbers from a run, ``figures`` turns them into plotly
figures, ``sections`` decides which figure shows which keys, and ``html``
assembles one self-contained page::

    >>> from grokkit.report import write_report
    >>> write_report(grokkit.load_run("runs/quick"))   # → runs/quick/report.html
"""

from grokkit.report.html import REPORT_FILE, render_page, write_report

__all__ = ["REPORT_FILE", "render_page", "write_report"]
