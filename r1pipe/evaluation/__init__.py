"""Evaluation the way the paper measures: pass@1 over k samples, pass@k, cons@k, with intervals.

benchmarks.py  eval.suite entries loaded into problem tables (MATH-500, AIME, GPQA, code, held-out)
estimators.py  pass@k (unbiased), majority vote, standard errors, bootstrap intervals
loop.py        one benchmark on any generation engine -> summary + per-problem rows
stage.py       before/after evaluation inside a stage (eval.after_stage)
gate.py        eval.gate: stop the pipeline when a stage made a metric worse
command.py     `r1pipe eval MODEL|RUN_DIR|STAGE_DIR`
"""
