// Search-as-you-type: each new query cancels the request of the previous one
// (the client turns the cancelled token into `$/cancelRequest`), and a short
// pause before sending keeps fast typing from sending one request per key.

export interface CancellationSourceLike<Token> {
  readonly token: Token;
  cancel(): void;
  dispose(): void;
}

export type Outcome<T> =
  | { kind: 'value'; value: T }
  | { kind: 'error'; error: unknown }
  /** A later `run` (or `cancel`) replaced this one; its result, if any, is stale. */
  | { kind: 'superseded' };

export class LatestRequest<Token> {
  private generation = 0;
  private current: CancellationSourceLike<Token> | undefined;
  private wakeSleeper: (() => void) | undefined;

  constructor(
    private readonly newSource: () => CancellationSourceLike<Token>,
    private readonly delayMs: number,
  ) {}

  /** Starts `send` after the pause unless superseded first; cancels whatever ran before. */
  async run<T>(send: (token: Token) => Thenable<T>): Promise<Outcome<T>> {
    this.cancel();
    const generation = this.generation;
    await this.pause();
    if (generation !== this.generation) {
      return { kind: 'superseded' };
    }
    const source = this.newSource();
    this.current = source;
    try {
      const value = await send(source.token);
      return generation === this.generation ? { kind: 'value', value } : { kind: 'superseded' };
    } catch (error) {
      return generation === this.generation ? { kind: 'error', error } : { kind: 'superseded' };
    } finally {
      if (this.current === source) {
        this.current = undefined;
      }
      source.dispose();
    }
  }

  /** Cancels the request in flight (or about to be sent); its `run` resolves as superseded. */
  cancel(): void {
    this.generation += 1;
    this.current?.cancel();
    this.current = undefined;
    this.wakeSleeper?.();
  }

  private pause(): Promise<void> {
    if (this.delayMs <= 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.delayMs);
      const wake = () => {
        clearTimeout(timer);
        done();
      };
      this.wakeSleeper = wake;
      const sleeper = this;
      function done() {
        if (sleeper.wakeSleeper === wake) {
          sleeper.wakeSleeper = undefined;
        }
        resolve();
      }
    });
  }
}

/** PromiseLike under the name the vscode API uses. */
type Thenable<T> = PromiseLike<T>;
