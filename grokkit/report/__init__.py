"""The interactive HTML report of a run.

``collect`` gathers plain numbers from a run, ``figures`` turns them into plotly
figures, ``sections`` decides which figure shows which keys, and ``html``
assembles one self-contained page::

    >>> from grokkit.report.html import write_report
    >>> write_report(grokkit.load_run("runs/quick"))   # → runs/quick/report.html
"""
