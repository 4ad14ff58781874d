// The HTTP API as the component calls it: JSON in and out, the page token as Bearer, the server's one-sentence
// error kept with its status (409: someone else saved first; 403: not yours).

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export class Api {
  constructor(public base: string, public token: string) {}

  async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.send(method, path, body, signal);
    if (response.status === 204) return null as T;
    return (await response.json()) as T;
  }

  /** A binary answer (an image), with the same errors as `call`. */
  async blob(path: string, signal?: AbortSignal): Promise<Blob> {
    return (await this.send("GET", path, undefined, signal)).blob();
  }

  /** A small POST that outlives the page (fetch's `keepalive`: the browser sends it even as the tab closes);
   * nothing waits for the answer, and a failure is not shown (the page is going away). */
  postAndForget(path: string, body: unknown): void {
    fetch(`${this.base}${path}`, {
      method: "POST", keepalive: true,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).catch(() => undefined);
  }

  private async send(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method, signal,
        headers: { Authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if ((error as Error).name === "AbortError") throw error;
      throw new ApiError("the server cannot be reached; check the connection and try again.", 0);
    }
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      throw new ApiError(answer.error || response.statusText || `HTTP ${response.status}`, response.status);
    }
    return response;
  }
}

/** An annotation as the API answers (core.annotations.service.public_annotation), the fields used here. */
export interface Stored {
  id: string;
  start_seconds: number;
  end_seconds: number;
  tags: string[];
  text: string | null;
  version: number;
}
