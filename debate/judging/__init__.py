"""Human judges in the browser: a local web page to read and judge the recorded games of a workdir.

views.py turns a transcript into what the page shows (and what it hides until the verdict is in),
verdicts.py keeps the verdicts in DIR/human_verdicts.jsonl, app.py serves the pages (`launch.judge_ui`).
"""
