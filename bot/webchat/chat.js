/* Web chat of Trợ lý ảo UBND tỉnh Lạng Sơn.
 *
 * POST /api/chat {"message"} → {"messages": [{"text", "buttons", "citations", "abstained", "document"?}]}
 * (a report for officials: "document" is {"title", "url"}, a download link under /files/). The
 * conversation is the server's HttpOnly cookie (sent with credentials: "same-origin"); the "new
 * conversation" button asks for a new one (POST /api/chat/new). A refusal (429, 503) may carry
 * "messages" to show. Server text is only ever inserted with textContent. Messages are sent one at a
 * time, in order. GET /api/me says whether the page belongs to a signed-in official (the greeting).
 */
(function () {
  "use strict";

  var REQUEST_TIMEOUT_MS = 60000;
  var VISIBLE_CITATIONS = 3;
  var SUGGESTIONS = [
    "Tuần này UBND tỉnh có chỉ đạo gì mới?",
    "Ai chủ trì phòng, chống sốt xuất huyết?",
    "Công văn 704/UBND-KGVX nói gì?"
  ];
  var TEXT = {
    welcomeTitle: "Xin chào! Tôi là Trợ lý ảo của UBND tỉnh Lạng Sơn.",
    welcome: "Tôi trả lời câu hỏi về các chỉ đạo, điều hành của UBND tỉnh: nội dung văn bản, cơ quan " +
      "chủ trì, phối hợp và thời hạn thực hiện — kèm trích dẫn văn bản gốc.\nBạn có thể chọn một câu hỏi gợi ý dưới đây:",
    networkError: "Xin lỗi, hiện chưa kết nối được với trợ lý. Bạn vui lòng kiểm tra kết nối mạng rồi thử lại.",
    serverError: "Xin lỗi, hệ thống trợ lý đang gặp sự cố nên chưa trả lời được. Bạn vui lòng thử lại sau ít phút.",
    timeout: "Xin lỗi, trợ lý trả lời quá lâu. Bạn vui lòng thử lại sau ít phút.",
    empty: "Xin lỗi, tôi chưa có câu trả lời cho câu hỏi này. Bạn thử hỏi cụ thể hơn nhé.",
    official: "Bạn đang dùng trợ lý với tư cách cán bộ, công chức: câu trả lời có thể gồm cả văn bản nội bộ " +
      "(ghi “Nội bộ”), và bạn có thể yêu cầu “lập báo cáo nhiệm vụ của Sở Y tế tháng này”.",
    download: "Tải báo cáo: "
  };
  var FEEDBACK = {
    up: { payload: "/feedback_positive", label: "Câu trả lời hữu ích", icon: "M2 21h3V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L13.17 1 6.59 7.59C6.22 7.95 6 8.45 6 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z" },
    down: { payload: "/feedback_negative", label: "Câu trả lời chưa đúng", icon: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h3V3h-3z" }
  };
  var SVG_NS = "http://www.w3.org/2000/svg";
  var STAR = "M12 2.8l2.7 5.5 6 .9-4.35 4.24 1.03 6-5.38-2.83-5.38 2.83 1.03-6L3.3 9.2l6-.9z";
  var DOC_ICON = "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm4 18H6V4h7v5h5v11zM8 12h8v2H8zm0 4h8v2H8z";

  var messages, form, input, sendButton, typing;
  var queue = Promise.resolve();
  var pending = 0;
  var openFeedback = [];   // feedback bars not yet used: only the latest answer can be rated

  /* ---------- small helpers ---------- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function icon(path, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 16));
    svg.setAttribute("height", String(size || 16));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var p = document.createElementNS(SVG_NS, "path");
    p.setAttribute("fill", "currentColor");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }

  function randomId() {
    if (window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint8Array(12);
      window.crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  /** "2022-06-23" → "23/06/2022"; anything else is shown as it is. */
  function formatDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
    return m ? m[3] + "/" + m[2] + "/" + m[1] : (iso || "");
  }

  function clock() {
    var now = new Date();
    return ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
  }

  /** The answer's own "Nguồn: …" lines repeat the citation cards shown under it: drop them. */
  function withoutSourceLines(text, citations) {
    if (!citations || !citations.length) return text;
    var lines = String(text).split("\n");
    for (var i = 1; i < lines.length; i++) {
      if (/^Nguồn\s*:/.test(lines[i])) return lines.slice(0, i).join("\n").replace(/\s+$/, "");
    }
    return text;
  }

  function scrollToEnd() {
    messages.scrollTop = messages.scrollHeight;
  }

  /* ---------- rows ---------- */

  function botAvatar() {
    var avatar = el("span", "bot-avatar");
    avatar.setAttribute("aria-hidden", "true");
    avatar.appendChild(icon(STAR, 16));
    return avatar;
  }

  function addRow(who, extraClass) {
    var row = el("div", "row " + who + (extraClass ? " " + extraClass : ""));
    if (who === "bot") row.appendChild(botAvatar());
    var stack = el("div", "stack");
    row.appendChild(stack);
    messages.appendChild(row);
    return stack;
  }

  function bubble(stack, text, speaker) {
    var b = el("div", "bubble");
    var label = el("span", "visually-hidden", speaker + ": ");
    b.appendChild(label);
    b.appendChild(el("span", "bubble-text", text));
    var time = el("time", "time", clock());
    b.appendChild(time);
    stack.appendChild(b);
    return b;
  }

  function addUserMessage(text) {
    var stack = addRow("user");
    bubble(stack, text, "Bạn");
    scrollToEnd();
  }

  function citationCard(c) {
    var li = el("li", "citation");
    var head = el("div", "citation-head");
    var ic = icon(DOC_ICON, 18);
    ic.setAttribute("class", "citation-icon");
    head.appendChild(ic);
    var docName = [c.doc_type, c.doc_number].filter(Boolean).join(" ") || c.title || c.bulletin || "Văn bản";
    head.appendChild(el("p", "citation-doc", docName));
    li.appendChild(head);

    var meta = el("dl", "citation-meta");
    if (c.issued_date) {
      meta.appendChild(el("dt", null, "Ngày ban hành"));
      meta.appendChild(el("dd", "citation-date", "Ngày " + formatDate(c.issued_date)));
    }
    if (c.issuer) {
      meta.appendChild(el("dt", null, "Cơ quan ban hành"));
      meta.appendChild(el("dd", "citation-issuer", c.issuer));
    }
    if (meta.childNodes.length) li.appendChild(meta);

    if (c.title && c.title !== docName && c.title !== c.bulletin && (c.quote || "").indexOf(c.title) < 0) li.appendChild(el("p", "citation-title", c.title));
    if (c.quote) {
      var quote = el("blockquote", "citation-quote", "“" + c.quote + "”");
      li.appendChild(quote);
      if (c.quote.length > 220) {
        quote.classList.add("clamped");
        var more = el("button", "link-button", "Xem thêm");
        more.type = "button";
        more.setAttribute("aria-expanded", "false");
        more.addEventListener("click", function () {
          var open = quote.classList.toggle("clamped") === false;
          more.textContent = open ? "Thu gọn" : "Xem thêm";
          more.setAttribute("aria-expanded", String(open));
        });
        li.appendChild(more);
      }
    }
    if (c.bulletin) li.appendChild(el("p", "citation-source", "Trích từ: " + c.bulletin));
    return li;
  }

  function citationList(stack, citations) {
    var section = el("section", "sources");
    var heading = el("p", "sources-label", "Nguồn trích dẫn (" + citations.length + ")");
    heading.id = "src-" + randomId();
    section.setAttribute("aria-labelledby", heading.id);
    section.appendChild(heading);
    var list = el("ul", "citations");
    citations.forEach(function (c, i) {
      var card = citationCard(c);
      if (i >= VISIBLE_CITATIONS) card.hidden = true;
      list.appendChild(card);
    });
    section.appendChild(list);
    if (citations.length > VISIBLE_CITATIONS) {
      var rest = citations.length - VISIBLE_CITATIONS;
      var toggle = el("button", "link-button", "Xem thêm " + rest + " nguồn");
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") !== "true";
        Array.prototype.forEach.call(list.children, function (card, i) {
          if (i >= VISIBLE_CITATIONS) card.hidden = !open;
        });
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "Thu gọn" : "Xem thêm " + rest + " nguồn";
      });
      section.appendChild(toggle);
    }
    stack.appendChild(section);
  }

  function quickReplies(stack, buttons) {
    var group = el("div", "quick-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Lựa chọn trả lời nhanh");
    buttons.forEach(function (btn) {
      var title = btn.title || btn.payload || "";
      var b = el("button", "quick-reply", title);
      b.type = "button";
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (other) {
          other.disabled = true;
          other.setAttribute("aria-pressed", String(other === b));
        });
        send(btn.payload || title, title);
      });
      group.appendChild(b);
    });
    stack.appendChild(group);
  }

  function feedbackBar(stack) {
    var bar = el("div", "feedback");
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Đánh giá câu trả lời");
    bar.appendChild(el("span", "feedback-label", "Câu trả lời có hữu ích?"));
    var buttons = [];
    ["up", "down"].forEach(function (kind) {
      var spec = FEEDBACK[kind];
      var b = el("button", "feedback-button feedback-" + kind);
      b.type = "button";
      b.setAttribute("aria-label", spec.label);
      b.setAttribute("title", spec.label);
      b.setAttribute("aria-pressed", "false");
      b.appendChild(icon(spec.icon, 16));
      b.addEventListener("click", function () {
        closeFeedback(bar);
        b.setAttribute("aria-pressed", "true");
        bar.appendChild(el("span", "feedback-thanks", "Đã ghi nhận"));
        send(spec.payload, null);
      });
      buttons.push(b);
      bar.appendChild(b);
    });
    bar._buttons = buttons;
    stack.appendChild(bar);
    openFeedback.push(bar);
  }

  function closeFeedback(bar) {
    bar._buttons.forEach(function (b) { b.disabled = true; });
    openFeedback = openFeedback.filter(function (other) { return other !== bar; });
  }

  /** A new question makes older answers' ratings ambiguous (the server rates the latest answer). */
  function retireOpenFeedback() {
    openFeedback.slice().forEach(function (bar) {
      closeFeedback(bar);
      if (bar.parentNode) bar.parentNode.removeChild(bar);
    });
  }

  /** A report's download link: only our own /files/ links, its title set as text. */
  function documentLink(stack, doc) {
    var url = String(doc.url || "");
    if (url.indexOf("/files/") !== 0) return;
    var p = el("p", "document", TEXT.download);
    var a = el("a", "document-link", doc.title || "báo cáo.docx");
    a.href = url;
    a.setAttribute("download", String(doc.title || ""));
    p.appendChild(a);
    stack.appendChild(p);
  }

  function addBotMessage(m) {
    var citations = Array.isArray(m.citations) ? m.citations : [];
    var buttons = Array.isArray(m.buttons) ? m.buttons : [];
    var doc = m.document && typeof m.document === "object" ? m.document : null;
    var text = withoutSourceLines(m.text || "", citations);
    if (!text && !citations.length && !buttons.length && !doc) return;
    var stack = addRow("bot", m.abstained ? "abstained" : "");
    if (text) bubble(stack, text, "Trợ lý");
    if (doc) documentLink(stack, doc);
    if (citations.length) citationList(stack, citations);
    if (buttons.length) quickReplies(stack, buttons);
    if (citations.length) feedbackBar(stack);
  }

  function addError(text, retry) {
    var stack = addRow("bot", "error");
    bubble(stack, text, "Trợ lý");
    if (retry) {
      var b = el("button", "retry-button", "Thử lại");
      b.type = "button";
      b.setAttribute("aria-label", "Gửi lại câu hỏi");
      b.addEventListener("click", function () {
        b.disabled = true;
        retry();
      });
      stack.appendChild(b);
    }
  }

  /* ---------- sending ---------- */

  function setTyping(on) {
    pending += on ? 1 : -1;
    typing.hidden = pending <= 0;
    if (!typing.hidden) scrollToEnd();
  }

  function post(message) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    return fetch("/api/chat", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: message }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (!response.ok) {
        var err = new Error("HTTP " + response.status);
        err.kind = response.status >= 500 ? "server" : "client";
        // A refusal the server explains to the user (too many requests, store down): show its words.
        return response.json().catch(function () { return null; }).then(function (body) {
          if (body && Array.isArray(body.messages) && body.messages.length) return body;
          throw err;
        });
      }
      return response.json();
    }).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  function deliver(message) {
    setTyping(true);
    return post(message).then(function (body) {
      var list = body && Array.isArray(body.messages) ? body.messages : [];
      if (!list.length) list = [{ text: TEXT.empty }];
      list.forEach(addBotMessage);
    }).catch(function (err) {
      var text = err && err.name === "AbortError" ? TEXT.timeout
        : err && err.kind ? TEXT.serverError : TEXT.networkError;
      addError(text, function () { queue = queue.then(function () { return deliver(message); }); });
    }).finally(function () {
      setTyping(false);
      scrollToEnd();
    });
  }

  /** Send `message` to the assistant; `shown` is the user's bubble (null: none, e.g. a rating). */
  function send(message, shown) {
    message = String(message || "").trim();
    if (!message) return;
    if (shown !== null) {
      retireOpenFeedback();
      addUserMessage(shown === undefined ? message : shown);
    }
    queue = queue.then(function () { return deliver(message); });
  }

  /* ---------- welcome ---------- */

  function welcome() {
    var divider = el("div", "day-divider");
    divider.appendChild(el("span", null, "Hôm nay"));
    messages.appendChild(divider);
    var stack = addRow("bot", "welcome");
    var b = el("div", "bubble");
    b.appendChild(el("span", "visually-hidden", "Trợ lý: "));
    b.appendChild(el("span", "bubble-text welcome-title", TEXT.welcomeTitle));
    b.appendChild(el("span", "bubble-text", TEXT.welcome));
    b.appendChild(el("time", "time", clock()));
    stack.appendChild(b);
    var chips = el("div", "chips");
    chips.setAttribute("role", "group");
    chips.setAttribute("aria-label", "Câu hỏi gợi ý");
    SUGGESTIONS.forEach(function (q) {
      var chip = el("button", "chip", q);
      chip.type = "button";
      chip.addEventListener("click", function () { send(q); });
      chips.appendChild(chip);
    });
    messages.appendChild(chips);
    greetOfficial(stack);
  }

  /** A signed-in official is told so under the welcome (their name as text). */
  function greetOfficial(stack) {
    fetch("/api/me", { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (me) {
      if (!me || !me.official) return;
      var b = el("div", "bubble official");
      b.appendChild(el("span", "bubble-text welcome-title", "Xin chào " + (me.name || "") + "!"));
      b.appendChild(el("span", "bubble-text", TEXT.official));
      stack.appendChild(b);
    }).catch(function () { /* the greeting is a nicety */ });
  }

  /** What the notifier left for this conversation while the page was closed (GET /api/notifications). */
  function showNotifications() {
    fetch("/api/notifications", { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : { messages: [] };
    }).then(function (data) {
      (data.messages || []).forEach(addBotMessage);
    }).catch(function () { /* they wait for the next message */ });
  }

  /** The server starts a new conversation (a new cookie); the old one is left to its retention. */
  function newConversation() {
    return fetch("/api/chat/new", { method: "POST", credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
    });
  }

  function restart() {
    queue = queue.then(newConversation).catch(function () {
      // Not started (offline, too many): the next message starts one, or goes on with the old one.
    });
    openFeedback = [];
    while (messages.firstChild) messages.removeChild(messages.firstChild);
    welcome();
    input.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    messages = document.getElementById("messages");
    form = document.getElementById("composer");
    input = document.getElementById("input");
    sendButton = document.getElementById("send");
    typing = document.getElementById("typing");
    welcome();
    showNotifications();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) { input.focus(); return; }
      input.value = "";
      send(text);
      input.focus();
    });
    document.getElementById("restart").addEventListener("click", restart);
    document.documentElement.classList.add("ready");
  });
})();
