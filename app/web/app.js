// The kubeai web chat: talks to the API it is served by (docs/api.md, docs/web.md).
// Every text a model or the data wrote is set with textContent, never parsed as markup; charts are the
// server-validated Plotly specs drawn with Plotly.newPlot.

const KEY_STORE = "kubeai.key";
const LANG_STORE = "kubeai.lang";

const state = {
  key: localStorage.getItem(KEY_STORE) || "",
  lang: localStorage.getItem(LANG_STORE) || (navigator.language.startsWith("zh") ? "zh" : "en"),
  strings: {},
  thread: null, // {thread_id, assistant_id}
  busy: false,
  assistants: [], // from GET /assistants; apps are `app:<name>`
  modelPicked: false, // a run sends config.configurable.model only once the user picked a model
};

const isApp = (assistant) => String(assistant || "").startsWith("app:");

const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------------------------------------------- text

function t(key, vars = {}) {
  const table = state.strings[state.lang] || {};
  const text = table[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function label(node, key, vars) {
  node.dataset.i18n = key;
  if (vars) node.dataset.i18nVars = JSON.stringify(vars);
  node.textContent = t(key, vars);
  return node;
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n, node.dataset.i18nVars ? JSON.parse(node.dataset.i18nVars) : {});
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  $("#lang-toggle").textContent = t("lang.toggle");
}

// An element with attributes and children; strings become text nodes, never markup.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "i18n") label(node, value, attrs.vars);
    else if (name === "vars") continue;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// replaceChildren with the parts that exist (it would write a null as the text "null").
function fill(node, ...parts) {
  node.replaceChildren(...parts.flat().filter((part) => part !== null && part !== undefined));
}

function setStatus(key, vars) {
  label($("#status"), key, vars);
}

function showError(message) {
  const status = $("#status");
  delete status.dataset.i18n;
  status.textContent = message;
  status.classList.add("error");
}

// ---------------------------------------------------------------------------------------------------- API

class ApiFailure extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function headers() {
  return {
    Authorization: `Bearer ${state.key}`,
    "Content-Type": "application/json",
    "Accept-Language": state.lang === "zh" ? "zh-CN,zh;q=0.9" : "en",
  };
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiFailure(0, t("error.network"));
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiFailure(response.status, data.detail || t("error.generic"));
  return data;
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}

// POST a run to the thread's stream and call onEvent(event, data) for each Server-Sent Event.
async function streamRun(threadId, body, onEvent) {
  let response;
  try {
    response = await fetch(`/threads/${encodeURIComponent(threadId)}/runs/stream`, {
      method: "POST",
      headers: { ...headers(), Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, t("error.network"));
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new ApiFailure(response.status, data.detail || t("error.generic"));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const parsed = parseEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (parsed) onEvent(parsed.event, parsed.data);
    }
  }
}

// ---------------------------------------------------------------------------------------------------- parts

function sqlBlock(sql) {
  const code = el("code", {}, sql);
  const button = el("button", {
    type: "button",
    class: "copy",
    i18n: "answer.copy",
    onclick: async () => {
      await navigator.clipboard.writeText(sql).catch(() => undefined);
      label(button, "answer.copied");
    },
  });
  return el("details", { class: "sql" }, el("summary", { i18n: "answer.sql" }), el("pre", {}, code), button);
}

function tableBlock(columns, rows, truncated) {
  const head = el("tr", {}, columns.map((c) => el("th", {}, c)));
  const body = rows.map((row) => el("tr", {}, row.map((cell) => el("td", {}, cell === null ? "" : cell))));
  return el(
    "div",
    { class: "table-wrap" },
    el("table", { class: "result" }, el("thead", {}, head), el("tbody", {}, body)),
    truncated ? el("p", { class: "note", i18n: "answer.truncated" }) : null,
  );
}

function chartBlock(spec) {
  const box = el("div", { class: "chart" });
  if (window.Plotly && spec && Array.isArray(spec.data)) {
    // Plotly builds its own SVG; the spec was validated by the server.
    requestAnimationFrame(() =>
      window.Plotly.newPlot(box, spec.data, spec.layout || {}, { displaylogo: false, responsive: true }),
    );
  }
  return box;
}

// An app's object answer as a table of its fields; lists of words joined, anything deeper as JSON text.
function fieldsBlock(result) {
  const shown = (value) => {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) return value.join(", ");
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  };
  const rows = Object.entries(result).map(([name, value]) => el("tr", {}, el("th", {}, name), el("td", {}, shown(value))));
  return el("div", { class: "table-wrap" }, el("table", { class: "result app-fields" }, el("tbody", {}, rows)));
}

// The page an app rendered on the server (from the validated spec, autoescaped, no script), in a sandbox that
// allows nothing: no script, no form submission, no navigation, an origin of its own.
function pageFrame(html) {
  const frame = el("iframe", { class: "app-page", sandbox: "", referrerpolicy: "no-referrer", "data-testid": "app-page" });
  frame.setAttribute("title", t("app.page"));
  frame.srcdoc = html;
  return el("div", { class: "app-page-wrap" }, el("h3", { i18n: "app.page" }), frame);
}

// What a prompt app answered: the choice, or the object's fields; its reasoning apart; its page when it has one.
function appBlock(v) {
  const parts = [];
  if (typeof v.result === "string") {
    parts.push(el("p", { class: "app-result" }, el("span", { i18n: "app.choice" }), " ", el("strong", { class: "app-choice" }, v.result)));
  } else if (v.result && typeof v.result === "object") {
    parts.push(el("h3", { i18n: "app.fields" }), fieldsBlock(v.result));
  }
  if (v.reasoning) {
    parts.push(el("details", { class: "reasoning" }, el("summary", { i18n: "app.reasoning" }), el("p", {}, v.reasoning)));
  }
  if (typeof v.page === "string") parts.push(pageFrame(v.page));
  if (v.model) parts.push(el("p", { class: "note", i18n: "app.model", vars: { model: v.model, seconds: v.latency_s ?? "?" } }));
  return parts;
}

// A task's dependencies: `depends_on` in the graph's state and results, `dep` in a plan as written.
const dependencies = (task) => task?.depends_on || task?.dep || [];

// The planner's tasks, laid out in columns by dependency depth; each shows its status.
class TaskGraph {
  constructor() {
    this.root = el("div", { class: "plan" }, el("h3", { i18n: "plan.title" }));
    this.grid = el("div", { class: "plan-grid" });
    this.root.append(this.grid);
    this.nodes = new Map();
  }

  setTasks(tasks) {
    const depth = new Map();
    const byId = new Map(tasks.map((task) => [task.id, task]));
    const depthOf = (id, seen = new Set()) => {
      if (depth.has(id)) return depth.get(id);
      if (seen.has(id)) return 0;
      seen.add(id);
      const deps = dependencies(byId.get(id)).filter((d) => byId.has(d));
      const value = deps.length ? 1 + Math.max(...deps.map((d) => depthOf(d, seen))) : 0;
      depth.set(id, value);
      return value;
    };
    this.grid.replaceChildren();
    const columns = [];
    for (const task of tasks) {
      const level = depthOf(task.id);
      columns[level] ??= el("div", { class: "plan-column" });
      const previous = this.nodes.get(task.id);
      const node = el(
        "div",
        { class: "task", "data-task-id": task.id, "data-status": task.status || previous?.dataset.status || "pending" },
        el("strong", {}, task.id),
        " ",
        el("span", { class: "tool" }, task.tool || ""),
        el("span", { class: "badge" }),
        dependencies(task).length
          ? el("small", { i18n: "plan.depends", vars: { deps: dependencies(task).join(", ") } })
          : null,
        el("p", { class: "task-text" }, task.text || task.error || ""),
      );
      this.nodes.set(task.id, node);
      this.setStatus(task.id, node.dataset.status);
      columns[level].append(node);
    }
    this.grid.append(...columns.filter(Boolean));
  }

  setStatus(id, status, text) {
    const node = this.nodes.get(id);
    if (!node) return;
    node.dataset.status = status;
    label(node.querySelector(".badge"), `plan.status.${status}`);
    if (text) node.querySelector(".task-text").textContent = text;
  }
}

// ---------------------------------------------------------------------------------------------------- answers

class Answer {
  constructor(threadId, assistant) {
    this.threadId = threadId;
    this.assistant = assistant;
    this.runId = null;
    this.traceId = null;
    this.checkpointId = null;
    this.values = {};
    this.progress = el("ol", { class: "progress" });
    this.body = el("div", { class: "answer-body" });
    this.meta = el("p", { class: "meta" });
    this.feedback = el("div", { class: "feedback" });
    this.graph = null;
    this.root = el("article", { class: "answer", "data-testid": "answer" }, this.progress, this.body, this.meta, this.feedback);
  }

  onEvent(event, data) {
    if (event === "metadata") {
      this.runId = data.run_id || null;
      this.traceId = data.trace_id || null;
      this.showMeta();
    } else if (event === "updates") {
      for (const [node, update] of Object.entries(data || {})) this.onUpdate(node, update || {});
    } else if (event === "messages") {
      this.showText(data?.[0]?.content);
    } else if (event === "values") {
      this.render(data);
    } else if (event === "error") {
      const message = data?.[`message_${state.lang}`] || data?.message || t("error.generic");
      this.body.replaceChildren(el("p", { class: "error" }, message));
    }
  }

  onUpdate(node, update) {
    if (node !== "__interrupt__") this.progress.append(el("li", {}, node));
    setStatus("status.step", { node });
    if (Array.isArray(update.tasks) && update.tasks.length) {
      this.ensureGraph().setTasks(update.tasks);
    }
    for (const [id, result] of Object.entries(update.results || {})) {
      this.ensureGraph().setStatus(id, result.status, result.text || result.error);
    }
  }

  showText(text) {
    if (!text) return;
    let node = this.body.querySelector(".answer-text");
    if (!node) this.body.prepend((node = el("p", { class: "answer-text" })));
    node.textContent = text;
  }

  ensureGraph() {
    if (!this.graph) {
      this.graph = new TaskGraph();
      this.body.append(this.graph.root);
    }
    return this.graph;
  }

  showMeta() {
    fill(
      this.meta,
      this.traceId ? el("span", { class: "trace", i18n: "answer.trace", vars: { id: this.traceId } }) : null,
      this.runId ? el("span", { class: "run", i18n: "answer.run", vars: { id: this.runId } }) : null,
    );
  }

  render(values) {
    this.values = values || {};
    const v = this.values;
    const parts = [];
    if (v.abstained) parts.push(el("p", { class: "abstained", i18n: "answer.abstained" }));
    const text = isApp(this.assistant) ? "" : v.answer || v.reason || "";
    if (text) parts.push(el("p", { class: "answer-text" }, text));
    if (isApp(this.assistant)) parts.push(...appBlock(v));
    if (v.sql) parts.push(sqlBlock(v.sql));
    const columns = v.headers && v.headers.length ? v.headers : v.columns;
    if (columns && columns.length && v.rows && v.rows.length) parts.push(tableBlock(columns, v.rows, v.truncated));
    if (v.chart) parts.push(chartBlock(v.chart));
    fill(this.body, parts);
    if (Array.isArray(v.tasks) && v.tasks.length) {
      this.graph = null;
      this.ensureGraph().setTasks(v.tasks);
      for (const task of v.tasks) {
        if (task.chart) this.body.append(chartBlock(task.chart));
      }
    }
    const pending = (v.__interrupt__ || [])[0];
    if (pending) this.body.append(this.approval(pending.value || {}));
    fill(this.feedback, pending ? [] : this.feedbackControls());
    if (this.assistant === "metrics" && !pending) this.loadCheckpoint();
  }

  async loadCheckpoint() {
    const found = await api("GET", `/threads/${encodeURIComponent(this.threadId)}/state`).catch(() => null);
    this.checkpointId = found?.checkpoint?.checkpoint_id || null;
  }

  approval(pending) {
    const box = el("textarea", { class: "approval-sql", rows: 4, readonly: true });
    box.value = pending.sql || "";
    const decide = (resume) => this.resume(resume);
    const runEdited = el("button", {
      type: "button",
      class: "run-edited",
      hidden: true,
      i18n: "approval.run_edited",
      onclick: () => decide({ action: "edit", sql: box.value }),
    });
    return el(
      "div",
      { class: "approval", "data-testid": "approval" },
      el("h3", { i18n: "approval.title" }),
      box,
      el(
        "div",
        { class: "buttons" },
        el("button", { type: "button", class: "approve", i18n: "approval.approve", onclick: () => decide({ action: "approve" }) }),
        el("button", {
          type: "button",
          class: "edit",
          i18n: "approval.edit",
          onclick: () => {
            box.readOnly = false;
            runEdited.hidden = false;
            box.focus();
          },
        }),
        runEdited,
        el("button", { type: "button", class: "reject", i18n: "approval.reject", onclick: () => decide({ action: "reject" }) }),
      ),
    );
  }

  async resume(resume) {
    for (const button of this.body.querySelectorAll(".approval button")) button.disabled = true;
    this.progress.replaceChildren();
    await runWith(() => streamRun(this.threadId, { command: { resume } }, (e, d) => this.onEvent(e, d)));
    refreshThreads();
  }

  feedbackControls() {
    const status = el("span", { class: "feedback-status" });
    const send = async (rating, correction) => {
      const body = {
        run_id: this.runId,
        checkpoint_id: this.checkpointId,
        trace_id: this.traceId,
        rating,
        correction,
      };
      try {
        await api("POST", `/threads/${encodeURIComponent(this.threadId)}/feedback`, body);
        label(status, "feedback.thanks");
      } catch (failure) {
        delete status.dataset.i18n;
        status.textContent = failure.message;
      }
    };
    const sql = el("textarea", { class: "correct-sql", rows: 3 });
    sql.value = this.values.sql || "";
    const metric = el("input", { class: "correct-metric", type: "text" });
    const text = el("textarea", { class: "correct-text", rows: 2 });
    const form = el(
      "form",
      {
        class: "correction",
        hidden: true,
        onsubmit: (event) => {
          event.preventDefault();
          const value = (node) => node.value.trim() || null;
          send(null, { sql: value(sql), metric: value(metric), text: value(text) });
        },
      },
      el("label", { hidden: isApp(this.assistant) }, el("span", { i18n: "feedback.sql" }), sql),
      el("label", { hidden: isApp(this.assistant) }, el("span", { i18n: "feedback.metric" }), metric),
      el("label", {}, el("span", { i18n: "feedback.text" }), text),
      el("button", { type: "submit", i18n: "feedback.send" }),
    );
    return [
      el("button", { type: "button", class: "thumb up", i18n: "feedback.up", onclick: () => send("up", null) }),
      el("button", { type: "button", class: "thumb down", i18n: "feedback.down", onclick: () => send("down", null) }),
      el("button", { type: "button", class: "correct", i18n: "feedback.correct", onclick: () => (form.hidden = !form.hidden) }),
      status,
      form,
    ];
  }
}

// ---------------------------------------------------------------------------------------------------- flows

async function runWith(work) {
  state.busy = true;
  $("#ask-button").disabled = true;
  $("#status").classList.remove("error");
  setStatus("status.running");
  try {
    await work();
    setStatus("status.done");
  } catch (failure) {
    showError(failure.message);
  } finally {
    state.busy = false;
    $("#ask-button").disabled = false;
  }
}

function question(text, role = "user") {
  return el("div", { class: `turn ${role}` }, el("p", {}, text));
}

async function ask(text) {
  const assistant = state.thread?.assistant_id || $("#assistant").value || "metrics";
  await runWith(async () => {
    if (!state.thread) {
      state.thread = await api("POST", "/threads", { assistant_id: assistant, metadata: { title: text.slice(0, 80) } });
      lockAssistant();
      await refreshThreads();
    }
    const conversation = $("#conversation");
    conversation.append(question(text));
    const answer = new Answer(state.thread.thread_id, assistant);
    conversation.append(answer.root);
    const body = {
      input: assistant === "planner" ? { request: text } : isApp(assistant) ? { input: text } : { question: text },
    };
    // The picked model runs the metrics agent or an app; untouched, each runs on its configured model (and the
    // planner always picks a model per task).
    if (state.modelPicked && assistant !== "planner" && $("#model").value) {
      body.config = { configurable: { model: $("#model").value } };
    }
    if ($("#require-approval").checked && assistant === "metrics") body.require_approval = true;
    await streamRun(state.thread.thread_id, body, (event, data) => answer.onEvent(event, data));
  });
  refreshThreads();
}

function lockAssistant() {
  const select = $("#assistant");
  select.value = state.thread?.assistant_id || select.value;
  select.disabled = Boolean(state.thread);
  describeAssistant();
}

// The chosen assistant's description (an app's in the page's language); the planner takes no model choice.
function describeAssistant() {
  const chosen = state.assistants.find((a) => a.assistant_id === $("#assistant").value);
  const meta = chosen?.metadata || {};
  const text = (state.lang === "zh" && meta.description_zh) || chosen?.description || "";
  $("#assistant-card").textContent = text;
  $("#model").disabled = chosen?.assistant_id === "planner";
}

function assistantOption(assistant) {
  if (!isApp(assistant.assistant_id)) return el("option", { value: assistant.assistant_id }, assistant.name);
  return el("option", { value: assistant.assistant_id, i18n: "app.option", vars: { name: assistant.name } });
}

async function openThread(threadId) {
  setStatus("status.loading");
  const [thread, found] = await Promise.all([
    api("GET", `/threads/${encodeURIComponent(threadId)}`),
    api("GET", `/threads/${encodeURIComponent(threadId)}/state`),
  ]);
  state.thread = thread;
  lockAssistant();
  markCurrent();
  const conversation = $("#conversation");
  conversation.replaceChildren();
  const values = found.values || {};
  const messages = values.messages || [];
  const lastAssistant = messages.map((m) => m.role).lastIndexOf("assistant");
  const pendingAfter = messages.length && messages[messages.length - 1].role !== "assistant" && values.__interrupt__;
  messages.forEach((message, index) => {
    if (message.role !== "assistant") {
      conversation.append(question(message.content, message.role));
    } else if (index === lastAssistant && !pendingAfter) {
      conversation.append(fullAnswer(thread, values, found));
    } else {
      conversation.append(el("article", { class: "answer earlier" }, el("p", { class: "answer-text" }, message.content)));
    }
  });
  if (pendingAfter) conversation.append(fullAnswer(thread, values, found));
  setStatus("status.done");
}

function fullAnswer(thread, values, found) {
  const answer = new Answer(thread.thread_id, thread.assistant_id);
  answer.checkpointId = found.checkpoint?.checkpoint_id || null;
  answer.render(values);
  return answer.root;
}

function markCurrent() {
  for (const item of document.querySelectorAll(".thread-item")) {
    item.classList.toggle("current", item.dataset.threadId === state.thread?.thread_id);
  }
}

async function refreshThreads() {
  if (!state.key) return;
  const threads = await api("POST", "/threads/search", { limit: 100 }).catch(() => null);
  if (!threads) return;
  const list = $("#thread-list");
  list.replaceChildren(
    ...(threads.length
      ? threads.map((thread) =>
          el(
            "li",
            {},
            el(
              "button",
              {
                type: "button",
                class: "thread-item",
                "data-thread-id": thread.thread_id,
                onclick: () => runWith(() => openThread(thread.thread_id)),
              },
              thread.metadata?.title ? el("span", { class: "title" }, thread.metadata.title) : el("span", { class: "title", i18n: "threads.untitled" }),
              el("small", {}, `${thread.assistant_id} · ${thread.status} · ${thread.updated_at.slice(0, 16).replace("T", " ")}`),
            ),
          ),
        )
      : [el("li", { class: "empty", i18n: "threads.empty" })]),
  );
  markCurrent();
}

function describeModel(models) {
  const chosen = models.find((m) => m.name === $("#model").value);
  const card = $("#model-card");
  if (!chosen) return fill(card);
  fill(
    card,
    el("p", {}, el("strong", {}, chosen.name), ` (${chosen.kind}) `, chosen.description),
    el("p", { class: "skills" }, [...chosen.skills, ...chosen.languages].map((s) => el("span", { class: "chip" }, s))),
    chosen.used_by.length ? el("small", { i18n: "model.default_for", vars: { agents: chosen.used_by.join(", ") } }) : null,
    chosen.active ? el("small", { class: "active", i18n: "model.active" }) : null,
    el("small", { class: "note", i18n: "model.note" }),
  );
}

async function signIn() {
  const status = $("#key-status");
  if (!state.key) return label(status, "key.missing");
  let assistants;
  try {
    assistants = await api("GET", "/assistants");
  } catch (failure) {
    delete status.dataset.i18n;
    status.textContent = failure.message;
    return;
  }
  label(status, "key.ok");
  state.assistants = assistants;
  $("#assistant").replaceChildren(...assistants.map(assistantOption));
  $("#assistant").onchange = describeAssistant;
  lockAssistant();
  const models = await api("GET", "/adapters").catch(() => []);
  const select = $("#model");
  select.replaceChildren(...models.map((m) => el("option", { value: m.name }, `${m.name} · ${m.kind}`)));
  const metricsDefault = models.find((m) => m.used_by.includes("metrics"));
  if (metricsDefault) select.value = metricsDefault.name;
  select.onchange = () => {
    state.modelPicked = true;
    describeModel(models);
  };
  describeModel(models);
  await refreshThreads();
}

async function main() {
  state.strings = await (await fetch("/web/strings.json")).json();
  if (!state.strings[state.lang]) state.lang = "en";
  applyLanguage();
  $("#key-input").value = state.key;
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("#key-input").value.trim();
    localStorage.setItem(KEY_STORE, state.key);
    signIn();
  });
  $("#key-forget").addEventListener("click", () => {
    state.key = "";
    localStorage.removeItem(KEY_STORE);
    $("#key-input").value = "";
    $("#thread-list").replaceChildren();
    signIn();
  });
  $("#lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_STORE, state.lang);
    applyLanguage();
    describeAssistant();
  });
  $("#new-thread").addEventListener("click", () => {
    state.thread = null;
    $("#conversation").replaceChildren();
    lockAssistant();
    markCurrent();
  });
  $("#ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#question").value.trim();
    if (!text || state.busy) return;
    $("#question").value = "";
    ask(text);
  });
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("#ask-form").requestSubmit();
  });
  await signIn();
}

main();
