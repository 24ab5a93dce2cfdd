"""The synchronous engine core: add requests, step, abort."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import torch

from .attention import register_paged_attention
from .chat import build_prompt
from .config import EngineConfig
from .detokenizer import TokenTextTable
from .errors import FAILURE_KINDS, RequestFailedError
from .guided import GuidedDecoding, GuidedPhase
from .kv_cache import BlockAllocator, KVLayout, KVPool, auto_num_blocks
from .loader import load_model
from .logits_pipeline import LogitsPipeline
from .model_runner import ModelRunner
from .outputs import INVALID_GRAMMAR, RequestOutput
from .reasoning import BUNDLED_REASONING_PARSER, reasoner_for_parser
from .request import Request, RequestStatus
from .sampling_params import SamplingParams
from .scheduler import Scheduler
from .stop_text import StopTextBuffer

logger = logging.getLogger("core_engine")


class LLMEngine:
    """Continuous batching over a paged KV pool.

    ``add_request`` validates everything (prompt length, grammar) before it changes any state, so a
    bad request raises ValueError and leaves the engine as it was. ``submit`` does the same but
    compiles the grammar on a worker thread while the request waits in the queue; a grammar that
    fails or times out then ends that request with an error output. ``step`` runs one forward pass
    over the scheduled requests and returns one RequestOutput per request that produced a token or
    ended. An exception raised for one request (its reasoner, grammar, detokenisation or stop
    strings) ends that request alone with ``finish_reason == "error"``; the others go on.
    """

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config = config or EngineConfig()
        loaded = load_model(config.model_dir, device=config.device, dtype=config.dtype,
                            attn_implementation=register_paged_attention(), max_model_len=config.max_model_len,
                            num_threads=config.num_threads)
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.model_name = loaded.name
        self.max_model_len = loaded.max_model_len
        self.device = loaded.device
        self.vocab_size = loaded.vocab_size
        self.eos_token_ids = loaded.eos_token_ids
        layout = KVLayout.from_config(self.model.config, loaded.dtype)
        block_size = config.kv_block_size
        num_blocks = config.num_kv_blocks or auto_num_blocks(
            layout, block_size, config.max_num_seqs, self.max_model_len, self.device, config.kv_cache_memory_bytes,
            max_num_batched_tokens=config.max_num_batched_tokens,
            query_groups=self.model.config.get_text_config().num_attention_heads // layout.num_kv_heads,
            num_windows=len(loaded.sliding_windows))
        if num_blocks * block_size < self.max_model_len:
            raise ValueError(f"num_kv_blocks={num_blocks} x kv_block_size={block_size} holds fewer tokens than "
                             f"max_model_len={self.max_model_len}; raise num_kv_blocks or lower max_model_len")
        self.kv_bytes_per_token = layout.bytes_per_token
        self.pool = KVPool(layout, num_blocks, block_size, self.device)
        self.allocator = BlockAllocator(num_blocks, block_size)
        self.scheduler = Scheduler(self.allocator, config.max_num_seqs, config.max_num_batched_tokens)
        self.runner = ModelRunner(self.model, self.pool, self.device, loaded.dtype, loaded.sliding_windows)
        self.text_table = TokenTextTable(self.tokenizer, self.vocab_size)
        parser_name = config.reasoning_parser
        if parser_name is None and config.model is None:
            parser_name = BUNDLED_REASONING_PARSER
        self.reasoning_parser = parser_name
        self.reasoner, self.reasoner_note = (reasoner_for_parser(parser_name, self.tokenizer) if parser_name
                                             else (None, "none: no reasoning parser"))
        self.has_reasoner = self.reasoner is not None
        self.guided = GuidedDecoding(self.tokenizer, self.vocab_size, self.eos_token_ids,
                                     compile_timeout=config.grammar_compile_timeout)
        force = list(self.reasoner.force_end_token_ids) if self.reasoner else None
        end_id = getattr(self.reasoner, "end_token_id", None)
        # a single-token end marker after layout tokens (DeclarativeReasoner's "\n</think>")
        prefix_len = len(force) - 1 if force and end_id is not None and force[-1] == end_id else 0
        self.pipeline = LogitsPipeline(self.guided, self.eos_token_ids, force, config.max_num_seqs,
                                       getattr(self.reasoner, "start_token_id", None),
                                       getattr(self.reasoner, "implicit_end_ids", ()),
                                       force_end_prefix_len=prefix_len)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.requests: dict[str, Request] = {}
        self._compiling: list[Request] = []
        self._failures: Counter[str] = Counter()
        self.num_aborted = 0
        self.num_grammar_errors = 0

    # -- requests ---------------------------------------------------------------------------------

    def build_prompt(self, messages: Any, tools: list[dict[str, Any]] | None = None,
                     chat_template_kwargs: dict[str, Any] | None = None) -> list[int]:
        """Prompt token ids for OpenAI-style ``messages`` (ValueError on malformed messages)."""
        return build_prompt(self.tokenizer, messages, tools, chat_template_kwargs, self.model_name)

    def make_request(self, request_id: str, prompt_ids: list[int], params: SamplingParams | None = None,
                     request: Any = None, *, defer_grammar: bool = False) -> Request:
        """Validate and prepare a request without touching the engine's state.

        The grammar is compiled here (an invalid one raises ValueError) unless ``defer_grammar``,
        which hands it to the compile worker instead; the request then waits for it once enqueued.
        A reasoner plugin that raises anything but ValueError raises RequestFailedError.
        """
        params = params or SamplingParams()
        if not isinstance(params, SamplingParams):
            raise ValueError(f"params must be a SamplingParams, got {type(params).__name__}")
        if not isinstance(request_id, str) or not request_id:
            raise ValueError("request_id must be a non-empty string")
        if request_id in self.requests:
            raise ValueError(f"request id {request_id!r} is already in use; use a unique id per request")
        if not isinstance(prompt_ids, (list, tuple)) or not prompt_ids:
            raise ValueError("prompt_ids must be a non-empty list of token ids")
        prompt = list(prompt_ids)
        if not all(isinstance(t, int) and 0 <= t < self.vocab_size for t in prompt):
            raise ValueError(f"prompt_ids must be integers in [0, {self.vocab_size}) (the model's vocabulary)")
        if len(prompt) >= self.max_model_len:
            raise ValueError(f"the prompt has {len(prompt)} tokens but the context of {self.model_name} is "
                             f"{self.max_model_len} tokens, and at least one must remain for the answer; "
                             "shorten the prompt")
        if params.reasoning_max_tokens is not None and self.reasoner is None:
            raise ValueError("reasoning_max_tokens needs a reasoning parser; start the engine with "
                             "reasoning_parser=<name> for a reasoning model")
        tracker = None
        if self.reasoner is not None:
            try:
                tracker = self.reasoner.start(prompt, request=request)
            except ValueError:
                raise
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not reach the engine loop
                self._failures["reasoner"] += 1
                message = _failure_message(request_id, "reasoner", exc, self.reasoning_parser)
                logger.error(message, exc_info=exc)
                raise RequestFailedError(message, request_id=request_id, kind="reasoner") from exc
        guided = job = None
        if params.guided is not None:
            if defer_grammar:
                job = self.guided.submit(params.guided)
            else:
                guided = self.guided.new_state(params.guided, self.guided.compile(params.guided))
        stop_ids = set(params.stop_token_ids or ())
        if not params.ignore_eos:
            stop_ids.update(self.eos_token_ids)
        return Request(
            request_id=request_id,
            token_ids=prompt,
            num_prompt_tokens=len(prompt),
            params=params,
            max_total_tokens=min(len(prompt) + params.max_tokens, self.max_model_len),
            detokenizer=self.text_table.stream(),
            stop_text=StopTextBuffer(params.stop),
            stop_token_ids=frozenset(stop_ids),
            generator=torch.Generator(device=self.device).manual_seed(params.seed) if params.seed is not None
            else None,
            tracker=tracker,
            guided=guided,
            grammar_job=job,
        )

    def enqueue(self, request: Request) -> None:
        """Queue a request built by ``make_request``."""
        if request.request_id in self.requests:
            raise ValueError(f"request id {request.request_id!r} is already in use; use a unique id per request")
        self.requests[request.request_id] = request
        if request.grammar_job is not None:
            self._compiling.append(request)
        else:
            self.scheduler.add(request)

    def add_request(self, request_id: str, prompt_ids: list[int], params: SamplingParams | None = None,
                    request: Any = None) -> None:
        """Validate, compile the grammar (here, blocking) and queue a request."""
        self.enqueue(self.make_request(request_id, prompt_ids, params, request))

    def submit(self, request_id: str, prompt_ids: list[int], params: SamplingParams | None = None,
               request: Any = None) -> None:
        """Validate and queue a request; its grammar compiles on the worker while it waits."""
        self.enqueue(self.make_request(request_id, prompt_ids, params, request, defer_grammar=True))

    def abort(self, request_id: str) -> RequestOutput | None:
        """Stop a request and free its KV blocks; returns its final output, or None if it is unknown."""
        request = self.requests.pop(request_id, None)
        if request is None:
            return None
        self._release(request)
        request.finish_reason = "abort"
        self.num_aborted += 1
        return self._output(request, [], "")

    def has_unfinished(self) -> bool:
        return self.scheduler.has_unfinished() or bool(self._compiling)

    def stats(self) -> dict[str, int]:
        """Queue and KV-pool gauges, and counters of aborted and failed requests since start.

        ``num_waiting`` counts requests whose grammar is still compiling too (also shown alone as
        ``num_compiling``); ``num_prefilling`` counts running requests still reading their prompt.
        ``num_failed_<kind>`` counts requests ended by an exception in that part of the engine
        (kinds: ``core_engine.errors.FAILURE_KINDS``); ``num_grammar_errors`` counts grammars that
        did not compile or passed the compile timeout on the worker.
        """
        running = self.scheduler.running
        stats = {
            "num_running": len(running),
            "num_waiting": len(self.scheduler.waiting) + len(self._compiling),
            "num_compiling": len(self._compiling),
            "num_prefilling": sum(1 for r in running if r.num_computed < r.num_tokens - 1),
            "kv_blocks_free": self.allocator.num_free,
            "kv_blocks_total": self.allocator.num_blocks,
            "num_preemptions": self.scheduler.num_preemptions,
            "num_aborted": self.num_aborted,
            "num_grammar_errors": self.num_grammar_errors,
        }
        for kind in FAILURE_KINDS:
            stats[f"num_failed_{kind}"] = self._failures[kind]
        return stats

    # -- stepping ---------------------------------------------------------------------------------

    @torch.inference_mode()
    def step(self) -> list[RequestOutput]:
        outputs = self._admit_compiled() if self._compiling else []
        batch = self.scheduler.schedule()
        if batch.empty:
            if self._compiling and not outputs:
                # nothing to run until a grammar is ready: wait for it rather than spin
                self._compiling[0].grammar_job.done.wait(0.01)   # type: ignore[union-attr]
            return outputs
        requests, counts = batch.requests, batch.num_new_tokens
        sample_rows = [row for row, (r, n) in enumerate(zip(requests, counts)) if r.num_computed + n == r.num_tokens]
        try:
            logits = self.runner.execute(batch, sample_rows)
            for request, count in zip(requests, counts):
                request.num_computed += count
            if not sample_rows:
                return outputs
            sampling = [requests[row] for row in sample_rows]
            tokens, failed = self.pipeline.next_tokens(logits, sampling, self.generator)
        except Exception as exc:  # noqa: BLE001 - the forward pass or sampling failed for the whole batch
            logger.exception("engine step failed; ending the %d requests of this batch", len(requests))
            outputs.extend(self._fail(request, "internal", exc) for request in requests)
            return outputs
        for row, (request, token) in enumerate(zip(sampling, tokens)):
            failure = failed.get(row)
            if failure is not None:
                outputs.append(self._fail(request, failure[0], failure[1]))
            else:
                outputs.append(self._append(request, token))
        return outputs

    def _admit_compiled(self) -> list[RequestOutput]:
        """Queue the requests whose grammar is ready; end those whose grammar failed or timed out."""
        outputs: list[RequestOutput] = []
        still: list[Request] = []
        now = time.monotonic()
        for request in self._compiling:
            job = request.grammar_job
            assert job is not None
            try:
                if not self.guided.check(job, now):
                    still.append(request)
                    continue
                request.guided = self.guided.result(job)
            except ValueError as exc:
                self.num_grammar_errors += 1
                del self.requests[request.request_id]
                request.status = RequestStatus.FINISHED
                request.finish_reason = "error"
                logger.warning("request %s: %s", request.request_id, exc)
                outputs.append(self._output(request, [], "", error=str(exc), error_kind=INVALID_GRAMMAR))
                continue
            request.grammar_job = None
            self.scheduler.add(request)
        self._compiling = still
        return outputs

    def _release(self, request: Request) -> None:
        """Take a request out of the queue, the batch or the compile wait, and free its blocks."""
        if request.grammar_job is not None and request in self._compiling:
            self._compiling.remove(request)
            self.guided.abandon(request.grammar_job)
            request.grammar_job = None
            request.status = RequestStatus.FINISHED
        else:
            self.scheduler.finish(request)

    def _fail(self, request: Request, kind: str, exc: BaseException) -> RequestOutput:
        """End ``request`` because ``exc`` was raised for it in ``kind``; the rest of the step goes on."""
        self._failures[kind] += 1
        message = _failure_message(request.request_id, kind, exc, self.reasoning_parser)
        logger.error(message, exc_info=exc)
        if self.requests.pop(request.request_id, None) is not None:
            self._release(request)
        request.finish_reason = "error"
        return self._output(request, [], "", error=message, error_kind=kind)

    def _append(self, request: Request, token: int) -> RequestOutput:
        request.token_ids.append(token)
        reason = None
        stopped_by_text = False
        guided_done = request.guided is not None and request.guided.phase is GuidedPhase.DONE
        stage = "detokenizer"
        try:
            if token in request.stop_token_ids or (guided_done and token in self.eos_token_ids):
                reason = "stop"
                text = ""
            else:
                piece = request.detokenizer.feed(token)
                stage = "stop_strings"
                text, stopped_by_text = request.stop_text.push(piece)
                if stopped_by_text:
                    reason = "stop"
            if reason is None and request.num_tokens >= request.max_total_tokens:
                reason = "length"
            if reason is not None and not stopped_by_text:
                stage = "detokenizer"
                piece = request.detokenizer.flush()
                stage = "stop_strings"
                tail, stopped_by_text = request.stop_text.push(piece)
                text += tail if stopped_by_text else tail + request.stop_text.flush()
                if stopped_by_text:
                    reason = "stop"
        except Exception as exc:  # noqa: BLE001 - ends this request alone
            return self._fail(request, stage, exc)
        if reason is not None:
            request.finish_reason = reason
            self.scheduler.finish(request)
            del self.requests[request.request_id]
        return self._output(request, [token], text)

    @staticmethod
    def _output(request: Request, new_ids: list[int], text: str, *, error: str | None = None,
                error_kind: str | None = None) -> RequestOutput:
        return RequestOutput(
            request_id=request.request_id,
            new_token_ids=new_ids,
            new_text=text,
            finished=request.status is RequestStatus.FINISHED,
            finish_reason=request.finish_reason,
            prompt_tokens=request.num_prompt_tokens,
            completion_tokens=request.num_output_tokens,
            reasoning_tokens=request.reasoning_tokens,
            stop_string=request.stop_text.matched,
            error=error,
            error_kind=error_kind,
        )


_KIND_WORDS = {"reasoner": "reasoner", "grammar": "grammar (guided decoding)", "detokenizer": "detokenizer",
               "stop_strings": "stop-string matching", "internal": "engine step"}


def _failure_message(request_id: str, kind: str, exc: BaseException, reasoner_name: str | None) -> str:
    where = _KIND_WORDS.get(kind, kind)
    if kind == "reasoner" and reasoner_name:
        where = f"reasoner '{reasoner_name}' (a reasoning plugin)"
    return (f"request {request_id} failed in the {where}: {type(exc).__name__}: {exc}. The request was ended; "
            "other requests are not affected.")
