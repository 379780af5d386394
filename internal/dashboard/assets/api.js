// The operator routes as the page uses them. The admin token, when custos
// has one, is sent once to /admin/session and lives on only in custos's
// HttpOnly session cookie: nothing here keeps it.

export class Unauthorized extends Error {}

export class APIError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(resp) {
  let message = `${resp.status} ${resp.statusText}`, code = "";
  try {
    const body = await resp.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || "";
    }
  } catch { /* not JSON: keep the status line */ }
  return new APIError(resp.status, message, code);
}

// request sends one operator request; a change is sent as JSON, which the
// guard requires of every state-changing request.
export async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const resp = await fetch(path, init);
  if (resp.status === 401) throw new Unauthorized((await errorOf(resp)).message);
  if (!resp.ok) throw await errorOf(resp);
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  return type.includes("json") ? resp.json() : resp.text();
}

export async function signIn(token) {
  const resp = await fetch("/admin/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (resp.status === 401) throw new Unauthorized("that token is not custos's admin token");
  if (!resp.ok) throw await errorOf(resp);
}

export async function signOut() {
  await fetch("/admin/session", { method: "DELETE", credentials: "same-origin", headers: { "Content-Type": "application/json" } });
}

// Stream is an EventSource that keeps itself connected: the browser
// retries a dropped connection on its own; when it gives up (custos
// answered with an error, as it does while restarting or when the session
// is gone) this asks the route why, and reports onUnauthorized (no
// session), onRefused (the route will not serve this stream, with its
// message) or tries again.
export class Stream {
  constructor(url, handlers, { onState = () => {}, onUnauthorized = () => {}, onRefused = () => {} } = {}) {
    this.url = url;
    this.handlers = handlers;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.onRefused = onRefused;
    this.retry = 500;
    this.closed = false;
    this.open();
  }

  open() {
    if (this.closed) return;
    const source = new EventSource(this.url, { withCredentials: true });
    this.source = source;
    this.onState("connecting");
    source.onopen = () => { this.retry = 500; this.onState("live"); };
    for (const [name, fn] of Object.entries(this.handlers)) {
      source.addEventListener(name, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch { return; }
        fn(data);
      });
    }
    source.onerror = () => {
      if (this.closed) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.onState("reconnecting");
        return;
      }
      source.close();
      this.onState("reconnecting");
      this.whyClosed().then((why) => {
        if (this.closed) return;
        if (why.unauthorized) {
          this.onState("signed out");
          this.onUnauthorized();
        } else if (why.refused) {
          this.onState("refused");
          this.onRefused(why.refused);
        } else {
          setTimeout(() => this.open(), this.retry);
          this.retry = Math.min(this.retry * 2, 5000);
        }
      });
    };
  }

  // whyClosed asks the route itself how it answers now.
  async whyClosed() {
    let resp;
    try {
      resp = await fetch(this.url, { credentials: "same-origin", headers: { Accept: "text/event-stream" } });
    } catch {
      return {}; // custos is not there (restarting): try again
    }
    if (resp.ok) {
      if (resp.body) resp.body.cancel();
      return {};
    }
    if (resp.status === 401) return { unauthorized: true };
    if (resp.status >= 400 && resp.status < 500) return { refused: (await errorOf(resp)).message };
    return {};
  }

  close() {
    this.closed = true;
    if (this.source) this.source.close();
  }
}
