"""Isolated, fast execution of untrusted model-written programs.

Use :class:`~bench_runner_core.sandbox.pool.SandboxPool` (it implements the
``Sandbox`` protocol): ``pool.run(job)`` grades a
:class:`~bench_runner_core.sandbox.jobs.StdioJob` or
:class:`~bench_runner_core.sandbox.jobs.CheckJob` to a ``Verdict``, from any
thread; ``pool.protections`` says what was in force, for the run summary.

How one execution is isolated (each step falls back, logged and reported in
``protections``, where the kernel refuses it):

* the pool starts ``--workers`` processes with an allow-listed environment
  (``pool.py``), each pinned to a CPU of its own when there are enough (a
  worker, its zygote and its program hand over to each other many times per
  job); a worker never forks the process holding a model;
* each worker leaves the network (its own network namespace, a user namespace
  first when not root), mounts a private size-limited tmpfs for temp dirs,
  creates a memory cgroup, and forks a *zygote* before it reads any job, so
  forked programs never hold test data in memory (``worker.py``);
* the zygote forks each program as PID 1 of a fresh PID namespace, ahead of
  its job (a *spare*); what is the same for every program (environment,
  no_new_privs, the Landlock ruleset) is set up once in the zygote, so that a
  fork copies few pages; the program confines itself: own session, rlimits,
  chdir to a fresh temp dir, Landlock (read-only interpreter paths, its temp
  dir, no TCP, no signals or abstract sockets beyond itself), a unique unused
  uid (root) or no capabilities (user namespace) (``zygote.py``, ``kernel.py``);
* a StdioJob's process runs the job's prelude and compiles the program once,
  then forks each case afresh with the case's stdin, stdout and stderr (the
  last case runs in place); after a case it kills and reaps whatever the case
  left, and the worker empties the temp dir, so every case starts alone; it is
  non-dumpable, so a case can neither ptrace it nor take its fds (``zygote.py``);
* the worker kills the namespace through a pidfd at the deadline; the status
  pipe closes only once every process of the execution is gone
  (``execution.py``);
* a CheckJob's checker runs in the worker; calls into the program cross a pipe
  as plain data (``plaindata.py``, ``remote.py``, ``server.py``), so only the
  checker returning can pass a program (``grading.py``).
"""
