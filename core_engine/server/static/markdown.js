// A small Markdown renderer for model output that never parses text as HTML.
//
// It builds DOM nodes directly: every piece of model text ends up in a text node, so "<script>"
// or "<img onerror=...>" in an answer is shown as those characters. Supported: fenced code
// blocks, headings, horizontal rules, block quotes, bullet and numbered lists, paragraphs (single
// newlines kept as line breaks), inline code, **bold**, *italic*, and [links](https://...) whose
// address is http, https or mailto (anything else stays plain text). An unclosed code fence runs
// to the end, which is what a streamed, half-written answer needs.
"use strict";

(function (global) {
  const FENCE = /^\s{0,3}(```|~~~)\s*([\w+#.-]*)\s*$/;
  const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
  const QUOTE = /^\s{0,3}>\s?(.*)$/;
  const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const INLINE = new RegExp([
    "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)",            // 1,2: code span
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*",                // 3: bold
    "\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*|\\*([^\\s*])\\*", // 4,5: italic
    "\\[([^\\]\\n]+)\\]\\(\\s*([^()\\s]+)\\s*\\)",       // 6,7: link
  ].join("|"));
  const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

  function el(tag, className) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  function inline(text, parent) {
    let rest = text;
    while (rest) {
      const match = INLINE.exec(rest);
      if (!match) break;
      if (match.index > 0) appendText(parent, rest.slice(0, match.index));
      if (match[1] !== undefined) {
        const code = el("code");
        code.textContent = match[2];
        parent.appendChild(code);
      } else if (match[3] !== undefined) {
        inline(match[3], parent.appendChild(el("strong")));
      } else if (match[4] !== undefined || match[5] !== undefined) {
        inline(match[4] !== undefined ? match[4] : match[5], parent.appendChild(el("em")));
      } else if (SAFE_LINK.test(match[7])) {
        const link = el("a");
        link.href = match[7];
        link.rel = "noopener noreferrer";
        link.target = "_blank";
        inline(match[6], link);
        parent.appendChild(link);
      } else {
        appendText(parent, match[0]);
      }
      rest = rest.slice(match.index + match[0].length);
    }
    if (rest) appendText(parent, rest);
  }

  // Single newlines inside a paragraph are kept as line breaks.
  function appendText(parent, text) {
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (i > 0) parent.appendChild(el("br"));
      if (line) parent.appendChild(document.createTextNode(line));
    });
  }

  function startsBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
  }

  function render(text) {
    const root = document.createDocumentFragment();
    const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let match;
      if (!line.trim()) {
        i += 1;
      } else if ((match = FENCE.exec(line))) {
        const body = [];
        i += 1;
        while (i < lines.length && !(lines[i].trim().startsWith(match[1]) && FENCE.test(lines[i]))) {
          body.push(lines[i]);
          i += 1;
        }
        i += 1;  // the closing fence, if there is one
        const pre = el("pre");
        const code = el("code");
        if (match[2]) code.dataset.language = match[2];
        code.textContent = body.join("\n");
        pre.appendChild(code);
        root.appendChild(pre);
      } else if ((match = HEADING.exec(line))) {
        inline(match[2], root.appendChild(el("h" + Math.min(match[1].length + 2, 6))));
        i += 1;
      } else if (RULE.test(line)) {
        root.appendChild(el("hr"));
        i += 1;
      } else if (QUOTE.test(line)) {
        const body = [];
        while (i < lines.length && (match = QUOTE.exec(lines[i]))) {
          body.push(match[1]);
          i += 1;
        }
        const quote = el("blockquote");
        quote.appendChild(render(body.join("\n")));
        root.appendChild(quote);
      } else if ((match = ITEM.exec(line))) {
        const ordered = /\d/.test(match[2]);
        const list = el(ordered ? "ol" : "ul");
        if (ordered && parseInt(match[2], 10) !== 1) list.start = parseInt(match[2], 10);
        let item = null;
        while (i < lines.length && lines[i].trim()) {
          const next = ITEM.exec(lines[i]);
          if (next && /\d/.test(next[2]) === ordered) {
            item = list.appendChild(el("li"));
            inline(next[3], item);
          } else if (next || startsBlock(lines[i])) {
            break;
          } else {
            item.appendChild(el("br"));
            inline(lines[i].trim(), item);
          }
          i += 1;
        }
        root.appendChild(list);
      } else {
        const body = [];
        while (i < lines.length && lines[i].trim() && (body.length === 0 || !startsBlock(lines[i]))) {
          body.push(lines[i]);
          i += 1;
        }
        inline(body.join("\n"), root.appendChild(el("p")));
      }
    }
    return root;
  }

  global.Markdown = Object.freeze({ render });
})(window);
