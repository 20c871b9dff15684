"""Gold-set evaluation: load a reviewed Q&A set, ask the assistant, judge, summarise, report.

Modules by role: ``model`` (typed items and results), ``load`` (strict YAML loader), ``runners``
(in-process and REST), ``judge`` (one question's verdict), ``evaluate`` (the run), ``metrics``
(summary and baseline diff), ``report`` (self-contained HTML), ``candidates`` (feedback → items).
"""
