// taskd's reference browser client: the REST calls, with the API's JSON errors turned into readable ones, and the
// task stream over a WebSocket that reconnects with exponential backoff and jitter. No dependencies, no build step:
// import it as an ES module (`import { TaskdClient, TaskStream } from "/taskd-client.js"`). docs/websocket.md
// explains the protocol it speaks.

/** A failed API call: the HTTP status and the API's `{"code":…,"message":…}`, or a network failure (status 0). */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.code = code;
  }

  /** Whether retrying the same request can help: the key, the workspace or the input will not fix themselves. */
  get isPermanent() {
    return [400, 401, 404, 405, 409, 413, 415].includes(this.status);
  }

  /** The message, with the status and code when they came from the API (other failures name them already). */
  toString() {
    const fromAPI = this.status !== 0 && this.code !== "http_error";
    return fromAPI ? `${this.message} (${this.status} ${this.code})` : this.message;
  }
}

/** The six task types and their base durations in seconds, as the API defines them. */
export const TASK_TYPES = Object.freeze({
  "gx.tiny": 3,
  "gx.micro": 5,
  "gx.small": 10,
  "gx.medium": 30,
  "gx.large": 120,
  "gx.heavy": 300,
});

/** The statuses a task goes through, in order. */
export const STATUSES = Object.freeze(["queued", "running", "completed"]);

/**
 * `api_key` and `workspace_id` from a URL fragment such as `#api_key=tk_…&workspace_id=demo`. The fragment never
 * reaches a server, so a key passed this way stays out of access logs (a query string would not).
 */
export function parseFragment(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  return { apiKey: params.get("api_key") ?? "", workspaceID: params.get("workspace_id") ?? "" };
}

/**
 * How long to wait before reconnection attempt `attempt` (0 for the first): an exponential ceiling, `baseMs` ×
 * 2^attempt capped at `capMs`, of which a random half is waited ("equal jitter"). Clients that lost the server
 * together thus come back spread out, never all at once, and never sooner than half the ceiling.
 */
export function backoffDelay(attempt, { baseMs = 500, capMs = 30_000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** REST calls for one key and workspace. Every failure is thrown as an `APIError`. */
export class TaskdClient {
  constructor({
    baseURL = globalThis.location?.href,
    apiKey,
    workspaceID = "default",
    fetch = (...args) => globalThis.fetch(...args), // called unbound: window.fetch refuses another `this`
  }) {
    this.baseURL = new URL("/", baseURL);
    this.apiKey = apiKey;
    this.workspaceID = workspaceID || "default";
    this.fetch = fetch;
  }

  /** `path` on the server with `api_key` and `workspace_id` in its query. */
  url(path) {
    const url = new URL(path, this.baseURL);
    url.searchParams.set("api_key", this.apiKey);
    url.searchParams.set("workspace_id", this.workspaceID);
    return url;
  }

  /** The stream's address: `ws:` or `wss:` to match the page. */
  streamURL() {
    const url = this.url("/ws/tasks");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url;
  }

  async listTasks() {
    return (await this.request("GET", "/tasks")).tasks;
  }

  async createTask(name, type) {
    return (await this.request("POST", "/tasks", { name, type })).task;
  }

  async deleteTask(id) {
    await this.request("DELETE", `/tasks/${encodeURIComponent(id)}`);
  }

  async flushTasks() {
    await this.request("POST", "/tasks/flush");
  }

  async request(method, path, body) {
    const init = { method, cache: "no-store" };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await this.fetch(this.url(path), init);
    } catch (error) {
      throw new APIError(0, "network_error", `Cannot reach taskd at ${this.baseURL.origin}: ${error.message}`);
    }
    const text = await response.text();
    if (response.ok) return text ? JSON.parse(text) : null;
    throw errorFromAnswer(response.status, response.statusText, text);
  }
}

/** An `APIError` from a failed answer: the API's JSON error when there is one, else the status and some of the body. */
export function errorFromAnswer(status, statusText, text) {
  try {
    const error = JSON.parse(text);
    if (typeof error?.code === "string" && typeof error?.message === "string") {
      return new APIError(status, error.code, error.message);
    }
  } catch {
    // Not JSON: a proxy's page, say. Fall through to a generic message.
  }
  const detail = text.trim().slice(0, 200) || statusText || "no details";
  return new APIError(status, "http_error", `The server answered ${status}: ${detail}`);
}

/**
 * The workspace's task list, live. Calls `onTasks(tasks)` with every frame (the whole list, by ascending id) and
 * `onStatus(status)` whenever the connection changes: `{state: "connecting" | "open" | "waiting" | "failed" |
 * "stopped", attempt, delayMs, code, reason, error}`.
 *
 * After a close it reconnects with `backoffDelay`, except when the server refused the key or workspace (checked with
 * a REST call, since a browser is not told why an upgrade failed): then it stops with `state: "failed"` and the
 * API's error, because retrying cannot help.
 */
export class TaskStream {
  constructor(client, { onTasks, onStatus = () => {}, WebSocket = globalThis.WebSocket, backoff = {} }) {
    this.client = client;
    this.onTasks = onTasks;
    this.onStatus = onStatus;
    this.WebSocket = WebSocket;
    this.backoff = backoff;
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.stopped = true;
    this.lastFrameAt = null;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, "client closed");
      this.socket = null;
    }
    this.onStatus({ state: "stopped" });
  }

  connect() {
    this.timer = null;
    this.onStatus({ state: "connecting", attempt: this.attempt });
    const socket = new this.WebSocket(this.client.streamURL());
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.onStatus({ state: "open" });
    };
    socket.onmessage = (event) => {
      let tasks;
      try {
        tasks = JSON.parse(event.data);
      } catch {
        return; // The server only sends JSON arrays; anything else is not ours to show.
      }
      if (!Array.isArray(tasks)) return;
      this.attempt = 0; // A frame arrived: the connection works, so the next outage starts the backoff afresh.
      this.lastFrameAt = Date.now();
      this.onTasks(tasks);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      // 1008: the server ended the stream for a policy reason (the key was revoked). A connection that never
      // opened: the upgrade was refused, or the server is down. Either way, ask REST what is wrong.
      if (!opened || event.code === 1008) {
        this.diagnose(event);
      } else {
        this.scheduleReconnect(event);
      }
    };
  }

  async diagnose(event) {
    try {
      await this.client.listTasks();
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof APIError && error.isPermanent) {
        this.onStatus({ state: "failed", code: event.code, reason: event.reason, error });
        return;
      }
      this.scheduleReconnect(event, error);
      return;
    }
    if (!this.stopped) this.scheduleReconnect(event);
  }

  scheduleReconnect(event, error) {
    const delayMs = backoffDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this.onStatus({ state: "waiting", attempt: this.attempt, delayMs, code: event.code, reason: event.reason, error });
    this.timer = setTimeout(() => this.connect(), delayMs);
  }
}
