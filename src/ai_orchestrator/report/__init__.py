"""The visual report (``aio report``): ``data.build`` gathers the figures the JSON read
commands print, ``html.render`` turns them into one self-contained HTML page. No click, no
rich: ``cli/report.py`` parses, calls and writes the file."""
