"""Guided decoding with xgrammar: compile once per request, mask the answer tokens.

A request's constrained part runs in three phases: the literal ``prefix`` is forced token by token,
then the grammar masks every sampled token, and once the grammar accepts a stop token the literal
``suffix`` is forced followed by end-of-sequence. JSON (``json_schema``, and ``json_object``, which
means any JSON object) is held to one line with ``", "`` and ``": "`` separators, as ``json.dumps``
writes it. The grammar never sees reasoning tokens (the engine
asks the reasoner whether the next token is reasoning before filling a mask), forced tokens, or the
stop token that ends it.

Compiling runs on a worker thread (:meth:`GuidedDecoding.submit`), never on the engine's step
loop: xgrammar releases the GIL while it compiles, so other requests keep decoding meanwhile. A
compile that runs past ``compile_timeout`` seconds fails its request; xgrammar cannot be
interrupted, so that worker is set aside until it finishes and a fresh one takes over the queue
(at most ``MAX_STUCK_WORKERS`` are set aside at once; beyond that new grammars wait).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from enum import IntEnum
from typing import Any

import torch

from .errors import GrammarError
from .sampling_params import GuidedDecodingParams

logger = logging.getLogger("core_engine")

DEFAULT_COMPILE_TIMEOUT = 10.0
MAX_STUCK_WORKERS = 2
_WORKER_NICENESS = 10
# compiled grammars kept for reuse by identical schemas; a huge one is not worth keeping forever
_CACHE_LIMIT_BYTES = 256 * 1024 * 1024

_XGRAMMAR_LOG_PREFIX = re.compile(r"^\[[0-9:]+\] \S+:\d+: ")


class GuidedPhase(IntEnum):
    PREFIX = 0
    GRAMMAR = 1
    DONE = 2


class GuidedState:
    """One request's position in its constrained part."""

    __slots__ = ("matcher", "prefix_ids", "suffix_ids", "phase", "tokens_before_decision", "implicit_end_allowed")

    def __init__(self, matcher: Any, prefix_ids: list[int], suffix_ids: list[int]) -> None:
        self.matcher = matcher
        self.prefix_ids = prefix_ids
        self.suffix_ids = suffix_ids
        self.phase = GuidedPhase.PREFIX
        # Whitespace tokens the grammar accepted while the output could still open reasoning; taken
        # back from the matcher if the start marker follows.
        self.tokens_before_decision = 0
        # Which of the reasoner's implicit-end markers may begin the content (None: not yet asked).
        self.implicit_end_allowed: frozenset[int] | None = None


class CompileJob:
    """One grammar being compiled on the worker; ``done`` is set when ``grammar`` or ``error`` is."""

    __slots__ = ("params", "done", "grammar", "error", "submitted_at", "picked", "started_at", "abandoned", "stuck")

    def __init__(self, params: GuidedDecodingParams) -> None:
        self.params = params
        self.done = threading.Event()
        self.grammar: Any = None
        self.error: BaseException | None = None
        self.submitted_at = time.monotonic()
        self.picked = False                       # a worker took it (it may still be building the compiler)
        self.started_at: float | None = None      # when its own compile began
        self.abandoned = False
        self.stuck = False


