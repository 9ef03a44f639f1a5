-- The results database, <results-dir>/results.sqlite (PRAGMA user_version = 1).
-- Every row comes from the JSON run files: `bench_runner db rebuild` recreates it from them.
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    benchmark TEXT NOT NULL,
    model TEXT,
    model_path TEXT,
    backend TEXT,
    quantization TEXT,
    gpu_layers INTEGER,
    prompt_style TEXT,
    mode TEXT,
    state TEXT NOT NULL,
    start_time TEXT,
    end_time TEXT,
    duration_s REAL,
    n_samples INTEGER,
    temperature REAL,
    max_tokens INTEGER,
    seed INTEGER,
    total_problems INTEGER,
    total_samples INTEGER,
    successes INTEGER,
    pass_at_1 REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_cost REAL,
    tokens_per_second REAL,
    config TEXT,
    metadata TEXT,
    summary TEXT,
    source_mtime_ns INTEGER,
    source_size INTEGER
);
CREATE INDEX runs_by_start ON runs (start_time);
CREATE INDEX runs_by_benchmark ON runs (benchmark, start_time);
CREATE INDEX runs_by_model ON runs (model, start_time);
CREATE TABLE run_problems (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    problem_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    statuses TEXT,
    PRIMARY KEY (run_id, problem_id)
) WITHOUT ROWID;
CREATE TABLE samples (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    problem_id TEXT NOT NULL,
    sample_index INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    final INTEGER NOT NULL,
    status TEXT NOT NULL,
    passed INTEGER NOT NULL,
    tests_passed INTEGER,
    tests_total INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    generation_s REAL,
    time_to_first_token_s REAL,
    tokens_per_second REAL,
    grading_s REAL,
    cost REAL,
    finish_reason TEXT,
    error TEXT,
    detail TEXT,
    feedback TEXT,
    program TEXT,
    completion TEXT,
    PRIMARY KEY (run_id, problem_id, sample_index, attempt)
);
CREATE TABLE problems (
    benchmark TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    difficulty TEXT,
    platform TEXT,
    contest_date TEXT,
    attributes TEXT,
    PRIMARY KEY (benchmark, problem_id)
) WITHOUT ROWID;
