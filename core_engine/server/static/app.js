// The playground: a chat over this server's own /v1/chat/completions with streaming.
//
// Each assistant turn is an <article data-role="assistant-message"> holding, in order: the
// reasoning panel (<details data-role="reasoning">, created when reasoning text first arrives,
// open while the model reasons and folded when the answer starts), the answer
// (data-role="answer", rendered by markdown.js), tool-call cards (data-role="tool-call"), a status
// line, an error with a retry button when something went wrong, and the raw request and events.
// Model text only ever reaches the page through text nodes.
"use strict";

(function () {
  const KEY_STORAGE = "reasoning-plugins.api-key";
  const MAX_RAW_EVENTS = 5000;
  const $ = (id) => document.getElementById(id);

  const state = {
    history: [],          // the messages sent with the next request (finished turns only)
    model: null,
    running: null,        // {controller, turn} while a request streams
    lastInfoError: null,
  };

  // ---- helpers ---------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function role(node, name) {
    node.dataset.role = name;
    return node;
  }

  function apiKey() {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  }

  function headers(json) {
    const result = {};
    if (json) result["Content-Type"] = "application/json";
    const key = apiKey();
    if (key) result["Authorization"] = "Bearer " + key;
    return result;
  }

  function seconds(ms) {
    return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
  }

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // The message of an OpenAI-shaped error body, or the text itself.
  async function errorFrom(response) {
    const text = await response.text().catch(() => "");
    let message = text.trim() || response.statusText || "no details";
    try {
      const body = JSON.parse(text);
      if (body && body.error) message = body.error.message || JSON.stringify(body.error);
    } catch (_) { /* not JSON: keep the text */ }
    return new HttpError(response.status, message);
  }

  async function getJSON(path) {
    const response = await fetch(path, { headers: headers(false), cache: "no-store" });
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }

  // ---- banner (page-level problems: the server info could not be read) ---------------------

  function showBanner(text, retry) {
    $("banner-text").textContent = text;
    $("banner-retry").hidden = !retry;
    $("banner-retry").onclick = retry || null;
    $("banner").hidden = false;
  }

  function hideBanner() {
    $("banner").hidden = true;
  }

  // ---- API key -----------------------------------------------------------------------------

  function askForKey(reason) {
    $("key-reason").textContent = reason;
    $("key-input").value = "";
    const dialog = $("key-dialog");
    if (!dialog.open) dialog.showModal();
    $("key-input").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("key-dialog").close();
    loadServerInfo();
  });

  function keyReason(error) {
    return apiKey()
      ? "The server refused the key in this tab (" + error.message + "). Enter the key it was started with."
      : "This server was started with --api-key. Enter the key to use it.";
  }

  // ---- server info: model and parsers -----------------------------------------------------

  async function loadServerInfo() {
    try {
      const models = await getJSON("/v1/models");
      state.model = models.data && models.data.length ? models.data[0].id : null;
      $("model-name").textContent = state.model || "(none)";
      const parsers = await getJSON("/v1/parsers");
      showParsers(parsers);
      hideBanner();
    } catch (error) {
      if (error.status === 401) {
        showBanner("An API key is needed to use this server.", () => askForKey(keyReason(error)));
        askForKey(keyReason(error));
      } else {
        showBanner("Could not read the server's model and parsers: " + describe(error), loadServerInfo);
      }
    }
  }

  function normal(name) {
    return String(name || "").trim().toLowerCase().replace(/_/g, "-");
  }

  function showParsers(listing) {
    $("reasoning-parser").textContent = listing.reasoning_parser || "none";
    $("tool-parser").textContent = listing.tool_call_parser || "none";
    const inUse = new Set([normal(listing.reasoning_parser), normal(listing.tool_call_parser)]);
    const body = $("parsers").tBodies[0];
    body.replaceChildren();
    let kind = null;
    for (const plugin of listing.plugins || []) {
      if (plugin.kind !== kind) {  // the listing is grouped by kind
        kind = plugin.kind;
        const heading = el("tr", "kind");
        const cell = el("th", "", kind + "s");
        cell.colSpan = 3;
        heading.appendChild(cell);
        body.appendChild(heading);
      }
      const row = el("tr");
      const names = [plugin.name].concat(plugin.aliases || []).map(normal);
      if (names.some((n) => inUse.has(n))) row.className = "in-use";
      const provider = plugin.distribution ? plugin.distribution + " " + (plugin.version || "") : plugin.plugin;
      const status = plugin.status === "ok" ? "ok" : plugin.status + ": " + (plugin.error || "");
      for (const cell of [plugin.name, provider, status]) row.appendChild(el("td", "", cell));
      body.appendChild(row);
    }
    for (const failure of listing.failures || []) {
      const row = el("tr", "failed");
      for (const cell of [failure.plugin, failure.distribution || "", "failed to load: " + failure.error]) {
        row.appendChild(el("td", "", cell));
      }
      body.appendChild(row);
    }
  }

  // ---- building the request ----------------------------------------------------------------

  function parseJSONField(id, what) {
    const text = $(id).value.trim();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(what + " is not valid JSON: " + error.message);
    }
  }

  function numberField(id) {
    const text = $(id).value.trim();
    return text === "" ? undefined : Number(text);
  }

  function buildRequest(messages) {
    const request = { messages, stream: true, stream_options: { include_usage: true } };
    if (state.model) request.model = state.model;
    request.chat_template_kwargs = { enable_thinking: $("thinking").checked };
    const budget = numberField("budget");
    if (budget !== undefined) request.reasoning_max_tokens = budget;
    const temperature = numberField("temperature");
    if (temperature !== undefined) request.temperature = temperature;
    const maxTokens = numberField("max-tokens");
    if (maxTokens !== undefined) request.max_tokens = maxTokens;
    const schema = parseJSONField("schema", "The JSON schema");
    if (schema !== undefined) {
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
        throw new Error("The JSON schema must be a JSON object, e.g. {\"type\": \"object\"}.");
      }
      request.response_format = { type: "json_schema", json_schema: { name: "playground", schema } };
    }
    const extra = parseJSONField("extra", "More request fields");
    if (extra !== undefined) {
      if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
        throw new Error("More request fields must be a JSON object, e.g. {\"seed\": 7}.");
      }
      Object.assign(request, extra);
    }
    return request;
  }

  // ---- one assistant turn ------------------------------------------------------------------

  class Turn {
    constructor(userText, messages) {
      this.userText = userText;
      this.messages = messages;  // what this turn sends: the history and the new user message
      this.node = role(el("article", "msg assistant"), "assistant-message");
      this.reasoningPanel = null;
      this.answer = role(el("div", "answer markdown"), "answer");
      this.tools = el("div", "tool-calls");
      this.status = role(el("div", "status"), "status");
      this.error = null;
      this.raw = role(el("details", "raw"), "raw");
      this.raw.hidden = !$("show-raw").checked;
      this.raw.open = $("show-raw").checked;
      this.raw.appendChild(el("summary", "", "raw request and events"));
      this.rawRequest = role(el("pre", "raw-request"), "raw-request");
      this.rawEvents = role(el("pre", "raw-events"), "raw-events");
      this.raw.append(el("h4", "", "request: POST /v1/chat/completions"), this.rawRequest,
                      el("h4", "", "server-sent events"), this.rawEvents);
      this.node.append(this.answer, this.tools, this.status, this.raw);
      this.reset();
    }

    reset() {
      this.reasoning = "";
      this.content = "";
      this.calls = [];
      this.events = [];
      this.usage = null;
      this.finishReason = null;
      this.started = performance.now();
      this.reasoningStarted = null;
      this.reasoningEnded = null;
      this.jsonAnswer = false;
      if (this.reasoningPanel) this.reasoningPanel.remove();
      this.reasoningPanel = null;
      this.answer.replaceChildren();
      this.tools.replaceChildren();
      this.status.textContent = "waiting for the server …";
      this.status.className = "status";
      this.clearError();
      this.rawRequest.textContent = "";
      this.rawEvents.textContent = "";
    }

    addReasoning(text) {
      if (!this.reasoningPanel) {
        const panel = role(el("details", "reasoning"), "reasoning");
        panel.open = true;
        this.reasoningSummary = el("summary", "", "Thinking …");
        this.reasoningText = role(el("div", "reasoning-text"), "reasoning-text");
        panel.append(this.reasoningSummary, this.reasoningText);
        this.node.insertBefore(panel, this.node.firstChild);
        this.reasoningPanel = panel;
        this.reasoningStarted = performance.now();
      }
      this.reasoning += text;
      this.reasoningText.appendChild(document.createTextNode(text));
      this.reasoningSummary.textContent = "Thinking … " + seconds(performance.now() - this.reasoningStarted);
    }

    endReasoning() {
      if (!this.reasoningPanel || this.reasoningEnded !== null) return;
      this.reasoningEnded = performance.now();
      this.reasoningPanel.open = false;
      this.updateReasoningSummary();
    }

    updateReasoningSummary() {
      if (!this.reasoningPanel) return;
      const took = seconds((this.reasoningEnded || performance.now()) - this.reasoningStarted);
      const details = this.usage && this.usage.completion_tokens_details;
      const tokens = details && typeof details.reasoning_tokens === "number"
        ? details.reasoning_tokens + " tokens · " : "";
      this.reasoningSummary.textContent = "Reasoning · " + tokens + took;
    }

    addContent(text) {
      this.content += text;
      if (this.content.trim()) this.endReasoning();  // the blank lines after reasoning do not fold it
      this.renderAnswer();
    }

    renderAnswer() {
      if (this.jsonAnswer) {
        const pre = el("pre", "json");
        pre.appendChild(el("code", "", this.content));
        this.answer.replaceChildren(pre);
      } else {
        this.answer.replaceChildren(Markdown.render(this.content));
      }
    }

    addToolCallPieces(pieces) {
      this.endReasoning();
      for (const piece of pieces) {
        const index = typeof piece.index === "number" ? piece.index : this.calls.length;
        let call = this.calls[index];
        if (!call) {
          call = this.calls[index] = { id: "", type: "function", function: { name: "", arguments: "" } };
          call.card = role(el("div", "tool-card"), "tool-call");
          call.title = el("div", "tool-name");
          call.args = role(el("pre", "tool-args"), "tool-arguments");
          call.card.append(call.title, call.args);
          this.tools.appendChild(call.card);
        }
        if (piece.id) call.id = piece.id;
        const fn = piece.function || {};
        if (fn.name) call.function.name += fn.name;
        if (fn.arguments) call.function.arguments += fn.arguments;
        call.title.textContent = "tool call · " + call.function.name;
        call.args.textContent = prettyJSON(call.function.arguments);
      }
    }

    recordEvent(data) {
      this.events.push(data);
      if (this.events.length <= MAX_RAW_EVENTS) {
        this.rawEvents.appendChild(document.createTextNode("data: " + data + "\n"));
      } else if (this.events.length === MAX_RAW_EVENTS + 1) {
        this.rawEvents.appendChild(document.createTextNode("… (later events not shown)\n"));
      }
    }

    finish(note) {
      this.endReasoning();
      this.updateReasoningSummary();
      const parts = [];
      if (this.finishReason) parts.push("finish: " + this.finishReason);
      if (this.usage) parts.push(this.usage.completion_tokens + " tokens");
      parts.push(seconds(performance.now() - this.started));
      if (note) parts.unshift(note);
      this.status.textContent = parts.join(" · ");
    }

    showError(message, retry) {
      this.clearError();
      this.error = role(el("div", "error"), "error");
      this.error.appendChild(role(el("span", "error-text", message), "error-text"));
      const button = role(el("button", "", "Retry"), "retry");
      button.type = "button";
      button.addEventListener("click", retry);
      this.error.appendChild(button);
      this.node.insertBefore(this.error, this.raw);
      this.status.textContent = "";
    }

    clearError() {
      if (this.error) this.error.remove();
      this.error = null;
    }

    // The assistant message that joins the history.
    message() {
      const message = { role: "assistant", content: this.content || null };
      const calls = this.calls.filter(Boolean).map((c) => ({ id: c.id, type: c.type, function: c.function }));
      if (calls.length) message.tool_calls = calls;
      return message;
    }
  }

  function prettyJSON(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;  // still streaming, or not JSON: shown as written
    }
  }

  function describe(error) {
    if (error instanceof HttpError) return "the server answered " + error.status + ": " + error.message;
    if (error instanceof TypeError) return "the server could not be reached (" + error.message + ")";
    return error.message || String(error);
  }

  // ---- sending -----------------------------------------------------------------------------

  function addUserMessage(text) {
    $("empty-hint").hidden = true;
    const node = role(el("article", "msg user"), "user-message");
    node.appendChild(el("div", "bubble", text));
    $("messages").appendChild(node);
  }

  function setRunning(running) {
    $("send").disabled = running;
    $("stop").disabled = !running;
  }

  // Follow the stream unless the reader has scrolled up to read something earlier.
  function scrollToEnd(force) {
    const box = $("messages");
    if (force || box.scrollHeight - box.scrollTop - box.clientHeight < 120) box.scrollTop = box.scrollHeight;
  }

  function send() {
    if (state.running) return;
    const text = $("prompt").value;
    if (!text.trim()) return;
    const messages = state.history.concat([{ role: "user", content: text }]);
    let request;
    try {
      request = buildRequest(messages);
    } catch (error) {
      showSettingsError(error.message);
      return;
    }
    showSettingsError("");
    for (const old of document.querySelectorAll(".msg.assistant [data-role=retry]")) {
      old.disabled = true;  // an older failed turn is no longer retried once the chat moved on
    }
    $("prompt").value = "";
    addUserMessage(text);
    const turn = new Turn(text, messages);
    $("messages").appendChild(turn.node);
    run(turn, request);
  }

  // Send a failed turn again, with the settings as they are now (the user may have fixed one).
  function retry(turn) {
    if (state.running) return;
    let request;
    try {
      request = buildRequest(turn.messages);
    } catch (error) {
      showSettingsError(error.message);
      return;
    }
    showSettingsError("");
    run(turn, request);
  }

  function showSettingsError(message) {
    $("settings-error").textContent = message;
    $("settings-error").hidden = !message;
  }

  // Stream one request into ``turn``; on success the exchange joins the history.
  async function run(turn, request) {
    turn.reset();
    turn.jsonAnswer = request.response_format && request.response_format.type === "json_schema";
    turn.rawRequest.textContent = JSON.stringify(request, null, 2);
    const controller = new AbortController();
    state.running = { controller, turn };
    setRunning(true);
    scrollToEnd(true);
    let done = false;
    try {
      const response = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers(true), body: JSON.stringify(request), signal: controller.signal,
      });
      if (!response.ok) throw await errorFrom(response);
      turn.status.textContent = "streaming …";
      done = await readEvents(response, turn);
      if (!done) {
        throw new Error("The connection to the server closed before the reply was complete "
                        + "(no [DONE] event). The text above is what arrived.");
      }
      turn.finish();
      state.history.push({ role: "user", content: turn.userText }, turn.message());
    } catch (error) {
      if (controller.signal.aborted) {
        turn.finish("stopped");
        // a stopped turn keeps what it wrote, unless "New chat" removed it
        if (turn.node.isConnected) state.history.push({ role: "user", content: turn.userText }, turn.message());
      } else {
        turn.endReasoning();
        turn.showError(errorText(error), () => retry(turn));
        if (error.status === 401) askForKey(keyReason(error));
      }
    } finally {
      state.running = null;
      setRunning(false);
      scrollToEnd();
    }
  }

  function errorText(error) {
    if (error instanceof HttpError) return "The server answered " + error.status + ": " + error.message;
    if (error instanceof TypeError) {
      return "The connection to the server failed (" + error.message + "). Is it still running?";
    }
    return error.message || String(error);
  }

  // Read server-sent events until [DONE]; returns whether [DONE] came.
  async function readEvents(response, turn) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = done ? "" : blocks.pop();
      for (const block of blocks) {
        const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (!data) continue;
        turn.recordEvent(data);
        if (data === "[DONE]") return true;
        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch (error) {
          throw new Error("The server sent an event that is not JSON (" + error.message + "): " + data.slice(0, 200));
        }
        await handleEvent(chunk, turn);
      }
      scrollToEnd();
      if (done) return false;
    }
  }

  async function handleEvent(chunk, turn) {
    if (chunk.error) {
      throw new Error("The server reported an error while generating: "
                            + (chunk.error.message || JSON.stringify(chunk.error)));
    }
    if (chunk.usage) {
      turn.usage = chunk.usage;
      turn.updateReasoningSummary();
    }
    for (const choice of chunk.choices || []) {
      const delta = choice.delta || {};
      // reasoning_content (vLLM's old name, LMDeploy, FastDeploy) or reasoning (the newer name)
      const reasoning = delta.reasoning_content != null ? delta.reasoning_content : delta.reasoning;
      if (reasoning) turn.addReasoning(reasoning);
      if (delta.content) {
        if (turn.reasoningPanel && turn.reasoningEnded === null && (turn.content + delta.content).trim()) {
          // let the last reasoning be painted before the panel folds for the answer
          // (a hidden tab runs no animation frames, hence the timer)
          await new Promise((resolve) => {
            requestAnimationFrame(() => resolve());
            setTimeout(resolve, 100);
          });
        }
        turn.addContent(delta.content);
      }
      if (delta.tool_calls && delta.tool_calls.length) turn.addToolCallPieces(delta.tool_calls);
      if (choice.finish_reason) turn.finishReason = choice.finish_reason;
    }
  }

  // ---- wiring ------------------------------------------------------------------------------

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("stop").addEventListener("click", () => {
    if (state.running) state.running.controller.abort();
  });
  $("new-chat").addEventListener("click", () => {
    if (state.running) state.running.controller.abort();
    state.history = [];
    for (const node of document.querySelectorAll("#messages .msg")) node.remove();
    $("empty-hint").hidden = false;
    $("prompt").focus();
  });
  $("show-raw").addEventListener("change", () => {
    for (const node of document.querySelectorAll("[data-role=raw]")) {
      node.hidden = !$("show-raw").checked;
      node.open = $("show-raw").checked;
    }
  });

  loadServerInfo();
  $("prompt").focus();
})();
