"""Isolated, fast execution of untrusted model-written programs.

Use :class:`~bench_runner_core.sandbox.pool.SandboxPool` (it implements the
``Sandbox`` protocol): ``pool.run(job)`` grades a
:class:`~bench_runner_core.sandbox.jobs.StdioJob` or
:class:`~bench_runner_core.sandbox.jobs.CheckJob` to a ``Verdict``, from any
thread; ``pool.protections`` says what was in force, for the run summary.

How one execution is isolated (each step falls back, logged and reported in
``protections``, where the kernel refuses it; the sandbox is never silently
weaker):

* the pool starts ``--workers`` processes with an allow-listed environment
  (``pool.py``), each pinned to a CPU of its own when there are enough (a
  worker, its zygote and its program hand over to each other many times per
  job); a worker never forks the process holding a model;
* each worker leaves the network (its own network namespace, a user namespace
  first when not root), joins a new empty session keyring (the user's keys
  stay behind), mounts a private size-limited tmpfs for temp dirs, creates a
  memory and a cpu cgroup (one CPU at most, however many processes a program
  starts: ``cgroup.py``), and forks a *zygote* before it reads any job, so
  forked programs never hold test data in memory (``worker.py``);
* the zygote pivots into a minimal root of its own (``fsroot.py``): read-only
  binds of an allow-list (system binaries and libraries, the interpreter, its
  standard library, a few libraries programs may import), four devices and the
  temp root. Benchmark data, site-packages, our sources, caches, results,
  ``/proc``, ``/sys``, ``/run`` and ``/tmp`` do not exist there: nothing to
  read, ``stat``, ``inotify`` or ``connect`` to. A seccomp filter makes every
  keyring call fail;
* the zygote forks each program as PID 1 of a fresh PID namespace, ahead of
  its job (a *spare*); what is the same for every program (environment,
  no_new_privs, seccomp, the Landlock ruleset) is set up once in the zygote, so
  that a fork copies few pages; the program confines itself: a new IPC
  namespace (System V objects of its own), own session, rlimits, chdir to a
  fresh temp dir, Landlock (the same allow-list, its temp dir, no TCP, no
  signals or abstract sockets beyond itself), a unique unused uid (root) or no
  capabilities (user namespace), then says it is ready: a process that dies
  before that failed the sandbox's setup, one that dies after failed on its own
  (``program.py``, ``kernel.py``);
* a StdioJob's process runs the job's prelude and compiles the program once,
  then forks each case afresh with the case's stdin, stdout and stderr (the
  last case runs in place); after a case it kills and reaps whatever the case
  left and removes the System V objects it made, and the worker empties the
  temp dir (``cleanup.py``: any depth, any modes), so every case starts alone;
  it is non-dumpable and ignores SIGINT, so a case can neither ptrace it, take
  its fds nor stop it (``program.py``);
* the worker kills the namespace through a pidfd at the deadline; the status
  pipe closes only once every process of the execution is gone
  (``execution.py``);
* a CheckJob's checker runs in the worker; calls into the program cross a pipe
  as plain data (``plaindata.py``, ``remote.py``, ``server.py``), so only the
  checker returning can pass a program (``grading.py``). Everything decoded
  from a program is bounded: reply size, nesting, sets and dicts built to
  collide, exception text, and the verdict's detail.

Every message between these processes is framed the same way
(``framing.py``). Every time limit is a field or property of
:class:`~bench_runner_core.sandbox.jobs.Limits`: ``timeout_s`` (the job's wall
clock), ``test_timeout_s`` (one stdio case, or one call into the program),
``cpu_seconds`` (the RLIMIT_CPU backstop), ``kill_grace_s`` (how long a killed
execution may take to be gone) and ``pool_grace_s`` (how long past
``timeout_s`` the pool waits for a worker before replacing it).
"""
