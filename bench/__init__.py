"""The benchmark harness behind ``make bench``: cost and speed of a sync, measured side
by side with the alternatives, written to ``BENCHMARKS.md``.

``python -m bench --help`` lists the options. The harness runs in the project environment
(``scripts/with-env``); every measured piece of work runs in a subprocess of its own, so that its
peak memory can be read and the sandbox (served from the harness process) never shares an
interpreter lock with the code being measured:

- ``bench.harness``: orchestration, the sandbox's control API, lower bounds, the report's figures.
- ``bench.worker``: the measured work (extraction, the load replay and the COPY baseline, the
  end of a DAG run without Airflow), ``python -m bench.worker KIND SPEC.json OUT.json``.
- ``bench.dlt_peer``: the dlt REST API source peer; runs under the bench-only virtualenv
  (``.local/bench-venv``, ``requirements-bench.txt``), standard library plus dlt only.
- ``scripts/run_dag.py`` (the make targets' runner): one DAG run through Airflow (``dag.test()``) with its task instances.
- ``bench.report``: the Markdown.
"""