class GuidedDecoding:
    """Per-engine xgrammar objects: the tokenizer info and compiler are built once, on first use."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: list[int],
                 compile_timeout: float = DEFAULT_COMPILE_TIMEOUT) -> None:
        self._tokenizer = tokenizer
        self.vocab_size = vocab_size
        self._stop_token_ids = stop_token_ids
        self.compile_timeout = compile_timeout
        self._compiler: Any = None
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[CompileJob] = queue.SimpleQueue()
        self._workers_lock = threading.Lock()
        self._live_workers = 0
        self._stuck_workers = 0

    # -- compiling off the step loop ----------------------------------------------------------------

    def warm_up(self) -> None:
        """Import xgrammar and build the tokenizer info on a background thread now.

        Both hold the GIL for a while (the tokenizer info walks the vocabulary in Python); done at
        start, while nothing decodes, the first guided request does not slow running streams.
        """
        threading.Thread(target=self._warm, name="core-engine-grammar-warm-up", daemon=True).start()

    def _warm(self) -> None:
        try:
            self._get_compiler()
        except Exception:  # noqa: BLE001 - xgrammar missing: the first guided request says so
            pass

    def submit(self, params: GuidedDecodingParams) -> CompileJob:
        """Queue ``params`` for compilation on the worker thread."""
        job = CompileJob(params)
        with self._workers_lock:
            if self._live_workers - self._stuck_workers < 1 and self._stuck_workers <= MAX_STUCK_WORKERS:
                self._start_worker()
        self._jobs.put(job)
        return job

    def check(self, job: CompileJob, now: float | None = None) -> bool:
        """True once ``job`` is finished; raises GrammarError (and sets the job aside) when it is late."""
        if job.done.is_set():
            return True
        now = time.monotonic() if now is None else now
        started = job.started_at
        if started is not None and now - started > self.compile_timeout:
            self.abandon(job)
            raise GrammarError(f"the {_kind(job.params)} took longer than {self.compile_timeout:g} s to compile "
                               "(the compile timeout) and was given up; simplify it (fewer optional "
                               "properties, smaller repetition counts, a shorter pattern) and resend the request; "
                               "nothing was generated.")
        if not job.picked and now - job.submitted_at > 4 * self.compile_timeout:
            self.abandon(job)
            raise GrammarError(f"the {_kind(job.params)} waited more than {4 * self.compile_timeout:g} s for the "
                               "grammar compiler, which is busy with earlier grammars that exceeded the compile "
                               "timeout; resend the request later; nothing was generated.")
        return False

    def result(self, job: CompileJob) -> GuidedState:
        """The finished job's matcher state; raises the compile error (GrammarError) if it failed."""
        if job.error is not None:
            raise job.error
        return self.new_state(job.params, job.grammar)

    def abandon(self, job: CompileJob) -> None:
        """Nobody waits for ``job`` any more (its request was aborted, or it is late).

        A job not started yet is skipped by the worker; one being compiled sets its worker aside
        (xgrammar cannot be interrupted) and a fresh worker takes the queue, so a client that sends
        a pathological grammar and leaves does not hold up the grammars behind it.
        """
        with self._workers_lock:
            job.abandoned = True
            if job.started_at is not None and not job.done.is_set() and not job.stuck:
                job.stuck = True
                self._stuck_workers += 1
                logger.info("a grammar compile was given up while running; its worker is set aside until it ends")
                if self._stuck_workers <= MAX_STUCK_WORKERS and self._live_workers - self._stuck_workers < 1:
                    self._start_worker()

    def _start_worker(self) -> None:
        self._live_workers += 1
        threading.Thread(target=self._work, name="core-engine-grammar", daemon=True).start()

    def _work(self) -> None:
        # Compiles use the CPU the step loop leaves over: a lower priority for this thread (and the
        # threads xgrammar starts from it) keeps the running streams' token pace.
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WORKER_NICENESS)
        except (AttributeError, OSError):    # not Linux, or not allowed: compile at normal priority
            pass
        while True:
            job = self._jobs.get()
            if job.abandoned:
                continue
            job.picked = True
            try:
                self._get_compiler()    # the tokenizer info, built once, is not part of the timeout
                job.started_at = time.monotonic()
                job.grammar = self.compile(job.params)
            except BaseException as exc:  # noqa: BLE001 - handed to the request that waits for it
                job.error = exc if isinstance(exc, ValueError) else GrammarError(
                    f"the {_kind(job.params)} could not be compiled: {type(exc).__name__}: {exc}")
            with self._workers_lock:
                job.done.set()
                if job.stuck:
                    self._stuck_workers -= 1
                if self._live_workers - self._stuck_workers > 1:   # a replacement took over meanwhile
                    self._live_workers -= 1
                    return

    def _get_compiler(self) -> Any:
        with self._lock:
            if self._compiler is None:
                try:
                    import xgrammar
                except ImportError as exc:
                    raise GrammarError("guided decoding needs xgrammar: pip install xgrammar --no-deps "
                                     "apache-tvm-ffi (see the engine extra)") from exc
                info = xgrammar.TokenizerInfo.from_huggingface(self._tokenizer, vocab_size=self.vocab_size,
                                                               stop_token_ids=self._stop_token_ids or None)
                # leave a core to the step loop on small machines
                threads = max(1, min(8, (os.cpu_count() or 2) - 1))
                self._compiler = xgrammar.GrammarCompiler(info, max_threads=threads, cache_enabled=True,
                                                          cache_limit_bytes=_CACHE_LIMIT_BYTES)
            return self._compiler

    def compile(self, params: GuidedDecodingParams) -> Any:
        """Compile the grammar here; an invalid schema or regex raises GrammarError saying what is wrong."""
        compiler = self._get_compiler()
        try:
            if params.regex is not None:
                return compiler.compile_regex(params.regex)
            schema = '{"type": "object"}' if params.json_object else params.schema_text
            # One-line JSON with json.dumps' default separators: free whitespace lets small models
            # loop on newlines until max_tokens cuts the JSON short.
            return compiler.compile_json_schema(schema, any_whitespace=False)
        except RuntimeError as exc:
            kind = "regex" if params.regex is not None else "JSON schema"
            detail = _XGRAMMAR_LOG_PREFIX.sub("", str(exc).strip())
            raise GrammarError(f"invalid {kind} for guided decoding: {detail}. Fix the {kind} and resend the "
                             "request; nothing was generated.") from exc

    def new_state(self, params: GuidedDecodingParams, compiled: Any) -> GuidedState:
        import xgrammar

        encode = self._tokenizer.encode
        prefix = encode(params.prefix, add_special_tokens=False) if params.prefix else []
        suffix = encode(params.suffix, add_special_tokens=False) if params.suffix else []
        return GuidedState(xgrammar.GrammarMatcher(compiled), prefix, suffix)

    def allocate_bitmask(self, rows: int) -> torch.Tensor:
        return torch.zeros((rows, (self.vocab_size + 31) // 32), dtype=torch.int32)


def _kind(params: GuidedDecodingParams) -> str:
    return "regex" if params.regex is not None else "JSON schema"
