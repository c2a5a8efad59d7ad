// A tiny element builder: h("div.panel", {onclick}, child, "text") — enough for this UI.
type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(spec: K | string, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const [tag, ...classes] = spec.split(".");
  const [name, id] = tag.split("#");
  const element = document.createElement(name || "div") as HTMLElementTagNameMap[K];
  if (id) element.id = id;
  if (classes.length) element.className = classes.join(" ");
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value as EventListener);
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else if (key in element && key !== "list") {
      (element as unknown as Record<string, unknown>)[key] = value;
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  element.append(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === "number" ? String(c) : c)));
  return element;
}

export function clear(element: Element, ...children: Child[]): void {
  element.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false && typeof c !== "number"));
}

/** A WebSocket that reconnects with back-off (1 s … 15 s) until `close()` is called. */
export class LiveSocket {
  private socket: WebSocket | null = null;
  private closed = false;
  private attempt = 0;
  private timer: number | undefined;

  constructor(private url: () => string, private handlers: {
    message: (data: unknown) => void;
    open?: () => void;
    drop?: (code: number) => boolean | void; // return false to stop reconnecting
  }) {
    this.connect();
  }

  private connect(): void {
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.handlers.open?.();
    };
    socket.onmessage = (event) => {
      try {
        this.handlers.message(JSON.parse(event.data as string));
      } catch (error) {
        console.warn("bad live message", error);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.closed) return;
      const again = this.handlers.drop?.(event.code);
      if (again === false) return;
      const delay = Math.min(15000, 1000 * 2 ** this.attempt++);
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }

  send(message: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.socket?.close();
  }
}
