// statechat web page: chat with a bot beside its state diagram.
// Plain JavaScript, no dependencies. Turns go over the websocket
// (falling back to POST .../messages while it is not connected); after each
// turn the diagram is fetched again with ?session_id= so that the server
// highlights the session's current state.
(function () {
  "use strict";

  const api = document.body.dataset.api || "/api/v1";
  const $ = (id) => document.getElementById(id);
  const els = {
    flow: $("flow"), user: $("user"), reset: $("reset"), conn: $("conn"),
    info: $("flow-info"), log: $("log"), form: $("composer"), text: $("text"),
    send: $("send"), sessionId: $("session-id"), state: $("state"),
    waiting: $("waiting"), diagram: $("diagram"), link: $("diagram-link"),
    fit: $("fit"),
  };

  let flows = [];
  let sessionId = "";
  let sessionStarted = false; // the server knows the session (after the first turn)
  let startFlow = true;       // the next message may start the selected flow
  let ws = null;
  let wsSession = "";
  let reconnectDelay = 500;
  let diagramSeq = 0;
  const pending = [];         // resolvers of turns sent over the websocket, in order

  function newSessionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return "web-" + window.crypto.randomUUID();
    }
    return "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  function userId() {
    return (els.user.value || "").trim() || "demo-user";
  }

  function selectedFlow() {
    return flows.find((f) => f.id === els.flow.value) || null;
  }

  // ------------------------------------------------------------------ chat log

  function addBubble(kind, text) {
    const li = document.createElement("li");
    li.className = "msg " + kind;
    li.textContent = text;
    els.log.appendChild(li);
    els.log.scrollTop = els.log.scrollHeight;
    return li;
  }

  function showTurn(result) {
    if (result.error) {
      addBubble("error", result.error.message || result.error.code || "error");
      return;
    }
    const replies = result.responses || [];
    if (!replies.length) addBubble("bot muted", "(no reply)");
    for (const r of replies) addBubble("bot", r);
    sessionStarted = true;
    startFlow = false;
    els.state.textContent = result.state || "idle";
    els.waiting.textContent = result.waiting_for || "—";
    if (result.workflow_id && result.workflow_id !== els.flow.value) {
      els.flow.value = result.workflow_id; // a digression: show the active workflow
      showFlowInfo();
    }
    if (result.completed && !result.workflow_id) startFlow = true;
    refreshDiagram();
  }

  // ------------------------------------------------------------------ transport

  function wsUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + api + "/orchestrator/ws/" +
      encodeURIComponent(sessionId) + "?user_id=" + encodeURIComponent(userId());
  }

  function setConn(text, ok) {
    els.conn.textContent = text;
    els.conn.classList.toggle("ok", !!ok);
  }

  function connect() {
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
    wsSession = sessionId;
    let socket;
    try {
      socket = new WebSocket(wsUrl());
    } catch (e) {
      ws = null;
      setConn("offline (HTTP)", false); // turns go over POST .../messages
      return;
    }
    ws = socket;
    setConn("connecting…", false);
    socket.onopen = () => {
      reconnectDelay = 500;
      setConn("live", true);
    };
    socket.onmessage = (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        data = { error: { code: "bad_reply", message: "unreadable reply from the server" } };
      }
      const resolve = pending.shift();
      if (resolve) resolve(data);
      else showTurn(data);
    };
    socket.onclose = () => {
      if (ws !== socket) return;
      ws = null;
      setConn("offline (HTTP)", false);
      while (pending.length) {
        pending.shift()({ error: { code: "disconnected", message: "connection lost" } });
      }
      setTimeout(() => { if (!ws && wsSession === sessionId) connect(); }, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 8000);
    };
  }

  async function postMessage(body) {
    try {
      const resp = await fetch(api + "/sessions/" + encodeURIComponent(sessionId) + "/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return await resp.json();
    } catch (e) {
      return { error: { code: "network", message: "could not reach the server" } };
    }
  }

  function sendTurn(body) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      return new Promise((resolve) => {
        pending.push(resolve);
        ws.send(JSON.stringify(body));
      });
    }
    return postMessage(body);
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    const text = els.text.value.trim();
    if (!text) return;
    els.text.value = "";
    addBubble("user", text);
    const body = { text: text, user_id: userId() };
    const flow = selectedFlow();
    if (startFlow && flow && els.state.textContent === "idle") body.workflow_id = flow.id;
    const typing = addBubble("bot typing", "…");
    els.send.disabled = true;
    try {
      const result = await sendTurn(body);
      typing.remove();
      showTurn(result);
    } finally {
      els.send.disabled = false;
      els.text.focus();
    }
  }

  // ------------------------------------------------------------------ diagram

  function diagramUrl(flowId, withSession) {
    let url = api + "/flows/" + encodeURIComponent(flowId) + "/diagram.svg";
    if (withSession) url += "?session_id=" + encodeURIComponent(sessionId);
    return url;
  }

  async function refreshDiagram() {
    const flow = selectedFlow();
    if (!flow) return;
    const seq = ++diagramSeq;
    const url = diagramUrl(flow.id, sessionStarted);
    els.link.href = url;
    let text;
    let ok = false;
    try {
      const resp = await fetch(url, { cache: "no-store" });
      text = await resp.text();
      ok = resp.ok;
      if (!ok) {
        try { text = JSON.parse(text).error.message; } catch (e) { /* keep the text */ }
      }
    } catch (e) {
      text = "could not load the diagram";
    }
    if (seq !== diagramSeq) return; // a newer refresh is on its way
    if (!ok) {
      els.diagram.replaceChildren();
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = text;
      els.diagram.appendChild(p);
      return;
    }
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") return;
    svg.querySelectorAll("script, foreignObject").forEach((n) => n.remove());
    const box = svg.viewBox && svg.viewBox.baseVal;
    if (box && box.width) {
      // Graphviz sizes in points; one point per pixel reads well beside the chat
      svg.removeAttribute("width");
      svg.removeAttribute("height");
      svg.style.width = box.width + "px";
    }
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "State diagram of " + flow.id);
    els.diagram.replaceChildren(document.importNode(svg, true));
    const active = els.diagram.querySelectorAll("g.node.active");
    els.diagram.dataset.state = Array.from(active, (g) => g.id).join(" ");
    if (active.length) {
      active[active.length - 1].scrollIntoView({ block: "nearest", inline: "center" });
    }
  }

  // ------------------------------------------------------------------ flows

  function showFlowInfo() {
    const flow = selectedFlow();
    els.info.replaceChildren();
    if (!flow) return;
    const title = document.createElement("strong");
    title.textContent = flow.name || flow.id;
    els.info.appendChild(title);
    const meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = " " + flow.steps + " steps" +
      (flow.trigger_intent ? " · trigger " + flow.trigger_intent : "");
    els.info.appendChild(meta);
    if (flow.description) {
      const p = document.createElement("p");
      p.textContent = flow.description;
      els.info.appendChild(p);
    }
  }

  async function loadFlows() {
    try {
      const resp = await fetch(api + "/flows");
      flows = (await resp.json()).flows || [];
    } catch (e) {
      flows = [];
    }
    els.flow.replaceChildren();
    for (const f of flows) {
      const opt = document.createElement("option");
      opt.value = f.id;
      opt.textContent = f.name ? f.name + " (" + f.id + ")" : f.id;
      els.flow.appendChild(opt);
    }
    if (!flows.length) {
      els.diagram.replaceChildren();
      addBubble("error", "This bot has no workflows.");
      return;
    }
    showFlowInfo();
    refreshDiagram();
  }

  function newConversation() {
    sessionId = newSessionId();
    sessionStarted = false;
    startFlow = true;
    els.sessionId.textContent = sessionId;
    els.log.replaceChildren();
    els.state.textContent = "idle";
    els.waiting.textContent = "—";
    addBubble("system", "New conversation. Pick a flow and say something to start it.");
    connect();
    refreshDiagram();
  }

  els.form.addEventListener("submit", onSubmit);
  els.reset.addEventListener("click", newConversation);
  els.flow.addEventListener("change", () => {
    startFlow = els.state.textContent === "idle";
    showFlowInfo();
    refreshDiagram();
  });
  els.user.addEventListener("change", connect);
  els.fit.addEventListener("click", () => {
    const on = els.diagram.classList.toggle("fit");
    els.fit.setAttribute("aria-pressed", on ? "true" : "false");
  });

  loadFlows().then(newConversation);
})();
