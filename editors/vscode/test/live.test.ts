import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancellationToken, CancellationTokenSource } from 'vscode-jsonrpc';
import { LatestRequest } from '../src/live';

/** A request the test answers by hand, recording whether its token was cancelled. */
function controlledRequest<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const state = { token: undefined as CancellationToken | undefined, cancelledAt: undefined as number | undefined };
  const send = (token: CancellationToken) => {
    state.token = token;
    token.onCancellationRequested(() => (state.cancelledAt = Date.now()));
    return promise;
  };
  return { send, resolve, reject, state };
}

const newSource = () => new CancellationTokenSource();
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a new query cancels the request in flight, whose result is then stale', async () => {
  const live = new LatestRequest(newSource, 0);
  const first = controlledRequest<string>();
  const second = controlledRequest<string>();
  const firstOutcome = live.run(first.send);
  await tick();
  assert.ok(first.state.token, 'the first request was sent');
  assert.equal(first.state.token!.isCancellationRequested, false);

  const secondOutcome = live.run(second.send);
  assert.equal(first.state.token!.isCancellationRequested, true, 'sending a new query cancels the old one');
  await tick();
  first.resolve('old answer'); // a server that answered before it saw the cancel
  second.resolve('new answer');
  assert.deepEqual(await firstOutcome, { kind: 'superseded' });
  assert.deepEqual(await secondOutcome, { kind: 'value', value: 'new answer' });
  assert.equal(second.state.token!.isCancellationRequested, false);
});

test('typing faster than the pause sends only the last query', async () => {
  const live = new LatestRequest(newSource, 30);
  const sent: string[] = [];
  const outcomes = ['f', 'fo', 'foo'].map((query) =>
    live.run(async () => {
      sent.push(query);
      return query.toUpperCase();
    }),
  );
  const results = await Promise.all(outcomes);
  assert.deepEqual(sent, ['foo']);
  assert.deepEqual(results, [{ kind: 'superseded' }, { kind: 'superseded' }, { kind: 'value', value: 'FOO' }]);
});

test('an error of the latest request is reported; an error of a stale one is not', async () => {
  const live = new LatestRequest(newSource, 0);
  const stale = controlledRequest<string>();
  const staleOutcome = live.run(stale.send);
  await tick();
  const latestOutcome = live.run(() => Promise.reject(new Error('regex parse error')));
  stale.reject(new Error('request cancelled'));
  assert.deepEqual(await staleOutcome, { kind: 'superseded' });
  const outcome = await latestOutcome;
  assert.equal(outcome.kind, 'error');
  assert.equal(outcome.kind === 'error' && (outcome.error as Error).message, 'regex parse error');
});

test('cancel() cancels the request in flight and one still waiting out the pause', async () => {
  const live = new LatestRequest(newSource, 0);
  const inFlight = controlledRequest<number>();
  const outcome = live.run(inFlight.send);
  await tick();
  live.cancel();
  assert.equal(inFlight.state.token!.isCancellationRequested, true);
  inFlight.resolve(1);
  assert.deepEqual(await outcome, { kind: 'superseded' });

  const slow = new LatestRequest(newSource, 10_000);
  let sent = false;
  const waiting = slow.run(async () => {
    sent = true;
    return 2;
  });
  const started = Date.now();
  slow.cancel();
  assert.deepEqual(await waiting, { kind: 'superseded' });
  assert.equal(sent, false);
  assert.ok(Date.now() - started < 5_000, 'cancel wakes the pause instead of waiting it out');
});
